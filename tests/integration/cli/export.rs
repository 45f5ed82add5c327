//! `cms export` and `cms import keepsake` as a site owner moves a site: from the embedded SQLite
//! default to PostgreSQL and back, with the release binary and real servers — every public page
//! and API answer the same, old slugs still redirecting, passwords working, tokens left out
//! unless asked for, damaged exports refused without a trace; and `cms export wordpress`, read
//! back field by field and by our own WordPress importer.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use super::settings::{cookies, form, input_value};
use super::{Site, db_url, http, request, stderr_lines};
use crate::common::Backend;

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Every address a reader or a client can reach: the sitemaps' pages, the feeds, the API's
/// lists and items.
fn addresses(site: &Site) -> Vec<String> {
    let mut paths = vec![
        "/".to_string(),
        "/posts".into(),
        "/gallery".into(),
        "/videos".into(),
        "/feed.atom".into(),
        "/search?q=heartstopper".into(),
        "/api/v1/posts".into(),
        "/api/v1/categories".into(),
        "/api/v1/tags".into(),
        "/api/v1/gallery/categories".into(),
        "/api/v1/videos".into(),
    ];
    let (_, _, index) = http(&site.addr, "GET", "/sitemap.xml");
    let locs = |xml: &str| -> Vec<String> {
        xml.split("<loc>")
            .skip(1)
            .filter_map(|s| s.split("</loc>").next())
            .filter_map(|u| u.split_once("://").map(|(_, rest)| rest.to_string()))
            .filter_map(|rest| rest.find('/').map(|i| rest[i..].to_string()))
            .collect()
    };
    for map in locs(&index) {
        let (_, _, xml) = http(&site.addr, "GET", &map);
        for p in locs(&xml) {
            if let Some(slug) = p.strip_prefix("/posts/") {
                paths.push(format!("/api/v1/posts/{slug}"));
            }
            if let Some(slug) = p.strip_prefix("/albums/") {
                paths.push(format!("/api/v1/albums/{slug}"));
                paths.push(format!("/api/v1/albums/{slug}/photos"));
            }
            paths.push(p);
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// Asserts that two sites answer every address alike.
fn same_site(a: &Site, b: &Site) -> usize {
    let paths = addresses(a);
    assert!(paths.len() > 40, "the demo site has many pages: {paths:?}");
    for p in &paths {
        let (sa, _, pa) = http(&a.addr, "GET", p);
        let (sb, _, pb) = http(&b.addr, "GET", p);
        assert_eq!(sa, sb, "{p}");
        // Random picks differ by design (the gallery's "Random photos" and the image a page
        // shares, chosen from them); everything else must be equal.
        let strip = |s: &str| -> Vec<String> {
            let s = s.replace(&a.addr, "").replace(&b.addr, "");
            let s = match (
                s.find("aria-labelledby=\"gallery-random\""),
                s.rfind("</section>"),
            ) {
                (Some(from), Some(to)) if to > from => format!("{}{}", &s[..from], &s[to..]),
                _ => s,
            };
            s.lines()
                .filter(|l| !l.contains("<updated>") && !l.contains(":image"))
                .map(str::to_string)
                .collect()
        };
        let (mut la, mut lb) = (strip(&pa), strip(&pb));
        if p.starts_with("/search") {
            // Each backend ranks hits and cuts snippets its own way (FTS5's bm25 and
            // snippet(), PostgreSQL's ts_rank and ts_headline): the same hits, in any order.
            for l in [&mut la, &mut lb] {
                l.retain(|x| x.contains("<h2><a href="));
                l.sort();
            }
        }
        if let Some((x, y)) = la.iter().zip(&lb).find(|(x, y)| x != y) {
            panic!("{p} differs:\n  {x}\n  {y}");
        }
        assert_eq!(la.len(), lb.len(), "{p} differs in length");
    }
    paths.len()
}

/// Logs into the admin with a password; true when it lets us in.
fn can_log_in(site: &Site, email: &str, password: &str) -> bool {
    let mut jar = Vec::new();
    let (_, head, body) = request(&site.addr, "GET", "/admin/login", &[], "");
    let cookie = cookies(&head, &mut jar);
    let csrf = input_value(&body, "_csrf");
    let (status, head, _) = request(
        &site.addr,
        "POST",
        "/admin/login",
        &[("Cookie", &cookie)],
        &form(&[
            ("_csrf", &csrf),
            ("email", email),
            ("password", password),
            ("next", "/admin"),
        ]),
    );
    status == 303 && head.lines().any(|l| l.trim() == "location: /admin")
}

fn api(site: &Site, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let auth = format!("Bearer {token}");
    let (status, _, body) = request(
        &site.addr,
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    (status, body)
}

/// An editor with a password, added as a site owner does.
fn add_editor(site: &Site) {
    let mut add = site
        .cmd(&[
            "user",
            "add",
            "--email",
            "editor@fans.example",
            "--name",
            "Editor",
            "--role",
            "editor",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(b"the editor's long password\n")
        .expect("write");
    assert!(add.wait().expect("wait").success());
}

#[actix_web::test]
async fn a_site_moves_between_backends_and_out_to_wordpress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url_a, _pg_a) = db_url(Backend::Sqlite, &dir.path().join("a"));
    let (url_b, _pg_b) = db_url(Backend::Postgres, &dir.path().join("b"));
    let (url_c, _pg_c) = db_url(Backend::Sqlite, &dir.path().join("c"));
    let (url_d, _pg_d) = db_url(Backend::Postgres, &dir.path().join("d"));
    let mut a = Site::new(dir.path().join("a"), url_a);
    a.serve(true);

    // What a lived-in site has besides content: an editor with a password, an API token, a
    // renamed post (its old address redirects), a subscriber who left.
    add_editor(&a);
    let token = out(&a.cms(&["token", "create", "--name", "bot", "--scope", "posts:write"]))
        .trim()
        .to_string();
    let (status, body) = api(
        &a,
        "POST",
        "/api/v1/posts",
        &token,
        r#"{"title":"Moving day","body":"Café ☕ and <b>bold</b> text","excerpt":"Moving ]]> out","status":"published","tags":["move"]}"#,
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = api(
        &a,
        "PATCH",
        "/api/v1/posts/moving-day",
        &token,
        r#"{"slug":"moving-day-2026"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(can_log_in(
        &a,
        "editor@fans.example",
        "the editor's long password"
    ));

    // Exported while it serves; into a zip.
    let zip = dir.path().join("site.zip");
    let zip_s = zip.display().to_string();
    let e = a.cms(&["export", &zip_s]);
    ok(&e);
    assert!(out(&e).starts_with("exported "), "{}", out(&e));
    assert!(zip.is_file() && !dir.path().join("site.zip.partial").exists());

    // Into an empty PostgreSQL database: the same site.
    let mut b = Site::new(dir.path().join("b"), url_b);
    let i = b.cms(&["import", "keepsake", &zip_s]);
    ok(&i);
    assert!(out(&i).starts_with("imported "), "{}", out(&i));
    b.serve(false);
    let pages = same_site(&a, &b);
    let (status, head, _) = http(&b.addr, "GET", "/posts/moving-day");
    assert_eq!(status, 301, "the old slug still redirects");
    assert!(head.contains("/posts/moving-day-2026"), "{head}");
    assert!(can_log_in(
        &b,
        "editor@fans.example",
        "the editor's long password"
    ));
    assert!(!can_log_in(&b, "editor@fans.example", "a wrong password"));
    let (status, _) = api(&b, "POST", "/api/v1/posts", &token, r#"{"title":"x"}"#);
    assert_eq!(status, 401, "tokens are left out by default");
    // New content gets new ids, never an old one.
    let (status, body) = api(&a, "GET", "/api/v1/posts/moving-day-2026", &token, "");
    assert_eq!(status, 200);
    let old_id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["id"]
        .as_i64()
        .expect("id");

    // Bad input changes nothing: a site with content, a missing file, a damaged export.
    let again = b.cms(&["import", "keepsake", &zip_s]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr_lines(&again)[0].contains("holds content"),
        "{:?}",
        stderr_lines(&again)
    );
    let mut d = Site::new(dir.path().join("d"), url_d);
    let missing = d.cms(&["import", "keepsake", "/nonexistent/site.zip"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        stderr_lines(&missing).len(),
        1,
        "{:?}",
        stderr_lines(&missing)
    );

    // From PostgreSQL, with the tokens, into a folder; then into SQLite.
    let token = out(&b.cms(&["token", "create", "--name", "bot", "--scope", "posts:write"]))
        .trim()
        .to_string();
    let folder = dir.path().join("site-export");
    let folder_s = folder.display().to_string();
    ok(&b.cms(&["export", "--with-tokens", &folder_s]));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("export.json")).expect("export.json"))
            .expect("json");
    assert_eq!(manifest["format"], "keepsake-export");
    assert_eq!(manifest["source"], "postgres");
    assert!(folder.join("tables/posts.jsonl").is_file());
    assert!(!folder.join("tables/sessions.jsonl").exists());
    let damaged = dir.path().join("damaged");
    super::backup::copy_tree(&folder, &damaged);
    let posts = damaged.join("tables/posts.jsonl");
    let text = std::fs::read_to_string(&posts).expect("posts");
    std::fs::write(&posts, text.replacen("Moving day", "Moving dax", 1)).expect("write");
    let bad = d.cms(&["import", "keepsake", &damaged.display().to_string()]);
    assert_eq!(bad.status.code(), Some(1));
    let lines = stderr_lines(&bad);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("damaged tables/posts.jsonl"), "{lines:?}");
    let bad_row = dir.path().join("bad-row");
    super::backup::copy_tree(&folder, &bad_row);
    std::fs::write(
        bad_row.join("tables/tags.jsonl"),
        "{\"id\":\"seven\",\"slug\":\"x\",\"name\":\"x\",\"created_at\":\"2026-01-01T00:00:00\"}\n",
    )
    .expect("write");
    let bad = d.cms(&["import", "keepsake", &bad_row.display().to_string()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr_lines(&bad)[0].contains("tags.jsonl line 1: 'id'"),
        "{:?}",
        stderr_lines(&bad)
    );
    // Nothing was left behind by the refused imports: a good one goes in.
    ok(&d.cms(&["import", "keepsake", &folder_s]));

    // A photo of an album that is not in the export, checksums made to match: refused by
    // name (SQLite checks every reference once, after the load), nothing left behind.
    let mut c = Site::new(dir.path().join("c"), url_c);
    let dangling = dir.path().join("dangling");
    super::backup::copy_tree(&folder, &dangling);
    let photos = dangling.join("tables/photos.jsonl");
    let text = std::fs::read_to_string(&photos).expect("photos");
    let (first, rest) = text.split_once('\n').expect("a photo");
    let mut row: serde_json::Value = serde_json::from_str(first).expect("row");
    row["album_id"] = 999_999.into();
    let text = format!("{row}\n{rest}");
    std::fs::write(&photos, &text).expect("write");
    let manifest_path = dangling.join("export.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("read")).expect("json");
    m["tables"]["photos"]["sha256"] = sha256(text.as_bytes()).into();
    std::fs::write(&manifest_path, m.to_string()).expect("write");
    let bad = c.cms(&["import", "keepsake", &dangling.display().to_string()]);
    assert_eq!(bad.status.code(), Some(1));
    let lines = stderr_lines(&bad);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("a row in photos that refers to a missing row of albums"),
        "{lines:?}"
    );
    ok(&c.cms(&["import", "keepsake", &folder_s]));
    c.serve(false);
    assert_eq!(same_site(&a, &c), pages);
    let (status, body) = api(
        &c,
        "POST",
        "/api/v1/posts",
        &token,
        r#"{"title":"After the move"}"#,
    );
    assert_eq!(
        status, 201,
        "--with-tokens keeps the integrations working: {body}"
    );
    let new_id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["id"]
        .as_i64()
        .expect("id");
    assert!(new_id > old_id, "ids go on from where they were");
    assert!(can_log_in(
        &c,
        "editor@fans.example",
        "the editor's long password"
    ));

    // Out to WordPress: every post, term and photo is in the file, and our WordPress importer
    // reads it all back.
    let xml = dir.path().join("site.xml");
    let xml_s = xml.display().to_string();
    let w = a.cms(&["export", "wordpress", &xml_s]);
    ok(&w);
    assert!(
        out(&w).starts_with(&format!("wrote {xml_s}")),
        "{}",
        out(&w)
    );
    let (n_posts, n_photos, n_cats, n_tags) = check_wxr(&a, &xml);
    let (url_e, _pg_e) = db_url(Backend::Sqlite, &dir.path().join("e"));
    let e = Site::new(dir.path().join("e"), url_e);
    let dry = e.cms(&["import", "wordpress", "--dry-run", "--fetch-media", &xml_s]);
    ok(&dry);
    let said = out(&dry);
    for line in [
        format!("posts: {n_posts} to import"),
        format!("attachments: {n_photos} to import"),
        format!("categories: {n_cats} to import"),
        format!("tags: {n_tags} to import"),
        "authors: 1 to import".to_string(),
    ] {
        assert!(said.lines().any(|l| l == line), "{line}: {said}");
    }
    a.stop();
    b.stop();
    c.stop();
    d.stop();
    drop(e);
}

/// Reads the WXR file with the importer's reader and compares it with the site's database.
/// Returns the numbers of posts, photos, categories and tags.
fn check_wxr(site: &Site, xml: &std::path::Path) -> (usize, i64, usize, i64) {
    use cms_core::import::wxr::{Record, WxrReader};
    use diesel::prelude::*;
    let config = cms_core::Config::for_tests(&site.root.join("data"), &site.url).expect("config");
    let db = cms_core::db::Db::connect(&config.database).expect("db");
    let mut conn = db.conn().expect("conn");
    use cms_core::schema::{categories, photos, posts, tags};
    let want_posts: Vec<(i64, String, String, String)> = posts::table
        .select((posts::id, posts::title, posts::slug, posts::body_html))
        .order(posts::id)
        .load(&mut *conn)
        .expect("posts");
    let want_cats: Vec<(String, String, Option<i64>)> = categories::table
        .select((categories::slug, categories::name, categories::parent_id))
        .load(&mut *conn)
        .expect("categories");
    let want_tags: i64 = tags::table.count().get_result(&mut *conn).expect("tags");
    let want_photos: i64 = photos::table
        .count()
        .get_result(&mut *conn)
        .expect("photos");
    let mut reader = WxrReader::new(std::io::BufReader::new(
        std::fs::File::open(xml).expect("open"),
    ));
    let (mut items, mut cats, mut tag_n, mut attachments, mut channel) =
        (Vec::new(), Vec::new(), 0, Vec::new(), None);
    while let Some(r) = reader.next_record().expect("a well-formed WXR file") {
        match r {
            Record::Channel(c) => channel = Some(c),
            Record::Category(t) => cats.push(t),
            Record::Tag(_) => tag_n += 1,
            Record::Item(it) if it.post_type == "attachment" => attachments.push(*it),
            Record::Item(it) => items.push(*it),
            _ => {}
        }
    }
    assert_eq!(channel.expect("channel").wxr_version, "1.2");
    assert_eq!(items.len(), want_posts.len());
    for ((id, title, slug, html), it) in want_posts.iter().zip(&items) {
        assert_eq!(
            (&it.id, &it.title, &it.slug, &it.content),
            (id, title, slug, html)
        );
        assert!(["post", "page"].contains(&it.post_type.as_str()));
    }
    let moving = items
        .iter()
        .find(|i| i.slug == "moving-day-2026")
        .expect("the new post");
    assert_eq!(moving.excerpt, "Moving ]]> out", "CDATA split and joined");
    assert_eq!(moving.status, "publish");
    assert!(
        moving
            .terms
            .iter()
            .any(|t| t.domain == "post_tag" && t.nicename == "move")
    );
    assert_eq!(cats.len(), want_cats.len());
    for (slug, name, parent) in &want_cats {
        let t = cats.iter().find(|t| &t.slug == slug).expect("category");
        assert_eq!(&t.name, name);
        let parent_slug = parent
            .and_then(|p| want_cats.iter().find(|c| c.2 == Some(p)).map(|_| ()))
            .map(|_| ());
        assert_eq!(
            t.parent.is_empty(),
            parent.is_none(),
            "{slug}: {parent_slug:?}"
        );
    }
    assert_eq!(tag_n as i64, want_tags);
    assert_eq!(attachments.len() as i64, want_photos);
    for a in attachments.iter().take(3) {
        let path = a
            .attachment_url
            .split_once("/media/")
            .map(|(_, k)| format!("/media/{k}"))
            .expect("a media URL");
        assert_eq!(http(&site.addr, "GET", &path).0, 200, "{path}");
    }
    (want_posts.len(), want_photos, want_cats.len(), want_tags)
}

/// The schema one migration back, as a database of that version has it: a fresh SQLite
/// database migrated by `cms migrate`, then taken back with the newest migration's own
/// `down.sql`. Its version and each table's columns.
fn older_schema() -> (String, BTreeMap<String, Vec<String>>) {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Col {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        c: String,
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cms.db");
    let url = format!("sqlite://{}", db.display());
    let site = Site::new(dir.path().to_path_buf(), url);
    ok(&site.cms(&["migrate"]));
    let mut c = diesel::SqliteConnection::establish(&db.display().to_string()).expect("open");
    let newest = take_back_newest_migration(&mut c, "sqlite");
    let cols: Vec<Col> = diesel::sql_query(
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' ORDER BY m.name, p.cid",
    )
    .load(&mut c)
    .expect("columns");
    let mut shape: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for col in cols {
        shape.entry(col.t).or_default().push(col.c);
    }
    (newest, shape)
}

/// Runs the newest migration's `down.sql` on a database and forgets that migration, as a
/// database the previous release made would be. Returns the version it is at now.
fn take_back_newest_migration<C>(c: &mut C, backend: &str) -> String
where
    C: diesel::connection::SimpleConnection + diesel::Connection,
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Version>,
{
    use diesel::RunQueryDsl;
    let applied = |c: &mut C| -> String {
        let v: Vec<Version> =
            diesel::sql_query("SELECT MAX(version) AS v FROM __diesel_schema_migrations")
                .load(c)
                .expect("version");
        v.into_iter().next().expect("a version").v
    };
    let version = applied(c);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let folder = std::fs::read_dir(&root)
        .expect("migrations")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.split('_').next() == Some(version.as_str()))
        .expect("the applied migration's folder");
    let down = std::fs::read_to_string(root.join(folder).join("down.sql")).expect("down.sql");
    c.batch_execute(&down).expect("down.sql runs");
    c.batch_execute(&format!(
        "DELETE FROM __diesel_schema_migrations WHERE version = '{version}'"
    ))
    .expect("forget it");
    applied(c)
}

/// [`take_back_newest_migration`] until the database is at the version ending in `at`, as a
/// release that many migrations back made it.
fn take_back_to<C>(c: &mut C, backend: &str, at: &str) -> String
where
    C: diesel::connection::SimpleConnection + diesel::Connection,
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Version>,
{
    for _ in 0..100 {
        let v = take_back_newest_migration(c, backend);
        if v.ends_with(at) {
            return v;
        }
    }
    panic!("no migration ending in {at} was applied");
}

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Makes a backup folder what the previous release would have written: its database taken
/// back one migration, the manifest's schema, counts and checksum to match.
fn backup_from_the_previous_release(
    backend: Backend,
    dir: &std::path::Path,
    version: &str,
    shape: &BTreeMap<String, Vec<String>>,
) {
    use diesel::Connection;
    let file = match backend {
        Backend::Sqlite => {
            let f = dir.join("database.sqlite");
            let mut c =
                diesel::SqliteConnection::establish(&f.display().to_string()).expect("open");
            assert_eq!(take_back_newest_migration(&mut c, "sqlite"), version);
            f
        }
        Backend::Postgres => {
            // Through a scratch database: the dump loaded, taken back, dumped again.
            let f = dir.join("database.pgdump");
            let scratch = crate::common::PgDatabase::create();
            let run = |cmd: &str, args: &[&str]| {
                let o = std::process::Command::new(cmd)
                    .args(args)
                    .output()
                    .expect(cmd);
                assert!(
                    o.status.success(),
                    "{cmd}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            };
            let fs = f.display().to_string();
            run(
                "pg_restore",
                &[
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--dbname",
                    &scratch.url,
                    &fs,
                ],
            );
            let mut c = diesel::PgConnection::establish(&scratch.url).expect("open");
            assert_eq!(take_back_newest_migration(&mut c, "postgres"), version);
            drop(c);
            run(
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    &fs,
                    &scratch.url,
                ],
            );
            f
        }
    };
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
    let bytes = std::fs::read(&file).expect("database");
    m["schema"] = version.into();
    m["database"]["bytes"] = bytes.len().into();
    m["database"]["sha256"] = sha256(&bytes).into();
    if let Some(counts) = m["counts"].as_object_mut() {
        counts.retain(|t, _| shape.contains_key(t));
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
}

/// Makes an export folder what the previous release would have written: the tables and
/// columns of its schema only, checksums and counts to match.
fn export_from_the_previous_release(
    dir: &std::path::Path,
    version: &str,
    shape: &BTreeMap<String, Vec<String>>,
) {
    let path = dir.join("export.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("export.json")).expect("json");
    m["schema"] = version.into();
    let tables = m["tables"].as_object_mut().expect("tables").clone();
    let mut kept = serde_json::Map::new();
    for (name, mut entry) in tables {
        let file = dir.join(entry["file"].as_str().expect("file"));
        if name != "search" && !shape.contains_key(&name) {
            std::fs::remove_file(&file).expect("remove");
            if let Some(seq) = m["sequences"].as_object_mut() {
                seq.remove(&name);
            }
            continue;
        }
        let mut text = String::new();
        let mut rows = 0u64;
        for line in std::fs::read_to_string(&file).expect("read").lines() {
            let mut row: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).expect("row");
            if let Some(cols) = shape.get(&name) {
                row.retain(|k, _| cols.contains(k));
            }
            text.push_str(&serde_json::to_string(&row).expect("json"));
            text.push('\n');
            rows += 1;
        }
        std::fs::write(&file, &text).expect("write");
        entry["rows"] = rows.into();
        entry["sha256"] = sha256(text.as_bytes()).into();
        kept.insert(name, entry);
    }
    m["tables"] = kept.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
}

/// A backup and an export the previous release made are brought up to date on restore and
/// import — the same site, passwords working; one from a newer release is refused with one
/// line and nothing changed.
async fn an_older_backup_or_export_is_brought_up_to_date_and_a_newer_one_refused(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = |name: &str| db_url(backend, &dir.path().join(name));
    let ((url_a, _pa), (url_b, _pb), (url_c, _pc), (url_d, _pd)) =
        (url("a"), url("b"), url("c"), url("d"));
    let mut a = Site::new(dir.path().join("a"), url_a);
    a.serve(true);
    add_editor(&a);
    let backup = dir.path().join("backup");
    let export = dir.path().join("export");
    ok(&a.cms(&["backup", &backup.display().to_string()]));
    ok(&a.cms(&["export", &export.display().to_string()]));
    let (version, shape) = older_schema();
    // The newest migration (16) adds triggers on PostgreSQL only: the previous schema has the
    // same tables.
    assert!(
        shape.contains_key("digests") && version.ends_with("15"),
        "the previous schema is older: {version} {shape:?}"
    );
    backup_from_the_previous_release(backend, &backup, &version, &shape);
    export_from_the_previous_release(&export, &version, &shape);

    let v = a.cms(&["backup", "--verify", &backup.display().to_string()]);
    ok(&v);
    assert!(
        out(&v).contains(&format!("schema {version}")),
        "{}",
        out(&v)
    );
    // Restored and imported: the same site, passwords working.
    for (name, url, args) in [
        ("b", url_b, ["restore", &backup.display().to_string(), ""]),
        (
            "c",
            url_c,
            ["import", "keepsake", &export.display().to_string()],
        ),
    ] {
        let mut site = Site::new(dir.path().join(name), url);
        let args: Vec<&str> = args.iter().copied().filter(|a| !a.is_empty()).collect();
        ok(&site.cms(&args));
        site.serve(false);
        same_site(&a, &site);
        assert!(can_log_in(
            &site,
            "editor@fans.example",
            "the editor's long password"
        ));
        site.stop();
    }

    // From a newer release: refused, one line, the target left as it was (empty).
    for (file, what) in [
        (backup.join("manifest.json"), "restore"),
        (export.join("export.json"), "import"),
    ] {
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).expect("manifest")).expect("json");
        m["schema"] = "99991231000000".into();
        std::fs::write(&file, serde_json::to_vec(&m).expect("json")).expect("write");
        let d = Site::new(dir.path().join("d"), url_d.clone());
        let o = if what == "restore" {
            d.cms(&["restore", &backup.display().to_string()])
        } else {
            d.cms(&["import", "keepsake", &export.display().to_string()])
        };
        assert_eq!(o.status.code(), Some(1), "{what}");
        let lines = stderr_lines(&o);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("newer version of Keepsake") && lines[0].contains("99991231000000"),
            "{lines:?}"
        );
        if matches!(backend, Backend::Sqlite) {
            assert!(
                !dir.path().join("d/cms.db").exists(),
                "{what}: nothing written"
            );
        }
    }
    a.stop();
}

crate::backend_tests!(an_older_backup_or_export_is_brought_up_to_date_and_a_newer_one_refused);

/// A small site out to WordPress and back in through our own WordPress importer, its media
/// fetched over HTTP from the addresses in the file (the site itself, serving): the same
/// posts and pages, categories with their parent, tags, and the same photo files.
#[actix_web::test]
async fn a_wordpress_export_imports_back_with_its_media() {
    use cms_core::schema::{categories, photos, posts, tags};
    use diesel::prelude::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let (url_a, _pg_a) = db_url(Backend::Sqlite, &dir.path().join("a"));
    let (url_e, _pg_e) = db_url(Backend::Sqlite, &dir.path().join("e"));
    let mut a = Site::new(dir.path().join("a"), url_a);
    let album = dir.path().join("captures/Season 2");
    std::fs::create_dir_all(&album).expect("mkdir");
    for i in 0..3u8 {
        image::RgbImage::from_fn(96, 64, |x, y| {
            image::Rgb([x as u8 * 2, y as u8 * 3, 60 * i])
        })
        .save(album.join(format!("capture-{i}.jpg")))
        .expect("jpeg");
    }
    ok(&a.cms(&[
        "import",
        "gallery",
        &dir.path().join("captures").display().to_string(),
        "--into",
        "Heartstopper",
    ]));
    a.serve(false);
    let token = out(&a.cms(&["token", "create", "--name", "w", "--scope", "posts:write"]))
        .trim()
        .to_string();
    let (status, body) = api(
        &a,
        "POST",
        "/api/v1/categories",
        &token,
        r#"{"name":"Television"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let parent: serde_json::Value = serde_json::from_str(&body).expect("json");
    let (status, body) = api(
        &a,
        "POST",
        "/api/v1/categories",
        &token,
        &format!(r#"{{"name":"Heartstopper","parent_id":{}}}"#, parent["id"]),
    );
    assert_eq!(status, 201, "{body}");
    for post in [
        r#"{"title":"Season 2 captures","body":"New **captures** & more: <3","status":"published","categories":["Heartstopper"],"tags":["captures","season 2"]}"#,
        r#"{"title":"About this archive","body":"A fan archive.","kind":"page","status":"published"}"#,
        r#"{"title":"Not yet","body":"A draft.","status":"draft"}"#,
    ] {
        let (status, body) = api(&a, "POST", "/api/v1/posts", &token, post);
        assert_eq!(status, 201, "{body}");
    }
    // The file's addresses are the site's own (its base URL), as on a real server.
    let xml = dir.path().join("site.xml");
    let xml_s = xml.display().to_string();
    let mut export = a.cmd(&["export", "wordpress", &xml_s]);
    export.env("CMS_BASE_URL", format!("http://{}", a.addr));
    ok(&super::run(&mut export));

    let e = Site::new(dir.path().join("e"), url_e);
    let import = |e: &Site| {
        e.cms(&[
            "import",
            "wordpress",
            "--fetch-media",
            "--allow-private-addresses",
            &xml_s,
        ])
    };
    let first = import(&e);
    ok(&first);
    let again = import(&e);
    ok(&again);

    let rows = |site: &Site| {
        let config =
            cms_core::Config::for_tests(&site.root.join("data"), &site.url).expect("config");
        let db = cms_core::db::Db::connect(&config.database).expect("db");
        let mut c = db.conn().expect("conn");
        let mut ps: Vec<(String, String, String)> = posts::table
            .select((posts::title, posts::status, posts::kind))
            .load(&mut *c)
            .expect("posts");
        ps.sort();
        let parent = diesel::alias!(categories as parent);
        let mut cats: Vec<(String, Option<String>)> = categories::table
            .left_join(parent.on(categories::parent_id.eq(parent.field(categories::id).nullable())))
            .select((categories::name, parent.field(categories::name).nullable()))
            .load(&mut *c)
            .expect("categories");
        cats.sort();
        let mut ts: Vec<String> = tags::table.select(tags::name).load(&mut *c).expect("tags");
        ts.sort();
        let mut hashes: Vec<String> = photos::table
            .select(photos::content_hash)
            .load(&mut *c)
            .expect("photos");
        hashes.sort();
        (ps, cats, ts, hashes)
    };
    let (pa, ca, ta, ha) = rows(&a);
    let (pe, ce, te, he) = rows(&e);
    assert_eq!(pa, pe, "posts and pages, with their status and kind");
    assert_eq!(ca, ce, "categories and their parents");
    assert_eq!(ta, te, "tags");
    assert_eq!(ha.len(), 3);
    assert_eq!(ha, he, "the same photo files, fetched over HTTP");
    let mut e = e;
    e.serve(false);
    let (status, _, page) = http(&e.addr, "GET", "/posts/season-2-captures");
    assert_eq!(status, 200);
    assert!(
        page.contains("<strong>captures</strong> &amp; more: &lt;3"),
        "{page}"
    );
    a.stop();
    e.stop();
}

/// The newcomer's way to PostgreSQL with a backup: the demo site on SQLite backed up while it
/// serves, restored onto an empty PostgreSQL database with one command — the same site,
/// passwords working, the backup untouched, a second restore refused without --force.
#[actix_web::test]
async fn a_sqlite_backup_restores_onto_postgresql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url_a, _pg_a) = db_url(Backend::Sqlite, &dir.path().join("a"));
    let (url_b, _pg_b) = db_url(Backend::Postgres, &dir.path().join("b"));
    let mut a = Site::new(dir.path().join("a"), url_a);
    a.serve(true);
    add_editor(&a);
    let backup = dir.path().join("backup");
    let backup_s = backup.display().to_string();
    ok(&a.cms(&["backup", &backup_s]));
    let mut b = Site::new(dir.path().join("b"), url_b);
    let r = b.cms(&["restore", &backup_s]);
    ok(&r);
    assert!(out(&r).starts_with("restored the backup of"), "{}", out(&r));
    b.serve(false);
    same_site(&a, &b);
    assert!(can_log_in(
        &b,
        "editor@fans.example",
        "the editor's long password"
    ));
    b.stop();
    ok(&a.cms(&["backup", "--verify", &backup_s]));
    let again = b.cms(&["restore", &backup_s]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr_lines(&again)[0].contains("--force"),
        "{:?}",
        stderr_lines(&again)
    );
    // kill -9 in the middle, at three points: running it again gives the whole site.
    for delay in [30u64, 200, 600] {
        let mut child = b
            .cmd(&["restore", "--force", &backup_s])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("restore");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
    }
    ok(&b.cms(&["restore", "--force", &backup_s]));
    b.serve(false);
    same_site(&a, &b);
    a.stop();
    b.stop();
}

/// Migration 15: text an earlier release indexed with the characters search marks matches
/// with (U+0002, U+0003) has them turned into spaces — word breaks, as the engine read them —
/// so a stray one can no longer open or close a `<mark>` in a result; other text is left as
/// it was.
#[test]
fn the_search_index_loses_stray_match_markers_on_upgrade() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Doc {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        title: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        body: String,
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cms.db");
    let site = Site::new(
        dir.path().to_path_buf(),
        format!("sqlite://{}", db.display()),
    );
    ok(&site.cms(&["migrate"]));
    let open = || diesel::SqliteConnection::establish(&db.display().to_string()).expect("open");
    let mut c = open();
    // As the release before migration 15 (search markers) left it.
    let version = take_back_to(&mut c, "sqlite", "14");
    assert!(version.ends_with("14"), "{version}");
    c.batch_execute(
        "INSERT INTO search_fts (rowid, title, body, slug) VALUES
         (17, 'Stray ' || char(3) || 'markers' || char(2), 'The stage' || char(2) || 'lights', 'a'),
         (25, 'Clean', 'Nothing to mend', 'b')",
    )
    .expect("an earlier release's index");
    drop(c);
    ok(&site.cms(&["migrate"]));
    let mut c = open();
    let docs: Vec<Doc> =
        diesel::sql_query("SELECT rowid AS id, title, body FROM search_fts ORDER BY rowid")
            .load(&mut c)
            .expect("docs");
    let doc = |id: i64, title: &str, body: &str| Doc {
        id,
        title: title.into(),
        body: body.into(),
    };
    assert_eq!(
        docs,
        [
            doc(17, "Stray  markers ", "The stage lights"),
            doc(25, "Clean", "Nothing to mend")
        ]
    );
    let found: Vec<Doc> = diesel::sql_query(
        "SELECT rowid AS id, title, body FROM search_fts WHERE search_fts MATCH 'lights'",
    )
    .load(&mut c)
    .expect("search");
    assert_eq!(found.len(), 1);
}

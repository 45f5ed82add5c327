//! `cms export` and `cms import keepsake` as a site owner moves a site: from the embedded SQLite
//! default to PostgreSQL and back, with the release binary and real servers — every public page
//! and API answer the same, old slugs still redirecting, passwords working, tokens left out
//! unless asked for, damaged exports refused without a trace; and `cms export wordpress`, read
//! back field by field and by our own WordPress importer.

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
    let mut add = a
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

    let mut c = Site::new(dir.path().join("c"), url_c);
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

//! `cms import piwigo` against a Piwigo database on MariaDB
//! (`tests/fixtures/piwigo/schema.sql`) filled by the generator below: an album with photos
//! and sub-albums, a photo in two albums, a manual order, a private album and a private
//! photo, an empty album, `upload/` and `galleries/` files, a missing one. Imported as
//! expected, twice without doubling, killed and resumed, every old address redirecting over
//! HTTP, bad input refused.

use std::path::{Path, PathBuf};

use cms_core::import::piwigo::{self, Options};
use cms_core::ingest::Silent;
use cms_core::models::album::{Album, AlbumStatus};
use cms_core::models::audit::Actor;
use cms_core::models::photo::Photo;
use cms_core::models::{gallery_category, import_item};
use cms_core::schema;
use diesel::prelude::*;
use mysql::Value;

use super::mysql::{
    MySqlDatabase, all_albums_whole, insert, kill_then_finish, nothing_announced, our_database,
    photo_count, refused, state_of, totals,
};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};
use crate::gallery::files;
use crate::gallery::import::cms;

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/piwigo/schema.sql")
}

fn v(s: &str) -> Value {
    Value::from(s)
}

fn n(i: i64) -> Value {
    Value::from(i)
}

/// An album: id, name, parent, rank, status, representative photo, image order, permalink.
type Cat<'a> = (
    i64,
    &'a str,
    Option<i64>,
    i64,
    &'a str,
    Option<i64>,
    &'a str,
    &'a str,
);

/// A photo: id, path under the gallery folder, name, level, date, its albums with ranks;
/// `None` as file bytes leaves the file missing.
struct Img {
    id: i64,
    path: String,
    name: Option<&'static str>,
    level: i64,
    storage: Option<i64>,
    in_albums: Vec<(i64, i64)>,
    bytes: Option<Vec<u8>>,
}

fn img(id: i64, path: &str, albums: &[i64], bytes: Option<Vec<u8>>) -> Img {
    Img {
        id,
        path: path.to_string(),
        name: None,
        level: 0,
        storage: None,
        in_albums: albums.iter().map(|a| (*a, 0)).collect(),
        bytes,
    }
}

fn fill(db: &MySqlDatabase, root: &Path, cats: &[Cat<'_>], images: &[Img]) {
    let mut c = db.conn();
    insert(
        &mut c,
        "INSERT INTO piwigo_config (param, value) VALUES (?, ?)",
        vec![
            vec![v("secret_key"), v("b0f1c3e5a7d9")],
            vec![
                v("order_by"),
                v(" ORDER BY date_available DESC, file ASC, id ASC"),
            ],
        ],
    );
    insert(
        &mut c,
        "INSERT INTO piwigo_user_infos (user_id, nb_image_page, status) VALUES (?, ?, ?)",
        vec![
            vec![n(1), n(50), v("webmaster")],
            vec![n(2), n(20), v("guest")],
        ],
    );
    // uppercats and global_rank as Piwigo keeps them: the chain of ids, and of ranks.
    let chain = |id: i64, rank: bool| -> String {
        let mut out = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur.and_then(|i| cats.iter().find(|x| x.0 == i)) {
            out.insert(0, if rank { c.3 } else { c.0 }.to_string());
            cur = c.2;
        }
        out.join(if rank { "." } else { "," })
    };
    insert(
        &mut c,
        "INSERT INTO piwigo_categories (id, name, comment, id_uppercat, uppercats, `rank`, \
         global_rank, status, representative_picture_id, image_order, permalink) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cats.iter()
            .map(|cat| {
                let (id, name, parent, rank, status, rep, order, permalink) = *cat;
                vec![
                    n(id),
                    v(name),
                    v(&format!("About <i>{name}</i>")),
                    parent.map_or(Value::NULL, n),
                    v(&chain(id, false)),
                    n(rank),
                    v(&chain(id, true)),
                    v(status),
                    rep.map_or(Value::NULL, n),
                    if order.is_empty() {
                        Value::NULL
                    } else {
                        v(order)
                    },
                    if permalink.is_empty() {
                        Value::NULL
                    } else {
                        v(permalink)
                    },
                ]
            })
            .collect(),
    );
    insert(
        &mut c,
        "INSERT INTO piwigo_images (id, file, date_available, name, comment, author, hit, \
         path, storage_category_id, level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        images
            .iter()
            .map(|i| {
                let file = i.path.rsplit('/').next().unwrap_or_default();
                vec![
                    n(i.id),
                    v(file),
                    // Newer photos have higher ids: Piwigo shows newest first.
                    v(&format!(
                        "2024-01-{:02} 10:{:02}:00",
                        1 + i.id % 28,
                        i.id % 60
                    )),
                    i.name.map_or(Value::NULL, v),
                    v(&format!("<b>Photo</b> {} &amp; more", i.id)),
                    v("Rosie"),
                    n(i.id * 3),
                    v(&format!("./{}", i.path)),
                    i.storage.map_or(Value::NULL, n),
                    n(i.level),
                ]
            })
            .collect(),
    );
    insert(
        &mut c,
        "INSERT INTO piwigo_image_category (image_id, category_id, `rank`) VALUES (?, ?, ?)",
        images
            .iter()
            .flat_map(|i| {
                i.in_albums
                    .iter()
                    .map(move |(a, r)| vec![n(i.id), n(*a), n(*r)])
            })
            .collect(),
    );
    for i in images {
        if let Some(bytes) = &i.bytes {
            let file = root.join(&i.path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(file, bytes).expect("write photo");
        }
    }
}

/// The fixture gallery.
fn fixture(dir: &Path) -> (MySqlDatabase, PathBuf) {
    let db = MySqlDatabase::with_schema(&schema());
    let root = dir.join("piwigo");
    let up = |id: i64| format!("upload/2024/01/02/20240102101010-{id:08x}.jpg");
    let mut images = vec![
        Img {
            name: Some("Joe – arriving"),
            ..img(10, &up(10), &[2], Some(files::jpeg(64, 48, 10)))
        },
        Img {
            name: Some("Kit & Joe 💚 \"together\""),
            ..img(11, &up(11), &[2, 1], Some(files::jpeg(64, 48, 11)))
        },
        img(12, &up(12), &[2], Some(files::jpeg(48, 64, 12))),
        img(13, &up(13), &[2], None),
        Img {
            level: 8,
            ..img(14, &up(14), &[2], Some(files::jpeg(40, 30, 14)))
        },
        img(15, &up(15), &[1], Some(files::jpeg(40, 30, 15))),
        img(100, &up(100), &[4], Some(files::jpeg(40, 30, 100))),
        Img {
            storage: Some(6),
            ..img(
                101,
                "galleries/tour/IMG 1.jpg",
                &[6],
                Some(files::jpeg(40, 30, 101)),
            )
        },
        img(102, &up(102), &[], Some(files::jpeg(40, 30, 102))),
        Img {
            storage: Some(6),
            ..img(
                103,
                "galleries/tour/clip.mp4",
                &[6],
                Some(b"\0\0\0\x18ftypmp42".to_vec()),
            )
        },
    ];
    // 70 photos in a manual order, the reverse of their ids.
    for i in 0..70 {
        let mut m = img(
            200 + i,
            &up(200 + i),
            &[],
            Some(files::jpeg(16, 16, i as u8)),
        );
        m.in_albums = vec![(3, 70 - i)];
        images.push(m);
    }
    fill(
        &db,
        &root,
        &[
            (
                1,
                "Television – Heartstopper",
                None,
                1,
                "public",
                None,
                "",
                "",
            ),
            (
                2,
                "Season 2 / Premiere",
                Some(1),
                1,
                "public",
                Some(12),
                "",
                "s2-premiere",
            ),
            (
                3,
                "Q&A 'live' & more 📸",
                Some(1),
                2,
                "public",
                None,
                "rank ASC",
                "",
            ),
            (4, "Private", None, 2, "private", None, "", ""),
            (5, "Empty", None, 3, "public", None, "", ""),
            (6, "Galleries sync", None, 4, "public", None, "", ""),
        ],
        &images,
    );
    (db, root)
}

fn options(db: &MySqlDatabase, root: &Path, env: &TestEnv) -> Options {
    Options {
        db_url: db.url.clone(),
        prefix: "piwigo_".into(),
        root: root.to_path_buf(),
        settings: env.state.config.images.clone(),
        batch: 30,
        ..Options::default()
    }
}

fn import(env: &TestEnv, opts: &Options) -> cms_core::import::Report {
    piwigo::run(
        &env.state.db,
        env.state.media.as_ref(),
        opts,
        &Silent,
        &Actor::cli(),
    )
    .expect("import")
}

/// The source key the fixture's secret gives.
fn source(env: &TestEnv) -> String {
    let mut conn = env.conn();
    schema::import_items::table
        .select(schema::import_items::source)
        .first::<String>(&mut *conn)
        .expect("an import")
}

fn ours(env: &TestEnv, kind: &str, id: &str) -> i64 {
    let source = source(env);
    let mut conn = env.conn();
    import_item::find(&mut conn, &source, kind, id)
        .expect("query")
        .unwrap_or_else(|| panic!("{kind} {id} was not imported"))
}

fn album(env: &TestEnv, category: i64) -> Album {
    let id = ours(env, "album", &category.to_string());
    let mut conn = env.conn();
    cms_core::models::album::find(&mut conn, id)
        .expect("q")
        .expect("album")
}

/// The photo a Piwigo photo became in one album.
fn photo(env: &TestEnv, image: i64, category: i64) -> Photo {
    let id = ours(env, "image", &format!("{image}/{category}"));
    let mut conn = env.conn();
    cms_core::models::photo::find(&mut conn, id)
        .expect("q")
        .expect("photo")
}

async fn the_gallery_imports_as_expected(backend: Backend) {
    let env = TestEnv::new(backend);
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, root) = fixture(dir.path());
    let report = import(&env, &options(&db, &root, &env));
    let k = |kind: &str| report.kinds.get(kind).cloned().unwrap_or_default();
    assert!(source(&env).starts_with("piwigo:"), "{}", source(&env));
    assert_eq!(k("categories").imported, 1, "{:#?}", report.kinds);
    assert_eq!(
        k("categories").skipped,
        [("empty".to_string(), 1)].into_iter().collect()
    );
    assert_eq!(k("albums").imported, 5, "{:#?}", report.kinds);
    assert_eq!(k("photos").imported, 77, "{:#?}", report.kinds);
    assert_eq!(k("photos").failed, 2, "{:?}", report.failures);
    assert_eq!(
        k("photos").skipped,
        [("in no album".to_string(), 1)].into_iter().collect()
    );
    assert_eq!(k("private photos").imported, 1);
    let failures = format!("{:?}", report.failures);
    assert!(failures.contains("photo 13 ("), "{failures}");
    assert!(failures.contains("clip.mp4"), "{failures}");
    assert_eq!(report.exit_code(), 3);

    // An album with sub-albums and photos: a category holding an album of its own photos.
    let tv = ours(&env, "category", "1");
    let own = album(&env, 1);
    assert_eq!(own.title, "Television – Heartstopper");
    assert_eq!(own.category_id, Some(tv));
    let premiere = album(&env, 2);
    assert_eq!(premiere.category_id, Some(tv));
    assert_eq!(premiere.status, AlbumStatus::Published);
    assert_eq!(premiere.description, "About Season 2 / Premiere");
    assert_eq!(premiere.photo_count, 3);
    assert_eq!(premiere.cover_photo_id, Some(photo(&env, 12, 2).id));
    let qa = album(&env, 3);
    assert_eq!(qa.title, "Q&A 'live' & more 📸");
    assert_eq!(album(&env, 4).status, AlbumStatus::Draft);
    assert_eq!(album(&env, 6).category_id, None);
    let mut conn = env.conn();
    let names = |conn: &mut cms_core::DbConn, album: i64| -> Vec<String> {
        schema::photos::table
            .filter(schema::photos::album_id.eq(album))
            .order((schema::photos::position, schema::photos::id))
            .select(schema::photos::original_filename)
            .load(conn)
            .expect("photos")
    };
    // Newest first (Piwigo's order), and the manual order where the album has one.
    let p = names(&mut conn, premiere.id);
    assert_eq!(p.len(), 3);
    assert!(p[0].ends_with("0000000c.jpg"), "{p:?}");
    assert!(p[2].ends_with("0000000a.jpg"), "{p:?}");
    let q = names(&mut conn, qa.id);
    assert_eq!(q.len(), 70);
    assert!(q[0].ends_with(&format!("{:08x}.jpg", 269)), "{q:?}");
    assert!(
        gallery_category::verify_counts(&mut conn)
            .expect("verify")
            .is_empty()
    );
    drop(conn);
    // A photo in two albums: two photos, one stored file.
    let (a, b) = (photo(&env, 11, 2), photo(&env, 11, 1));
    assert_ne!(a.id, b.id);
    assert_eq!(a.content_hash, b.content_hash);
    assert_eq!(a.title, "Kit & Joe 💚 \"together\"");
    let p10 = photo(&env, 10, 2);
    assert_eq!(p10.title, "Joe – arriving");
    assert_eq!(p10.caption, "Photo 10 & more");
    assert_eq!(p10.credit, "Rosie");
    assert_eq!(p10.views, 30);
    assert_eq!(p10.created_at.to_string(), "2024-01-11 10:10:00");
    // The private photo waits in a draft album of its own.
    let private = {
        let mut conn = env.conn();
        cms_core::models::album::find(&mut conn, photo(&env, 14, 2).album_id)
            .expect("q")
            .expect("album")
    };
    assert_eq!(private.title, "Season 2 / Premiere (private)");
    assert_eq!(private.status, AlbumStatus::Draft);
    nothing_announced(&mut env.conn());

    let file = |p: &Photo| {
        format!(
            "/media/{}",
            cms_core::media::photo_original_key(&p.content_hash, &p.mime)
        )
    };
    let largest = |p: &Photo| {
        let w = *p.variant_widths().last().expect("a width");
        format!(
            "/media/{}",
            cms_core::media::photo_variant_key(&p.content_hash, w)
        )
    };
    let tv_path = {
        let mut conn = env.conn();
        gallery_category::find(&mut conn, tv)
            .expect("q")
            .expect("category")
            .path
    };
    let app = env.app().await;
    let up10 = "/upload/2024/01/02/20240102101010-0000000a";
    let expected: Vec<(String, String)> = vec![
        (
            "/index.php?/category/1".into(),
            format!("/gallery/{tv_path}"),
        ),
        (
            "/index.php?/category/1-television-heartstopper".into(),
            format!("/gallery/{tv_path}"),
        ),
        (
            "/index.php?/category/2".into(),
            format!("/albums/{}", premiere.slug),
        ),
        (
            "/index.php?/category/s2-premiere".into(),
            format!("/albums/{}", premiere.slug),
        ),
        (
            "/index.php?/category/3/start-20".into(),
            format!("/albums/{}", qa.slug),
        ),
        (
            "/index.php?/category/3-q-a/start-60".into(),
            format!("/albums/{}?page=2", qa.slug),
        ),
        ("/index.php?/category/5".into(), "/gallery".into()),
        ("/index.php?/categories".into(), "/gallery".into()),
        (
            "/picture.php?/10/category/2".into(),
            format!("/photos/{}", p10.id),
        ),
        (
            "/picture.php?/10/category/s2-premiere".into(),
            format!("/photos/{}", p10.id),
        ),
        (
            "/picture.php?/10-joe-1/category/2-season-2".into(),
            format!("/photos/{}", p10.id),
        ),
        ("/picture.php?/10".into(), format!("/photos/{}", p10.id)),
        (
            "/picture.php?/11/category/2".into(),
            format!("/photos/{}", a.id),
        ),
        (
            "/picture.php?/11/category/1".into(),
            format!("/photos/{}", b.id),
        ),
        ("/picture.php?/11".into(), format!("/photos/{}", b.id)),
        (format!("{up10}.jpg"), file(&p10)),
        (format!("/i.php?{up10}-me.jpg"), largest(&p10)),
        (format!("/_data/i{up10}-sq.jpg"), largest(&p10)),
        ("/action.php?id=10&part=e&download".into(), file(&p10)),
        (
            "/galleries/tour/IMG%201.jpg".into(),
            file(&photo(&env, 101, 6)),
        ),
    ];
    for (old, new) in &expected {
        let got = get(&app, old).await;
        assert_eq!(got.status, 301, "{old}: {}", got.body);
        assert_eq!(
            got.header("location").as_deref(),
            Some(new.as_str()),
            "{old}"
        );
        assert_eq!(get(&app, new).await.status, 200, "{old} → {new}");
    }
    for old in [
        "/picture.php?/14",
        "/picture.php?/13/category/2",
        "/index.php?/category/4",
        "/upload/2024/01/02/20240102101010-00000066.jpg",
    ] {
        assert_eq!(get(&app, old).await.status, 404, "{old}");
    }
}

async fn importing_twice_adds_nothing(backend: Backend) {
    let env = TestEnv::new(backend);
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, root) = fixture(dir.path());
    let opts = options(&db, &root, &env);
    import(&env, &opts);
    let before = totals(&env);
    let second = import(&env, &opts);
    assert_eq!(totals(&env), before);
    for (kind, c) in &second.kinds {
        assert_eq!(c.imported, 0, "{kind}: {c:?}");
    }
    assert_eq!(second.kinds["photos"].already, 78, "the private one too");
    assert_eq!(second.kinds["albums"].already, 5);
}

backend_tests!(
    the_gallery_imports_as_expected,
    importing_twice_adds_nothing
);

/// kill -9 part-way, then run again: every photo once, every album published, counts right.
async fn a_killed_import_finishes_when_run_again(backend: Backend) {
    const ALBUMS: i64 = 40;
    const PER: i64 = 30;
    const N: i64 = ALBUMS * PER;
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = our_database(backend, dir.path());
    let db = MySqlDatabase::with_schema(&schema());
    let root = dir.path().join("piwigo");
    let cats: Vec<(i64, String)> = (1..=ALBUMS)
        .map(|a| (a, format!("Day {a} – stills")))
        .collect();
    let mut images = Vec::new();
    for a in 1..=ALBUMS {
        for i in 0..PER {
            let id = a * 1000 + i;
            images.push(img(
                id,
                &format!("upload/2024/{a:02}/{id}.jpg"),
                &[a],
                Some(files::jpeg(24, 16, i as u8)),
            ));
        }
    }
    fill(
        &db,
        &root,
        &cats
            .iter()
            .map(|(id, name)| (*id, name.as_str(), None, *id, "public", None, "", ""))
            .collect::<Vec<_>>(),
        &images,
    );
    let count = || photo_count(dir.path(), &url);
    let command = || {
        let mut c = cms(dir.path(), &url);
        c.args([
            "import", "piwigo", "--batch", "20", "--db", &db.url, "--root",
        ])
        .arg(&root);
        c
    };
    kill_then_finish(command, count, N);
    assert_eq!(count(), N);
    let state = state_of(dir.path(), &url).expect("state");
    let mut conn = state.db.conn().expect("conn");
    all_albums_whole(&mut conn, ALBUMS as usize, PER);
}

backend_tests!(a_killed_import_finishes_when_run_again);

async fn the_command_reports_and_refuses_bad_input(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = our_database(backend, dir.path());
    let (db, root) = fixture(dir.path());
    let out = cms(dir.path(), &url)
        .args(["import", "piwigo", "--dry-run", "--db", &db.url, "--root"])
        .arg(&root)
        .output()
        .expect("dry run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("photos: 77 to import"), "{stdout}");
    let out = cms(dir.path(), &url)
        .args([
            "import",
            "piwigo",
            "--base-path",
            "/photos/",
            "--db",
            &db.url,
            "--root",
        ])
        .arg(&root)
        .output()
        .expect("import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stdout.contains("photos: 77 imported"), "{stdout}");
    assert!(stdout.contains("under /photos/"), "{stdout}");
    assert!(stderr.contains("clip.mp4): not an image"), "{stderr}");
    let empty = MySqlDatabase::empty();
    for (db_url, want) in [
        ("piwigo".to_string(), "mysql://"),
        (
            "mysql://root@127.0.0.1:1/piwigo".to_string(),
            "cannot connect",
        ),
        (empty.url.clone(), "not a Piwigo database"),
    ] {
        let out = cms(dir.path(), &url)
            .args(["import", "piwigo", "--db", &db_url, "--root"])
            .arg(&root)
            .output()
            .expect("run");
        refused(&out, want);
    }
    let out = cms(dir.path(), &url)
        .args(["import", "piwigo", "--db", &db.url, "--root"])
        .arg(dir.path().join("nowhere"))
        .output()
        .expect("run");
    refused(&out, "--root");
}

backend_tests!(the_command_reports_and_refuses_bad_input);

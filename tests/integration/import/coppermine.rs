//! `cms import coppermine` against a Coppermine 1.6 database on MariaDB
//! (`tests/fixtures/coppermine/schema.sql`) filled by the generator below: nested categories,
//! odd titles, unapproved pictures, a private album, an empty one, a member's gallery, missing
//! files, `thumb_`/`normal_` copies beside originals. Imported as expected, twice without
//! doubling, killed and resumed, every old address redirecting over HTTP, bad input refused.

use std::path::{Path, PathBuf};

use cms_core::import::coppermine::{self, Options};
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

const SOURCE: &str = "coppermine:fan.example/gallery";

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coppermine/schema.sql")
}

/// What a picture's file is on disk.
#[derive(Clone, Copy)]
enum File {
    Jpeg(u32, u32, u8),
    Png(u8),
    /// Not there at all.
    Missing,
    /// The original and Coppermine's `thumb_` and `normal_` copies.
    WithCopies(u8),
    /// Only the `normal_` copy: the original is missing.
    NormalOnly(u8),
    Video,
}

struct Pic {
    pid: i64,
    aid: i64,
    filepath: &'static str,
    filename: String,
    title: String,
    caption: &'static str,
    keywords: &'static str,
    hits: i64,
    ctime: i64,
    approved: bool,
    position: i64,
    file: File,
}

fn pic(pid: i64, aid: i64, filepath: &'static str, filename: &str, file: File) -> Pic {
    Pic {
        pid,
        aid,
        filepath,
        filename: filename.to_string(),
        title: String::new(),
        caption: "",
        keywords: "",
        hits: 0,
        ctime: 1_600_000_000 + pid * 60,
        approved: true,
        position: pid,
        file,
    }
}

fn v(s: &str) -> Value {
    Value::from(s)
}

fn n(i: i64) -> Value {
    Value::from(i)
}

/// An album: aid, title, description, visibility, pos, category, thumb, keyword.
type AlbumRow<'a> = (i64, &'a str, &'a str, i64, i64, i64, i64, &'a str);

/// Writes the settings, categories, albums and users of a gallery.
fn fill_site(db: &MySqlDatabase, cats: &[(i64, &str, &str, i64, i64)], albums: &[AlbumRow<'_>]) {
    let mut c = db.conn();
    insert(
        &mut c,
        "INSERT INTO cpg_config (name, value) VALUES (?, ?)",
        [
            ("ecards_more_pic_target", "https://fan.example/gallery/"),
            ("thumbrows", "5"),
            ("thumbcols", "5"),
            ("default_sort_order", "pa"),
            ("keyword_separator", ";"),
            ("gallery_name", "Joe Fan Archive"),
        ]
        .iter()
        .map(|(k, val)| vec![v(k), v(val)])
        .collect(),
    );
    insert(
        &mut c,
        "INSERT INTO cpg_categories (cid, name, description, parent, pos) VALUES (?, ?, ?, ?, ?)",
        cats.iter()
            .map(|(cid, name, d, parent, pos)| vec![n(*cid), v(name), v(d), n(*parent), n(*pos)])
            .collect(),
    );
    insert(
        &mut c,
        "INSERT INTO cpg_albums (aid, title, description, visibility, pos, category, thumb, \
         keyword) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        albums
            .iter()
            .map(|(aid, t, d, vis, pos, cat, thumb, kw)| {
                vec![
                    n(*aid),
                    v(t),
                    v(d),
                    n(*vis),
                    n(*pos),
                    n(*cat),
                    n(*thumb),
                    v(kw),
                ]
            })
            .collect(),
    );
    insert(
        &mut c,
        "INSERT INTO cpg_users (user_id, user_name, user_active) VALUES (?, ?, 'YES')",
        vec![vec![n(1), v("admin")], vec![n(2), v("rosie")]],
    );
}

/// Writes pictures' rows and their files under `albums`.
fn fill_pictures(db: &MySqlDatabase, albums: &Path, pics: &[Pic]) {
    let mut c = db.conn();
    insert(
        &mut c,
        "INSERT INTO cpg_pictures (pid, aid, filepath, filename, title, caption, keywords, hits, \
         ctime, approved, position, pwidth, pheight, owner_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 64, 48, 1)",
        pics.iter()
            .map(|p| {
                vec![
                    n(p.pid),
                    n(p.aid),
                    v(p.filepath),
                    v(&p.filename),
                    v(&p.title),
                    v(p.caption),
                    v(p.keywords),
                    n(p.hits),
                    n(p.ctime),
                    v(if p.approved { "YES" } else { "NO" }),
                    n(p.position),
                ]
            })
            .collect(),
    );
    for p in pics {
        let dir = albums.join(p.filepath);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join(&p.filename);
        match p.file {
            File::Jpeg(w, h, seed) => std::fs::write(file, files::jpeg(w, h, seed)),
            File::Png(seed) => std::fs::write(file, files::png(32, 32, seed)),
            File::Missing => Ok(()),
            File::WithCopies(seed) => std::fs::write(
                dir.join(format!("thumb_{}", p.filename)),
                files::jpeg(32, 24, 200),
            )
            .and_then(|_| {
                std::fs::write(
                    dir.join(format!("normal_{}", p.filename)),
                    files::jpeg(48, 36, 201),
                )
            })
            .and_then(|_| std::fs::write(file, files::jpeg(64, 48, seed))),
            File::NormalOnly(seed) => std::fs::write(
                dir.join(format!("normal_{}", p.filename)),
                files::jpeg(48, 36, seed),
            ),
            File::Video => std::fs::write(file, b"\0\0\0\x18ftypmp42not really a video"),
        }
        .expect("write picture");
    }
}

/// The fixture gallery: its database and albums folder (`dir/albums`).
pub fn fixture(dir: &Path) -> (MySqlDatabase, PathBuf) {
    let db = MySqlDatabase::with_schema(&schema());
    let albums = dir.join("albums");
    fill_site(
        &db,
        &[
            (
                1,
                "User galleries",
                "This category contains albums that belong to Coppermine users.",
                0,
                0,
            ),
            (
                2,
                "Television &amp; Film – Heartstopper",
                "[b]Netflix’s[/b] Heartstopper",
                0,
                1,
            ),
            (3, "Season 2 / Premieres", "Premieres & press", 2, 0),
            (4, "Events \"2023\"", "", 0, 2),
            (5, "Photoshoots 📸", "", 4, 0),
            (6, "Behind the scenes", "", 5, 0),
        ],
        &[
            (
                1,
                "Premiere night – London",
                "Red carpet & more",
                0,
                0,
                3,
                3,
                "",
            ),
            (2, "Q&A / Panel 'live'", "", 0, 1, 3, 0, ""),
            (3, "Photoshoot 📸 2023", "", 0, 0, 6, 0, "joe"),
            (4, "Private set", "", 2, 0, 4, 0, ""),
            (5, "Empty album", "", 0, 1, 4, 0, ""),
            (6, "Rosie’s uploads", "", 0, 0, 10_002, 0, ""),
            (7, "Uncategorised", "", 0, 0, 0, 0, ""),
        ],
    );
    let premiere = "uploads/premiere/";
    let mut pics = vec![
        Pic {
            title: "Joe – arriving".into(),
            caption: "[i]On the carpet[/i]",
            keywords: "red carpet;Joe &amp; Kit",
            hits: 42,
            ctime: 1_690_000_000,
            ..pic(1, 1, premiere, "joe-1.jpg", File::Jpeg(64, 48, 1))
        },
        Pic {
            approved: false,
            ..pic(2, 1, premiere, "joe-2.jpg", File::Jpeg(64, 48, 2))
        },
        Pic {
            title: "Kit & Joe 💚 \"together\"".into(),
            ..pic(3, 1, premiere, "joe-3.jpg", File::Jpeg(48, 64, 3))
        },
        pic(4, 1, premiere, "missing.jpg", File::Missing),
        pic(5, 1, premiere, "joe-5.jpg", File::WithCopies(5)),
        pic(6, 1, premiere, "joe-6.jpg", File::NormalOnly(6)),
    ];
    // 80 pictures shown in the reverse of their upload order.
    for i in 0..80 {
        pics.push(Pic {
            title: format!("Q&A {i}"),
            position: 80 - i,
            ..pic(
                100 + i,
                2,
                "uploads/qa/",
                &format!("qa-{i:03}.jpg"),
                File::Jpeg(16, 16, i as u8),
            )
        });
    }
    pics.extend([
        pic(200, 3, "uploads/shoot/", "a.png", File::Png(5)),
        pic(201, 3, "uploads/shoot/", "b.jpg", File::Jpeg(40, 30, 6)),
        pic(210, 4, "uploads/private/", "p.jpg", File::Jpeg(40, 30, 7)),
        pic(
            220,
            6,
            "userpics/10002/",
            "rosie 1.jpg",
            File::Jpeg(40, 30, 8),
        ),
        pic(
            221,
            6,
            "userpics/10002/",
            "rosie-2.jpg",
            File::Jpeg(40, 30, 9),
        ),
        pic(230, 7, "uploads/misc/", "x.jpg", File::Jpeg(40, 30, 10)),
        pic(
            231,
            7,
            "uploads/misc/",
            "x-copy.jpg",
            File::Jpeg(40, 30, 10),
        ),
        pic(232, 7, "uploads/misc/", "clip.mp4", File::Video),
        pic(
            240,
            99,
            "uploads/misc/",
            "orphan.jpg",
            File::Jpeg(40, 30, 11),
        ),
    ]);
    fill_pictures(&db, &albums, &pics);
    let mut c = db.conn();
    insert(
        &mut c,
        "INSERT INTO cpg_comments (pid, msg_author, msg_body) VALUES (?, ?, ?)",
        (0..3)
            .map(|i| vec![n(1), v("fan"), v(&format!("comment {i}"))])
            .collect(),
    );
    (db, albums)
}

fn options(db: &MySqlDatabase, albums: &Path, env: &TestEnv) -> Options {
    Options {
        db_url: db.url.clone(),
        prefix: "cpg_".into(),
        albums: albums.to_path_buf(),
        settings: env.state.config.images.clone(),
        batch: 40,
        ..Options::default()
    }
}

fn import(env: &TestEnv, opts: &Options) -> cms_core::import::Report {
    coppermine::run(
        &env.state.db,
        env.state.media.as_ref(),
        opts,
        &Silent,
        &Actor::cli(),
    )
    .expect("import")
}

fn ours(env: &TestEnv, kind: &str, id: &str) -> i64 {
    let mut conn = env.conn();
    import_item::find(&mut conn, SOURCE, kind, id)
        .expect("query")
        .unwrap_or_else(|| panic!("{kind} {id} was not imported"))
}

fn album(env: &TestEnv, id: i64) -> Album {
    let mut conn = env.conn();
    cms_core::models::album::find(&mut conn, id)
        .expect("q")
        .expect("album")
}

fn photo(env: &TestEnv, pid: i64) -> Photo {
    let mut conn = env.conn();
    cms_core::models::photo::find(&mut conn, ours(env, "picture", &pid.to_string()))
        .expect("q")
        .expect("photo")
}

fn category_path(env: &TestEnv, id: i64) -> String {
    let mut conn = env.conn();
    gallery_category::find(&mut conn, id)
        .expect("q")
        .expect("category")
        .path
}

async fn the_gallery_imports_as_expected(backend: Backend) {
    let env = TestEnv::new(backend);
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, albums) = fixture(dir.path());
    let report = import(&env, &options(&db, &albums, &env));
    let k = |kind: &str| report.kinds.get(kind).cloned().unwrap_or_default();
    assert_eq!(k("categories").imported, 7, "{:#?}", report.kinds);
    assert_eq!(k("albums").imported, 6, "{:#?}", report.kinds);
    assert_eq!(
        k("albums").skipped,
        [("no picture to show".to_string(), 1)]
            .into_iter()
            .collect()
    );
    assert_eq!(k("pictures").imported, 89, "{:#?}", report.kinds);
    assert_eq!(k("pictures").failed, 3, "{:?}", report.failures);
    assert_eq!(
        k("pictures").skipped,
        [
            ("in no album".to_string(), 1),
            ("the same image twice in one album".to_string(), 1)
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(k("unapproved pictures").imported, 1);
    let failures = format!("{:?}", report.failures);
    for name in ["missing.jpg", "joe-6.jpg", "clip.mp4"] {
        assert!(failures.contains(name), "{name} in {failures}");
    }
    assert_eq!(report.exit_code(), 3);
    let notes = report.notes.join("\n");
    for expected in ["3 comments", "1 unapproved", "by keyword", "/gallery/"] {
        assert!(notes.contains(expected), "{expected} in {notes}");
    }

    // The tree: names decoded, descriptions plain, order kept.
    let tv = ours(&env, "category", "2");
    let season = ours(&env, "category", "3");
    {
        let mut conn = env.conn();
        let c = gallery_category::find(&mut conn, tv)
            .expect("q")
            .expect("category");
        assert_eq!(c.name, "Television & Film – Heartstopper");
        assert_eq!(c.description, "Netflix’s Heartstopper");
        assert_eq!(c.parent_id, None);
        let s = gallery_category::find(&mut conn, season)
            .expect("q")
            .expect("category");
        assert_eq!(s.name, "Season 2 / Premieres");
        assert_eq!(s.parent_id, Some(tv));
        let deep = gallery_category::find(&mut conn, ours(&env, "category", "6"))
            .expect("q")
            .expect("category");
        assert_eq!(
            deep.path,
            "events-2023/photoshoots-camera-flash/behind-the-scenes"
        );
        assert!(
            gallery_category::verify_counts(&mut conn)
                .expect("verify")
                .is_empty()
        );
    }

    // Albums: published with their photos in the gallery's order, cover kept.
    let premiere = album(&env, ours(&env, "album", "1"));
    assert_eq!(premiere.title, "Premiere night – London");
    assert_eq!(premiere.description, "Red carpet & more");
    assert_eq!(premiere.status, AlbumStatus::Published);
    assert_eq!(premiere.category_id, Some(season));
    assert_eq!(premiere.photo_count, 3);
    assert_eq!(premiere.cover_photo_id, Some(photo(&env, 3).id));
    let mut conn = env.conn();
    let names = |conn: &mut cms_core::DbConn, album: i64| -> Vec<String> {
        schema::photos::table
            .filter(schema::photos::album_id.eq(album))
            .order((schema::photos::position, schema::photos::id))
            .select(schema::photos::original_filename)
            .load(conn)
            .expect("photos")
    };
    assert_eq!(
        names(&mut conn, premiere.id),
        ["joe-1.jpg", "joe-3.jpg", "joe-5.jpg"]
    );
    let qa = album(&env, ours(&env, "album", "2"));
    let qa_names = names(&mut conn, qa.id);
    assert_eq!(qa_names.len(), 80);
    assert_eq!(qa_names[0], "qa-079.jpg");
    assert_eq!(qa_names[79], "qa-000.jpg");
    drop(conn);
    let p1 = photo(&env, 1);
    assert_eq!(p1.title, "Joe – arriving");
    assert_eq!(
        p1.caption,
        "On the carpet — Keywords: red carpet, Joe & Kit"
    );
    assert_eq!(p1.views, 42);
    assert_eq!(p1.created_at.to_string(), "2023-07-22 04:26:40");
    assert_eq!((p1.width, p1.height), (64, 48));
    assert_eq!(photo(&env, 3).title, "Kit & Joe 💚 \"together\"");
    // A photo is found by its title (this one has no caption), under that title.
    {
        let want = photo(&env, 3).id;
        let mut conn = env.conn();
        let found = cms_core::search::search(&mut conn, "together", 0, 10).expect("search");
        let hit = found
            .hits
            .iter()
            .find(|h| h.kind == cms_core::search::Kind::Photo && h.item_id == want)
            .unwrap_or_else(|| panic!("photo 3 found by its title: {:?}", found.hits));
        assert_eq!(hit.title, "Kit & Joe 💚 \"together\"");
    }
    // The unapproved picture waits in a draft album of its own; the private album is a draft.
    let unapproved = album(&env, photo(&env, 2).album_id);
    assert_eq!(unapproved.title, "Premiere night – London (unapproved)");
    assert_eq!(unapproved.status, AlbumStatus::Draft);
    assert_eq!(
        album(&env, ours(&env, "album", "4")).status,
        AlbumStatus::Draft
    );
    // A member's gallery under "Member galleries › rosie"; an album of no category at the top.
    let rosie = album(&env, ours(&env, "album", "6"));
    assert_eq!(
        category_path(&env, rosie.category_id.expect("category")),
        "member-galleries/rosie"
    );
    assert_eq!(album(&env, ours(&env, "album", "7")).category_id, None);
    // The same image twice in one album is one photo.
    assert_eq!(photo(&env, 230).id, photo(&env, 231).id);
    let mut conn = env.conn();
    let drafts: Vec<String> = schema::albums::table
        .filter(schema::albums::status.ne("published"))
        .select(schema::albums::title)
        .load(&mut *conn)
        .expect("albums");
    assert_eq!(drafts.len(), 2, "{drafts:?}");
    nothing_announced(&mut conn);
    drop(conn);

    // Every old address answers 301 to the new one.
    let file = |pid: i64| {
        let p = photo(&env, pid);
        format!(
            "/media/{}",
            cms_core::media::photo_original_key(&p.content_hash, &p.mime)
        )
    };
    let smallest = |pid: i64| {
        let p = photo(&env, pid);
        let w = p.variant_widths()[0];
        format!(
            "/media/{}",
            cms_core::media::photo_variant_key(&p.content_hash, w)
        )
    };
    let page = |pid: i64| format!("/photos/{}", photo(&env, pid).id);
    let app = env.app().await;
    let expected: Vec<(&str, String)> = vec![
        (
            "/gallery/index.php?cat=2",
            format!("/gallery/{}", category_path(&env, tv)),
        ),
        (
            "/gallery/index.php?cat=3",
            format!("/gallery/{}", category_path(&env, season)),
        ),
        (
            "/gallery/index.php?cat=1",
            "/gallery/member-galleries".into(),
        ),
        (
            "/gallery/index.php?cat=10002",
            "/gallery/member-galleries/rosie".into(),
        ),
        (
            "/gallery/thumbnails.php?album=1",
            format!("/albums/{}", premiere.slug),
        ),
        (
            "/gallery/thumbnails.php?album=2&page=2",
            format!("/albums/{}", qa.slug),
        ),
        (
            "/gallery/thumbnails.php?page=4&album=2",
            format!("/albums/{}?page=2", qa.slug),
        ),
        (
            "/gallery/thumbnails.php?album=5",
            "/gallery/events-2023".into(),
        ),
        (
            "/gallery/thumbnails.php?album=lastup",
            "/gallery/latest".into(),
        ),
        ("/gallery/index.php", "/gallery".into()),
        ("/gallery/displayimage.php?pid=1", page(1)),
        ("/gallery/displayimage.php?pid=1&slideshow=5000", page(1)),
        ("/gallery/displayimage.php?album=1&pos=1", page(3)),
        ("/gallery/displayimage.php?album=1&pid=5", page(5)),
        ("/gallery/displayimage.php?album=2&pos=0", page(179)),
        ("/gallery/albums/uploads/premiere/joe-1.jpg", file(1)),
        (
            "/gallery/albums/uploads/premiere/thumb_joe-5.jpg",
            smallest(5),
        ),
        (
            "/gallery/albums/uploads/premiere/normal_joe-5.jpg",
            smallest(5),
        ),
        ("/gallery/albums/userpics/10002/rosie%201.jpg", file(220)),
        ("/gallery/albums/uploads/misc/x-copy.jpg", file(230)),
    ];
    for (old, new) in &expected {
        let got = get(&app, old).await;
        assert_eq!(got.status, 301, "{old}: {}", got.body);
        assert_eq!(
            got.header("location").as_deref(),
            Some(new.as_str()),
            "{old}"
        );
        let target = get(&app, new).await;
        assert_eq!(target.status, 200, "{old} → {new}");
    }
    // What was never public, or never came, has no redirect.
    for old in [
        "/gallery/displayimage.php?pid=2",
        "/gallery/displayimage.php?pid=4",
        "/gallery/thumbnails.php?album=4",
        "/gallery/albums/uploads/premiere/joe-2.jpg",
        "/gallery/albums/uploads/premiere/normal_joe-6.jpg",
        "/gallery/albums/uploads/misc/orphan.jpg",
    ] {
        assert_eq!(get(&app, old).await.status, 404, "{old}");
    }
}

async fn importing_twice_adds_nothing(backend: Backend) {
    let env = TestEnv::new(backend);
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, albums) = fixture(dir.path());
    let opts = options(&db, &albums, &env);
    import(&env, &opts);
    let before = totals(&env);
    let second = import(&env, &opts);
    assert_eq!(totals(&env), before);
    for (kind, c) in &second.kinds {
        assert_eq!(c.imported, 0, "{kind}: {c:?}");
    }
    assert_eq!(
        second.kinds["pictures"].already, 91,
        "the unapproved one too"
    );
    assert_eq!(second.kinds["albums"].already, 6);
    let mut conn = env.conn();
    assert!(
        gallery_category::verify_counts(&mut conn)
            .expect("verify")
            .is_empty()
    );
}

/// Skipping members' galleries; another base path; a dry run writes nothing.
async fn options_change_what_comes(backend: Backend) {
    let env = TestEnv::new(backend);
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, albums) = fixture(dir.path());
    let dry = import(
        &env,
        &Options {
            dry_run: true,
            ..options(&db, &albums, &env)
        },
    );
    assert!(dry.dry_run);
    assert_eq!(dry.kinds["pictures"].imported, 89 + 1, "{:#?}", dry.kinds);
    assert_eq!(dry.kinds["pictures"].failed, 3);
    assert_eq!(totals(&env)[0], 0);
    assert_eq!(totals(&env)[3], 0);
    let report = import(
        &env,
        &Options {
            skip_user_galleries: true,
            base_path: Some("/".into()),
            ..options(&db, &albums, &env)
        },
    );
    assert_eq!(report.kinds["pictures"].imported, 87);
    assert_eq!(
        report.kinds["pictures"].skipped.get("member gallery"),
        Some(&2)
    );
    let mut conn = env.conn();
    assert!(
        gallery_category::find_by_path(&mut conn, "member-galleries")
            .expect("q")
            .is_none()
    );
    drop(conn);
    let app = env.app().await;
    let got = get(&app, "/displayimage.php?pid=1").await;
    assert_eq!(got.status, 301);
    assert_eq!(
        get(&app, "/gallery/displayimage.php?pid=1").await.status,
        404
    );
}

backend_tests!(
    the_gallery_imports_as_expected,
    importing_twice_adds_nothing,
    options_change_what_comes
);

/// A larger gallery: `albums` albums of `per` small pictures each, in a few categories.
fn large(dir: &Path, albums: i64, per: i64) -> (MySqlDatabase, PathBuf) {
    let db = MySqlDatabase::with_schema(&schema());
    let root = dir.join("albums");
    let cats: Vec<(i64, String)> = (1..=4).map(|c| (c + 1, format!("Season {c}"))).collect();
    let specs: Vec<(i64, String)> = (1..=albums)
        .map(|a| (a, format!("Episode {a} – stills")))
        .collect();
    fill_site(
        &db,
        &cats
            .iter()
            .map(|(cid, name)| (*cid, name.as_str(), "", 0, *cid))
            .collect::<Vec<_>>(),
        &specs
            .iter()
            .map(|(aid, t)| (*aid, t.as_str(), "", 0, *aid, aid % 4 + 2, 0, ""))
            .collect::<Vec<_>>(),
    );
    let mut pics = Vec::new();
    for a in 1..=albums {
        for i in 0..per {
            pics.push(pic(
                a * 1000 + i,
                a,
                "uploads/big/",
                &format!("e{a}-{i}.jpg"),
                File::Jpeg(24, 16, i as u8),
            ));
        }
    }
    fill_pictures(&db, &root, &pics);
    (db, root)
}

/// kill -9 at several points of a large import, then run it again: every picture once, every
/// album published, counts right.
async fn a_killed_import_finishes_when_run_again(backend: Backend) {
    const ALBUMS: i64 = 40;
    const PER: i64 = 30;
    const N: i64 = ALBUMS * PER;
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = our_database(backend, dir.path());
    let (db, albums) = large(dir.path(), ALBUMS, PER);
    let count = || photo_count(dir.path(), &url);
    let command = || {
        let mut c = cms(dir.path(), &url);
        c.args([
            "import",
            "coppermine",
            "--batch",
            "20",
            "--db",
            &db.url,
            "--albums",
        ])
        .arg(&albums);
        c
    };
    kill_then_finish(command, count, N);
    assert_eq!(count(), N);
    let state = state_of(dir.path(), &url).expect("state");
    let mut conn = state.db.conn().expect("conn");
    all_albums_whole(&mut conn, ALBUMS as usize, PER);
    let keyed: i64 = schema::import_items::table
        .filter(schema::import_items::kind.eq("picture"))
        .count()
        .get_result(&mut *conn)
        .expect("n");
    assert_eq!(keyed, N);
    let to_photos: i64 = schema::redirects::table
        .filter(schema::redirects::target_kind.eq_any(["photo", "photo_file"]))
        .count()
        .get_result(&mut *conn)
        .expect("n");
    assert_eq!(to_photos, 3 * N, "pid, album and position, file for each");
}

backend_tests!(a_killed_import_finishes_when_run_again);

async fn the_command_reports_and_refuses_bad_input(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = our_database(backend, dir.path());
    let (db, albums) = fixture(dir.path());
    // A dry run says what would come and what would be refused, and writes nothing.
    let out = cms(dir.path(), &url)
        .args([
            "import",
            "coppermine",
            "--dry-run",
            "--db",
            &db.url,
            "--albums",
        ])
        .arg(&albums)
        .output()
        .expect("dry run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("pictures: 90 to import"), "{stdout}");
    assert!(stderr.contains("missing.jpg"), "{stderr}");
    // The import itself: each refused picture named with its reason, exit code 3.
    let out = cms(dir.path(), &url)
        .args(["import", "coppermine", "--db", &db.url, "--albums"])
        .arg(&albums)
        .output()
        .expect("import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stdout.contains("pictures: 89 imported"), "{stdout}");
    assert!(
        stderr.contains("failed picture 232 (uploads/misc/clip.mp4): not an image"),
        "{stderr}"
    );
    // Nothing could be done: one line, exit 1.
    let empty = MySqlDatabase::empty();
    let missing = dir.path().join("no-such-folder");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--db".into(), "postgres://x@localhost/db".into()],
            "mysql://",
        ),
        (
            vec!["--db".into(), "mysql://root:hunter2@127.0.0.1:1/cpg".into()],
            "cannot connect",
        ),
        (
            vec!["--db".into(), empty.url.clone()],
            "not a Coppermine database",
        ),
        (
            vec![
                "--db".into(),
                db.url.clone(),
                "--prefix".into(),
                "cpg15x_".into(),
            ],
            "--prefix cpg_",
        ),
    ];
    for (args, want) in cases {
        let out = cms(dir.path(), &url)
            .args(["import", "coppermine"])
            .args(&args)
            .arg("--albums")
            .arg(&albums)
            .output()
            .expect("run");
        refused(&out, want);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
    }
    let out = cms(dir.path(), &url)
        .args(["import", "coppermine", "--db", &db.url, "--albums"])
        .arg(&missing)
        .output()
        .expect("run");
    refused(&out, "--albums");
    // Usage errors are clap's.
    let out = cms(dir.path(), &url)
        .args(["import", "coppermine", "--albums"])
        .arg(&albums)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

backend_tests!(the_command_reports_and_refuses_bad_input);

#[test]
fn album_pages_match_the_site() {
    assert_eq!(
        cms_core::import::pictures::KEEPSAKE_ALBUM_PAGE,
        cms_web::pages::album::PER_PAGE
    );
}

//! Imports through the core pipeline and through `cms import gallery`.

use std::path::Path;
use std::process::{Command, Stdio};

use cms_core::ingest::{self, Options, Silent};
use cms_core::media::{photo_original_key, photo_variant_key};
use cms_core::models::album::{self, AlbumStatus};
use cms_core::models::audit::Actor;
use cms_core::models::{gallery_category as gc, photo, post};

use super::files;
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

const ALBUM: &str = "Television Productions/Heartstopper/Season 2/Episode Captures/S02E01 – Out";

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

pub(crate) fn import(env: &TestEnv, dir: &Path, opts: &Options) -> ingest::Report {
    let plan = ingest::source::plan_folder(dir, &[]).expect("plan");
    ingest::run::run(
        &env.state.db,
        env.state.media.as_ref(),
        plan,
        opts,
        &Silent,
        &Actor::cli(),
    )
    .expect("import")
}

fn media_bytes(env: &TestEnv, key: &str) -> Vec<u8> {
    std::fs::read(env.state.config.storage.media_dir.join(key)).expect("media file")
}

async fn every_rule_of_the_pipeline_holds(backend: Backend) {
    let env = TestEnv::new(backend);
    let src = tempfile::tempdir().expect("tempdir");
    let a = files::jpeg(1920, 1080, 1);
    write(src.path(), &format!("{ALBUM}/cap-1.jpg"), &a);
    write(
        src.path(),
        &format!("{ALBUM}/cap-2.jpg"),
        &files::jpeg(1600, 900, 2),
    );
    write(
        src.path(),
        &format!("{ALBUM}/cap-10.jpg"),
        &files::rotated_jpeg_with_gps(800, 600),
    );
    write(
        src.path(),
        &format!("{ALBUM}/logo.jpg"),
        &files::png(400, 300, 3),
    ); // a PNG named .jpg
    write(src.path(), &format!("{ALBUM}/copy-of-cap-1.jpg"), &a);
    let mut truncated = files::jpeg(1280, 720, 4);
    truncated.truncate(truncated.len() / 2);
    write(src.path(), &format!("{ALBUM}/broken.jpg"), &truncated);
    write(
        src.path(),
        &format!("{ALBUM}/notes.jpg"),
        b"these are notes, not a picture",
    );
    write(
        src.path(),
        &format!("{ALBUM}/flood.png"),
        &files::pixel_flood_png(40_000, 40_000),
    );
    let report = import(&env, src.path(), &Options::default());
    assert_eq!(report.imported, 4, "{report:#?}");
    assert_eq!(report.duplicates, [format!("{ALBUM}/copy-of-cap-1.jpg")]);
    let mut skipped: Vec<(String, String)> = report.skipped.clone();
    skipped.sort();
    let reasons: Vec<(&str, &str)> = skipped
        .iter()
        .map(|(n, r)| (n.rsplit('/').next().unwrap_or(n), r.as_str()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].0 == "broken.jpg" && reasons[0].1.contains("truncated"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].0 == "flood.png" && reasons[1].1.contains("too many pixels"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].0 == "notes.jpg" && reasons[2].1.contains("not an image"),
        "{reasons:?}"
    );

    // The album was created, published at the end, in natural order, with right counts.
    let al = album::find_by_slug(&mut env.conn(), "s02e01-out")
        .expect("q")
        .expect("album");
    assert_eq!(al.status, AlbumStatus::Published);
    assert_eq!(al.photo_count, 4);
    assert!(
        gc::verify_counts(&mut env.conn())
            .expect("verify")
            .is_empty()
    );
    let photos = photo::page_in_album(&mut env.conn(), al.id, 0, 10).expect("photos");
    let names: Vec<&str> = photos
        .iter()
        .map(|p| p.original_filename.as_str())
        .collect();
    assert_eq!(
        names,
        ["cap-1.jpg", "cap-2.jpg", "cap-10.jpg", "logo.jpg"],
        "natural order"
    );
    // The type comes from the bytes, not the name.
    assert_eq!(photos[3].mime, "image/png");
    // Orientation applied: the sideways 800×600 is a 600×800 portrait, in every derivative.
    let rotated = &photos[2];
    assert_eq!((rotated.width, rotated.height), (600, 800));
    assert_eq!(
        rotated.variant_widths(),
        [320, 600],
        "never wider than the original"
    );
    for w in rotated.variant_widths() {
        let d = media_bytes(&env, &photo_variant_key(&rotated.content_hash, w));
        let img = image::load_from_memory(&d).expect("derivative decodes");
        assert!(img.height() > img.width(), "portrait");
        assert!(
            !d.windows(4).any(|x| x == b"Exif"),
            "no EXIF in derivatives"
        );
    }
    let original = media_bytes(
        &env,
        &photo_original_key(&rotated.content_hash, &rotated.mime),
    );
    // The original keeps only its orientation: no GPS, and it shows upright ("Full size" is
    // not sideways), its shown size being the photo's.
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&original))
        .expect("the orientation is kept");
    assert!(
        exif.fields().all(|f| f.tag == exif::Tag::Orientation),
        "nothing but the orientation: {:?}",
        exif.fields().map(|f| f.tag).collect::<Vec<_>>()
    );
    assert!(!original.windows(3).any(|x| x == b"GPS"), "GPS stripped");
    assert_eq!(
        exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0)),
        Some(6)
    );
    let stored = image::load_from_memory(&original).expect("the original still decodes");
    assert_eq!(
        (stored.height() as i32, stored.width() as i32),
        (rotated.width, rotated.height),
        "shown turned a quarter, the stored pixels are the photo's size"
    );
    // Sizes are the configured set, capped by the original.
    assert_eq!(photos[0].variant_widths(), [320, 640, 1280]);
    // Readers see it, with srcset.
    let app = env.app().await;
    let page = get(&app, "/albums/s02e01-out").await;
    assert_eq!(page.attrs(".thumbs img", "srcset").len(), 4);
    assert_eq!(
        get(
            &app,
            &format!(
                "/media/{}",
                photo_variant_key(&photos[0].content_hash, 1280)
            )
        )
        .await
        .status,
        200
    );

    // Running it again adds nothing.
    let again = import(&env, src.path(), &Options::default());
    assert_eq!(again.imported, 0);
    assert_eq!(again.duplicates.len(), 5);
    assert_eq!(
        album::find(&mut env.conn(), al.id)
            .expect("q")
            .expect("a")
            .photo_count,
        4
    );
}

async fn zips_are_read_safely(backend: Backend) {
    let env = TestEnv::new(backend);
    let work = tempfile::tempdir().expect("tempdir");
    let zip = files::zip(
        &[
            ("Events/Tag Heuer Party/one.jpg", files::jpeg(640, 480, 9)),
            ("Events/Tag Heuer Party/two.jpg", files::jpeg(640, 480, 10)),
            ("../escape.jpg", files::jpeg(64, 64, 11)),
            ("/absolute.jpg", files::jpeg(64, 64, 12)),
        ],
        Some(("Events/Tag Heuer Party/link.jpg", "/etc/passwd")),
        Some("Events/Tag Heuer Party/bomb.jpg"),
    );
    let path = work.path().join("party.zip");
    std::fs::write(&path, zip).expect("write zip");
    let plan = ingest::source::plan_zip(&path, &[], 64 << 20).expect("plan");
    let refused: Vec<&str> = plan.refused.iter().map(|(n, _)| n.as_str()).collect();
    for trap in [
        "../escape.jpg",
        "/absolute.jpg",
        "Events/Tag Heuer Party/link.jpg",
        "Events/Tag Heuer Party/bomb.jpg",
    ] {
        assert!(
            refused.contains(&trap),
            "{trap} refused: {:?}",
            plan.refused
        );
    }
    let report = ingest::run::run(
        &env.state.db,
        env.state.media.as_ref(),
        plan,
        &Options::default(),
        &Silent,
        &Actor::cli(),
    )
    .expect("import");
    assert_eq!(report.imported, 2);
    assert_eq!(report.skipped.len(), 4);
    assert!(!work.path().join("escape.jpg").exists() && !Path::new("/absolute.jpg").exists());
    let al = album::find_by_slug(&mut env.conn(), "tag-heuer-party")
        .expect("q")
        .expect("album");
    assert_eq!(al.photo_count, 2);
}

async fn nothing_importable_creates_nothing(backend: Backend) {
    let env = TestEnv::new(backend);
    let work = tempfile::tempdir().expect("tempdir");
    // A folder tree of nothing but non-images, and a zip whose only entry is refused.
    let folder = work.path().join("etc");
    write(&folder, "Config/hosts.jpg", b"127.0.0.1 localhost");
    write(&folder, "Config/Deeper/passwd", b"root:x:0:0");
    write(&folder, "notes.txt", b"notes");
    let report = import(
        &env,
        &folder,
        &Options {
            announce: true,
            ..Options::default()
        },
    );
    assert_eq!(report.imported, 0);
    assert!(report.albums_created.is_empty(), "{report:#?}");
    let zip = work.path().join("refused.zip");
    std::fs::write(
        &zip,
        files::zip(
            &[("Events/Party/readme.jpg", b"text, not a photo".to_vec())],
            None,
            None,
        ),
    )
    .expect("zip");
    let plan = ingest::source::plan_zip(&zip, &[], 64 << 20).expect("plan");
    let report = ingest::run::run(
        &env.state.db,
        env.state.media.as_ref(),
        plan,
        &Options {
            announce: true,
            ..Options::default()
        },
        &Silent,
        &Actor::cli(),
    )
    .expect("import");
    assert_eq!(report.imported, 0);
    assert_eq!(report.skipped.len(), 1, "{report:#?}");
    // No album, no category, no announcement, no email queued.
    use diesel::prelude::*;
    let mut conn = env.conn();
    let count = |conn: &mut cms_core::DbConn, table: &str| -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        cms_core::per_backend!(conn, |c| diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        ))
        .get_result::<N>(c))
        .expect("count")
        .n
    };
    for table in [
        "albums",
        "gallery_categories",
        "posts",
        "jobs",
        "email_outbox",
    ] {
        assert_eq!(count(&mut conn, table), 0, "{table}");
    }
}

async fn imports_can_wait_to_be_published_and_be_announced(backend: Backend) {
    let env = TestEnv::new(backend);
    let src = tempfile::tempdir().expect("tempdir");
    for i in 0..3u8 {
        write(
            src.path(),
            &format!("Season 2/S02E0{} – Ep/{i}.jpg", i + 1),
            &files::jpeg(320, 180, i),
        );
    }
    let report = import(
        &env,
        src.path(),
        &Options {
            leave_unpublished: true,
            announce: true,
            ..Options::default()
        },
    );
    assert_eq!(report.albums_created.len(), 3);
    for (id, _) in &report.albums_created {
        assert_eq!(
            album::find(&mut env.conn(), *id)
                .expect("q")
                .expect("a")
                .status,
            AlbumStatus::Draft
        );
    }
    let cat = gc::find_by_path(&mut env.conn(), "season-2")
        .expect("q")
        .expect("category");
    assert_eq!(
        (cat.album_count, cat.photo_count),
        (0, 0),
        "readers see nothing yet"
    );
    let p = post::find(&mut env.conn(), report.announcement.expect("announcement"))
        .expect("q")
        .expect("post");
    assert_eq!(p.status, post::PostStatus::Draft);
    assert_eq!(p.title, "Season 2 Photos");
    assert!(
        p.body_markdown
            .starts_with("3 new photos from Season 2 have been added to the gallery!\n\n"),
        "{}",
        p.body_markdown
    );
    assert_eq!(p.body_markdown.matches("[[album:").count(), 3);
    assert!(
        !p.body_markdown.contains(" from:"),
        "new albums show from their start"
    );
    assert!(
        p.featured_photo_id.is_some(),
        "the first new photo is featured"
    );
    let cats = post::categories_of(&mut env.conn(), &[p.id]).expect("q");
    assert_eq!(
        cats.get(&p.id)
            .map(|c| c.iter().map(|c| c.name.clone()).collect::<Vec<_>>()),
        Some(vec!["Gallery Updates".to_string()])
    );
}

/// Photos added to albums that were there already are announced as what they are: the
/// reference site's "Heartstopper Season 2 Captures", each album's row showing the new photos.
async fn additions_to_existing_albums_are_announced_with_the_new_photos(backend: Backend) {
    let env = TestEnv::new(backend);
    let path = [
        "Television Productions",
        "Heartstopper",
        "Season 2",
        "Episode Captures",
    ];
    let before = env.album_with_photos(&path, "S02E01 – Out", 5);
    let src = tempfile::tempdir().expect("tempdir");
    for i in 0..3u8 {
        write(
            src.path(),
            &format!(
                "Television Productions/Heartstopper/Season 2/Episode Captures/S02E01 – Out/{i}.jpg"
            ),
            &files::jpeg(320, 180, i),
        );
        write(
            src.path(),
            &format!(
                "Television Productions/Heartstopper/Season 2/Episode Captures/S02E02 – Family/{i}.jpg"
            ),
            &files::jpeg(320, 180, 10 + i),
        );
    }
    let report = import(
        &env,
        src.path(),
        &Options {
            announce: true,
            ..Options::default()
        },
    );
    let p = post::find(&mut env.conn(), report.announcement.expect("announcement"))
        .expect("q")
        .expect("post");
    assert_eq!(p.title, "Heartstopper Season 2 Captures");
    assert!(
        p.body_markdown.starts_with(
            "6 new captures from Heartstopper Season 2 have been added to the gallery!"
        ),
        "{}",
        p.body_markdown
    );
    let first_new = photo::page_in_album(&mut env.conn(), before.id, 0, 10)
        .expect("q")
        .iter()
        .map(|p| p.id)
        .max()
        .expect("photos")
        - 2;
    assert!(
        p.body_markdown
            .contains(&format!("[[album:{} from:", before.slug)),
        "{}",
        p.body_markdown
    );
    // Published, the old album's row shows the three new photos, not its first five.
    let mut input = post::PostInput::new(p.title.clone(), p.body_markdown.clone());
    input.status = post::PostStatus::Published;
    env.write(|c| cms_core::service::posts::update(c, &crate::common::cli(), p.id, &input, None));
    let app = env.app().await;
    let page = get(&app, &format!("/posts/{}", p.slug)).await;
    let captions = page.texts(".embed-album figcaption");
    assert_eq!(
        captions[0],
        "Television Productions › Heartstopper › Season 2 › Episode Captures › S02E01 – Out (8 photos)"
    );
    let hrefs = page.attrs(".embed-album:first-of-type a[href^='/photos/']", "href");
    let shown: Vec<i64> = hrefs
        .iter()
        .filter_map(|h| h.trim_start_matches("/photos/").parse().ok())
        .collect();
    assert_eq!(shown.len(), 3, "{hrefs:?}");
    assert!(
        shown.iter().all(|id| *id >= first_new),
        "{shown:?} from {first_new}"
    );
}

backend_tests!(
    every_rule_of_the_pipeline_holds,
    zips_are_read_safely,
    nothing_importable_creates_nothing,
    imports_can_wait_to_be_published_and_be_announced,
    additions_to_existing_albums_are_announced_with_the_new_photos
);

/// `cms` in `dir` on the database at `url`, with warnings only in its log.
pub fn cms(dir: &Path, url: &str) -> Command {
    let mut c = Command::new(crate::common::cms_bin());
    c.current_dir(dir)
        .env("CMS_DATABASE_URL", url)
        .env("CMS_DATA_DIR", dir.join("data"))
        .env(
            "CMS_SECRET_KEY",
            "test-secret-key-test-secret-key-test-secret",
        )
        .env("CMS_LOG", "warn");
    c
}

async fn killed_imports_resume_without_duplicates(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("cms.db").display()),
            None,
        ),
        Backend::Postgres => {
            let db = crate::common::PgDatabase::create();
            (db.url.clone(), Some(db))
        }
    };
    let src = dir.path().join("src");
    const N: usize = 48;
    for i in 0..N {
        write(
            &src,
            &format!("Captures/Episode {}/{i:03}.jpg", i % 3 + 1),
            &files::jpeg(1280, 720, i as u8),
        );
    }
    write(
        &src,
        "Captures/Episode 1/zz-not-an-image.jpg",
        b"plain text",
    );
    let count = |url: &str| -> i64 {
        let config = cms_core::Config::for_tests(dir.path(), url).expect("config");
        let Ok(state) = cms_core::AppState::open(config) else {
            return 0;
        };
        let Ok(mut conn) = state.db.conn() else {
            return 0;
        };
        use diesel::prelude::*;
        cms_core::schema::photos::table
            .count()
            .get_result(&mut *conn)
            .unwrap_or(0)
    };
    // Start `import gallery --announce`, wait until more than `past` photos are in, kill it
    // hard: how many were in.
    let import_killed_past = |past: i64| -> i64 {
        let mut child = cms(dir.path(), &url)
            .args(["import", "gallery", "--announce"])
            .arg(&src)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut at_kill = 0;
        for _ in 0..600 {
            std::thread::sleep(std::time::Duration::from_millis(25));
            at_kill = count(&url);
            if at_kill > past || child.try_wait().expect("wait").is_some() {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        at_kill
    };
    let at_kill = import_killed_past(0);
    assert!(at_kill < N as i64, "killed part-way ({at_kill} of {N})");
    // A temporary file like one a killed writer leaves (the kill may or may not have left one).
    let tmp = dir.path().join("data/media/.tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    std::fs::write(tmp.join("999999999-orphan"), b"half a file").expect("orphan");
    // Run again: it completes, adds nothing twice, and reports the bad file with exit code 3.
    let out = cms(dir.path(), &url)
        .args(["import", "gallery", "--announce"])
        .arg(&src)
        .output()
        .expect("rerun");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("zz-not-an-image.jpg: not an image"));
    let env_config = cms_core::Config::for_tests(dir.path(), &url).expect("config");
    let state = cms_core::AppState::open(env_config).expect("state");
    let mut conn = state.db.conn().expect("conn");
    assert_eq!(count(&url), N as i64);
    assert!(gc::verify_counts(&mut conn).expect("verify").is_empty());
    // The killed run's albums were finished too: all published, all in the announcement.
    let albums: Vec<album::Album> = cms_core::schema::albums::table
        .select(album::Album::as_select())
        .load(&mut *conn)
        .expect("albums");
    assert_eq!(albums.len(), 3);
    for a in &albums {
        assert_eq!(a.status, AlbumStatus::Published, "{}", a.title);
    }
    let announced: Vec<post::Post> = cms_core::schema::posts::table
        .select(post::Post::as_select())
        .load(&mut *conn)
        .expect("posts");
    let last = announced.last().expect("an announcement");
    for a in &albums {
        assert!(
            last.body_markdown
                .contains(&format!("[[album:{}]]", a.slug)),
            "{} in {}",
            a.slug,
            last.body_markdown
        );
    }
    assert_eq!(last.title, format!("{N} new photos in 3 albums"));
    assert_eq!(
        std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0),
        0,
        "temporary files of the killed run are swept"
    );
    assert!(
        cms_core::models::import_item::all_of(&mut conn, "gallery-import", "pending-album")
            .expect("pending")
            .is_empty()
    );
    // Every row's files are there and whole.
    use diesel::prelude::*;
    let all: Vec<photo::Photo> = cms_core::schema::photos::table
        .select(photo::Photo::as_select())
        .load(&mut *conn)
        .expect("photos");
    let media = dir.path().join("data/media");
    for p in &all {
        for w in p.variant_widths() {
            let bytes = std::fs::read(media.join(photo_variant_key(&p.content_hash, w)))
                .expect("derivative");
            assert!(image::load_from_memory(&bytes).is_ok());
        }
        assert!(
            media
                .join(photo_original_key(&p.content_hash, &p.mime))
                .exists()
        );
    }
    // And a third run is a no-op.
    let third = cms(dir.path(), &url)
        .args(["import", "gallery"])
        .arg(&src)
        .output()
        .expect("third");
    assert!(String::from_utf8_lossy(&third.stdout).starts_with("imported 0 photos"));
    let first_new = all.iter().map(|p| p.id).max().expect("photos") + 1;
    drop(conn);

    // More photos for the albums now published, announced; killed part-way and resumed: the
    // announcement counts the killed run's photos too and shows each album from the first of
    // them.
    const MORE: usize = 36;
    for i in N..N + MORE {
        write(
            &src,
            &format!("Captures/Episode {}/{i:03}.jpg", i % 3 + 1),
            &files::jpeg(1280, 720, i as u8),
        );
    }
    let at_kill = import_killed_past(N as i64);
    assert!(
        at_kill > N as i64 && at_kill < (N + MORE) as i64,
        "killed part-way ({at_kill} of {})",
        N + MORE
    );
    let out = cms(dir.path(), &url)
        .args(["import", "gallery", "--announce"])
        .arg(&src)
        .output()
        .expect("resume");
    assert_eq!(out.status.code(), Some(3));
    let mut conn = state.db.conn().expect("conn");
    assert_eq!(count(&url), (N + MORE) as i64);
    let posts: Vec<post::Post> = cms_core::schema::posts::table
        .order(cms_core::schema::posts::id.asc())
        .select(post::Post::as_select())
        .load(&mut *conn)
        .expect("posts");
    let resumed = posts.last().expect("an announcement");
    assert_ne!(resumed.id, last.id, "a second announcement");
    assert_eq!(resumed.title, format!("{MORE} new photos in 3 albums"));
    // Each album's row starts where the photos new to it start — the killed run's first for
    // an album it reached (a resumed run that started counting afresh would leave those out),
    // the resumed run's own for one it did not — never earlier.
    for a in &albums {
        let marker = format!("[[album:{} from:", a.slug);
        let from: i64 = resumed
            .body_markdown
            .split(&marker)
            .nth(1)
            .and_then(|r| r.split("]]").next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{marker} in {}", resumed.body_markdown));
        let mut new_ids = |from: i64| -> Vec<i64> {
            cms_core::schema::photos::table
                .filter(cms_core::schema::photos::album_id.eq(a.id))
                .filter(cms_core::schema::photos::id.ge(from))
                .select(cms_core::schema::photos::id)
                .load(&mut *conn)
                .expect("ids")
        };
        assert!(
            from >= first_new,
            "{}: from {from}, before the import",
            a.slug
        );
        let (shown, added) = (new_ids(from), new_ids(first_new));
        assert_eq!(shown, added, "{}: every new photo", a.slug);
        assert_eq!(shown.len(), MORE / 3, "{}", a.slug);
    }
    assert!(
        cms_core::models::import_item::all_of(&mut conn, "gallery-import", "adding-to-album")
            .expect("marks")
            .is_empty(),
        "the marks go when the import ends"
    );
}

backend_tests!(killed_imports_resume_without_duplicates);

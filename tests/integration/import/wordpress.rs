//! `cms import wordpress`: the fixture site imported as `EXPECTED.md` says, twice without
//! doubling, killed and resumed, and every old address redirecting over HTTP.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use cms_core::import::wordpress::{self, Options};
use cms_core::ingest::Silent;
use cms_core::models::audit::Actor;
use cms_core::models::post::{Post, PostKind, PostStatus};
use cms_core::models::user::{self, NewUser, Role};
use cms_core::models::{gallery_category, import_item};
use cms_core::schema;
use diesel::prelude::*;

use crate::backend_tests;
use crate::common::{Backend, PgDatabase, TestEnv, get};
use crate::gallery::files;
use crate::gallery::import::cms;

const SOURCE: &str = "wordpress:joefanarchive.example";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wordpress/fan-site.xml")
}

/// `wp-content/uploads` as `uploads.txt` describes it: real JPEGs of the sizes given, a PDF.
fn uploads(dir: &Path) -> PathBuf {
    let root = dir.join("wp-content/uploads");
    let list = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wordpress/uploads.txt"),
    )
    .expect("uploads.txt");
    for (i, line) in list.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let (path, size) = line.split_once(' ').expect("path and size");
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        let bytes = if size == "pdf" {
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
                .to_vec()
        } else {
            let (w, h) = size.split_once('x').expect("WxH");
            files::jpeg(w.parse().expect("w"), h.parse().expect("h"), (i * 37) as u8)
        };
        std::fs::write(file, bytes).expect("write upload");
    }
    root
}

fn import(env: &TestEnv, media_from: Option<PathBuf>) -> cms_core::import::Report {
    wordpress::run(
        &env.state.db,
        env.state.media.as_ref(),
        &fixture(),
        &Options {
            media_from,
            settings: env.state.config.images.clone(),
            ..Options::default()
        },
        &Silent,
        &Actor::cli(),
    )
    .expect("import")
}

fn post(env: &TestEnv, slug: &str) -> Post {
    let mut conn = env.conn();
    cms_core::models::post::find_by_slug(&mut conn, slug)
        .expect("query")
        .unwrap_or_else(|| panic!("no post {slug}"))
}

/// Our id for a WordPress item.
fn ours(env: &TestEnv, kind: &str, wp: &str) -> i64 {
    let mut conn = env.conn();
    import_item::find(&mut conn, SOURCE, kind, wp)
        .expect("query")
        .unwrap_or_else(|| panic!("{kind} {wp} was not imported"))
}

/// Rows per table, to compare runs.
fn totals(env: &TestEnv) -> Vec<(&'static str, i64)> {
    let mut conn = env.conn();
    let c = &mut *conn;
    vec![
        (
            "posts",
            schema::posts::table.count().get_result(c).expect("n"),
        ),
        (
            "photos",
            schema::photos::table.count().get_result(c).expect("n"),
        ),
        (
            "albums",
            schema::albums::table.count().get_result(c).expect("n"),
        ),
        (
            "videos",
            schema::videos::table.count().get_result(c).expect("n"),
        ),
        (
            "users",
            schema::users::table.count().get_result(c).expect("n"),
        ),
        (
            "categories",
            schema::categories::table.count().get_result(c).expect("n"),
        ),
        (
            "tags",
            schema::tags::table.count().get_result(c).expect("n"),
        ),
        (
            "redirects",
            schema::redirects::table.count().get_result(c).expect("n"),
        ),
        (
            "revisions",
            schema::post_revisions::table
                .count()
                .get_result(c)
                .expect("n"),
        ),
    ]
}

async fn the_fixture_site_imports_as_expected(backend: Backend) {
    let env = TestEnv::new(backend);
    let dir = tempfile::tempdir().expect("tempdir");
    let media = uploads(dir.path());
    // Rosie already has an account here: her posts become hers.
    let rosie = env.write(|conn| {
        user::create(
            conn,
            &NewUser {
                email: "Editor@JoeFanArchive.example",
                name: "Rosie",
                role: Role::Editor,
                password_hash: "x",
                must_change_password: false,
            },
        )
    });
    let report = import(&env, Some(media));
    let k = |kind: &str| report.kinds.get(kind).cloned().unwrap_or_default();
    assert_eq!(k("posts").imported, 12, "{:#?}", report.kinds);
    assert_eq!(
        k("posts").skipped,
        [("auto-draft".to_string(), 1), ("trash".to_string(), 1)]
            .into_iter()
            .collect()
    );
    assert_eq!(k("pages").imported, 3);
    assert_eq!(k("attachments").imported, 5);
    assert_eq!(k("attachments").failed, 2);
    assert_eq!(k("categories").imported, 8);
    assert_eq!((k("tags").imported, k("tags").already), (6, 1));
    assert_eq!((k("authors").imported, k("authors").already), (2, 1));
    assert_eq!(
        k("other items").skipped,
        ["feedback", "nav_menu_item", "revision", "wp_block"]
            .into_iter()
            .map(|s| (s.to_string(), 1))
            .collect()
    );
    let failures = format!("{:?}", report.failures);
    assert!(failures.contains("stage-door-selfie.jpg"), "{failures}");
    assert!(
        failures.contains("joe-fan-archive-press-pack.pdf"),
        "{failures}"
    );
    assert_eq!(report.failures.len(), 2, "{failures}");
    assert_eq!(report.exit_code(), 3);
    let notes = report.notes.join("\n");
    for expected in [
        "[contact-form-7]",
        "[spoiler]",
        "7 comments",
        "1 sticky",
        "1 private",
        "1 password-protected",
    ] {
        assert!(notes.contains(expected), "{expected} in {notes}");
    }

    // Posts: statuses, dates, slugs, authors, featured images; nobody is emailed.
    let p8 = post(&env, "welcome-to-joe-fan-archive");
    assert_eq!(p8.status, PostStatus::Published);
    assert_eq!(
        p8.published_at.map(|d| d.to_string()).as_deref(),
        Some("2022-05-14 11:00:00")
    );
    assert_eq!(p8.featured_photo_id, Some(ours(&env, "attachment", "9")));
    assert_eq!(post(&env, "cafe-meetup").id, ours(&env, "post", "10"));
    assert_eq!(post(&env, "cafe-meetup-2").id, ours(&env, "post", "12"));
    assert_eq!(
        post(&env, "sparkles-sparkle-news").id,
        ours(&env, "post", "15")
    );
    let p16 = post(&env, "premiere-night");
    assert_eq!(p16.featured_photo_id, Some(ours(&env, "attachment", "17")));
    assert_eq!(
        p16.excerpt,
        "Red carpet photos from the Heartstopper season 2 premiere in London."
    );
    assert_eq!(
        post(&env, "joe-kit-on-heartstopper-season-2-the-interview").featured_photo_id,
        None
    );
    let p29 = post(&env, "heartstopper-movie-world-premiere");
    assert_eq!(p29.status, PostStatus::Scheduled);
    assert_eq!(
        p29.publish_at.map(|d| d.to_string()).as_deref(),
        Some("2031-03-14 18:00:00")
    );
    assert_eq!(p29.published_at, None);
    for (slug, status) in [
        ("members-only-unreleased-set-photos", PostStatus::Draft),
        ("site-to-do-list", PostStatus::Draft),
        ("sweeney-todd-notes", PostStatus::Draft),
        ("q-a-joes-favourite-isle-of-man-spots", PostStatus::Draft),
        ("privacy-policy", PostStatus::Draft),
        ("about", PostStatus::Published),
        ("team", PostStatus::Published),
    ] {
        assert_eq!(post(&env, slug).status, status, "{slug}");
    }
    assert_eq!(post(&env, "about").kind, PostKind::Page);
    assert_eq!(post(&env, "cafe-meetup-2").author_id, Some(rosie.id));
    let mut conn = env.conn();
    let all: Vec<Post> = schema::posts::table
        .select(Post::as_select())
        .load(&mut *conn)
        .expect("posts");
    assert_eq!(all.len(), 15);
    assert!(all.iter().all(|p| !p.notify_subscribers));
    let fanouts: i64 = schema::jobs::table
        .filter(schema::jobs::kind.eq("fanout"))
        .filter(schema::jobs::status.ne("done"))
        .count()
        .get_result(&mut *conn)
        .expect("jobs");
    assert_eq!(fanouts, 0, "an import announces nothing");
    let outbox: i64 = schema::email_outbox::table
        .count()
        .get_result(&mut *conn)
        .expect("outbox");
    assert_eq!(outbox, 0);

    // Users made for authors cannot log in and are never admins.
    let made: Vec<user::User> = user::list(&mut conn).expect("users");
    assert_eq!(made.len(), 3);
    for u in made.iter().filter(|u| u.id != rosie.id) {
        assert!(u.disabled && u.role == Role::Editor, "{u:?}");
        assert!(
            cms_core::password::verify("", &u.password_hash) != cms_core::password::Verdict::Match
        );
    }
    assert!(made.iter().any(|u| u.name == "Tomás Ó Briain"));

    // Categories keep their tree and descriptions; tags merge by slug.
    let hs = cms_core::models::category::find_by_slug(&mut conn, "heartstopper")
        .expect("q")
        .expect("heartstopper");
    let tv = cms_core::models::category::find_by_slug(&mut conn, "television")
        .expect("q")
        .expect("television");
    assert_eq!(hs.parent_id, Some(tv.id));
    assert_eq!(
        hs.description,
        "Everything about Netflix’s Heartstopper – Joe plays Charlie Spring."
    );
    let news = cms_core::models::category::find_by_slug(&mut conn, "news-updates")
        .expect("q")
        .expect("news");
    assert_eq!(news.name, "News & Updates");
    assert!(
        cms_core::models::category::find_by_slug(&mut conn, "photoshoots-camera-flash")
            .expect("q")
            .is_some()
    );
    let tags = cms_core::models::post::tags_of(&mut conn, &[p16.id]).expect("tags");
    let mut p16_tags: Vec<String> = tags[&p16.id].iter().map(|t| t.slug.clone()).collect();
    p16_tags.sort();
    assert_eq!(p16_tags, ["kit-connor", "netflix", "premiere", "season-2"]);

    // Photos keep title, caption and alt text, in published albums; counts are right.
    let photo17 = cms_core::models::photo::find(&mut conn, ours(&env, "attachment", "17"))
        .expect("q")
        .expect("photo");
    assert_eq!(photo17.title, "Joe on the red carpet");
    assert_eq!(
        photo17.caption,
        "Joe arriving at the season 2 premiere – London, 2 August 2023"
    );
    assert_eq!(
        photo17.alt_text,
        "Joe Locke smiling on the red carpet in a green suit"
    );
    assert_eq!((photo17.width, photo17.height), (1200, 800));
    let photo19 = cms_core::models::photo::find(&mut conn, ours(&env, "attachment", "19"))
        .expect("q")
        .expect("photo");
    assert_eq!((photo19.width, photo19.height), (800, 1200));
    let draft_albums: i64 = schema::albums::table
        .filter(schema::albums::status.ne("published"))
        .count()
        .get_result(&mut *conn)
        .expect("albums");
    assert_eq!(
        draft_albums, 0,
        "every album with photos of published posts is public"
    );
    assert!(
        gallery_category::verify_counts(&mut conn)
            .expect("verify")
            .is_empty()
    );

    // Bodies: what WordPress showed, sanitised.
    for p in &all {
        for bad in [
            "<script",
            "onerror",
            "alert(",
            "<iframe",
            "<!-- wp:",
            "<!--more",
            "[youtube",
            "[gallery",
            "[caption",
            "[embed",
            "wp-image-",
        ] {
            assert!(
                !p.body_html.contains(bad),
                "{bad} in {}: {}",
                p.slug,
                p.body_html
            );
        }
        if p.slug != "about" {
            assert!(
                !p.body_html.contains("wp-content/uploads"),
                "{}: {}",
                p.slug,
                p.body_html
            );
        }
    }
    assert!(p8.body_html.contains("*love*"), "{}", p8.body_html);
    assert!(!p8.body_html.contains("<em>love"), "{}", p8.body_html);
    assert!(p8.body_html.contains("5 &lt; 6"), "{}", p8.body_html);
    assert!(p8.body_html.contains("<br"), "{}", p8.body_html);
    assert!(
        p8.body_html.contains(r#"href="/posts/about""#),
        "{}",
        p8.body_html
    );
    assert!(
        p8.body_html.contains(r#"href="/posts/team""#),
        "{}",
        p8.body_html
    );
    let p12 = post(&env, "cafe-meetup-2");
    assert!(
        p12.body_html.contains(r#"href="/posts/cafe-meetup""#),
        "{}",
        p12.body_html
    );
    assert!(
        p12.body_html.contains("[spoiler title="),
        "{}",
        p12.body_html
    );
    let p10 = post(&env, "cafe-meetup");
    assert!(
        p10.body_html.contains("Nick &amp; Charlie"),
        "{}",
        p10.body_html
    );
    assert!(!p10.body_html.contains("&amp;amp;"), "{}", p10.body_html);
    assert!(
        p16.body_markdown.contains("[[album:"),
        "{}",
        p16.body_markdown
    );
    assert!(
        p16.body_markdown.contains("[[video:"),
        "{}",
        p16.body_markdown
    );
    assert!(
        p16.body_html.contains("Joe and Kit – together again"),
        "{}",
        p16.body_html
    );
    assert!(p16.body_html.contains("srcset="), "{}", p16.body_html);
    assert!(
        p16.body_html
            .contains(r#"href="/posts/sparkles-sparkle-news""#),
        "{}",
        p16.body_html
    );
    let p21 = post(&env, "joe-kit-on-heartstopper-season-2-the-interview");
    assert!(p21.body_html.contains("<figcaption>"), "{}", p21.body_html);
    assert!(p21.body_html.contains("*that*"), "{}", p21.body_html);
    assert!(p21.body_html.contains("]]&gt;"), "{}", p21.body_html);
    assert!(
        p21.body_html.contains(r#"href="/posts/premiere-night""#),
        "{}",
        p21.body_html
    );
    assert!(
        p21.body_html.contains(r#"href="/category/heartstopper""#),
        "{}",
        p21.body_html
    );
    assert!(
        p21.body_html
            .contains("Season 2 press day with this one 💚")
    );
    // The gallery of post 16 is an album of photos 17, 18, 19 in that order.
    let gallery = schema::albums::table
        .filter(schema::albums::title.like("Gallery: Premiere night%"))
        .select(schema::albums::id)
        .first::<i64>(&mut *conn)
        .expect("gallery album");
    let files: Vec<String> = schema::photos::table
        .filter(schema::photos::album_id.eq(gallery))
        .order(schema::photos::position)
        .select(schema::photos::original_filename)
        .load(&mut *conn)
        .expect("photos");
    assert_eq!(
        files,
        ["joe-premiere-1.jpg", "joe-premiere-2.jpg", "IMG_4471.JPG"]
    );
    // Videos: the vault has each once.
    let embeds: Vec<Option<String>> = schema::videos::table
        .select(schema::videos::embed_url)
        .load(&mut *conn)
        .expect("videos");
    let embeds: Vec<String> = embeds.into_iter().flatten().collect();
    for id in ["Tr4iler_S2x", "123456789", "Hs2PremR3d0", "JoeKit2023a"] {
        assert_eq!(
            embeds.iter().filter(|e| e.contains(id)).count(),
            1,
            "{id} in {embeds:?}"
        );
    }
    drop(conn);

    // Every old address answers 301 to the new one.
    let app = env.app().await;
    let photo = |wp: &str| format!("/photos/{}", ours(&env, "attachment", wp));
    let file = |wp: &str| {
        let mut conn = env.conn();
        let p = cms_core::models::photo::find(&mut conn, ours(&env, "attachment", wp))
            .expect("q")
            .expect("photo");
        format!(
            "/media/{}",
            cms_core::media::photo_original_key(&p.content_hash, &p.mime)
        )
    };
    let expected: Vec<(&str, String)> = vec![
        (
            "/2022/05/welcome-to-joe-fan-archive/",
            "/posts/welcome-to-joe-fan-archive".into(),
        ),
        ("/?p=8", "/posts/welcome-to-joe-fan-archive".into()),
        ("/2022/09/caf%c3%a9-meetup/", "/posts/cafe-meetup".into()),
        ("/2022/09/caf%C3%A9-meetup", "/posts/cafe-meetup".into()),
        ("/2023/02/cafe-meetup/", "/posts/cafe-meetup-2".into()),
        (
            "/2023/06/%e2%9c%a8-sparkle-news/",
            "/posts/sparkles-sparkle-news".into(),
        ),
        ("/2023/08/premiere-night/", "/posts/premiere-night".into()),
        ("/?p=16&utm_source=twitter", "/posts/premiere-night".into()),
        (
            "/2023/08/heartstopper-season-2-premiere-red-carpet-photos/",
            "/posts/premiere-night".into(),
        ),
        ("/about/", "/posts/about".into()),
        ("/about/team/", "/posts/team".into()),
        ("/?page_id=6", "/posts/team".into()),
        ("/category/events/", "/category/events".into()),
        ("/?cat=4", "/category/heartstopper".into()),
        (
            "/category/television/heartstopper/",
            "/category/heartstopper".into(),
        ),
        (
            "/category/television/heartstopper/feed/",
            "/category/heartstopper/feed.atom".into(),
        ),
        (
            "/category/photoshoots-%f0%9f%93%b8/",
            "/category/photoshoots-camera-flash".into(),
        ),
        ("/tag/season-2/", "/tag/season-2".into()),
        ("/tag/premi%c3%a8re/", "/tag/premiere".into()),
        ("/?tag=season-2", "/tag/season-2".into()),
        ("/author/tomas/", "/posts".into()),
        ("/?attachment_id=17", photo("17")),
        ("/2023/08/premiere-night/joe-premiere-2/", photo("18")),
        ("/wp-content/uploads/2023/08/joe-premiere-1.jpg", file("17")),
        (
            "/wp-content/uploads/2023/08/joe-premiere-2-300x200.jpg",
            file("18"),
        ),
        ("/wp-content/uploads/2023/08/IMG_4471.JPG", file("19")),
        (
            "/wp-content/uploads/2024/02/sweeney-todd-curtain-call.jpg",
            file("25"),
        ),
        (
            "/wp-content/uploads/2024/02/sweeney-todd-curtain-call-1024x683.jpg",
            file("25"),
        ),
        ("/2023/08/", "/archive/2023/08".into()),
        ("/2023/08/02/", "/archive/2023/08".into()),
        ("/2023/11/site-to-do-list/", "/archive/2023/11".into()),
        ("/feed/", "/feed.rss".into()),
        ("/feed/atom/", "/feed.atom".into()),
        ("/page/2/", "/posts?page=2".into()),
    ];
    for (old, new) in &expected {
        let page = get(&app, old).await;
        assert_eq!(page.status, 301, "{old}: {}", page.body);
        assert_eq!(
            page.header("location").as_deref(),
            Some(new.as_str()),
            "{old}"
        );
        // And the new address answers (November 2023 has no published post and the site
        // has one page of posts: those are honest 404s).
        let target = get(&app, new).await;
        let want = if new.ends_with("2023/11") || new.ends_with("page=2") {
            404
        } else {
            200
        };
        assert_eq!(target.status, want, "{old} → {new}");
    }
    // Drafts, skipped items and missing files have no redirect.
    for old in [
        "/?p=23",
        "/?p=29",
        "/?page_id=3",
        "/?p=13",
        "/?p=7",
        "/?utm_source=news",
    ] {
        assert_eq!(get(&app, old).await.status, 200, "{old} is the home page");
    }
    for old in [
        "/wp-content/uploads/2024/02/stage-door-selfie.jpg",
        "/wp-content/uploads/2023/08/img_4471.jpg",
        "/2023/09/members-only-unreleased-set-photos/x/",
        "/nothing/here/",
    ] {
        assert_eq!(get(&app, old).await.status, 404, "{old}");
    }
    // The post page shows the photos it holds and its embeds.
    let page = get(&app, "/posts/premiere-night").await;
    assert_eq!(page.status, 200);
    assert!(
        !page.attrs("img[srcset]", "srcset").is_empty(),
        "{}",
        page.body
    );
}

async fn importing_twice_adds_nothing(backend: Backend) {
    let env = TestEnv::new(backend);
    let dir = tempfile::tempdir().expect("tempdir");
    let media = uploads(dir.path());
    import(&env, Some(media.clone()));
    let before = totals(&env);
    let second = import(&env, Some(media));
    assert_eq!(totals(&env), before);
    for (kind, c) in &second.kinds {
        assert_eq!(c.imported, 0, "{kind}: {c:?}");
    }
    assert_eq!(second.kinds["posts"].already, 12);
    assert_eq!(second.kinds["attachments"].already, 5);
    let mut conn = env.conn();
    let slugs: Vec<String> = schema::posts::table
        .select(schema::posts::slug)
        .load(&mut *conn)
        .expect("slugs");
    assert!(!slugs.iter().any(|s| s.ends_with("-3")), "{slugs:?}");
}

async fn without_media_the_posts_still_come(backend: Backend) {
    let env = TestEnv::new(backend);
    let report = import(&env, None);
    assert_eq!(report.kinds["posts"].imported, 12);
    assert_eq!(report.kinds["attachments"].imported, 0);
    assert!(report.notes.join("\n").contains("--media-from"));
    // Images keep their old addresses rather than vanishing.
    let p = post(&env, "premiere-night");
    assert!(
        p.body_html.contains("/wp-content/uploads/2023/08/"),
        "{}",
        p.body_html
    );
    assert_eq!(p.featured_photo_id, None);
}

backend_tests!(
    the_fixture_site_imports_as_expected,
    importing_twice_adds_nothing,
    without_media_the_posts_still_come
);

fn database(backend: Backend, dir: &Path) -> (String, Option<PgDatabase>) {
    match backend {
        Backend::Sqlite => (format!("sqlite://{}", dir.join("cms.db").display()), None),
        Backend::Postgres => {
            let db = PgDatabase::create();
            (db.url.clone(), Some(db))
        }
    }
}

/// A WXR file of `n` published posts in a few categories and tags, with links between them.
pub fn large_wxr(n: usize) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
<title>Big fan site</title>
<link>https://big.example</link>
<wp:wxr_version>1.2</wp:wxr_version>
<wp:base_site_url>https://big.example</wp:base_site_url>
<wp:base_blog_url>https://big.example</wp:base_blog_url>
<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[admin]]></wp:author_login><wp:author_email><![CDATA[admin@big.example]]></wp:author_email><wp:author_display_name><![CDATA[Admin]]></wp:author_display_name></wp:author>
<wp:category><wp:term_id>2</wp:term_id><wp:category_nicename><![CDATA[news]]></wp:category_nicename><wp:category_parent><![CDATA[]]></wp:category_parent><wp:cat_name><![CDATA[News]]></wp:cat_name></wp:category>
<wp:category><wp:term_id>3</wp:term_id><wp:category_nicename><![CDATA[tv]]></wp:category_nicename><wp:category_parent><![CDATA[news]]></wp:category_parent><wp:cat_name><![CDATA[TV & Film]]></wp:cat_name></wp:category>
<wp:tag><wp:term_id>4</wp:term_id><wp:tag_slug><![CDATA[season-2]]></wp:tag_slug><wp:tag_name><![CDATA[Season 2]]></wp:tag_name></wp:tag>
"#,
    );
    for i in 1..=n {
        let id = i + 100;
        let cat = if i % 2 == 0 { "news" } else { "tv" };
        s.push_str(&format!(
            r#"<item>
<title><![CDATA[Update {i} – “news” & more]]></title>
<link>https://big.example/2024/01/update-{i}/</link>
<dc:creator><![CDATA[admin]]></dc:creator>
<guid isPermaLink="false">https://big.example/?p={id}</guid>
<content:encoded><![CDATA[First paragraph of update {i}.

Second paragraph with a <a href="https://big.example/2024/01/update-{prev}/">link back</a>.]]></content:encoded>
<excerpt:encoded><![CDATA[]]></excerpt:encoded>
<wp:post_id>{id}</wp:post_id>
<wp:post_date><![CDATA[2024-01-01 10:00:00]]></wp:post_date>
<wp:post_date_gmt><![CDATA[2024-01-01 10:00:00]]></wp:post_date_gmt>
<wp:post_name><![CDATA[update-{i}]]></wp:post_name>
<wp:status><![CDATA[publish]]></wp:status>
<wp:post_parent>0</wp:post_parent>
<wp:post_type><![CDATA[post]]></wp:post_type>
<category domain="category" nicename="{cat}"><![CDATA[x]]></category>
<category domain="post_tag" nicename="season-2"><![CDATA[Season 2]]></category>
</item>
"#,
            prev = i.saturating_sub(1).max(1)
        ));
    }
    s.push_str("</channel>\n</rss>\n");
    s
}

/// kill -9 at several points of a large import, then run it again: every post once, every
/// redirect there, counts right.
async fn a_killed_import_finishes_when_run_again(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = database(backend, dir.path());
    const N: usize = 1500;
    let file = dir.path().join("big.xml");
    std::fs::write(&file, large_wxr(N)).expect("write wxr");
    let count = || -> i64 {
        let config = cms_core::Config::for_tests(dir.path(), &url).expect("config");
        let Ok(state) = cms_core::AppState::open(config) else {
            return 0;
        };
        let Ok(mut conn) = state.db.conn() else {
            return 0;
        };
        schema::posts::table
            .count()
            .get_result(&mut *conn)
            .unwrap_or(0)
    };
    let mut kills = Vec::new();
    for target in [1, N as i64 / 3, 2 * N as i64 / 3] {
        let mut child = cms(dir.path(), &url)
            .args(["import", "wordpress"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut seen = 0;
        for _ in 0..2400 {
            std::thread::sleep(std::time::Duration::from_millis(25));
            seen = count();
            if seen >= target || child.try_wait().expect("wait").is_some() {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        kills.push(seen);
    }
    assert!(
        kills.iter().any(|k| *k > 0 && *k < N as i64),
        "killed part-way at least once: {kills:?}"
    );
    let out = cms(dir.path(), &url)
        .args(["import", "wordpress"])
        .arg(&file)
        .output()
        .expect("rerun");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(), N as i64);
    let config = cms_core::Config::for_tests(dir.path(), &url).expect("config");
    let state = cms_core::AppState::open(config).expect("state");
    let mut conn = state.db.conn().expect("conn");
    let slugs: Vec<String> = schema::posts::table
        .select(schema::posts::slug)
        .load(&mut *conn)
        .expect("slugs");
    let distinct: std::collections::HashSet<&String> = slugs.iter().collect();
    assert_eq!(distinct.len(), N);
    assert!(
        slugs.iter().all(|s| !s.ends_with("-2") || s == "update-2"),
        "no doubled post"
    );
    let redirects: i64 = schema::redirects::table
        .filter(schema::redirects::target_kind.eq("post"))
        .count()
        .get_result(&mut *conn)
        .expect("redirects");
    assert_eq!(redirects, 2 * N as i64, "permalink and ?p= for each post");
    let stats = cms_core::models::post::stats(&mut conn).expect("stats");
    let _ = stats;
    let listed: HashMap<String, i64> = cms_core::models::tag::all(&mut conn)
        .expect("tags")
        .into_iter()
        .map(|t| (t.slug, t.id))
        .collect();
    assert!(listed.contains_key("season-2"));
    // Links between posts point at the new addresses.
    let body: String = schema::posts::table
        .filter(schema::posts::slug.eq("update-10"))
        .select(schema::posts::body_html)
        .first(&mut *conn)
        .expect("post");
    assert!(body.contains(r#"href="/posts/update-9""#), "{body}");
}

backend_tests!(a_killed_import_finishes_when_run_again);

async fn the_command_reports_and_refuses_bad_input(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = database(backend, dir.path());
    // A dry run reads everything and writes nothing.
    let out = cms(dir.path(), &url)
        .args(["import", "wordpress", "--dry-run"])
        .arg(fixture())
        .output()
        .expect("dry run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // It says what the import would refuse (the PDF), with the import's exit code.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("joe-fan-archive-press-pack.pdf"),
        "{stderr}"
    );
    assert!(stdout.contains("posts: 12 to import"), "{stdout}");
    assert!(stdout.contains("pages: 3 to import"), "{stdout}");
    let config = cms_core::Config::for_tests(dir.path(), &url).expect("config");
    let state = cms_core::AppState::open(config).expect("state");
    let n: i64 = schema::posts::table
        .count()
        .get_result(&mut *state.db.conn().expect("conn"))
        .expect("count");
    assert_eq!(n, 0);
    // Missing files: imported all the same, named, exit code 3.
    let media = uploads(dir.path());
    std::fs::remove_file(media.join("2023/08/joe-premiere-1.jpg")).expect("rm");
    let out = cms(dir.path(), &url)
        .args(["import", "wordpress", "--media-from"])
        .arg(&media)
        .arg(fixture())
        .output()
        .expect("import");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("joe-premiere-1.jpg"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("posts: 12 imported"));
    // Not a WordPress export, not a file, not XML: one line, exit 1; nothing else said.
    let junk = dir.path().join("junk.xml");
    std::fs::write(&junk, "<html><body>hello</body></html>").expect("write");
    let trunc = dir.path().join("truncated.xml");
    let text = std::fs::read_to_string(fixture()).expect("read");
    std::fs::write(&trunc, &text[..text.len() / 2]).expect("write");
    for bad in [junk, trunc, dir.path().join("absent.xml")] {
        let out = cms(dir.path(), &url)
            .args(["import", "wordpress"])
            .arg(&bad)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", bad.display());
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
    }
}

backend_tests!(the_command_reports_and_refuses_bad_input);

/// A small HTTP server on loopback serving `root`'s files (the old site, or a video provider
/// standing in), until dropped. A query string is ignored.
pub struct OldSite {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl OldSite {
    pub fn serve(root: PathBuf) -> OldSite {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) <= 2 {
                        break;
                    }
                }
                let file = root.join(path.trim_start_matches('/'));
                let mut out = stream;
                match std::fs::read(&file) {
                    Ok(bytes) if !path.contains("..") => {
                        let _ = write!(
                            out,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            bytes.len()
                        );
                        let _ = out.write_all(&bytes);
                    }
                    _ => {
                        let _ = out.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                }
            }
        });
        OldSite { port, stop }
    }
}

impl Drop for OldSite {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `--fetch-media` fetches from the addresses in the export, and refuses private addresses
/// unless told otherwise.
async fn media_are_fetched_only_from_allowed_addresses(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let uploads_root = uploads(dir.path());
    let site = OldSite::serve(
        uploads_root
            .parent()
            .and_then(|p| p.parent())
            .expect("root")
            .to_path_buf(),
    );
    let text = std::fs::read_to_string(fixture())
        .expect("fixture")
        .replace(
            "https://joefanarchive.example/wp-content/uploads/",
            &format!("http://127.0.0.1:{}/wp-content/uploads/", site.port),
        );
    let file = dir.path().join("export.xml");
    std::fs::write(&file, text).expect("write");
    let env = TestEnv::new(backend);
    let run = |allow: bool| {
        wordpress::run(
            &env.state.db,
            env.state.media.as_ref(),
            &file,
            &Options {
                fetch_media: true,
                allow_private_addresses: allow,
                settings: env.state.config.images.clone(),
                ..Options::default()
            },
            &Silent,
            &Actor::cli(),
        )
        .expect("import")
    };
    let refused = run(false);
    assert_eq!(refused.kinds["attachments"].imported, 0);
    let why = format!("{:?}", refused.failures);
    assert!(
        why.contains("127.0.0.1 is a private or reserved address"),
        "{why}"
    );
    let allowed = run(true);
    assert_eq!(
        allowed.kinds["attachments"].imported, 5,
        "{:?}",
        allowed.failures
    );
    // The missing file is a 404 from the old site, named with its address.
    let why = format!("{:?}", allowed.failures);
    assert!(
        why.contains("stage-door-selfie.jpg") && why.contains("404"),
        "{why}"
    );
}

backend_tests!(media_are_fetched_only_from_allowed_addresses);

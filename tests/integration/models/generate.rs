//! `cms_core::generate`: the archive-scale data generator behind the benchmarks.

use actix_web::http::StatusCode;
use cms_core::generate::{ScaleOptions, ScaleReport, generate};
use cms_core::media::photo_variant_key;
use cms_core::models::{gallery_category, photo};
use cms_core::schema::{
    albums, email_outbox, jobs, photos, posts, subscriber_topics, subscribers, videos,
};
use diesel::prelude::*;

use crate::common::{Backend, TestEnv, get};

fn small(seed: u64) -> ScaleOptions {
    ScaleOptions {
        photos: 9_000,
        albums: 30,
        posts: 120,
        videos: 6,
        subscribers: 300,
        seed,
        shared_images: 3,
    }
}

fn run(env: &TestEnv, opts: &ScaleOptions) -> ScaleReport {
    let mut lines = Vec::new();
    let report = generate(&env.state.db, env.state.media.as_ref(), opts, |l| {
        lines.push(l.to_string())
    })
    .expect("generate");
    assert_eq!(
        lines.len(),
        report.phases.len(),
        "one progress line per phase"
    );
    report
}

fn count(env: &TestEnv, table: &str) -> i64 {
    let mut conn = env.conn();
    let c = &mut *conn;
    match table {
        "photos" => photos::table.count().get_result(c),
        "albums" => albums::table.count().get_result(c),
        "posts" => posts::table.count().get_result(c),
        "videos" => videos::table.count().get_result(c),
        "subscribers" => subscribers::table.count().get_result(c),
        "subscriber_topics" => subscriber_topics::table.count().get_result(c),
        "email_outbox" => email_outbox::table.count().get_result(c),
        _ => unreachable!("{table}"),
    }
    .expect("count")
}

async fn fills_an_empty_archive_to_the_totals(backend: Backend) {
    let env = TestEnv::new(backend);
    let opts = small(7);
    let report = run(&env, &opts);
    assert_eq!(
        (
            report.photos,
            report.albums,
            report.posts,
            report.videos,
            report.subscribers
        ),
        (9_000, 30, 120, 6, 300)
    );
    assert_eq!(count(&env, "photos"), 9_000);
    assert_eq!(count(&env, "albums"), 30);
    assert_eq!(count(&env, "posts"), 120);
    assert_eq!(count(&env, "videos"), 6);
    assert_eq!(count(&env, "subscribers"), 300);
    assert!(
        count(&env, "subscriber_topics") >= 300,
        "every subscriber has a topic"
    );
    assert!(
        report.gallery_categories > 100,
        "a tree like a fan archive's"
    );
    // Counts are right all the way up the tree, and every album has a cover.
    assert_eq!(
        gallery_category::verify_counts(&mut env.conn()).expect("verify"),
        Vec::<String>::new()
    );
    let coverless: i64 = albums::table
        .filter(albums::cover_photo_id.is_null())
        .count()
        .get_result(&mut *env.conn())
        .expect("count");
    assert_eq!(coverless, 0);
    // Nothing published is dated in the future (seasons run past the current year).
    let now = cms_core::models::now();
    let future_albums: i64 = albums::table
        .filter(albums::published_at.gt(now))
        .count()
        .get_result(&mut *env.conn())
        .expect("count");
    let future_posts: i64 = posts::table
        .filter(posts::status.eq("published"))
        .filter(posts::published_at.gt(now))
        .count()
        .get_result(&mut *env.conn())
        .expect("count");
    assert_eq!((future_albums, future_posts), (0, 0));
    // Nothing was announced, so starting the server sends no email.
    let fanouts: i64 = jobs::table
        .filter(jobs::kind.eq(cms_core::notify::FANOUT_JOB))
        .count()
        .get_result(&mut *env.conn())
        .expect("count");
    assert_eq!((fanouts, count(&env, "email_outbox")), (0, 0));
    // Every album is in the change stream once; those loaded in bulk quietly (mirrors see
    // them; no digest or webhook announces a bulk load).
    let events = cms_core::models::change::after(&mut env.conn(), 0, 100_000).expect("events");
    let published: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "album.published")
        .collect();
    let mut albums_seen: Vec<i64> = published.iter().map(|e| e.item_id).collect();
    albums_seen.sort_unstable();
    albums_seen.dedup();
    assert_eq!((published.len(), albums_seen.len()), (30, 30));
    let bulk: Vec<_> = published
        .iter()
        .filter(|e| e.actor == "import:generate")
        .collect();
    assert!(!bulk.is_empty() && bulk.iter().all(|e| e.quiet), "{bulk:?}");
    // Photos are distinct rows whose files exist, shared through links.
    let sample: Vec<photo::Photo> = photos::table
        .order(photos::id.desc())
        .limit(5)
        .select(photo::Photo::as_select())
        .load(&mut *env.conn())
        .expect("photos");
    for p in &sample {
        assert!(
            env.state
                .media
                .exists(&photo_variant_key(&p.content_hash, 320))
        );
    }
    let hashes: std::collections::HashSet<_> = sample.iter().map(|p| &p.content_hash).collect();
    assert_eq!(hashes.len(), sample.len());

    // The public site serves it: a generated album, its middle page, a post, search.
    let app = env.app().await;
    let (slug, n): (String, i64) = albums::table
        .order(albums::photo_count.desc())
        .select((albums::slug, albums::photo_count))
        .first(&mut *env.conn())
        .expect("album");
    assert!(n > 300);
    let page = get(&app, &format!("/albums/{slug}?page=3")).await;
    assert_eq!(page.status, StatusCode::OK, "{slug}");
    let post_slug: String = posts::table
        .filter(posts::status.eq("published"))
        .order(posts::id.desc())
        .select(posts::slug)
        .first(&mut *env.conn())
        .expect("post");
    assert_eq!(
        get(&app, &format!("/posts/{post_slug}")).await.status,
        StatusCode::OK
    );
    let search = get(&app, "/search?q=premiere").await;
    assert_eq!(search.status, StatusCode::OK);
    assert!(
        !search.texts("li.result").is_empty(),
        "search finds generated posts"
    );

    // A database with content is refused, and left as it was.
    let again = generate(&env.state.db, env.state.media.as_ref(), &opts, |_| {});
    assert!(again.is_err());
    assert_eq!(count(&env, "photos"), 9_000);
}

type Fingerprint = (
    Vec<(String, String, i64)>,
    Vec<(String, String, String)>,
    Vec<String>,
);

fn fingerprint(env: &TestEnv) -> Fingerprint {
    let mut conn = env.conn();
    let albums = albums::table
        .order(albums::slug)
        .select((albums::slug, albums::title, albums::photo_count))
        .load(&mut *conn)
        .expect("albums");
    let posts = posts::table
        .order(posts::slug)
        .select((posts::slug, posts::title, posts::body_markdown))
        .load(&mut *conn)
        .expect("posts");
    let videos = videos::table
        .order(videos::slug)
        .select(videos::transcript)
        .load(&mut *conn)
        .expect("videos");
    (albums, posts, videos)
}

#[actix_web::test]
async fn the_same_seed_makes_the_same_archive() {
    let opts = ScaleOptions {
        photos: 7_900,
        albums: 12,
        posts: 40,
        videos: 3,
        subscribers: 20,
        seed: 3,
        shared_images: 2,
    };
    let a = TestEnv::new(Backend::Sqlite);
    let b = TestEnv::new(Backend::Sqlite);
    let c = TestEnv::new(Backend::Sqlite);
    run(&a, &opts);
    run(&b, &opts);
    run(
        &c,
        &ScaleOptions {
            seed: 4,
            ..opts.clone()
        },
    );
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_ne!(fingerprint(&a).1, fingerprint(&c).1);
}

#[actix_web::test]
async fn more_photos_than_the_reference_needs_more_albums() {
    let env = TestEnv::new(Backend::Sqlite);
    let opts = ScaleOptions {
        photos: 10_000,
        albums: 8,
        ..small(1)
    };
    let err = generate(&env.state.db, env.state.media.as_ref(), &opts, |_| {})
        .expect_err("8 albums cannot hold more photos");
    assert!(err.to_string().contains("albums"), "{err}");
    assert_eq!(
        count(&env, "posts"),
        0,
        "refused before anything was written"
    );
}

crate::backend_tests!(fills_an_empty_archive_to_the_totals);

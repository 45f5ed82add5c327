//! `/`: the demo archive's home page.

use cms_core::demo::{self, DemoOptions};

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

async fn home_shows_published_posts_albums_and_videos(backend: Backend) {
    let env = TestEnv::new(backend);
    let report = demo::load(
        &env.state.db,
        env.state.media.as_ref(),
        DemoOptions {
            photo_divisor: 400,
            ..Default::default()
        },
    )
    .expect("demo")
    .expect("loaded into an empty database");
    assert_eq!(report.albums, 8);
    let app = env.app().await;
    let page = get(&app, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("title"), ["Kit Connor Archives"]);
    let titles = page.texts(".post-card h2");
    assert_eq!(titles.len(), 7, "one wide card and rows of two or three");
    assert_eq!(titles[0], "Heartstopper Season 2 Captures");
    assert!(
        titles.iter().all(|t| !t.starts_with("Draft")),
        "drafts never show: {titles:?}"
    );
    assert!(
        titles.contains(
            &"Kit Connor & Joe Locke Explain What Made Heartstopper's Milkshakes Disgusting"
                .to_string()
        )
    );
    // Posts are cards with their featured photos; only the first loads eagerly.
    assert_eq!(page.attrs(".post-card .card-image img", "src").len(), 7);
    assert_eq!(
        page.attrs(".post-card .card-image img[loading=lazy]", "src")
            .len(),
        6
    );
    // The latest additions are the albums added to last, each with the photos just added.
    let albums = page.texts(".latest-additions h3");
    assert_eq!(
        albums,
        [
            "S02E08 – Perfect",
            "S02E07 – Sorry",
            "S02E06 – Truth / Dare"
        ]
    );
    for meta in page.texts(".latest-additions .addition .meta") {
        assert!(meta.contains(" new photo"), "{meta}");
    }
    let thumbs = page.attrs(".latest-additions .thumbs img", "src");
    assert!(!thumbs.is_empty() && thumbs.len() <= 18, "{thumbs:?}");
    assert_eq!(
        page.texts(".latest-videos .card-title"),
        ["Kit Connor & Joe Locke React To Heartstopper Scenes"]
    );
    // The subscribe box posts to the subscribe form, every topic on.
    assert_eq!(page.attrs(".subscribe-box form", "action"), ["/subscribe"]);
    assert_eq!(
        page.attrs(".subscribe-box input[name=topics]", "value"),
        ["news", "gallery", "videos"]
    );
    // The demo is branded as a fan site is.
    assert_eq!(page.texts(".tagline").len(), 1);
    assert!(page.texts(".disclaimer")[0].contains("not affiliated"));
    assert_eq!(page.attrs(".banner-home img", "alt"), [""]);
    // The demo loads only once.
    let again = demo::load(
        &env.state.db,
        env.state.media.as_ref(),
        DemoOptions {
            photo_divisor: 400,
            ..Default::default()
        },
    )
    .expect("demo");
    assert!(again.is_none());
}

async fn empty_site_still_renders(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let page = get(&app, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts(".latest-posts .empty"),
        ["Nothing has been published yet."]
    );
    assert!(page.texts(".latest-additions").is_empty());
    assert!(page.texts(".banner").is_empty());
    assert_eq!(page.texts(".site-title"), ["Keepsake"]);
}

backend_tests!(
    home_shows_published_posts_albums_and_videos,
    empty_site_still_renders
);

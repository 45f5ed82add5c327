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
    let titles = page.texts(".post-summary h2");
    assert_eq!(titles.len(), 10);
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
    let albums = page.texts(".latest-albums .card-title");
    assert_eq!(albums.len(), 6);
    assert!(albums.iter().all(|a| a.starts_with("S02E0")), "{albums:?}");
    // Every card's count is the true number of photo rows.
    let counts = page.texts(".latest-albums .count");
    let total: usize = counts
        .iter()
        .map(|c| {
            c.trim_end_matches(" photos")
                .trim_end_matches(" photo")
                .parse::<usize>()
                .expect("number")
        })
        .sum();
    assert!(total >= 6);
    for img in page.attrs(".latest-albums img", "width") {
        assert_eq!(img, "320");
    }
    assert_eq!(
        page.texts(".latest-videos a"),
        ["Kit Connor & Joe Locke React To Heartstopper Scenes"]
    );
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
    assert!(page.texts(".latest-albums").is_empty());
}

backend_tests!(
    home_shows_published_posts_albums_and_videos,
    empty_site_still_renders
);

//! Sitemaps, robots.txt, share cards and structured data.

use cms_core::models::post::PostInput;

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

fn locs(xml: &str) -> Vec<String> {
    xml.split("<loc>")
        .skip(1)
        .filter_map(|s| s.split("</loc>").next())
        .map(str::to_string)
        .collect()
}

async fn sitemaps_cover_published_content_only(backend: Backend) {
    let env = TestEnv::new(backend);
    let demo = env.demo();
    env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &PostInput::new("Another draft", "x"),
        )
    });
    let app = env.app().await;
    let index = get(&app, "/sitemap.xml").await;
    assert_eq!(index.status, 200);
    let maps = locs(&index.body);
    assert_eq!(
        maps,
        [
            "http://keepsake.test/sitemaps/pages.xml",
            "http://keepsake.test/sitemaps/posts.xml",
            "http://keepsake.test/sitemaps/albums.xml",
            "http://keepsake.test/sitemaps/videos.xml",
            "http://keepsake.test/sitemaps/photos-0.xml",
        ]
    );
    let posts = locs(&get(&app, "/sitemaps/posts.xml").await.body);
    assert_eq!(posts.len(), 13);
    assert!(posts.iter().all(|u| !u.contains("draft")), "{posts:?}");
    let albums = locs(&get(&app, "/sitemaps/albums.xml").await.body);
    assert!(albums.contains(&"http://keepsake.test/albums/s02e06-truth-dare".to_string()));
    let photos = locs(&get(&app, "/sitemaps/photos-0.xml").await.body);
    assert_eq!(photos.len(), demo.photos, "every demo photo");
    let pages = locs(&get(&app, "/sitemaps/pages.xml").await.body);
    assert!(pages.contains(&"http://keepsake.test/gallery/television-productions/heartstopper/season-2/episode-captures".to_string()));
    assert_eq!(get(&app, "/sitemaps/photos-7.xml").await.status, 404);
    assert_eq!(get(&app, "/sitemaps/whatever.xml").await.status, 404);
    let robots = get(&app, "/robots.txt").await;
    assert!(
        robots
            .body
            .contains("Sitemap: http://keepsake.test/sitemap.xml")
    );
    assert!(robots.body.contains("Disallow: /admin"));
}

async fn posts_carry_share_cards_and_json_ld(backend: Backend) {
    let env = TestEnv::new(backend);
    env.demo();
    let app = env.app().await;
    let page = get(&app, "/posts/heartstopper-season-2-captures").await;
    let meta = |p: &str| page.attrs(&format!("meta[property='{p}']"), "content");
    assert_eq!(meta("og:title"), ["Heartstopper Season 2 Captures"]);
    assert_eq!(meta("og:type"), ["article"]);
    assert_eq!(
        meta("og:url"),
        ["http://keepsake.test/posts/heartstopper-season-2-captures"]
    );
    let image = meta("og:image");
    assert!(
        image.len() == 1 && image[0].starts_with("http://keepsake.test/media/photos/"),
        "{image:?}"
    );
    assert_eq!(
        page.attrs("meta[name='twitter:card']", "content"),
        ["summary_large_image"]
    );
    assert_eq!(
        page.attrs("link[rel=canonical]", "href"),
        ["http://keepsake.test/posts/heartstopper-season-2-captures"]
    );
    let ld: serde_json::Value =
        serde_json::from_str(&page.texts("script[type='application/ld+json']")[0])
            .expect("JSON-LD");
    assert_eq!(ld["@type"], "NewsArticle");
    assert_eq!(ld["headline"], "Heartstopper Season 2 Captures");
    // The embeds show each album's path, live count and thumbnails.
    let captions = page.texts(".embed-album figcaption");
    assert_eq!(captions.len(), 8);
    assert_eq!(
        captions[0],
        "Television Productions › Heartstopper › Season 2 › Episode Captures › S02E01 – Out (2 photos)"
    );
    assert_eq!(
        page.attrs(".embed-album img", "src").len(),
        14,
        "every photo of the demo at this scale (at most four per album)"
    );
    let feeds = page.attrs("link[rel=alternate]", "type");
    assert_eq!(feeds, ["application/atom+xml", "application/rss+xml"]);
}

backend_tests!(
    sitemaps_cover_published_content_only,
    posts_carry_share_cards_and_json_ld
);

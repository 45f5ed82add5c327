//! Feeds, parsed by an independent feed parser.

use cms_core::models::post::{PostInput, PostKind, PostStatus};

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

async fn feeds_parse_and_hold_published_posts_only(backend: Backend) {
    let env = TestEnv::new(backend);
    env.demo();
    let app = env.app().await;
    for (path, mime) in [
        ("/feed.atom", "application/atom+xml"),
        ("/feed.rss", "application/rss+xml"),
    ] {
        let page = get(&app, path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.header("content-type")
                .is_some_and(|c| c.starts_with(mime))
        );
        let feed = feed_rs::parser::parse(page.body.as_bytes()).expect("the feed parses");
        assert_eq!(feed.title.expect("title").content, "Kit Connor Archives");
        let titles: Vec<String> = feed
            .entries
            .iter()
            .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
            .collect();
        assert_eq!(titles.len(), 13, "{path}: {titles:?}");
        assert_eq!(titles[0], "Heartstopper Season 2 Captures");
        assert!(
            titles.contains(
                &"Kit Connor & Joe Locke Explain What Made Heartstopper's Milkshakes Disgusting"
                    .to_string()
            )
        );
        assert!(
            titles.contains(&"Netflix Unveils 'Heartstopper' Season Two Premiere Date".to_string())
        );
        assert!(titles.iter().all(|t| !t.starts_with("Draft")), "{path}");
        let first = &feed.entries[0];
        assert_eq!(
            first.links[0].href,
            "http://keepsake.test/posts/heartstopper-season-2-captures"
        );
        let content = first
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default();
        assert!(
            content.contains("href=\"http://keepsake.test/albums/s02e01-out\""),
            "links are absolute: {content}"
        );
        assert!(
            content.contains("S02E06 – Truth / Dare"),
            "the embeds are expanded"
        );
    }
}

async fn category_feeds_filter_and_unknown_ones_404(backend: Backend) {
    let env = TestEnv::new(backend);
    let c = env.write(|conn| {
        cms_core::service::taxonomy::create_category(
            conn,
            &crate::common::cli(),
            None,
            "Interviews",
            None,
            "",
        )
    });
    let mut p = PostInput::new("They Put the Heart in 'Heartstopper'", "Profile.");
    p.kind = PostKind::Article;
    p.status = PostStatus::Published;
    p.category_ids = vec![c.id];
    env.write(|conn| cms_core::service::posts::create(conn, &crate::common::cli(), &p));
    let mut other = PostInput::new("Elsewhere", "x");
    other.status = PostStatus::Published;
    env.write(|conn| cms_core::service::posts::create(conn, &crate::common::cli(), &other));
    let app = env.app().await;
    let atom = get(&app, "/category/interviews/feed.atom").await;
    let feed = feed_rs::parser::parse(atom.body.as_bytes()).expect("parses");
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(
        feed.entries[0].title.as_ref().expect("title").content,
        "They Put the Heart in 'Heartstopper'"
    );
    let rss = get(&app, "/category/interviews/feed.rss").await;
    assert_eq!(
        feed_rs::parser::parse(rss.body.as_bytes())
            .expect("parses")
            .entries
            .len(),
        1
    );
    assert_eq!(get(&app, "/category/nope/feed.atom").await.status, 404);
}

async fn feed_summaries_stay_text(backend: Backend) {
    let env = TestEnv::new(backend);
    let c = env.write(|conn| {
        cms_core::service::taxonomy::create_category(
            conn,
            &crate::common::cli(),
            None,
            "Interviews",
            None,
            "",
        )
    });
    let mut p = PostInput::new("Tricky", "Body.");
    p.excerpt = "<img src=x onerror=alert(1)> 5 < 6 & \"Kit\"".into();
    p.status = PostStatus::Published;
    p.category_ids = vec![c.id];
    env.write(|conn| cms_core::service::posts::create(conn, &crate::common::cli(), &p));
    let app = env.app().await;
    for path in ["/feed.rss", "/category/interviews/feed.rss"] {
        let rss = get(&app, path).await;
        assert!(!rss.body.contains("<img src=x"), "{path}: {}", rss.body);
        let feed = feed_rs::parser::parse(rss.body.as_bytes()).expect("parses");
        let summary = feed.entries[0].summary.as_ref().expect("summary");
        // The description is HTML, so the text arrives escaped and shows as typed.
        assert_eq!(
            summary.content, "&lt;img src=x onerror=alert(1)&gt; 5 &lt; 6 &amp; &quot;Kit&quot;",
            "{path}"
        );
    }
    let atom = get(&app, "/feed.atom").await;
    assert!(!atom.body.contains("<img src=x"), "{}", atom.body);
    let feed = feed_rs::parser::parse(atom.body.as_bytes()).expect("parses");
    assert_eq!(
        feed.entries[0].summary.as_ref().expect("summary").content,
        "<img src=x onerror=alert(1)> 5 < 6 & \"Kit\""
    );
}

backend_tests!(
    feeds_parse_and_hold_published_posts_only,
    category_feeds_filter_and_unknown_ones_404,
    feed_summaries_stay_text
);

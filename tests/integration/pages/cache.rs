//! Validators, the page cache, and compression.

use cms_core::models::post::{PostInput, PostStatus};

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, get_with};

async fn etags_answer_304_until_content_changes(backend: Backend) {
    let env = TestEnv::new(backend);
    let mut p = PostInput::new("First", "Body");
    p.status = PostStatus::Published;
    env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p));
    let app = env.app().await;
    let first = get(&app, "/").await;
    let etag = first.header("etag").expect("etag");
    let last_modified = first.header("last-modified").expect("last-modified");
    assert!(etag.starts_with("W/\"v"), "{etag}");
    for path in [
        "/",
        "/posts",
        "/posts/first",
        "/gallery",
        "/feed.atom",
        "/sitemap.xml",
        "/videos",
    ] {
        let page = get(&app, path).await;
        assert!(
            page.header("etag").is_some() && page.header("last-modified").is_some(),
            "{path}"
        );
    }
    let again = get_with(&app, "/", &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    // A 304's headers are merged into the page the browser holds: it must not bring a policy
    // of its own (a data policy would sandbox the page, its stylesheet and script blocked).
    assert!(
        get(&app, "/")
            .await
            .header("content-security-policy")
            .is_some_and(|p| p.contains("script-src 'self'"))
    );
    assert_eq!(again.header("content-security-policy"), None);
    let since = get_with(&app, "/", &[("If-Modified-Since", &last_modified)]).await;
    assert_eq!(since.status, 304);
    // Publishing shows at once: a new version, a new page.
    let mut second = PostInput::new("Second", "Body");
    second.status = PostStatus::Published;
    env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &second));
    let fresh = get_with(&app, "/", &[("If-None-Match", &etag)]).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.texts(".post-card h2"), ["Second", "First"]);
    assert_ne!(fresh.header("etag"), Some(etag));
}

async fn pages_are_gzipped_when_asked(backend: Backend) {
    let env = TestEnv::new(backend);
    env.demo();
    let app = env.app().await;
    let gz = get_with(&app, "/", &[("Accept-Encoding", "gzip, deflate")]).await;
    assert_eq!(gz.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gz.header("vary").as_deref(), Some("Accept-Encoding"));
    let plain = get_with(&app, "/", &[("Accept-Encoding", "gzip;q=0")]).await;
    assert_ne!(plain.header("content-encoding").as_deref(), Some("gzip"));
    assert!(plain.body.contains("Heartstopper Season 2 Captures"));
}

async fn the_cache_is_shared_and_bounded(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    assert!(env.state.pages.is_empty());
    get(&app, "/").await;
    get(&app, "/").await;
    assert_eq!(env.state.pages.len(), 1);
    get(&app, "/gallery").await;
    assert_eq!(env.state.pages.len(), 2);
    // Errors are not cached.
    get(&app, "/posts/nope").await;
    assert_eq!(env.state.pages.len(), 2);
}

backend_tests!(
    etags_answer_304_until_content_changes,
    pages_are_gzipped_when_asked,
    the_cache_is_shared_and_bounded
);

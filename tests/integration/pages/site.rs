//! Site-wide routes: health, 404, the stylesheet, media files.

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

async fn healthz_reports_the_database(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let page = get(&app, "/healthz").await;
    assert_eq!(page.status, 200);
    let json: serde_json::Value = serde_json::from_str(&page.body).expect("json");
    assert_eq!(json["status"], "ok");
    assert!(json["content_version"].as_i64().is_some());
}

async fn unknown_paths_get_a_real_404_page(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    for path in [
        "/nope",
        "/posts/",
        "/albums/x/y",
        "/media/../secret.key",
        "/static/style.css",
    ] {
        let page = get(&app, path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{path}"
        );
    }
    // A reader who took a wrong turn stays on the site: its header, navigation and footer
    // around the message, never indexed or cached — whether no route matched or a page's
    // item is not there.
    for path in [
        "/nope",
        "/posts/no-such-post",
        "/albums/no-such-album",
        "/gallery/nope",
    ] {
        let page = get(&app, path).await;
        assert_eq!(page.status, 404, "{path}");
        assert_eq!(page.texts("h1"), ["Page not found"], "{path}");
        assert_eq!(
            page.texts(".site-header nav").len(),
            1,
            "{path}: {}",
            page.body
        );
        assert_eq!(page.texts(".site-footer").len(), 1, "{path}");
        assert!(
            page.body
                .contains(r#"<meta name="robots" content="noindex">"#)
        );
        assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    }
}

async fn media_and_stylesheet_are_cached_forever(backend: Backend) {
    let env = TestEnv::new(backend);
    env.state
        .media
        .put("photos/ab/abc-320.jpg", b"\xff\xd8\xff fake")
        .expect("put");
    let app = env.app().await;
    let media = get(&app, "/media/photos/ab/abc-320.jpg").await;
    assert_eq!(media.status, 200);
    assert_eq!(media.header("content-type").as_deref(), Some("image/jpeg"));
    assert!(
        media
            .header("cache-control")
            .is_some_and(|c| c.contains("immutable"))
    );
    let home = get(&app, "/").await;
    let href = home.attrs("link[rel=stylesheet]", "href").remove(0);
    assert!(
        href.starts_with("/static/style.") && href.ends_with(".css"),
        "{href}"
    );
    let css = get(&app, &href).await;
    assert_eq!(css.status, 200);
    assert!(
        css.header("cache-control")
            .is_some_and(|c| c.contains("immutable"))
    );
}

backend_tests!(
    healthz_reports_the_database,
    unknown_paths_get_a_real_404_page,
    media_and_stylesheet_are_cached_forever,
);

//! `/metrics` as an operator uses it: off unless `CMS_METRICS` says, behind its bearer token,
//! in the Prometheus text format with requests per route group, page-cache hits, the job queue,
//! the outbox by state and the gallery's photo count; and a request id on every answer.

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, get_with};

const TOKEN: &str = "scrape-me-0123456789";

/// The value of a sample line `name{labels} value` in a scrape.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn metrics_are_there_for_the_scraper_only(backend: Backend) {
    // Off by default: nothing at /metrics.
    let env = TestEnv::new(backend);
    let app = env.app().await;
    assert_eq!(get(&app, "/metrics").await.status, 404);
    drop(app);

    let env = TestEnv::with(backend, &[("metrics", TOKEN)]);
    env.demo();
    let app = env.app().await;
    let denied = get(&app, "/metrics").await;
    assert_eq!(denied.status, 401);
    assert!(denied.header("www-authenticate").is_some());
    let wrong = get_with(
        &app,
        "/metrics",
        &[("Authorization", "Bearer not-the-token-at-all")],
    )
    .await;
    assert_eq!(wrong.status, 401);

    // Some traffic: a page twice (the second from the cache), a photo, a 404, the API.
    for path in ["/", "/", "/gallery", "/no/such/page", "/api/v1/posts"] {
        let r = get(&app, path).await;
        let id = r
            .header("x-request-id")
            .expect("every answer names its request");
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
    }
    let auth = format!("Bearer {TOKEN}");
    let scrape = get_with(&app, "/metrics", &[("Authorization", &auth)]).await;
    assert_eq!(scrape.status, 200);
    assert!(
        scrape
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        scrape.header("content-type")
    );
    assert_eq!(scrape.header("cache-control").as_deref(), Some("no-store"));
    let text = &scrape.body;
    assert!(
        text.contains("# TYPE keepsake_http_requests_total counter"),
        "{text}"
    );
    assert!(
        sample(
            text,
            "keepsake_http_requests_total{group=\"page\",status=\"2xx\"}"
        )
        .is_some_and(|n| n >= 3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            text,
            "keepsake_http_requests_total{group=\"page\",status=\"4xx\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            text,
            "keepsake_http_requests_total{group=\"api\",status=\"2xx\"}"
        ),
        Some(1.0)
    );
    assert!(
        sample(
            text,
            "keepsake_http_request_duration_seconds_count{group=\"page\"}"
        )
        .is_some_and(|n| n >= 4.0)
    );
    assert!(
        sample(text, "keepsake_page_cache_hits_total").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(sample(text, "keepsake_page_cache_misses_total").is_some_and(|n| n >= 1.0));
    for state in ["queued", "running", "done", "failed"] {
        assert!(
            sample(text, &format!("keepsake_jobs{{state=\"{state}\"}}")).is_some(),
            "{state}: {text}"
        );
    }
    for state in ["queued", "sending", "sent", "failed"] {
        assert!(sample(text, &format!("keepsake_outbox{{state=\"{state}\"}}")).is_some());
    }
    let photos: i64 = env.write(|c| {
        use diesel::prelude::*;
        Ok(cms_core::schema::photos::table
            .count()
            .get_result::<i64>(c)?)
    });
    assert_eq!(sample(text, "keepsake_photos"), Some(photos as f64));
    assert!(sample(text, "keepsake_smtp_errors_total").is_some());
    // Nothing of the token or the site's secrets in what it shows.
    assert!(!text.contains(TOKEN));
    drop(app);

    // `public`: for a scraper on a private network.
    let env = TestEnv::with(backend, &[("metrics", "public")]);
    let app = env.app().await;
    assert_eq!(get(&app, "/metrics").await.status, 200);
}

backend_tests!(metrics_are_there_for_the_scraper_only);

//! What `/metrics` reports, in the Prometheus text format (the `prometheus-client` crate).
//!
//! Two kinds of figures. This node's own — requests and their latency per route group, page
//! cache hits and misses, SMTP errors — live in [`Metrics`] (one per [`crate::AppState`]) and
//! only ever grow; Prometheus sums them over the nodes. The site's — jobs and emails by state,
//! photos in the gallery (whose rate is the ingest rate) — are read from the database at each
//! scrape ([`SiteFigures`]), so every node reports the same numbers for them.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The parts of the site a request can be for: what requests and latency are counted by (a
/// handful of values, so the series stay few whatever the addresses).
pub const GROUPS: &[&str] = &[
    "page", "search", "feed", "media", "static", "api", "admin", "health", "metrics",
];

/// The route group of a request path.
pub fn group_of(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "media" => "media",
        "static" | "favicon.ico" => "static",
        "api" => "api",
        "admin" => "admin",
        "healthz" => "health",
        "metrics" => "metrics",
        "search" => "search",
        "feed.atom" | "feed.rss" | "sitemap.xml" | "robots.txt" => "feed",
        _ if path.ends_with("/feed.atom") || path.ends_with("/feed.rss") => "feed",
        _ if path.starts_with("/sitemap") => "feed",
        _ => "page",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    group: &'static str,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabel {
    group: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

/// This node's counters. Cheap to update from any thread.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<GroupLabel, Histogram>,
    smtp_errors: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("keepsake");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered by this node, by route group and status class",
            requests.clone(),
        );
        let latency = Family::<GroupLabel, Histogram>::new_with_constructor(|| {
            // 0.25 ms to about 4 s.
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.000_25, 2.0, 15,
            ))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer's headers, by route group",
            latency.clone(),
        );
        let smtp_errors = Counter::default();
        registry.register(
            "smtp_errors",
            "Messages the SMTP server refused or could not take (each attempt)",
            smtp_errors.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            smtp_errors,
        }
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, path: &str, status: u16, seconds: f64) {
        let group = group_of(path);
        let status = match status {
            100..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .get_or_create(&RequestLabels { group, status })
            .inc();
        self.latency
            .get_or_create(&GroupLabel { group })
            .observe(seconds);
    }

    /// Counts one message the SMTP server did not take.
    pub fn smtp_error(&self) {
        self.smtp_errors.inc();
    }

    /// Everything, in the Prometheus text format: this node's counters, `cache`'s hits and
    /// misses, what this node sent and heard from the database, and the site's figures read
    /// for this scrape.
    pub fn render(
        &self,
        cache: &crate::page_cache::PageCache,
        db: &DbFigures,
        site: &SiteFigures,
    ) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        let mut scrape = Registry::with_prefix("keepsake");
        let (hits, misses) = cache.hits_and_misses();
        scrape.register(
            "page_cache_hits",
            "Public pages answered from this node's cache",
            ConstCounter::new(hits),
        );
        scrape.register(
            "page_cache_misses",
            "Public pages this node had to render",
            ConstCounter::new(misses),
        );
        scrape.register(
            "db_statements",
            "Statements this node sent the database (queries, BEGIN and COMMIT)",
            ConstCounter::new(db.statements),
        );
        scrape.register(
            "db_notifications",
            "Notifications this node heard from PostgreSQL: work queued (wakes its workers) and content changed (pages stale)",
            ConstCounter::new(db.notifications),
        );
        scrape.register(
            "db_listening",
            "1 while this node hears PostgreSQL's notifications; 0 while its workers poll",
            ConstGauge::new(i64::from(db.listening)),
        );
        scrape.register(
            "page_cache_entries",
            "Pages in this node's cache",
            ConstGauge::new(cache.len() as i64),
        );
        let jobs = Family::<StateLabel, Gauge>::default();
        for (state, n) in &site.jobs {
            jobs.get_or_create(&StateLabel {
                state: state.clone(),
            })
            .set(*n);
        }
        scrape.register(
            "jobs",
            "Background jobs of the site by state (queued is the queue's depth)",
            jobs,
        );
        let outbox = Family::<StateLabel, Gauge>::default();
        for (state, n) in &site.outbox {
            outbox
                .get_or_create(&StateLabel {
                    state: state.clone(),
                })
                .set(*n);
        }
        scrape.register("outbox", "Update emails of the site by state", outbox);
        scrape.register(
            "photos",
            "Photos in the gallery (its rate is the ingest rate)",
            ConstGauge::new(site.photos),
        );
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &scrape);
        out
    }
}

/// What this node sent to and heard from the database.
#[derive(Debug, Clone, Copy, Default)]
pub struct DbFigures {
    pub statements: u64,
    pub notifications: u64,
    pub listening: bool,
}

impl DbFigures {
    /// `db`'s figures now.
    pub fn of(db: &crate::Db) -> DbFigures {
        DbFigures {
            statements: db.statements(),
            notifications: db.wake().heard_total(),
            listening: db.wake().listening(),
        }
    }
}

/// The site's figures, read from the database for one scrape.
#[derive(Debug, Clone, Default)]
pub struct SiteFigures {
    pub jobs: Vec<(String, i64)>,
    pub outbox: Vec<(String, i64)>,
    pub photos: i64,
}

impl SiteFigures {
    /// Reads them: three grouped counts over small tables or indexes.
    pub fn read(conn: &mut crate::DbConn) -> crate::Result<SiteFigures> {
        use diesel::prelude::*;
        let every = |list: Vec<(String, i64)>, states: &[&str]| -> Vec<(String, i64)> {
            // Every state is reported, 0 when empty, so a dashboard's series never vanish.
            states
                .iter()
                .map(|s| {
                    let n = list.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
                    (s.to_string(), n)
                })
                .collect()
        };
        let jobs: Vec<(String, i64)> = crate::schema::jobs::table
            .group_by(crate::schema::jobs::status)
            .select((crate::schema::jobs::status, diesel::dsl::count_star()))
            .load(conn)?;
        let outbox: Vec<(String, i64)> = crate::models::outbox::status_counts(conn)?
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n))
            .collect();
        // Summed by the database over the albums' counts (kept with every change), as a
        // BIGINT on both backends.
        let photos: i64 = crate::schema::albums::table
            .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "CAST(COALESCE(SUM(photo_count), 0) AS BIGINT)",
            ))
            .first(conn)?;
        Ok(SiteFigures {
            jobs: every(jobs, &["queued", "running", "done", "failed"]),
            outbox: every(outbox, &["queued", "sending", "sent", "failed"]),
            photos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_few_groups() {
        for (path, group) in [
            ("/", "page"),
            ("/albums/premiere", "page"),
            ("/media/photos/ab/x-320.jpg", "media"),
            ("/static/site.abc.css", "static"),
            ("/api/v1/posts", "api"),
            ("/admin/posts", "admin"),
            ("/search", "search"),
            ("/category/news/feed.atom", "feed"),
            ("/feed.rss", "feed"),
            ("/healthz", "health"),
        ] {
            assert_eq!(group_of(path), group, "{path}");
            assert!(GROUPS.contains(&group));
        }
    }

    #[test]
    fn figures_are_rendered_in_the_text_format() {
        let m = Metrics::default();
        m.request("/albums/x", 200, 0.002);
        m.request("/albums/y", 503, 0.01);
        m.smtp_error();
        let cache = crate::page_cache::PageCache::new(1 << 20);
        let site = SiteFigures {
            jobs: vec![("queued".into(), 3)],
            outbox: vec![("failed".into(), 2)],
            photos: 7675,
        };
        let db = DbFigures {
            statements: 42,
            notifications: 5,
            listening: true,
        };
        let text = m.render(&cache, &db, &site);
        for line in [
            "keepsake_http_requests_total{group=\"page\",status=\"2xx\"} 1",
            "keepsake_http_requests_total{group=\"page\",status=\"5xx\"} 1",
            "keepsake_http_request_duration_seconds_count{group=\"page\"} 2",
            "keepsake_smtp_errors_total 1",
            "keepsake_jobs{state=\"queued\"} 3",
            "keepsake_outbox{state=\"failed\"} 2",
            "keepsake_photos 7675",
            "keepsake_page_cache_hits_total 0",
            "keepsake_db_statements_total 42",
            "keepsake_db_notifications_total 5",
            "keepsake_db_listening 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}

//! The server's logs as an operator reads them: `CMS_LOG_FORMAT=json` writes one JSON object
//! per line, and the access log line of a request carries the id its answer was sent with;
//! `/metrics` answers the scraper holding `CMS_METRICS`'s token.

use std::process::Stdio;

use super::{cms, db_url, request, served_address};
use crate::backend_tests;
use crate::common::Backend;

async fn json_logs_name_each_request(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = db_url(backend, dir.path());
    let log = dir.path().join("serve.log");
    let mut child = cms(
        dir.path(),
        &[
            ("CMS_DATABASE_URL", &url),
            ("CMS_LOG", "info"),
            ("CMS_LOG_FORMAT", "json"),
            ("CMS_METRICS", "scrape-token-0123456789"),
        ],
    )
    .args(["serve", "--bind", "127.0.0.1:0"])
    .stdout(Stdio::piped())
    .stderr(Stdio::from(std::fs::File::create(&log).expect("log file")))
    .spawn()
    .expect("spawn");
    let addr = served_address(&mut child);
    let mut ids = Vec::new();
    for path in ["/healthz", "/", "/no/such/page"] {
        let (_, head, _) = request(&addr, "GET", path, &[], "");
        let id = head
            .lines()
            .find_map(|l| l.strip_prefix("x-request-id: "))
            .expect("an X-Request-Id header")
            .trim()
            .to_string();
        ids.push((path, id));
    }
    // /metrics as Prometheus scrapes the binary: its token, in any case of 'Bearer'.
    let (status, _, _) = request(&addr, "GET", "/metrics", &[], "");
    assert_eq!(status, 401);
    let (status, head, body) = request(
        &addr,
        "GET",
        "/metrics",
        &[("Authorization", "bearer scrape-token-0123456789")],
        "",
    );
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert!(
        body.lines().any(
            |l| l.starts_with("keepsake_http_requests_total{group=\"health\",status=\"2xx\"} ")
        ),
        "{body}"
    );
    // A proxy's id is not believed from anyone (no CMS_TRUSTED_PROXIES here).
    let (_, head, _) = request(
        &addr,
        "GET",
        "/healthz",
        &[("X-Request-Id", "from-the-client-1")],
        "",
    );
    assert!(!head.contains("from-the-client-1"), "{head}");
    // The access log is written as each answer ends; give the last one a moment.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(
            line["level"].is_string() && line["timestamp"].is_string(),
            "{line}"
        );
        assert!(line["fields"]["message"].is_string(), "{line}");
    }
    for (path, id) in &ids {
        assert!(
            lines.iter().any(|l| {
                l["target"] == "cms::http"
                    && l["fields"]["message"].as_str().is_some_and(|m| {
                        m.contains(&format!("GET {path} ")) && m.ends_with(id.as_str())
                    })
            }),
            "the access line of {path} ends with its id {id}:\n{text}"
        );
    }
}

backend_tests!(json_logs_name_each_request);

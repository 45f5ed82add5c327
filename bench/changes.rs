//! The change stream's costs, each against a reference in the same run, on a fresh SQLite
//! database:
//!
//! 1. a publish through the service layer (`service::posts::create`: the post, search, the
//!    publish schedule, the content version, the change event, the audit entry) against the
//!    same writes made by hand without the change event — what a publish cost before the
//!    stream existed;
//! 2. webhook deliveries: N published posts planned into deliveries and sent by
//!    `webhooks::plan` + `webhooks::deliver_due` to a receiver on loopback (keep-alive, a
//!    thread per connection), against the same bodies POSTed by the same HTTP client from as
//!    many threads with no database at all.
//!
//! `cargo run --release --bin keepsake-bench-changes -- [--posts 2000] [--deliveries 5000]`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cms_core::models::audit::{self, Actor};
use cms_core::models::post::{self, PostInput, PostStatus};
use cms_core::webhooks;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn site(dir: &std::path::Path, allow_private: bool) -> cms_core::AppState {
    let mut raw = cms_core::config::RawSettings::default();
    raw.set("data_dir", dir.display().to_string())
        .set("base_url", "https://archive.example")
        .set("secret_key", "benchmark-secret-key-benchmark-secret-key")
        .set("webhook_allow_private", allow_private.to_string())
        .set("log", "warn");
    let state = cms_core::AppState::open(raw.resolve().expect("config")).expect("state");
    state.migrate().expect("migrate");
    state
}

fn published(i: usize) -> PostInput {
    let mut p = PostInput::new(
        format!("Heartstopper news {i}"),
        "Filming of the third season has *started*; more photos soon.",
    );
    p.status = PostStatus::Published;
    p
}

/// Seconds per publish, each in its own write transaction, `n` of them.
fn time_publishes(state: &cms_core::AppState, n: usize, service: bool) -> f64 {
    let cli = Actor::cli();
    let started = Instant::now();
    for i in 0..n {
        state
            .db
            .write_blocking(|c| {
                let input = published(i + if service { 0 } else { 1_000_000 });
                if service {
                    cms_core::service::posts::create(c, &cli, &input)?;
                } else {
                    // What a publish wrote before the change stream, step by step.
                    let p = post::create(c, &input)?;
                    cms_core::search::sync_post(c, p.id)?;
                    cms_core::publishing::sync_schedule(c, &p)?;
                    cms_core::models::site::bump_content_version(c)?;
                    audit::record(c, &cli, "post.create", Some(("post", p.id)), &p.title)?;
                }
                Ok::<_, cms_core::Error>(())
            })
            .expect("publish");
    }
    started.elapsed().as_secs_f64() / n as f64
}

/// A receiver on loopback answering 200 to every request, keeping connections open; counts
/// the requests.
fn receiver() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_nodelay(true);
            let c = c.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0usize;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    c.fetch_add(1, Ordering::Relaxed);
                    if stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, count)
}

fn main() {
    let posts: usize = arg("--posts", "2000").parse().expect("--posts");
    let deliveries: usize = arg("--deliveries", "5000").parse().expect("--deliveries");

    // 1. The service layer's cost per publish.
    let dir = tempfile::tempdir().expect("tempdir");
    let state = site(dir.path(), false);
    // Warm up both paths, then alternate halves so neither gets the emptier database.
    time_publishes(&state, 100, true);
    time_publishes(&state, 100, false);
    let (mut with, mut without) = (0.0, 0.0);
    for _ in 0..2 {
        with += time_publishes(&state, posts / 2, true) / 2.0;
        without += time_publishes(&state, posts / 2, false) / 2.0;
    }
    println!("## a publish, {posts} each way (SQLite, one transaction per publish)");
    println!(
        "{:<60}{:>10.1} µs",
        "through the service layer (with the change event)",
        with * 1e6
    );
    println!(
        "{:<60}{:>10.1} µs",
        "the same writes by hand, without the change event",
        without * 1e6
    );
    println!(
        "{:<60}{:>10.2}×   ({:+.1} µs per publish)",
        "ratio",
        with / without,
        (with - without) * 1e6
    );

    // 2. Webhook deliveries.
    let dir = tempfile::tempdir().expect("tempdir");
    let state = site(dir.path(), true);
    let (url, received) = receiver();
    let key = state.config.secret.clone();
    let (_, secret) = state
        .db
        .write_blocking(|c| webhooks::add(c, &key, &url, &[], "bench"))
        .expect("hook");
    let _ = secret;
    let cli = Actor::cli();
    state
        .db
        .write_blocking(|c| {
            for i in 0..deliveries {
                cms_core::service::posts::create(c, &cli, &published(i))?;
            }
            Ok::<_, cms_core::Error>(())
        })
        .expect("posts");
    let fetcher = webhooks::fetcher(true);
    let started = Instant::now();
    let mut sent = 0;
    while sent < deliveries {
        webhooks::plan(&state.db, &state.config.server.base_url).expect("plan");
        let s = webhooks::deliver_due(&state.db, &fetcher, &key, "bench:1").expect("deliver");
        assert_eq!(s.failed + s.retrying, 0, "{s:?}");
        sent += s.delivered;
    }
    let keepsake = deliveries as f64 / started.elapsed().as_secs_f64();
    assert_eq!(received.load(Ordering::Relaxed), deliveries);

    // The reference: the same bodies, the same client, as many threads, no database.
    let bodies: Vec<String> = (0..deliveries)
        .map(|i| format!("{{\"type\":\"post.published\",\"data\":{{\"n\":{i}}}}}"))
        .collect();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..webhooks::SENDERS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(b) = bodies.get(i) else { return };
                    let a = fetcher.post_json(&url, &[], b).expect("post");
                    assert_eq!(a.status, 200);
                }
            });
        }
    });
    let raw = deliveries as f64 / started.elapsed().as_secs_f64();
    println!();
    println!("## webhook deliveries to a receiver on loopback, {deliveries} of them");
    println!(
        "{:<60}{:>10.0} /s",
        "Keepsake: planned, signed, sent, recorded", keepsake
    );
    println!(
        "{:<60}{:>10.0} /s",
        format!(
            "the same HTTP client, {} threads, no database",
            webhooks::SENDERS
        ),
        raw
    );
    println!("{:<60}{:>10.2}", "ratio", keepsake / raw);
    println!(
        "goal: ≥ 500 deliveries/s — {}",
        if keepsake >= 500.0 { "met" } else { "missed" }
    );
}

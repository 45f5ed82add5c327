//! Email fan-out benchmark: publishes a post to N confirmed subscribers and times the fan-out
//! plus delivery through Keepsake's outbox and delivery worker to an SMTP sink on loopback; in
//! the same run, times a raw lettre send loop (lettre's own pooled transport, the same number of
//! connections) and lettre on one connection. Run it with `bench/mail.sh`, which starts
//! Postfix's `smtp-sink`.

use std::time::Instant;

use cms_core::models::post::{self, PostInput, PostStatus};
use cms_core::models::subscriber::{self, Topic};
use lettre::{AsyncTransport, Tokio1Executor};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn message(to: &str, i: usize) -> lettre::Message {
    lettre::Message::builder()
        .from("Bench <bench@keepsake.test>".parse().expect("from"))
        .to(to.parse().expect("to"))
        .subject(format!("Raw lettre message {i}"))
        .body(format!("Hello {to}, this is message {i}.\n").repeat(20))
        .expect("message")
}

async fn raw_lettre(host: &str, port: u16, connections: u32, count: usize) -> f64 {
    let transport = lettre::AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(connections))
        .build();
    let started = Instant::now();
    let per = count.div_ceil(connections as usize);
    let mut tasks = Vec::new();
    for c in 0..connections as usize {
        let t = transport.clone();
        tasks.push(tokio::spawn(async move {
            for i in (c * per)..((c + 1) * per).min(count) {
                t.send(message(&format!("raw{i}@example.org"), i))
                    .await
                    .expect("raw send");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    count as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let smtp = arg("--smtp", "127.0.0.1:2525");
    let count: usize = arg("--count", "10000").parse().expect("--count");
    let connections: u32 = arg("--connections", "16").parse().expect("--connections");
    let (host, port) = smtp.rsplit_once(':').expect("--smtp HOST:PORT");
    let port: u16 = port.parse().expect("port");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut raw = cms_core::config::RawSettings::default();
    raw.set("data_dir", dir.path().display().to_string())
        .set("smtp_url", format!("smtp://{smtp}?tls=none"))
        .set("smtp_connections", connections.to_string())
        .set("base_url", "https://archive.example")
        .set("secret_key", "benchmark-secret-key-benchmark-secret-key")
        .set("log", "warn");
    let config = raw.resolve().expect("config");
    let state = cms_core::AppState::open(config).expect("state");
    state.migrate().expect("migrate");
    print!("creating {count} confirmed subscribers… ");
    let t = Instant::now();
    state
        .db
        .write_blocking(|c| {
            for i in 0..count {
                subscriber::import_confirmed(
                    c,
                    &format!("fan{i:06}@example.org"),
                    &[Topic::News],
                    "bench",
                )?;
            }
            Ok::<_, cms_core::Error>(())
        })
        .expect("subscribers");
    println!("{:.1}s", t.elapsed().as_secs_f64());

    let started = Instant::now();
    state
        .db
        .write_blocking(|c| {
            let mut p = PostInput::new(
                "Heartstopper Season 2 Captures",
                "All eight episodes are in the gallery.",
            );
            p.status = PostStatus::Published;
            p.notify_subscribers = true;
            post::create(c, &p).map(drop)
        })
        .expect("publish");
    while cms_core::notify::run_next(&state.db, "bench", "archive.example")
        .expect("fan-out")
        .is_some()
    {}
    let fanned = started.elapsed().as_secs_f64();
    let d = cms_worker::mail::deliver::Deliverer::new(state.clone(), "bench".into())
        .expect("deliverer");
    let sent = cms_worker::mail::deliver::drain(&d).await.expect("deliver");
    d.shutdown().await;
    let total = started.elapsed().as_secs_f64();
    let counts = state
        .db
        .write_blocking(|c| Ok::<_, cms_core::Error>(cms_core::models::outbox::status_counts(c)?))
        .expect("counts");
    let raw_pool = raw_lettre(host, port, connections, count).await;
    let raw_one = raw_lettre(host, port, 1, 200.min(count)).await;

    println!();
    println!("{count} subscribers, {connections} SMTP connections, sink at {smtp}");
    println!("{:<52}{:>10}", "", "msgs/s");
    println!(
        "{:<52}{:>10.0}   ({total:.2}s for all {sent}: fan-out {fanned:.2}s)",
        "Keepsake: publish → fan-out → outbox → delivered",
        count as f64 / total
    );
    println!(
        "{:<52}{:>10.0}",
        format!("raw lettre send loop, pooled, {connections} connections"),
        raw_pool
    );
    println!(
        "{:<52}{:>10.0}",
        "raw lettre send loop, 1 connection", raw_one
    );
    println!("outbox afterwards: {counts:?}");
    println!(
        "goal: 10,000 delivered in ≤ 10 s — {}",
        if count >= 10_000 && total <= 10.0 {
            "met"
        } else if count < 10_000 {
            "(run with --count 10000)"
        } else {
            "missed"
        }
    );
}

//! Email fan-out benchmark: publishes a post to N confirmed subscribers and times the fan-out
//! plus delivery through Keepsake's outbox and delivery worker to an SMTP sink on loopback; in
//! the same run, times a raw lettre send loop (lettre's own pooled transport, the same number of
//! connections) and lettre on one connection. With `--digest`, the N subscribers chose a weekly
//! digest instead (four different choices of topics) and the week held 1,000 new photos, two
//! posts and a video: it times closing the period, the digest's fan-out, composing (once per
//! choice) and delivery. Run it with `bench/mail.sh`, which starts Postfix's `smtp-sink`.

use std::time::Instant;

use cms_core::models::audit::Actor;
use cms_core::models::post::{PostInput, PostStatus};
use cms_core::models::subscriber::{self, Cadence, Choice, Topic};
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
    let digest = std::env::args().any(|a| a == "--digest");
    let (host, port) = smtp.rsplit_once(':').expect("--smtp HOST:PORT");
    let port: u16 = port.parse().expect("port");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut raw = cms_core::config::RawSettings::default();
    // Digests go out at midnight UTC on today's weekday: the week ending now is due.
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 86_400;
    // 1 January 1970 was a Thursday.
    let weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][((days + 3) % 7) as usize];
    raw.set("digest_hour", "0").set("digest_day", weekday);
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
            let weekly = |topics: &[Topic]| -> Vec<Choice> {
                topics
                    .iter()
                    .map(|t| Choice::new(*t, Cadence::Weekly))
                    .collect()
            };
            let choices = [
                weekly(&[Topic::News, Topic::Gallery, Topic::Videos]),
                weekly(&[Topic::Gallery]),
                weekly(&[Topic::News, Topic::Gallery]),
                weekly(&[Topic::News, Topic::Videos]),
            ];
            for i in 0..count {
                let email = format!("fan{i:06}@example.org");
                if digest {
                    subscriber::import_confirmed_for(c, &email, &choices[i % 4], "bench")?;
                } else {
                    subscriber::import_confirmed(c, &email, &[Topic::News], "bench")?;
                }
            }
            Ok::<_, cms_core::Error>(())
        })
        .expect("subscribers");
    println!("{:.1}s", t.elapsed().as_secs_f64());

    if digest {
        print!("the week: 1,000 photos, 2 posts, a video… ");
        let t = Instant::now();
        week_of_changes(&state);
        println!("{:.1}s", t.elapsed().as_secs_f64());
    }
    let started = Instant::now();
    if digest {
        let made = cms_core::digest::schedule_due(&state.db, &state.config).expect("schedule");
        assert_eq!(made.len(), 2, "the daily and weekly periods close");
        while cms_core::digest::run_next(&state.db, "bench", "archive.example")
            .expect("digest fan-out")
            .is_some()
        {}
    } else {
        state
            .db
            .write_blocking(|c| {
                let mut p = PostInput::new(
                    "Heartstopper Season 2 Captures",
                    "All eight episodes are in the gallery.",
                );
                p.status = PostStatus::Published;
                p.notify_subscribers = true;
                cms_core::service::posts::create(c, &Actor::cli(), &p).map(drop)
            })
            .expect("publish");
    }
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
        if digest {
            "Keepsake: weekly digest → fan-out → compose → delivered"
        } else {
            "Keepsake: publish → fan-out → outbox → delivered"
        },
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
    let (goal_count, goal_seconds) = if digest {
        (100_000, 60.0)
    } else {
        (10_000, 10.0)
    };
    println!(
        "goal: {goal_count} {} in ≤ {goal_seconds} s — {}",
        if digest {
            "weekly digests composed and handed to SMTP"
        } else {
            "delivered"
        },
        if count >= goal_count && total <= goal_seconds {
            "met"
        } else if count < goal_count {
            "(run with a larger --count)"
        } else {
            "missed"
        }
    );
}

/// What the week brought: an album of 1,000 photos (rows only: the digest reads rows), 158
/// photos added to an older album, two posts and a video, written as editors would.
fn week_of_changes(state: &cms_core::AppState) {
    use cms_core::models::album::{AlbumStatus, NewAlbum};
    use cms_core::models::photo::NewPhoto;
    use cms_core::service::{gallery, posts, videos};
    let photos = |tag: u128, n: usize| -> Vec<NewPhoto> {
        (0..n)
            .map(|i| NewPhoto {
                original_filename: format!("capture-{tag}-{i:04}.jpg"),
                content_hash: format!("{:064x}", (tag << 64) | i as u128),
                mime: "image/jpeg".into(),
                width: 1920,
                height: 1080,
                bytes: 400_000,
                variants: vec![320, 640, 1280],
                ..Default::default()
            })
            .collect()
    };
    let cli = Actor::cli();
    state
        .db
        .write_blocking(|c| {
            let cat = gallery::ensure_path(
                c,
                &cli,
                &[
                    "Television Productions",
                    "Heartstopper",
                    "Season 2",
                    "Episode Captures",
                ],
            )?;
            let album = |c: &mut cms_core::DbConn, title: &str| {
                gallery::create_album(
                    c,
                    &cli,
                    &NewAlbum {
                        category_id: cat,
                        title,
                        description: "",
                        credit: "",
                        status: AlbumStatus::Published,
                    },
                )
            };
            let big = album(c, "S02E02 – Duh")?;
            gallery::add_photos(c, &cli, big.id, &photos(2, 1000))?;
            let older = album(c, "S02E01 – Out")?;
            gallery::add_photos(c, &cli, older.id, &photos(1, 158))?;
            for title in ["Kit wins a BAFTA", "Season 3 dates"] {
                let mut p = PostInput::new(title, "Filming starts in spring; more soon.");
                p.status = PostStatus::Published;
                posts::create(c, &cli, &p)?;
            }
            videos::create(
                c,
                &cli,
                &cms_core::models::video::VideoInput {
                    title: "GQ Action Replay".into(),
                    embed_url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into()),
                    published: true,
                    ..Default::default()
                },
            )?;
            Ok::<_, cms_core::Error>(())
        })
        .expect("the week");
}

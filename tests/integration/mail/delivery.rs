//! Fan-out and delivery: one email per subscriber per item, topics respected, the headers and
//! parts of an update, server failures (down, 4xx, 5xx), crashes mid-way, `.eml` files.

use chrono::Duration;
use cms_core::models::job;
use cms_core::models::outbox::{self, OutboxStatus};
use cms_core::models::post::{self, PostInput, PostStatus};
use cms_core::models::subscriber::{self, Topic};
use cms_core::notify::{self, FANOUT_JOB};

use super::fan_out_and_deliver;
use super::sink::{Sink, free_port};
use crate::backend_tests;
use crate::common::{Backend, TestEnv};

fn subscribe(env: &TestEnv, email: &str, topics: &[Topic]) -> i64 {
    env.write(|c| subscriber::import_confirmed(c, email, topics, "test"))
}

fn publish(env: &TestEnv, title: &str, notify: bool) -> post::Post {
    let mut p = PostInput::new(title, "The *body* of the news.");
    p.status = PostStatus::Published;
    p.notify_subscribers = notify;
    env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p))
}

async fn one_email_per_subscriber_per_item_by_topic(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(dir.path());
    let env = TestEnv::with(
        backend,
        &[
            ("smtp_url", &sink.url()),
            ("mail_from", "Kit Connor Archives <updates@keepsake.test>"),
        ],
    );
    subscribe(&env, "news@example.org", &[Topic::News]);
    subscribe(&env, "both@example.org", &[Topic::News, Topic::Gallery]);
    subscribe(&env, "gallery@example.org", &[Topic::Gallery]);
    let gone = subscribe(&env, "gone@example.org", &[Topic::News]);
    env.write(|c| Ok(subscriber::unsubscribe(c, gone)?));
    env.write(|c| subscriber::sign_up(c, "pending@example.org", &[Topic::News], "form").map(drop));
    publish(&env, "No email for this one", false);
    let p = publish(&env, "Kit & Joe – \"Heartstopper\" Season 3", true);
    // Someone confirming after publication is not included.
    subscribe(&env, "late@example.org", &[Topic::News]);
    fan_out_and_deliver(&env).await;
    let mail = sink.messages();
    let mut tos: Vec<&str> = mail.iter().map(|m| m.to.as_str()).collect();
    tos.sort_unstable();
    assert_eq!(tos, ["both@example.org", "news@example.org"]);
    let m = &mail[0];
    assert_eq!(m.subject, "Kit & Joe – \"Heartstopper\" Season 3");
    assert!(
        m.header("From")
            .is_some_and(|f| f.contains("updates@keepsake.test"))
    );
    let unsub = m.header("List-Unsubscribe").expect("List-Unsubscribe");
    assert!(
        unsub.starts_with("<http://keepsake.test/unsubscribe/") && unsub.ends_with('>'),
        "{unsub}"
    );
    assert_eq!(
        m.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let mid = m.header("Message-ID").expect("Message-ID");
    assert!(
        mid.starts_with(&format!("<post-{}.", p.id)) && mid.ends_with("@keepsake.test>"),
        "{mid}"
    );
    assert!(
        m.text
            .contains(&format!("http://keepsake.test/posts/{}", p.slug))
    );
    let html = scraper::Html::parse_document(&m.html);
    let sel = scraper::Selector::parse("h1 a").expect("selector");
    let h1 = html.select(&sel).next().expect("heading link");
    assert_eq!(
        h1.text().collect::<String>(),
        "Kit & Joe – \"Heartstopper\" Season 3"
    );
    assert_eq!(
        h1.value().attr("href"),
        Some(format!("http://keepsake.test/posts/{}", p.slug).as_str())
    );
    // Publishing again, a retry, a second node: nobody gets it twice.
    let mut again = PostInput::new(p.title.clone(), "Edited body.");
    again.status = PostStatus::Published;
    again.notify_subscribers = true;
    env.write(|c| cms_core::service::posts::update(c, &crate::common::cli(), p.id, &again, None));
    env.write(|c| notify::schedule(c, &notify::Item::Post(p.id)).map(drop));
    fan_out_and_deliver(&env).await;
    assert_eq!(sink.messages().len(), 2);
    // An album for the gallery topic.
    env.album_with_photos(&["Events"], "Premiere", 2);
    fan_out_and_deliver(&env).await;
    let mut everyone: Vec<String> = sink.messages().into_iter().map(|m| m.to).collect();
    everyone.sort();
    assert_eq!(
        everyone,
        [
            "both@example.org",
            "both@example.org",
            "gallery@example.org",
            "news@example.org"
        ]
    );
}

/// An update email carries what the post shows: each embedded album as its title, count, a row
/// of thumbnails and a link, each video as its poster, title and link; and it comes from the
/// site by name when no sender is configured.
async fn update_emails_carry_the_posts_embeds(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(dir.path());
    let env = TestEnv::with(backend, &[("smtp_url", &sink.url())]);
    env.write(|c| {
        Ok(cms_core::models::site::set_setting(
            c,
            "site_title",
            "Kit Connor Archives",
        )?)
    });
    subscribe(&env, "news@example.org", &[Topic::News]);
    let album = env.album_with_photos(&["Events"], "BAFTA Awards", 3);
    let v = env.write(|c| {
        cms_core::service::videos::create(
            c,
            &crate::common::cli(),
            &cms_core::models::video::VideoInput {
                title: "GQ Action Replay".into(),
                embed_url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into()),
                poster_key: Some("posters/ab/gq.jpg".into()),
                published: true,
                ..Default::default()
            },
        )
    });
    let mut p = PostInput::new(
        "New photos and a video",
        format!(
            "New photos in the gallery:\n\n[[album:{}]]\n\nAnd a video:\n\n[[video:{}]]\n\n[[album:no-such-album]]\n",
            album.slug, v.slug
        ),
    );
    p.status = PostStatus::Published;
    p.notify_subscribers = true;
    env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p));
    fan_out_and_deliver(&env).await;
    let mail = sink.messages();
    assert_eq!(
        mail.len(),
        1,
        "{:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let m = &mail[0];
    let from = m.header("From").expect("From");
    assert!(
        from.contains("Kit Connor Archives") && from.contains("noreply@keepsake.test"),
        "{from}"
    );
    let album_url = format!("http://keepsake.test/albums/{}", album.slug);
    let video_url = format!("http://keepsake.test/videos/{}", v.slug);
    assert!(
        m.text
            .contains(&format!("- BAFTA Awards (3 photos): {album_url}")),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains(&format!("- Video: GQ Action Replay: {video_url}")),
        "{}",
        m.text
    );
    let html = scraper::Html::parse_document(&m.html);
    let links = |css: &str| -> Vec<String> {
        let sel = scraper::Selector::parse(css).expect("selector");
        html.select(&sel)
            .filter_map(|e| e.value().attr("href").map(str::to_string))
            .collect()
    };
    let srcs = |css: &str| -> Vec<String> {
        let sel = scraper::Selector::parse(css).expect("selector");
        html.select(&sel)
            .filter_map(|e| e.value().attr("src").map(str::to_string))
            .collect()
    };
    let album_thumbs = srcs(&format!("a[href='{album_url}'] img"));
    assert_eq!(album_thumbs.len(), 3, "a row of thumbnails");
    assert!(
        album_thumbs
            .iter()
            .all(|s| s.starts_with("http://keepsake.test/media/photos/")),
        "{album_thumbs:?}"
    );
    assert_eq!(
        srcs(&format!("a[href='{video_url}'] img")),
        ["http://keepsake.test/media/posters/ab/gq.jpg"]
    );
    assert!(links("a").iter().any(|h| h == &video_url));
    assert!(!m.html.contains("no-such-album") && !m.html.contains("[["));
}

async fn server_down_then_up_delivers_everything_once(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let env = TestEnv::with(backend, &[("smtp_url", &url), ("mail_retry_seconds", "1")]);
    for i in 0..5 {
        subscribe(&env, &format!("fan{i}@example.org"), &[Topic::News]);
    }
    publish(&env, "While the relay is down", true);
    fan_out_and_deliver(&env).await;
    let waiting = outbox::status_counts(&mut env.conn()).expect("q");
    assert_eq!(waiting, vec![(OutboxStatus::Queued, 5)], "kept for a retry");
    {
        use diesel::prelude::*;
        let rows: Vec<outbox::OutboxMessage> = cms_core::schema::email_outbox::table
            .select(outbox::OutboxMessage::as_select())
            .load(&mut *env.conn())
            .expect("rows");
        assert!(
            rows.iter().all(|r| r.attempts == 1
                && r.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("cannot connect"))),
            "{rows:?}"
        );
    }
    let sink = Sink::start_on(port, dir.path());
    // The retry's time comes (the clock moves; nobody sleeps).
    env.state.db.clock().advance(chrono::Duration::seconds(3));
    fan_out_and_deliver(&env).await;
    let mut tos: Vec<String> = sink.messages().into_iter().map(|m| m.to).collect();
    tos.sort();
    tos.dedup();
    assert_eq!(sink.messages().len(), 5, "each exactly once");
    assert_eq!(tos.len(), 5);
    assert_eq!(
        outbox::status_counts(&mut env.conn()).expect("q"),
        vec![(OutboxStatus::Sent, 5)]
    );
}

async fn permanent_failures_stop_and_temporary_ones_retry(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(dir.path());
    let env = TestEnv::with(backend, &[("smtp_url", &sink.url())]);
    subscribe(&env, "ok@example.org", &[Topic::News]);
    subscribe(&env, "bounce@example.org", &[Topic::News]);
    subscribe(&env, "tempfail@example.org", &[Topic::News]);
    publish(&env, "Mixed results", true);
    fan_out_and_deliver(&env).await;
    assert_eq!(sink.messages().len(), 1);
    let counts = outbox::status_counts(&mut env.conn()).expect("q");
    assert!(
        counts.contains(&(OutboxStatus::Sent, 1))
            && counts.contains(&(OutboxStatus::Failed, 1))
            && counts.contains(&(OutboxStatus::Queued, 1)),
        "{counts:?}"
    );
    let failed = outbox::failures(&mut env.conn(), 10).expect("q");
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("550")),
        "{:?}",
        failed[0].last_error
    );
    // The CLI shows the same and queues the failed message again.
    let status = cms_mail(&env, "status");
    assert!(
        status.contains("all messages: 1 queued, 0 sending, 1 sent, 1 failed"),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("post ") && l.ends_with("1 sent, 1 failed")),
        "per item: {status}"
    );
    assert_eq!(
        cms_mail(&env, "retry-failed").trim(),
        "queued 1 failed message(s) again"
    );
    let status = cms_mail(&env, "status");
    assert!(
        status.contains("2 queued, 0 sending, 1 sent, 0 failed"),
        "{status}"
    );
}

/// Runs `cms mail SUB` against the test's database; returns its stdout (asserting success).
fn cms_mail(env: &TestEnv, sub: &str) -> String {
    let out = env.cms(&["mail", sub]).output().expect("run cms");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn a_crash_mid_way_loses_nothing(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(dir.path());
    let env = TestEnv::with(backend, &[("smtp_url", &sink.url())]);
    let n = (notify::BATCH as usize) + 150;
    super::confirmed_fans(&env, n);
    let p = publish(&env, "A big one", true);
    // A node claims the fan-out, queues the first batch (recording how far it got, as
    // `notify::run_next` does in the same transaction) and dies; its lease runs out.
    env.write(|c| {
        let j = job::claim(c, "dead-node", &[FANOUT_JOB], Duration::seconds(-1))?
            .expect("the fan-out job");
        let batch =
            subscriber::confirmed_for_topic(c, Topic::News, j.created_at, 0, notify::BATCH)?;
        let key = notify::Item::Post(p.id).key();
        let msgs: Vec<outbox::NewMessage> = batch
            .iter()
            .map(|(sid, email)| outbox::NewMessage {
                dedupe_key: format!("{key}:sub:{sid}"),
                kind: "notify".into(),
                subscriber_id: Some(*sid),
                recipient: email.clone(),
                item_type: Some("post".into()),
                item_id: Some(p.id),
                message_id: notify::message_id(&key, *sid, "keepsake.test"),
                payload: serde_json::to_string(&notify::Item::Post(p.id)).expect("json"),
            })
            .collect();
        outbox::enqueue(c, &msgs)?;
        let last = batch.last().map(|b| b.0).unwrap_or(0);
        job::set_progress(
            c,
            j.id,
            "dead-node",
            &serde_json::json!({ "after": last }),
            Duration::seconds(-1),
        )?;
        Ok(())
    });
    // Another node takes over, fans out fully, and starts sending; it too dies with 100 in flight.
    while notify::run_next(&env.state.db, "node-b", "keepsake.test")
        .expect("fan-out")
        .is_some()
    {}
    assert_eq!(
        outbox::status_counts(&mut env.conn()).expect("q"),
        vec![(OutboxStatus::Queued, n as i64)]
    );
    env.write(|c| Ok(outbox::claim(c, "node-b", Duration::seconds(-1), 100).map(drop)?));
    // A fresh worker delivers everything, the abandoned in-flight ones included.
    fan_out_and_deliver(&env).await;
    let mut tos: Vec<String> = sink.messages().into_iter().map(|m| m.to).collect();
    assert_eq!(tos.len(), n);
    tos.sort();
    tos.dedup();
    assert_eq!(tos.len(), n, "nobody twice, nobody missing");
}

async fn without_smtp_messages_become_eml_files(backend: Backend) {
    let env = TestEnv::new(backend);
    subscribe(&env, "fan@example.org", &[Topic::News]);
    publish(&env, "Written to disk", true);
    fan_out_and_deliver(&env).await;
    let dir = env.state.config.storage.data_dir.join("outbox");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("outbox dir")
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(files.len(), 1);
    let parsed = super::sink::Received::parse(&std::fs::read(files[0].path()).expect("read"));
    assert_eq!(parsed.subject, "Written to disk");
    assert!(parsed.header("List-Unsubscribe").is_some());
}

/// How many messages the sink holds (a cheap count for polling).
fn received(sink: &Sink) -> usize {
    std::fs::read_dir(&sink.dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

async fn killed_twice_mid_fan_out_nobody_is_lost(backend: Backend) {
    killed_twice_while_sending(backend, subscriber::Cadence::Immediate).await;
}

/// A daily digest (its hour this hour, UTC) to fans of the news in a daily digest: every
/// start of the killed node finds the period already recorded and goes on with it — one
/// digest each, not one per start.
async fn killed_twice_mid_digest_nobody_gets_two(backend: Backend) {
    killed_twice_while_sending(backend, subscriber::Cadence::Daily).await;
}

/// Fans of the news at `cadence` and a post published: `cms serve` killed with SIGKILL twice
/// while it sends, then left to finish. Everyone gets the one email (the post's, or the day's
/// digest), at most the messages in flight at the kills twice.
async fn killed_twice_while_sending(backend: Backend, cadence: subscriber::Cadence) {
    const N: usize = 1500;
    const CONNECTIONS: usize = 4;
    const KILLS: usize = 2;
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(&dir.path().join("sink"));
    let env = TestEnv::with(backend, &[("smtp_url", &sink.url())]);
    super::confirmed_fans_at(&env, N, cadence);
    publish(&env, "Release day", true);
    // The digest's sending moment: this hour, UTC (the latest moment at or before now).
    let hour = chrono::Timelike::hour(&chrono::Utc::now()).to_string();
    let url = env.state.config.database.url.to_string();
    // The release binary, as a site runs it: the fan-out and delivery workers of `cms serve`.
    let start = || {
        let mut cmd = std::process::Command::new(crate::common::cms_bin());
        for (k, _) in std::env::vars() {
            if k.starts_with("CMS_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("CMS_DATABASE_URL", &url)
            .env("CMS_DATA_DIR", &env.state.config.storage.data_dir)
            .env(
                "CMS_SECRET_KEY",
                "test-secret-key-test-secret-key-test-secret",
            )
            .env("CMS_BASE_URL", "http://keepsake.test")
            .env("CMS_SMTP_URL", sink.url())
            .env("CMS_SMTP_CONNECTIONS", CONNECTIONS.to_string())
            .env("CMS_MAIL_RATE", "250")
            .env("CMS_TIMEZONE", "UTC")
            .env("CMS_DIGEST_HOUR", &hour)
            .env("CMS_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("cms serve")
    };
    let wait_until = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    // Killed (SIGKILL) twice at random points while it sends, started again at once.
    for _ in 0..KILLS {
        let mut child = start();
        let target = received(&sink) + 50 + (rand::random::<u32>() % 300) as usize;
        wait_until("some messages", &|| received(&sink) >= target.min(N - 1));
        child.kill().expect("kill -9");
        child.wait().expect("wait");
    }
    let mut child = start();
    wait_until("the outbox to empty", &|| {
        outbox::status_counts(&mut env.conn())
            .map(|c| c == vec![(OutboxStatus::Sent, N as i64)])
            .unwrap_or(false)
    });
    let _ = child.kill();
    let _ = child.wait();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for m in sink.messages() {
        if cadence == subscriber::Cadence::Daily {
            assert!(
                m.html.contains("Release day") && m.subject.starts_with("Today at"),
                "{}: {}",
                m.to,
                m.subject
            );
        }
        *counts.entry(m.to).or_default() += 1;
    }
    assert_eq!(counts.len(), N, "everyone got the email");
    if cadence == subscriber::Cadence::Daily {
        // One daily digest, whatever the starts (a weekly one is recorded too, for nobody).
        let daily: Vec<(String, i64)> = cms_core::digest::recent(&mut env.conn(), 10)
            .expect("digests")
            .into_iter()
            .filter(|(d, _)| d.cadence == "daily")
            .map(|(d, n)| (d.period, n))
            .collect();
        assert_eq!(daily.len(), 1, "{daily:?}");
        assert_eq!(daily[0].1, N as i64, "{daily:?}");
    }
    let twice: usize = counts.values().map(|n| n - 1).sum();
    assert!(
        twice <= KILLS * CONNECTIONS,
        "{twice} duplicates; at most the messages in flight ({CONNECTIONS} connections x {KILLS} kills)"
    );
}

backend_tests!(
    update_emails_carry_the_posts_embeds,
    one_email_per_subscriber_per_item_by_topic,
    killed_twice_mid_fan_out_nobody_is_lost,
    killed_twice_mid_digest_nobody_gets_two,
    server_down_then_up_delivers_everything_once,
    permanent_failures_stop_and_temporary_ones_retry,
    a_crash_mid_way_loses_nothing,
    without_smtp_messages_become_eml_files,
);

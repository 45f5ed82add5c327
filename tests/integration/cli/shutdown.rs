//! `cms serve` stopped with SIGTERM under load — photos being uploaded, update emails going
//! out over several connections, a server-side import running: every upload that was answered
//! is recorded (and nothing else), the process hands back what it held instead of leaving
//! leases to run out, and the next start finishes the work with nobody emailed twice. A site
//! import is handed back the same way.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cms_core::models::job::{self, JobStatus};
use cms_core::models::outbox::{self, OutboxStatus};
use cms_core::models::post::{PostInput, PostStatus};
use diesel::prelude::*;

use super::served_address;
use crate::common::{Backend, TestEnv};
use crate::mail::sink::Sink;

const SUBSCRIBERS: usize = 1200;
const IMPORTED: usize = 300;

fn serve(env: &TestEnv, sink: &Sink) -> (Child, String) {
    let mut cmd = env.cms(&["serve", "--bind", "127.0.0.1:0"]);
    cmd.env("CMS_SMTP_URL", sink.url())
        .env("CMS_SMTP_CONNECTIONS", "4")
        .env("CMS_MAIL_RATE", "150")
        // The uploads go as fast as they can: not this test's subject.
        .env("CMS_API_RATE", "0")
        .env("CMS_BASE_URL", "http://keepsake.test")
        .env("CMS_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("cms serve");
    let addr = served_address(&mut child);
    (child, addr)
}

/// A server killed if the test fails before stopping it.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGTERM, then the exit status (within a minute: the unit's TimeoutStopSec).
fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "cms serve did not stop within a minute of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One photo uploaded through the API: the status, or `None` when the server did not answer
/// (not listening any more, or the connection closed before an answer).
fn upload(addr: &str, token: &str, album: &str, i: usize) -> Option<u16> {
    let jpeg = crate::gallery::files::jpeg(400, 300 + (i / 256) as u32, (i % 256) as u8);
    let boundary = "keepsake-shutdown-test";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"up{i}.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&jpeg);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let head = format!(
        "POST /api/v1/albums/{album}/photos HTTP/1.0\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(&body).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    String::from_utf8_lossy(&resp)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
}

fn eml_files(sink: &Sink) -> usize {
    std::fs::read_dir(&sink.dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

fn import_job(env: &TestEnv, id: i64) -> job::Job {
    job::find(&mut env.conn(), id).expect("q").expect("job")
}

fn photos_in(env: &TestEnv, album_id: i64) -> i64 {
    use cms_core::schema::photos;
    photos::table
        .filter(photos::album_id.eq(album_id))
        .count()
        .get_result(&mut env.conn())
        .expect("count")
}

fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn sigterm_under_load_loses_nothing_and_sends_nothing_twice(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(&dir.path().join("sink"));
    let env = TestEnv::new(backend);
    crate::mail::confirmed_fans(&env, SUBSCRIBERS);
    let uploads = env.album_with_photos(&["Uploads"], "Fan uploads", 0);
    let token = crate::api::token(&env, "uploader", &["gallery:write"]);
    // A server-side import waiting in the import folder, queued as the admin queues it.
    let import_dir = env
        .state
        .config
        .storage
        .import_dir
        .join("Season 2/Episode 3");
    std::fs::create_dir_all(&import_dir).expect("mkdir");
    for i in 0..IMPORTED {
        let bytes = crate::gallery::files::jpeg(960, 540 + (i / 256) as u32, (i % 256) as u8);
        std::fs::write(import_dir.join(format!("{i:04}.jpg")), bytes).expect("write");
    }
    let request = cms_core::ingest::job::ImportRequest {
        path: "Season 2".into(),
        into: "Television Productions/Heartstopper".into(),
        draft: false,
        announce: false,
        user_id: None,
        user_label: "test".into(),
    };
    let import = env.write(|c| {
        Ok(job::enqueue_returning(
            c,
            cms_core::ingest::job::IMPORT_JOB,
            &serde_json::to_value(&request).expect("json"),
        )?)
    });
    let mut p = PostInput::new("Release day", "Out now.");
    p.status = PostStatus::Published;
    p.notify_subscribers = true;
    env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p));

    let (child, addr) = serve(&env, &sink);
    let mut child = Stopped(child);
    // Uploads, one after another on fresh connections, until the server stops answering.
    let stop = Arc::new(AtomicBool::new(false));
    let uploader = {
        let (addr, token, album, stop) = (
            addr.clone(),
            token.clone(),
            uploads.slug.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let mut answers = Vec::new();
            for i in 0.. {
                match upload(&addr, &token, &album, i) {
                    Some(s) => answers.push(s),
                    None if stop.load(Ordering::SeqCst) => break,
                    None => {}
                }
            }
            answers
        })
    };
    // Stopped while everything is in flight.
    wait(
        "emails and the import under way",
        Duration::from_secs(120),
        || {
            let progressed =
                serde_json::from_str::<serde_json::Value>(&import_job(&env, import).progress)
                    .ok()
                    .and_then(|p| p["done"].as_u64())
                    .unwrap_or(0);
            eml_files(&sink) >= 100 && progressed >= 8
        },
    );
    stop.store(true, Ordering::SeqCst);
    let stopping = Instant::now();
    let status = terminate(&mut child.0);
    let took = stopping.elapsed();
    assert!(
        status.success(),
        "cms serve exited with {status} after SIGTERM"
    );
    let answers = uploader.join().expect("uploader");
    let accepted = answers.iter().filter(|s| **s == 201).count();
    assert!(
        answers.iter().all(|s| *s == 201),
        "every upload answered was accepted: {answers:?}"
    );
    assert!(accepted > 0, "uploads were going on");
    assert_eq!(
        photos_in(&env, uploads.id),
        accepted as i64,
        "exactly the uploads that were answered are recorded"
    );
    let sent_at_stop = eml_files(&sink);
    assert!(
        sent_at_stop < SUBSCRIBERS,
        "the stop came too late to mean anything"
    );
    // Nothing is left leased to the stopped process: what it had not done is due now.
    let counts = outbox::status_counts(&mut env.conn()).expect("counts");
    assert!(
        counts.iter().all(|(s, _)| *s != OutboxStatus::Sending),
        "messages still held by the stopped process: {counts:?}"
    );
    let j = import_job(&env, import);
    assert_eq!(
        j.status,
        JobStatus::Queued,
        "the import was handed back part-way: {}",
        j.progress
    );
    assert!(j.lease_owner.is_none());
    eprintln!(
        "SIGTERM with {sent_at_stop} of {SUBSCRIBERS} emails sent, {accepted} uploads accepted, \
         the import at {}; stopped in {took:?}",
        j.progress
    );

    // The next start finishes everything.
    let mut child = Stopped(serve(&env, &sink).0);
    wait("every email", Duration::from_secs(180), || {
        outbox::status_counts(&mut env.conn())
            .map(|c| c == vec![(OutboxStatus::Sent, SUBSCRIBERS as i64)])
            .unwrap_or(false)
    });
    wait("the import", Duration::from_secs(120), || {
        import_job(&env, import).status == JobStatus::Done
    });
    assert!(terminate(&mut child.0).success());
    let mut per = std::collections::BTreeMap::<String, usize>::new();
    for m in sink.messages() {
        *per.entry(m.to).or_default() += 1;
    }
    assert_eq!(per.len(), SUBSCRIBERS, "everyone got the email");
    let twice: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "sent twice after a graceful stop: {twice:?}"
    );
    use cms_core::schema::photos;
    let total: i64 = photos::table
        .count()
        .get_result(&mut env.conn())
        .expect("count");
    assert_eq!(
        total,
        (IMPORTED + accepted) as i64,
        "every imported photo once"
    );
}

/// While a request is in flight the stopping node refuses new connections; a second signal
/// does not wait for the request: the process exits at once, with 1.
#[test]
fn a_second_signal_stops_at_once() {
    let env = TestEnv::new(Backend::Sqlite);
    let sink = Sink::start(&env.state.config.storage.data_dir.join("sink"));
    let (child, addr) = serve(&env, &sink);
    let mut child = Stopped(child);
    // An upload whose body never finishes arriving.
    let mut slow = TcpStream::connect(&addr).expect("connect");
    slow.write_all(
        format!(
            "POST /api/v1/albums/x/photos HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n--b\r\n"
        )
        .as_bytes(),
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(200));
    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.0.try_wait().expect("wait").is_none(),
        "still finishing the request"
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "new connections are refused"
    );
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the second signal was not heard"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1));
}

/// A site import (a WordPress export, queued as the admin queues it) stopped with SIGTERM:
/// the node hands it back between batches with its progress — it is not failed and not left
/// leased — and the next start finishes it with every post once.
async fn sigterm_hands_a_site_import_back(backend: Backend) {
    const POSTS: usize = 10_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(&dir.path().join("sink"));
    let env = TestEnv::new(backend);
    let import_dir = &env.state.config.storage.import_dir;
    std::fs::create_dir_all(import_dir).expect("mkdir");
    let wxr = crate::import::wordpress::large_wxr(POSTS);
    std::fs::write(import_dir.join("big.xml"), wxr).expect("write");
    let request = cms_core::import::job::SiteImportRequest {
        source: "wordpress".into(),
        file: "big.xml".into(),
        user_label: "test".into(),
        ..Default::default()
    };
    let id = env.write(|c| {
        Ok(job::enqueue_returning(
            c,
            cms_core::import::job::SITE_IMPORT_JOB,
            &serde_json::to_value(&request).expect("json"),
        )?)
    });
    let posts = || -> i64 {
        cms_core::schema::posts::table
            .count()
            .get_result(&mut env.conn())
            .expect("count")
    };
    let mut child = Stopped(serve(&env, &sink).0);
    wait("the import under way", Duration::from_secs(120), || {
        posts() >= 200
    });
    assert!(terminate(&mut child.0).success());
    let j = import_job(&env, id);
    let at_stop = posts();
    assert_eq!(
        (j.status, j.lease_owner.as_deref()),
        (JobStatus::Queued, None),
        "handed back part-way: {}",
        j.progress
    );
    assert!(
        at_stop < POSTS as i64,
        "the stop came after the import had ended"
    );
    let left: cms_core::import::job::SiteImportRequest =
        serde_json::from_str(&j.payload).expect("payload");
    assert_eq!(left.file, "big.xml", "the job is kept whole to run again");
    eprintln!("SIGTERM with {at_stop} of {POSTS} posts imported");

    let mut child = Stopped(serve(&env, &sink).0);
    wait("the import", Duration::from_secs(300), || {
        import_job(&env, id).status == JobStatus::Done
    });
    assert!(terminate(&mut child.0).success());
    assert_eq!(posts(), POSTS as i64, "every post once");
    let j = import_job(&env, id);
    assert!(j.progress.contains("finished"), "{}", j.progress);
}

crate::backend_tests!(
    sigterm_under_load_loses_nothing_and_sends_nothing_twice,
    sigterm_hands_a_site_import_back
);

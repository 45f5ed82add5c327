//! Work done by the workers of every node, once: a scheduled post published once and its
//! 3,000 update emails sent once each, a server-side import run once; and with a node killed
//! (kill -9) mid-fan-out and mid-import, nothing lost and another node finishing the job.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cms_core::models::job::{self, JobStatus};
use cms_core::models::outbox::{self, OutboxStatus};
use cms_core::models::user::Role;
use diesel::prelude::*;

use super::shared::api_post;
use super::{Browser, Cluster, status};
use crate::admin::client::{PASSWORD, make_user};

const SUBSCRIBERS: usize = 3000;

/// Three nodes with `settings`, 3,000 subscribers, an editor, and an API token that writes
/// posts.
fn busy_cluster(settings: &[(&str, &str)]) -> (Cluster, String) {
    let c = Cluster::start(settings);
    crate::mail::confirmed_fans(&c.env, SUBSCRIBERS);
    make_user(&c.env, "editor@example.org", Role::Editor);
    let token = crate::api::token(&c.env, "writer", &["posts:write"]);
    (c, token)
}

/// How many messages each address received.
fn received(c: &Cluster) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in c.sink.messages() {
        *counts.entry(m.to).or_default() += 1;
    }
    counts
}

fn eml_files(c: &Cluster) -> usize {
    std::fs::read_dir(&c.sink.dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

fn all_sent(c: &Cluster) -> bool {
    outbox::status_counts(&mut c.env.conn())
        .map(|v| v == vec![(OutboxStatus::Sent, SUBSCRIBERS as i64)])
        .unwrap_or(false)
}

/// The process id in a lease owner (`HOST:PID:…`).
fn pid_of(owner: &str) -> Option<u32> {
    owner.split(':').nth(1)?.parse().ok()
}

/// The nodes holding messages they are sending now.
fn sending_nodes(c: &Cluster) -> BTreeSet<usize> {
    use cms_core::schema::email_outbox;
    let owners: Vec<Option<String>> = email_outbox::table
        .filter(email_outbox::status.eq(OutboxStatus::Sending))
        .select(email_outbox::lease_owner)
        .distinct()
        .load(&mut c.env.conn())
        .expect("owners");
    owners
        .iter()
        .flatten()
        .filter_map(|o| pid_of(o))
        .filter_map(|pid| c.node_of(pid))
        .collect()
}

fn job_by_key(c: &Cluster, key: &str) -> job::Job {
    job::find_by_key(&mut c.env.conn(), key)
        .expect("query")
        .unwrap_or_else(|| panic!("no job {key}"))
}

/// JPEGs in the shared import folder, under `folder`, each its own picture.
fn drop_photos(c: &Cluster, folder: &str, n: usize, first: usize) {
    let dir = c.import_dir().join(folder);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for i in first..first + n {
        let bytes = crate::gallery::files::jpeg(480, 270 + (i / 256) as u32, (i % 256) as u8);
        std::fs::write(dir.join(format!("{i:04}.jpg")), bytes).expect("write");
    }
}

/// Starts the server-side import of `folder` as an editor does, through the balancer; the job.
fn start_import(c: &Cluster, ed: &mut Browser, folder: &str) -> i64 {
    let (s, head, body) = ed.post(
        &c.addr,
        "/admin/gallery/import",
        "/admin/gallery/import",
        &[
            ("path", folder),
            ("into", "Television Productions/Heartstopper"),
        ],
    );
    assert_eq!(s, 303, "{head}{body}");
    head.lines()
        .find_map(|l| l.strip_prefix("location: "))
        .and_then(|l| l.trim().rsplit("import-").next())
        .and_then(|id| id.parse().ok())
        .expect("the job's id in the redirect")
}

/// How many photos there are, and how many different pictures among them.
fn photos(c: &Cluster) -> (usize, usize) {
    use cms_core::schema::photos;
    let hashes: Vec<String> = photos::table
        .select(photos::content_hash)
        .load(&mut c.env.conn())
        .expect("photos");
    let distinct = hashes
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    (hashes.len(), distinct)
}

#[test]
fn a_scheduled_post_and_an_import_run_once_across_three_nodes() {
    let (c, token) = busy_cluster(&[("mail_rate", "400"), ("smtp_connections", "4")]);

    // A post scheduled a few seconds ahead, through the balancer: three schedulers watch it.
    let (s, body) = api_post(
        &c.addr,
        "/api/v1/posts",
        &token,
        serde_json::json!({"title": "Season 3 trailer", "body": "Watch it here.", "notify_subscribers": true}),
    );
    assert_eq!(s, 201, "{body}");
    let post: serde_json::Value = serde_json::from_str(&body).expect("json");
    let (slug, id) = (
        post["slug"].as_str().expect("slug").to_string(),
        post["id"].as_i64().expect("id"),
    );
    let at = (chrono::Utc::now() + chrono::Duration::seconds(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (s, body) = api_post(
        &c.addr,
        &format!("/api/v1/posts/{slug}/schedule"),
        &token,
        serde_json::json!({"publish_at": at}),
    );
    assert_eq!(s, 200, "{body}");

    // Meanwhile an editor starts a server-side import through the balancer.
    drop_photos(&c, "Season 3/Episode 1", 60, 0);
    let mut ed = Browser::default();
    assert_eq!(ed.login(&c.addr, "editor@example.org", PASSWORD), 303);
    let import = start_import(&c, &mut ed, "Season 3");

    let mut senders = BTreeSet::new();
    c.wait("every update email", Duration::from_secs(180), || {
        senders.extend(sending_nodes(&c));
        all_sent(&c)
    });
    c.wait("the import", Duration::from_secs(120), || {
        job::find(&mut c.env.conn(), import)
            .ok()
            .flatten()
            .is_some_and(|j| j.status == JobStatus::Done)
    });
    // Let anything sent twice arrive before counting.
    std::thread::sleep(Duration::from_millis(500));

    let publish = job_by_key(&c, &format!("publish:post:{id}"));
    assert_eq!(
        (publish.status, publish.attempts),
        (JobStatus::Done, 1),
        "published once"
    );
    let fanout = job_by_key(
        &c,
        &format!("fanout:{}", cms_core::notify::Item::Post(id).key()),
    );
    assert_eq!(
        (fanout.status, fanout.attempts),
        (JobStatus::Done, 1),
        "fanned out once"
    );
    let counts = received(&c);
    assert_eq!(counts.len(), SUBSCRIBERS, "every subscriber got the email");
    assert!(
        counts.values().all(|n| *n == 1),
        "{} subscribers got it more than once",
        counts.values().filter(|n| **n > 1).count()
    );
    assert_eq!(eml_files(&c), SUBSCRIBERS);
    assert!(
        senders.len() >= 2,
        "the nodes shared the sending: {senders:?}"
    );

    let j = job::find(&mut c.env.conn(), import)
        .expect("q")
        .expect("job");
    assert_eq!(j.attempts, 1, "the import ran once");
    let progress: serde_json::Value = serde_json::from_str(&j.progress).expect("progress");
    assert_eq!(progress["imported"], 60, "{progress}");
    assert_eq!(photos(&c), (60, 60));
    // Any node shows what another imported, from the bucket.
    assert_eq!(
        status(
            &c.nodes[2].addr,
            "/gallery/television-productions/heartstopper/season-3"
        ),
        200
    );
}

#[test]
fn a_node_killed_mid_fan_out_or_mid_import_loses_nothing() {
    const CONNECTIONS: usize = 4;
    let (mut c, token) = busy_cluster(&[("mail_rate", "150"), ("smtp_connections", "4")]);

    // The fan-out: kill -9 a node that is sending, once a few hundred are out.
    let (s, body) = api_post(
        &c.addr,
        "/api/v1/posts",
        &token,
        serde_json::json!({"title": "Release day", "body": "Out now.", "status": "published", "notify_subscribers": true}),
    );
    assert_eq!(s, 201, "{body}");
    c.wait("some messages", Duration::from_secs(120), || {
        eml_files(&c) >= 300
    });
    let victim = sending_nodes(&c).into_iter().next().unwrap_or(0);
    c.kill(victim);
    let at_kill = eml_files(&c);
    assert!(
        at_kill < SUBSCRIBERS,
        "the kill came too late to mean anything"
    );
    c.wait(
        "the others to finish the sending",
        Duration::from_secs(180),
        || all_sent(&c),
    );
    std::thread::sleep(Duration::from_millis(500));
    let counts = received(&c);
    assert_eq!(counts.len(), SUBSCRIBERS, "nobody was lost");
    let twice: usize = counts.values().map(|n| n - 1).sum();
    assert!(
        twice <= CONNECTIONS,
        "{twice} duplicates; at most the killed node's messages in flight ({CONNECTIONS})"
    );

    // The import: kill -9 the node running it once part of it is in.
    const PHOTOS: usize = 360;
    drop_photos(&c, "Season 4/Episode 1", PHOTOS / 2, 0);
    drop_photos(&c, "Season 4/Episode 2", PHOTOS / 2, PHOTOS / 2);
    let mut ed = Browser::default();
    assert_eq!(ed.login(&c.addr, "editor@example.org", PASSWORD), 303);
    let import = start_import(&c, &mut ed, "Season 4");
    let mut runner = None;
    c.wait(
        "the import to be part-way",
        Duration::from_secs(120),
        || {
            let Some(j) = job::find(&mut c.env.conn(), import).ok().flatten() else {
                return false;
            };
            let imported = serde_json::from_str::<serde_json::Value>(&j.progress)
                .ok()
                .and_then(|p| p["done"].as_u64())
                .unwrap_or(0);
            runner = j
                .lease_owner
                .as_deref()
                .and_then(pid_of)
                .and_then(|p| c.node_of(p));
            assert_ne!(
                j.status,
                JobStatus::Done,
                "the import finished before it could be interrupted"
            );
            imported >= 20 && runner.is_some_and(|r| r != victim)
        },
    );
    let runner = runner.expect("the node running the import");
    c.kill(runner);
    // Another node takes the job up (its lease freed by a survivor's sweep) and finishes it.
    let mut finisher = None;
    c.wait(
        "another node to finish the import",
        Duration::from_secs(180),
        || {
            let Some(j) = job::find(&mut c.env.conn(), import).ok().flatten() else {
                return false;
            };
            if let Some(n) = j
                .lease_owner
                .as_deref()
                .and_then(pid_of)
                .and_then(|p| c.node_of(p))
            {
                finisher = Some(n);
            }
            j.status == JobStatus::Done
        },
    );
    assert!(
        finisher.is_some_and(|f| f != runner && f != victim),
        "taken up by {finisher:?}; killed {runner} and {victim}"
    );
    let j = job::find(&mut c.env.conn(), import)
        .expect("q")
        .expect("job");
    assert_eq!(j.attempts, 2, "run by the killed node, then by one other");
    assert_eq!(photos(&c), (PHOTOS, PHOTOS), "every photo once");
    let survivor = &c.nodes[3 - runner - victim].addr;
    let (s, _, page) = super::request(
        survivor,
        "GET",
        "/gallery/television-productions/heartstopper/season-4",
        &[],
        "",
    );
    assert_eq!(s, 200);
    assert!(
        page.contains("Episode 1") && page.contains("Episode 2"),
        "both albums"
    );
}

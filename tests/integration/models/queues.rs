//! The durable queues: the email outbox and the job table, with their leases.

use chrono::Duration;
use cms_core::models::job::{self, JobStatus};
use cms_core::models::outbox::{self, NewMessage, OutboxStatus};

use crate::backend_tests;
use crate::common::{Backend, TestEnv};

fn message(item: i64, sub: i64) -> NewMessage {
    NewMessage {
        dedupe_key: format!("post:{item}:subscriber:{sub}"),
        kind: "notify".into(),
        subscriber_id: None,
        recipient: format!("s{sub}@example.org"),
        item_type: Some("post".into()),
        item_id: Some(item),
        message_id: format!("<post-{item}-{sub}@keepsake.test>"),
        payload: "{}".into(),
    }
}

async fn outbox_never_queues_twice_and_leases_expire(backend: Backend) {
    let env = TestEnv::new(backend);
    let batch: Vec<NewMessage> = (1..=5).map(|s| message(1, s)).collect();
    assert_eq!(env.write(|c| Ok(outbox::enqueue(c, &batch)?)), 5);
    // The same fan-out again (a retry, a second node) queues nobody.
    assert_eq!(env.write(|c| Ok(outbox::enqueue(c, &batch)?)), 0);
    let claimed = env.write(|c| Ok(outbox::claim(c, "worker-a", Duration::seconds(60), 3)?));
    assert_eq!(claimed.len(), 3);
    // A second worker gets the rest, not the leased ones. Its lease is already over, as if it
    // had died mid-send.
    let other = env.write(|c| Ok(outbox::claim(c, "worker-b", Duration::seconds(-1), 10)?));
    assert_eq!(other.len(), 2);
    assert!(other.iter().all(|m| claimed.iter().all(|c| c.id != m.id)));
    assert!(env.write(|c| Ok(outbox::mark_sent(c, claimed[0].id, "worker-a")?)));
    assert!(
        !env.write(|c| Ok(outbox::mark_sent(c, claimed[1].id, "worker-b")?)),
        "only the holder may finish"
    );
    env.write(|c| {
        Ok(outbox::mark_failed(
            c,
            claimed[1].id,
            "worker-a",
            "550 no such user",
        )?)
    });
    // The dead worker's messages are claimed again; worker A's live lease is respected.
    let again = env.write(|c| Ok(outbox::claim(c, "worker-c", Duration::seconds(60), 10)?));
    let mut ids: Vec<i64> = again.iter().map(|m| m.id).collect();
    ids.sort_unstable();
    let mut expected: Vec<i64> = other.iter().map(|m| m.id).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(again.iter().all(|m| m.attempts == 2));
    let counts = outbox::status_counts(&mut env.conn()).expect("counts");
    assert!(counts.contains(&(OutboxStatus::Sent, 1)));
    assert!(counts.contains(&(OutboxStatus::Failed, 1)));
    assert_eq!(env.write(|c| Ok(outbox::retry_failed(c)?)), 1);
}

async fn jobs_are_unique_and_claimed_once(backend: Backend) {
    let env = TestEnv::new(backend);
    let now = cms_core::models::now();
    let payload = serde_json::json!({"post_id": 1});
    assert!(env.write(|c| Ok(job::enqueue(
        c,
        "publish",
        &payload,
        now,
        Some("publish:post:1")
    )?)));
    assert!(!env.write(|c| Ok(job::enqueue(
        c,
        "publish",
        &payload,
        now,
        Some("publish:post:1")
    )?)));
    env.write(|c| {
        Ok(job::enqueue(
            c,
            "publish",
            &payload,
            now + Duration::hours(1),
            Some("publish:post:2"),
        )?)
    });
    let j = env
        .write(|c| {
            Ok(job::claim(
                c,
                "node-a",
                &["publish"],
                Duration::seconds(30),
            )?)
        })
        .expect("a due job");
    assert_eq!(j.unique_key.as_deref(), Some("publish:post:1"));
    assert!(
        env.write(|c| Ok(job::claim(
            c,
            "node-b",
            &["publish"],
            Duration::seconds(30)
        )?))
        .is_none(),
        "not due, and leased"
    );
    env.write(|c| Ok(job::fail(c, &j, "node-a", "boom", cms_core::models::now())?));
    let retried = env
        .write(|c| {
            Ok(job::claim(
                c,
                "node-b",
                &["publish"],
                Duration::seconds(30),
            )?)
        })
        .expect("retry");
    assert_eq!(retried.attempts, 2);
    assert!(env.write(|c| Ok(job::complete(c, retried.id, "node-b")?)));
    let done = job::find_by_key(&mut env.conn(), "publish:post:1")
        .expect("q")
        .expect("job");
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(
        env.write(|c| Ok(job::reschedule(c, "publish:post:2", now)?)),
        1
    );
    assert!(
        env.write(|c| Ok(job::claim(
            c,
            "node-c",
            &["publish"],
            Duration::seconds(30)
        )?))
        .is_some()
    );
}

backend_tests!(
    outbox_never_queues_twice_and_leases_expire,
    jobs_are_unique_and_claimed_once
);

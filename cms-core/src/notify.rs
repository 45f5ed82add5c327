//! Who hears about what. Publishing something subscribers asked for schedules one durable
//! fan-out job per item (unique, so publishing twice schedules nothing new). The job writes one
//! outbox row per (item, subscriber) under a unique key, in batches, for every subscriber of the
//! topic confirmed by the time the item was published, and records how far it got, so a crash
//! resumes where it stopped and a retry or a second node never queues anyone twice.

use chrono::Duration;

use diesel::QueryResult;

use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use crate::models::job::{self, Job};
use crate::models::now;
use crate::models::outbox::{self, NewMessage};
use crate::models::subscriber::{self, Topic};
use crate::tokens::hash_token;

/// The job kind of a fan-out.
pub const FANOUT_JOB: &str = "fanout";
/// Subscribers read per batch.
pub const BATCH: i64 = 1000;
/// A fan-out's lease.
pub const LEASE: Duration = Duration::minutes(2);

/// Something subscribers are told about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "ids", rename_all = "lowercase")]
pub enum Item {
    Post(i64),
    /// Albums published together (an import), announced in one message.
    Albums(Vec<i64>),
    Video(i64),
}

impl Item {
    /// The topic whose subscribers hear of it.
    pub fn topic(&self) -> Topic {
        match self {
            Item::Post(_) => Topic::News,
            Item::Albums(_) => Topic::Gallery,
            Item::Video(_) => Topic::Videos,
        }
    }

    /// A stable name for the item: job key, outbox keys and Message-IDs derive from it.
    pub fn key(&self) -> String {
        match self {
            Item::Post(id) => format!("post-{id}"),
            Item::Albums(ids) => match ids.as_slice() {
                [one] => format!("album-{one}"),
                many => format!(
                    "albums-{}-{}",
                    many.first().copied().unwrap_or(0),
                    many.len()
                ),
            },
            Item::Video(id) => format!("video-{id}"),
        }
    }

    /// The outbox's item type and id (for delivery progress per item).
    pub fn outbox_ref(&self) -> (&'static str, i64) {
        match self {
            Item::Post(id) => ("post", *id),
            Item::Albums(ids) => ("albums", ids.first().copied().unwrap_or(0)),
            Item::Video(id) => ("video", *id),
        }
    }
}

/// The host of a base URL, for Message-IDs and List-Id.
pub fn host_of(base: &str) -> String {
    url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "localhost".into())
}

/// A Message-ID that stays the same for a given (item, subscriber), so a re-sent message is
/// recognisably the same message.
pub fn message_id(item_key: &str, subscriber_id: i64, host: &str) -> String {
    format!("<{item_key}.{subscriber_id}@{host}>")
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct FanoutPayload {
    item: Item,
}

/// Schedules the fan-out of `item` (once per item, ever). Called by the service layer in the
/// transaction that publishes.
pub fn schedule(conn: &mut DbConn, item: &Item) -> Result<bool> {
    let payload = serde_json::to_value(FanoutPayload { item: item.clone() })
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(job::enqueue(
        conn,
        FANOUT_JOB,
        &payload,
        now(),
        Some(&format!("fanout:{}", item.key())),
    )?)
}

/// Marks `item` as announced without sending anything (its fan-out is recorded as done, so
/// publishing it later schedules nothing): imported content that readers of the old site have
/// already seen. Call it in the transaction that publishes the item, before or after: a fan-out
/// already queued for it is withdrawn.
pub fn mark_announced(conn: &mut DbConn, item: &Item) -> Result<()> {
    use crate::schema::jobs;
    use diesel::prelude::*;
    let payload = serde_json::to_value(FanoutPayload { item: item.clone() })
        .map_err(|e| Error::Internal(e.to_string()))?;
    let key = format!("fanout:{}", item.key());
    job::cancel(conn, &key)?;
    let t = now();
    let row = (
        jobs::kind.eq(FANOUT_JOB),
        jobs::payload.eq(payload.to_string()),
        jobs::unique_key.eq(&key),
        jobs::status.eq(job::JobStatus::Done),
        jobs::run_at.eq(t),
        jobs::created_at.eq(t),
        jobs::updated_at.eq(t),
        jobs::finished_at.eq(Some(t)),
    );
    crate::per_backend!(conn, |c| diesel::insert_into(jobs::table)
        .values(row.clone())
        .on_conflict(jobs::unique_key)
        .do_nothing()
        .execute(c))?;
    Ok(())
}

/// Queues a confirmation email carrying a sign-up's one-time token.
pub fn request_confirmation(
    conn: &mut DbConn,
    subscriber_id: i64,
    email: &str,
    token: &str,
    host: &str,
) -> Result<()> {
    let tag = &hash_token(token)[..16];
    outbox::enqueue(
        conn,
        &[NewMessage {
            dedupe_key: format!("confirm:{subscriber_id}:{tag}"),
            kind: "confirm".into(),
            subscriber_id: Some(subscriber_id),
            recipient: email.to_string(),
            item_type: None,
            item_id: None,
            message_id: format!("<confirm-{subscriber_id}-{tag}@{host}>"),
            payload: serde_json::json!({ "token": token }).to_string(),
        }],
    )?;
    Ok(())
}

/// Runs one due fan-out job, if any, to the end. Returns how many messages it queued. `host`
/// names the site in Message-IDs.
pub fn run_next(db: &Db, owner: &str, host: &str) -> Result<Option<usize>> {
    let Some(j): Option<Job> = db.write_blocking(|c| {
        Ok::<_, Error>(job::claim_at(c, owner, &[FANOUT_JOB], LEASE, db.now())?)
    })?
    else {
        return Ok(None);
    };
    let p: FanoutPayload = serde_json::from_str(&j.payload)
        .map_err(|e| Error::Internal(format!("bad fan-out job {}: {e}", j.id)))?;
    // Subscribers who confirmed after publication are not included.
    let cutoff = j.created_at;
    let topic = p.item.topic();
    let key = p.item.key();
    let (item_type, item_id) = p.item.outbox_ref();
    let payload = serde_json::to_string(&p.item).unwrap_or_else(|_| "{}".into());
    fan_out(db, &j, owner, LEASE, |conn, after| {
        let batch = subscriber::confirmed_for_topic(conn, topic, cutoff, after, BATCH)?;
        let Some(last) = batch.last().map(|b| b.0) else {
            return Ok(None);
        };
        let messages = batch
            .into_iter()
            .map(|(sid, email)| NewMessage {
                dedupe_key: format!("{key}:sub:{sid}"),
                kind: "notify".into(),
                subscriber_id: Some(sid),
                recipient: email,
                item_type: Some(item_type.to_string()),
                item_id: Some(item_id),
                message_id: message_id(&key, sid, host),
                payload: payload.clone(),
            })
            .collect();
        Ok(Some((last, messages)))
    })
    .map(Some)
}

/// The batch loop of a claimed fan-out job (update emails, digests), run to the end: `batch`
/// gives the messages for the subscribers after a subscriber id, with the last id it read, or
/// `None` when there are no more. Each batch is queued in one transaction with the job's
/// progress, so a crash or a shutdown resumes after the last batch queued, on any node, and
/// the outbox's dedupe keys make a batch queued twice count once. How many messages it queued.
pub(crate) fn fan_out(
    db: &Db,
    j: &Job,
    owner: &str,
    lease: Duration,
    mut batch: impl FnMut(&mut DbConn, i64) -> QueryResult<Option<(i64, Vec<NewMessage>)>>,
) -> Result<usize> {
    let mut after: i64 = serde_json::from_str::<serde_json::Value>(&j.progress)
        .ok()
        .and_then(|v| v["after"].as_i64())
        .unwrap_or(0);
    let mut queued = 0;
    loop {
        if crate::shutdown::is_stopping() {
            // Each batch is recorded with its progress: the next run goes on from here.
            db.write_blocking(|c| Ok::<_, Error>(job::release(c, j.id, owner)?))?;
            return Ok(queued);
        }
        let step = db.write_blocking(|conn| -> Result<Option<usize>> {
            let Some((last, messages)) = batch(conn, after)? else {
                return Ok(None);
            };
            let n = outbox::enqueue(conn, &messages)?;
            // Progress in the same transaction as the rows: a crash resumes exactly here.
            job::set_progress(
                conn,
                j.id,
                owner,
                &serde_json::json!({ "after": last }),
                lease,
            )?;
            after = last;
            Ok(Some(n))
        })?;
        match step {
            Some(n) => queued += n,
            None => break,
        }
    }
    db.write_blocking(|c| Ok::<_, Error>(job::complete(c, j.id, owner)?))?;
    Ok(queued)
}

//! The email outbox: one row per message, unique per (item, recipient), claimed by delivery
//! workers with a lease so a crash re-sends only what was in flight.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, text_enum};
use crate::db::DbConn;
use crate::schema::email_outbox;

text_enum! {
    /// Where a message is.
    pub enum OutboxStatus {
        Queued = "queued",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
    }
}

/// A stored message.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxMessage {
    pub id: i64,
    pub dedupe_key: String,
    pub kind: String,
    pub subscriber_id: Option<i64>,
    pub recipient: String,
    pub item_type: Option<String>,
    pub item_id: Option<i64>,
    pub message_id: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// Data for composing the message (JSON), e.g. a confirmation token; emptied once sent.
    pub payload: String,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub dedupe_key: String,
    pub kind: String,
    pub subscriber_id: Option<i64>,
    pub recipient: String,
    pub item_type: Option<String>,
    pub item_id: Option<i64>,
    pub message_id: String,
    /// JSON, `{}` when there is nothing message-specific.
    pub payload: String,
}

/// Queues messages in one statement; rows whose dedupe key already exists are skipped, so a
/// repeated fan-out queues nobody twice. Returns how many were new.
pub fn enqueue(conn: &mut DbConn, messages: &[NewMessage]) -> QueryResult<usize> {
    if messages.is_empty() {
        return Ok(0);
    }
    let t = now();
    let rows: Vec<_> = messages
        .iter()
        .map(|m| {
            (
                email_outbox::dedupe_key.eq(&m.dedupe_key),
                email_outbox::kind.eq(&m.kind),
                email_outbox::subscriber_id.eq(m.subscriber_id),
                email_outbox::recipient.eq(&m.recipient),
                email_outbox::item_type.eq(&m.item_type),
                email_outbox::item_id.eq(m.item_id),
                email_outbox::message_id.eq(&m.message_id),
                email_outbox::payload.eq(&m.payload),
                email_outbox::status.eq(OutboxStatus::Queued),
                email_outbox::next_attempt_at.eq(t),
                email_outbox::created_at.eq(t),
            )
        })
        .collect();
    let mut inserted = 0;
    for chunk in rows.chunks(500) {
        inserted += crate::per_backend!(conn, |c| diesel::insert_into(email_outbox::table)
            .values(chunk)
            .on_conflict(email_outbox::dedupe_key)
            .do_nothing()
            .execute(c))?;
    }
    Ok(inserted)
}

/// Claims up to `limit` due messages for `owner` until `lease` from now: queued ones whose time
/// has come, and sending ones whose lease ran out (their worker died). On PostgreSQL,
/// `FOR UPDATE SKIP LOCKED` lets several nodes claim at once without waiting on each other.
/// Run it in a write transaction.
pub fn claim(
    conn: &mut DbConn,
    owner: &str,
    lease: Duration,
    limit: i64,
) -> QueryResult<Vec<OutboxMessage>> {
    claim_at(conn, owner, lease, limit, now())
}

/// [`claim`] with the time it is (`Db::now`, which tests move).
pub fn claim_at(
    conn: &mut DbConn,
    owner: &str,
    lease: Duration,
    limit: i64,
    t: chrono::NaiveDateTime,
) -> QueryResult<Vec<OutboxMessage>> {
    let due = email_outbox::status
        .eq(OutboxStatus::Queued)
        .and(email_outbox::next_attempt_at.le(t))
        .or(email_outbox::status
            .eq(OutboxStatus::Sending)
            .and(email_outbox::lease_until.lt(t)));
    let ids: Vec<i64> = match conn {
        DbConn::Pg(c) => email_outbox::table
            .filter(due)
            .order(email_outbox::id.asc())
            .limit(limit)
            .select(email_outbox::id)
            .for_update()
            .skip_locked()
            .load(c)?,
        DbConn::Sqlite(c) => email_outbox::table
            .filter(due)
            .order(email_outbox::id.asc())
            .limit(limit)
            .select(email_outbox::id)
            .load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(email_outbox::table.filter(email_outbox::id.eq_any(&ids)))
        .set((
            email_outbox::status.eq(OutboxStatus::Sending),
            email_outbox::lease_owner.eq(owner),
            email_outbox::lease_until.eq(t + lease),
            email_outbox::attempts.eq(email_outbox::attempts + 1),
        ))
        .execute(conn)?;
    email_outbox::table
        .filter(email_outbox::id.eq_any(&ids))
        .order(email_outbox::id.asc())
        .select(OutboxMessage::as_select())
        .load(conn)
}

/// Hands back claimed messages `owner` did not start sending (its process is stopping): due
/// again at once, the claim not counted as an attempt.
pub fn release(conn: &mut DbConn, ids: &[i64], owner: &str) -> QueryResult<usize> {
    diesel::update(
        email_outbox::table
            .filter(email_outbox::id.eq_any(ids))
            .filter(email_outbox::status.eq(OutboxStatus::Sending))
            .filter(email_outbox::lease_owner.eq(owner)),
    )
    .set((
        email_outbox::status.eq(OutboxStatus::Queued),
        email_outbox::lease_owner.eq(None::<String>),
        email_outbox::lease_until.eq(None::<chrono::NaiveDateTime>),
        email_outbox::next_attempt_at.eq(now()),
        email_outbox::attempts.eq(email_outbox::attempts - 1),
    ))
    .execute(conn)
}

/// Marks a claimed message sent (only if `owner` still holds it).
pub fn mark_sent(conn: &mut DbConn, id: i64, owner: &str) -> QueryResult<bool> {
    diesel::update(
        email_outbox::table
            .find(id)
            .filter(email_outbox::lease_owner.eq(owner))
            .filter(email_outbox::status.eq(OutboxStatus::Sending)),
    )
    .set((
        email_outbox::status.eq(OutboxStatus::Sent),
        email_outbox::sent_at.eq(now()),
        email_outbox::lease_owner.eq(None::<String>),
        email_outbox::lease_until.eq(None::<NaiveDateTime>),
        email_outbox::last_error.eq(None::<String>),
        email_outbox::payload.eq("{}"),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Drops a claimed message that must not go out any more (its subscriber left).
pub fn discard(conn: &mut DbConn, id: i64, owner: &str) -> QueryResult<bool> {
    diesel::delete(
        email_outbox::table
            .find(id)
            .filter(email_outbox::lease_owner.eq(owner)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// One item's delivery progress: item type, item id, and message counts per status.
pub type ItemProgress = (String, i64, Vec<(OutboxStatus, i64)>);

/// Delivery progress per item, newest items first.
pub fn items_progress(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<ItemProgress>> {
    let rows: Vec<(Option<String>, Option<i64>, OutboxStatus, i64)> = email_outbox::table
        .filter(email_outbox::item_type.is_not_null())
        .group_by((
            email_outbox::item_type,
            email_outbox::item_id,
            email_outbox::status,
        ))
        .select((
            email_outbox::item_type,
            email_outbox::item_id,
            email_outbox::status,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mut out: Vec<ItemProgress> = Vec::new();
    for (t, id, status, n) in rows {
        let (Some(t), Some(id)) = (t, id) else {
            continue;
        };
        match out.iter_mut().find(|(a, b, _)| *a == t && *b == id) {
            Some(entry) => entry.2.push((status, n)),
            None => out.push((t, id, vec![(status, n)])),
        }
    }
    out.sort_by_key(|item| std::cmp::Reverse(item.1));
    out.truncate(limit as usize);
    Ok(out)
}

/// Failed messages, newest first, with their errors.
pub fn failures(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<OutboxMessage>> {
    email_outbox::table
        .filter(email_outbox::status.eq(OutboxStatus::Failed))
        .order(email_outbox::id.desc())
        .limit(limit)
        .select(OutboxMessage::as_select())
        .load(conn)
}

/// Puts a claimed message back in the queue to retry at `at`, keeping the error.
pub fn mark_retry(
    conn: &mut DbConn,
    id: i64,
    owner: &str,
    error: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        email_outbox::table
            .find(id)
            .filter(email_outbox::lease_owner.eq(owner)),
    )
    .set((
        email_outbox::status.eq(OutboxStatus::Queued),
        email_outbox::next_attempt_at.eq(at),
        email_outbox::lease_owner.eq(None::<String>),
        email_outbox::lease_until.eq(None::<NaiveDateTime>),
        email_outbox::last_error.eq(error),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Marks a claimed message failed for good, with the server's reply.
pub fn mark_failed(conn: &mut DbConn, id: i64, owner: &str, error: &str) -> QueryResult<bool> {
    diesel::update(
        email_outbox::table
            .find(id)
            .filter(email_outbox::lease_owner.eq(owner)),
    )
    .set((
        email_outbox::status.eq(OutboxStatus::Failed),
        email_outbox::lease_owner.eq(None::<String>),
        email_outbox::lease_until.eq(None::<NaiveDateTime>),
        email_outbox::last_error.eq(error),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Queues every failed message again; returns how many.
pub fn retry_failed(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::update(email_outbox::table.filter(email_outbox::status.eq(OutboxStatus::Failed)))
        .set((
            email_outbox::status.eq(OutboxStatus::Queued),
            email_outbox::next_attempt_at.eq(now()),
            email_outbox::attempts.eq(0),
        ))
        .execute(conn)
}

/// How many messages are in each status.
pub fn status_counts(conn: &mut DbConn) -> QueryResult<Vec<(OutboxStatus, i64)>> {
    email_outbox::table
        .group_by(email_outbox::status)
        .select((email_outbox::status, diesel::dsl::count_star()))
        .order(email_outbox::status.asc())
        .load(conn)
}

/// Per-status counts for one item's messages (delivery progress of one publication).
pub fn item_progress(
    conn: &mut DbConn,
    item_type: &str,
    item_id: i64,
) -> QueryResult<Vec<(OutboxStatus, i64)>> {
    email_outbox::table
        .filter(email_outbox::item_type.eq(item_type))
        .filter(email_outbox::item_id.eq(item_id))
        .group_by(email_outbox::status)
        .select((email_outbox::status, diesel::dsl::count_star()))
        .load(conn)
}

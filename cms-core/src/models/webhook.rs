//! Webhook endpoints and their deliveries (data access; the sending is `crate::webhooks`).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::schema::{webhook_deliveries, webhooks};

/// A registered endpoint.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// Event types wanted, comma-separated; empty: all.
    pub events: String,
    /// The signing secret, sealed (`two_factor::seal`).
    pub secret: String,
    pub description: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The last change event turned into deliveries for this hook.
    pub cursor: i64,
    /// When the run of failed deliveries now going on began (`None`: the last one worked).
    pub failing_since: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Webhook {
    /// The event types it asked for (empty: every type).
    pub fn event_list(&self) -> Vec<&str> {
        self.events.split(',').filter(|s| !s.is_empty()).collect()
    }

    /// Does it want events of `kind`?
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.event_list().contains(&kind)
    }
}

/// A delivery, queued or done.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub message_id: String,
    pub item_key: String,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// Registers an endpoint that starts with the events after `cursor` (the newest now: a new
/// hook is not sent the site's history).
pub fn create(
    conn: &mut DbConn,
    url: &str,
    events: &[String],
    sealed_secret: &str,
    description: &str,
    cursor: i64,
) -> QueryResult<Webhook> {
    let t = now();
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::url.eq(url),
            webhooks::events.eq(events.join(",")),
            webhooks::secret.eq(sealed_secret),
            webhooks::description.eq(description),
            webhooks::cursor.eq(cursor),
            webhooks::created_at.eq(t),
            webhooks::updated_at.eq(t),
        ))
        .returning(webhooks::all_columns)
        .get_result(conn)
}

/// Every endpoint, oldest first.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .order(webhooks::id.asc())
        .select(Webhook::as_select())
        .load(conn)
}

/// One endpoint.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

/// Removes an endpoint and its deliveries; whether there was one.
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
        .execute(conn)?;
    Ok(diesel::delete(webhooks::table.find(id)).execute(conn)? > 0)
}

/// Turns an endpoint off, saying why, or back on (`None`), its failures forgotten.
pub fn set_disabled(conn: &mut DbConn, id: i64, reason: Option<&str>) -> QueryResult<bool> {
    Ok(diesel::update(webhooks::table.find(id))
        .set((
            webhooks::enabled.eq(reason.is_none()),
            webhooks::disabled_reason.eq(reason),
            webhooks::failing_since.eq(None::<NaiveDateTime>),
            webhooks::updated_at.eq(now()),
        ))
        .execute(conn)?
        > 0)
}

/// Moves a hook's cursor from `from` to `to`, only if it is still at `from` (another node may
/// have planned the same events): whether this caller did.
pub fn advance(conn: &mut DbConn, id: i64, from: i64, to: i64) -> QueryResult<bool> {
    Ok(
        diesel::update(webhooks::table.find(id).filter(webhooks::cursor.eq(from)))
            .set(webhooks::cursor.eq(to))
            .execute(conn)?
            > 0,
    )
}

/// Records the start of a run of failures (kept if one is going on), or its end.
pub fn note_outcome(conn: &mut DbConn, id: i64, ok: bool, at: NaiveDateTime) -> QueryResult<()> {
    if ok {
        diesel::update(webhooks::table.find(id))
            .set(webhooks::failing_since.eq(None::<NaiveDateTime>))
            .execute(conn)?;
    } else {
        diesel::update(
            webhooks::table
                .find(id)
                .filter(webhooks::failing_since.is_null()),
        )
        .set(webhooks::failing_since.eq(Some(at)))
        .execute(conn)?;
    }
    Ok(())
}

/// A delivery to queue.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub event_id: i64,
    pub message_id: String,
    pub item_key: String,
    pub kind: String,
    pub payload: String,
}

/// Queues deliveries; one already queued for the same (hook, event) is left as it is.
pub fn enqueue(conn: &mut DbConn, rows: &[NewDelivery], at: NaiveDateTime) -> QueryResult<usize> {
    let mut n = 0;
    for d in rows {
        let values = (
            webhook_deliveries::webhook_id.eq(d.webhook_id),
            webhook_deliveries::event_id.eq(d.event_id),
            webhook_deliveries::message_id.eq(&d.message_id),
            webhook_deliveries::item_key.eq(&d.item_key),
            webhook_deliveries::kind.eq(&d.kind),
            webhook_deliveries::payload.eq(&d.payload),
            webhook_deliveries::next_at.eq(at),
            webhook_deliveries::created_at.eq(at),
        );
        let exists = d.event_id > 0
            && webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(d.webhook_id))
                .filter(webhook_deliveries::event_id.eq(d.event_id))
                .count()
                .get_result::<i64>(conn)?
                > 0;
        if !exists {
            n += diesel::insert_into(webhook_deliveries::table)
                .values(values)
                .execute(conn)?;
        }
    }
    Ok(n)
}

/// Whether any delivery of an enabled hook is due at `at` and not held by a live lease: a
/// read, so an idle node's pass writes nothing.
pub fn any_due(conn: &mut DbConn, at: NaiveDateTime) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhooks::enabled.eq(true))
            .filter(webhook_deliveries::status.eq("queued"))
            .filter(webhook_deliveries::next_at.le(at))
            .filter(
                webhook_deliveries::lease_until
                    .is_null()
                    .or(webhook_deliveries::lease_until.lt(at)),
            ),
    ))
    .get_result(conn)
}

/// Claims up to `limit` due deliveries of enabled hooks for `owner` until `at + lease`. A
/// delivery waits while an earlier one about the same item to the same hook is not done, so
/// an item's changes reach a receiver in order.
pub fn claim_due(
    conn: &mut DbConn,
    owner: &str,
    at: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    let earlier = diesel::alias!(webhook_deliveries as earlier);
    let candidates: Vec<i64> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhooks::enabled.eq(true))
        .filter(webhook_deliveries::status.eq("queued"))
        .filter(webhook_deliveries::next_at.le(at))
        .filter(
            webhook_deliveries::lease_until
                .is_null()
                .or(webhook_deliveries::lease_until.lt(at)),
        )
        .filter(diesel::dsl::not(diesel::dsl::exists(
            earlier
                .filter(
                    earlier
                        .field(webhook_deliveries::webhook_id)
                        .eq(webhook_deliveries::webhook_id),
                )
                .filter(
                    earlier
                        .field(webhook_deliveries::item_key)
                        .eq(webhook_deliveries::item_key),
                )
                .filter(
                    earlier
                        .field(webhook_deliveries::id)
                        .lt(webhook_deliveries::id),
                )
                .filter(earlier.field(webhook_deliveries::status).eq("queued")),
        )))
        .order(webhook_deliveries::id.asc())
        .limit(limit)
        .select(webhook_deliveries::id)
        .load(conn)?;
    let mut claimed = Vec::new();
    for id in candidates {
        // Taken only if nobody else took it meanwhile.
        let got = diesel::update(
            webhook_deliveries::table
                .find(id)
                .filter(webhook_deliveries::status.eq("queued"))
                .filter(
                    webhook_deliveries::lease_until
                        .is_null()
                        .or(webhook_deliveries::lease_until.lt(at)),
                ),
        )
        .set((
            webhook_deliveries::lease_owner.eq(owner),
            webhook_deliveries::lease_until.eq(at + lease),
        ))
        .returning(webhook_deliveries::all_columns)
        .get_result::<Delivery>(conn)
        .optional()?;
        claimed.extend(got);
    }
    Ok(claimed)
}

/// Records a delivery's attempt: delivered, to be retried at `retry_at`, or failed for good
/// (`retry_at` `None` and not ok). Only by the lease holder.
pub fn record(
    conn: &mut DbConn,
    id: i64,
    owner: &str,
    ok: bool,
    status: Option<u16>,
    error: Option<&str>,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    let t = now();
    let state = match (ok, retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "queued",
        (false, None) => "failed",
    };
    Ok(diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::lease_owner.eq(owner)),
    )
    .set((
        webhook_deliveries::status.eq(state),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::next_at.eq(retry_at.unwrap_or(t)),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::last_status.eq(status.map(i32::from)),
        webhook_deliveries::last_error.eq(error),
        webhook_deliveries::finished_at.eq((state != "queued").then_some(t)),
    ))
    .execute(conn)?
        > 0)
}

/// Gives back a claimed delivery unsent (the process is stopping).
pub fn release(conn: &mut DbConn, id: i64, owner: &str) -> QueryResult<()> {
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::lease_owner.eq(owner)),
    )
    .set((
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    // Due for the other nodes now, not when they next look.
    crate::db::wake::announce(conn, "webhook_deliveries")
}

/// Queues a delivery again now (the admin's "send again"); its attempts start over.
pub fn resend(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    Ok(diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq("queued"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_at.eq(now()),
            webhook_deliveries::lease_owner.eq(None::<String>),
            webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::finished_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?
        > 0)
}

/// A hook's newest deliveries first.
pub fn recent(conn: &mut DbConn, webhook_id: i64, limit: i64) -> QueryResult<Vec<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)
}

/// One delivery.
pub fn find_delivery(conn: &mut DbConn, id: i64) -> QueryResult<Option<Delivery>> {
    webhook_deliveries::table
        .find(id)
        .select(Delivery::as_select())
        .first(conn)
        .optional()
}

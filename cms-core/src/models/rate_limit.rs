//! A sliding-window rate limiter stored in the database, so every node sees the same counts
//! (failed logins per IP and per account, subscribe requests per IP).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::schema::rate_events;

/// Records one event in `bucket` for `key`.
pub fn record(conn: &mut DbConn, bucket: &str, key: &str) -> QueryResult<()> {
    diesel::insert_into(rate_events::table)
        .values((
            rate_events::bucket.eq(bucket),
            rate_events::key.eq(key),
            rate_events::at.eq(now()),
        ))
        .execute(conn)
        .map(drop)
}

/// How many events `key` has in `bucket` within the last `window`, and when the oldest of them
/// leaves the window (the moment a client may retry).
pub fn count(
    conn: &mut DbConn,
    bucket: &str,
    key: &str,
    window: Duration,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let since = now() - window;
    let q = rate_events::table
        .filter(rate_events::bucket.eq(bucket))
        .filter(rate_events::key.eq(key))
        .filter(rate_events::at.gt(since));
    let n: i64 = q.count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> = q.select(diesel::dsl::min(rate_events::at)).first(conn)?;
    Ok((n, oldest.map(|t| t + window)))
}

/// Forgets the events of `key` (a successful login clears its failures).
pub fn clear(conn: &mut DbConn, bucket: &str, key: &str) -> QueryResult<usize> {
    diesel::delete(
        rate_events::table
            .filter(rate_events::bucket.eq(bucket))
            .filter(rate_events::key.eq(key)),
    )
    .execute(conn)
}

/// Deletes events older than `keep`.
pub fn purge(conn: &mut DbConn, keep: Duration) -> QueryResult<usize> {
    diesel::delete(rate_events::table.filter(rate_events::at.le(now() - keep))).execute(conn)
}

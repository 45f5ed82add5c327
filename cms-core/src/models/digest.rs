//! Digest periods (data access; the composing and sending is `crate::digest`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::{change_events, digests};

/// One period of a cadence: the change events with ids in (`after_event`, `upto_event`].
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = digests)]
pub struct Digest {
    pub id: i64,
    pub cadence: String,
    /// The local date of its sending moment.
    pub period: String,
    pub after_event: i64,
    pub upto_event: i64,
    pub created_at: NaiveDateTime,
}

/// The digest of `cadence` for `period`, if it was made.
pub fn find_period(conn: &mut DbConn, cadence: &str, period: &str) -> QueryResult<Option<Digest>> {
    digests::table
        .filter(digests::cadence.eq(cadence))
        .filter(digests::period.eq(period))
        .select(Digest::as_select())
        .first(conn)
        .optional()
}

/// One digest.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Digest>> {
    digests::table
        .find(id)
        .select(Digest::as_select())
        .first(conn)
        .optional()
}

/// The newest digest of `cadence`.
pub fn last_of(conn: &mut DbConn, cadence: &str) -> QueryResult<Option<Digest>> {
    digests::table
        .filter(digests::cadence.eq(cadence))
        .order(digests::upto_event.desc())
        .select(Digest::as_select())
        .first(conn)
        .optional()
}

/// The newest change event made at or before `at` (0: none), where a cadence's first period
/// starts.
pub fn last_event_before(conn: &mut DbConn, at: NaiveDateTime) -> QueryResult<i64> {
    change_events::table
        .filter(change_events::created_at.le(at))
        .select(diesel::dsl::max(change_events::id))
        .first::<Option<i64>>(conn)
        .map(|m| m.unwrap_or(0))
}

/// Records a period; `None` when another node recorded it first.
pub fn create(
    conn: &mut DbConn,
    cadence: &str,
    period: &str,
    after_event: i64,
    upto_event: i64,
    at: NaiveDateTime,
) -> QueryResult<Option<Digest>> {
    let row = (
        digests::cadence.eq(cadence),
        digests::period.eq(period),
        digests::after_event.eq(after_event),
        digests::upto_event.eq(upto_event),
        digests::created_at.eq(at),
    );
    crate::per_backend!(conn, |c| diesel::insert_into(digests::table)
        .values(row)
        .on_conflict_do_nothing()
        .returning(digests::all_columns)
        .get_result::<Digest>(c)
        .optional())
}

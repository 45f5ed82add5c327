//! Site-wide state: the content version and key/value settings.

use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::schema::{settings, site_state};

/// Bumps the content version. Call it in the same transaction as any write readers can see;
/// page caches and ETags key on the version, so the change shows on every node at once.
pub fn bump_content_version(conn: &mut DbConn) -> QueryResult<i64> {
    diesel::update(site_state::table.filter(site_state::id.eq(1)))
        .set((
            site_state::content_version.eq(site_state::content_version + 1),
            site_state::updated_at.eq(now()),
        ))
        .returning(site_state::content_version)
        .get_result(conn)
}

/// The current content version.
pub fn content_version(conn: &mut DbConn) -> QueryResult<i64> {
    site_state::table
        .filter(site_state::id.eq(1))
        .select(site_state::content_version)
        .first(conn)
}

/// The content version and when it last changed (for `Last-Modified`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentVersion {
    pub version: i64,
    pub changed_at: chrono::NaiveDateTime,
}

/// The content version with its change time.
pub fn content_state(conn: &mut DbConn) -> QueryResult<ContentVersion> {
    site_state::table
        .filter(site_state::id.eq(1))
        .select((site_state::content_version, site_state::updated_at))
        .first::<(i64, chrono::NaiveDateTime)>(conn)
        .map(|(version, changed_at)| ContentVersion {
            version,
            changed_at,
        })
}

/// A setting's value, if set.
pub fn setting(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    settings::table
        .find(key)
        .select(settings::value)
        .first(conn)
        .optional()
}

/// Sets a setting, replacing any earlier value.
pub fn set_setting(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    let updated = diesel::update(settings::table.find(key))
        .set(settings::value.eq(value))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(settings::table)
            .values((settings::key.eq(key), settings::value.eq(value)))
            .execute(conn)?;
    }
    Ok(())
}

//! Housekeeping, run by `cms serve` once a day (and at start): expired sessions and spent
//! rate-limit events are deleted, and temporary media files a killed process left are swept.
//! Every step is an idempotent delete, so several nodes running it at once do no harm.

use chrono::Duration;

use crate::db::Db;
use crate::error::Result;
use crate::media::MediaStore;
use crate::models::{rate_limit, session};

/// Rate-limit events are kept this long: longer than any window that counts them (the
/// longest, sign-ups per address, is an hour).
pub const RATE_EVENTS_KEPT: Duration = Duration::days(2);

/// How often `cms serve` runs it.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: usize,
    pub rate_events: usize,
    pub temporary_files: usize,
}

/// Runs every step once.
pub fn run(db: &Db, media: &dyn MediaStore) -> Result<Swept> {
    let (sessions, rate_events) = db.write_blocking(|conn| -> Result<(usize, usize)> {
        Ok((
            session::purge_expired(conn)?,
            rate_limit::purge(conn, RATE_EVENTS_KEPT)?,
        ))
    })?;
    Ok(Swept {
        sessions,
        rate_events,
        temporary_files: media.sweep_temporary()?,
    })
}

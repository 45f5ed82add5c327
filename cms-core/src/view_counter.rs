//! Photo views counted in memory and written in batches, so a page view never writes to the
//! database (and cached photo pages stay cached).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::db::Db;
use crate::error::Result;
use crate::models::photo;

/// Pending view counts per photo.
#[derive(Debug, Default)]
pub struct ViewCounter {
    pending: Mutex<HashMap<i64, i64>>,
}

/// The most photos a counter remembers between flushes; views beyond are dropped rather than
/// letting a flood of ids grow memory.
const MAX_PENDING: usize = 100_000;

impl ViewCounter {
    /// Counts one view.
    pub fn record(&self, photo_id: i64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.len() < MAX_PENDING || p.contains_key(&photo_id) {
            *p.entry(photo_id).or_default() += 1;
        }
    }

    /// Writes the pending counts in one transaction. They do not bump the content version:
    /// view counts change too often to empty the page cache for them.
    pub fn flush(&self, db: &Db) -> Result<usize> {
        let batch: Vec<(i64, i64)> = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.drain().collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.len();
        db.write_blocking(|conn| Ok::<_, crate::Error>(photo::add_views(conn, &batch)?))?;
        Ok(n)
    }
}

//! What nearly every page reads but rarely changes — the site's settings, the gallery
//! category tree and the post counts — loaded once per content version and shared, so
//! breadcrumbs, layouts and list totals cost no queries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::QueryResult;

use crate::db::DbConn;
use crate::models::gallery_category::{self, GalleryCategory, MAX_DEPTH};
use crate::models::post::{self, PostStats};
use crate::models::site;

/// Settings and the gallery tree as of one content version.
#[derive(Debug)]
pub struct Snapshot {
    pub version: i64,
    pub site_title: String,
    /// Every gallery category, parents first, siblings in display order.
    pub categories: Vec<GalleryCategory>,
    by_id: HashMap<i64, usize>,
    /// Post counts, read on first use (not every request needs them).
    post_stats: OnceLock<PostStats>,
    /// Held while the counts are read, so concurrent first uses read them once.
    reading_stats: Mutex<()>,
}

impl Snapshot {
    /// Reads the settings and the whole category tree (two queries).
    pub fn load(conn: &mut DbConn, version: i64) -> QueryResult<Snapshot> {
        let site_title = site::setting(conn, "site_title")?.unwrap_or_else(|| "Keepsake".into());
        let categories = gallery_category::all(conn)?;
        let by_id = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        Ok(Snapshot {
            version,
            site_title,
            categories,
            by_id,
            post_stats: OnceLock::new(),
            reading_stats: Mutex::new(()),
        })
    }

    /// Counts of published posts as of this version: three grouped queries, run once (a few
    /// hundred milliseconds on 100,000 posts) by the first request that needs them.
    pub fn post_stats(&self, conn: &mut DbConn) -> QueryResult<&PostStats> {
        if let Some(s) = self.post_stats.get() {
            return Ok(s);
        }
        let _one_reader = self.reading_stats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = self.post_stats.get() {
            return Ok(s);
        }
        let fresh = post::stats(conn)?;
        Ok(self.post_stats.get_or_init(|| fresh))
    }

    /// A category by id.
    pub fn category(&self, id: i64) -> Option<&GalleryCategory> {
        self.by_id.get(&id).map(|&i| &self.categories[i])
    }

    /// A category and its ancestors, root first.
    pub fn breadcrumb(&self, id: i64) -> Vec<&GalleryCategory> {
        let mut chain = Vec::new();
        let mut cur = self.category(id);
        while let Some(c) = cur {
            chain.push(c);
            if chain.len() > MAX_DEPTH {
                break;
            }
            cur = c.parent_id.and_then(|p| self.category(p));
        }
        chain.reverse();
        chain
    }
}

/// The latest snapshot, shared by every worker.
#[derive(Debug, Default)]
pub struct SnapshotCache {
    current: Mutex<Option<Arc<Snapshot>>>,
}

impl SnapshotCache {
    /// The snapshot of `version`, loading it through `conn` if the one held is older.
    pub fn get(&self, conn: &mut DbConn, version: i64) -> QueryResult<Arc<Snapshot>> {
        if let Some(s) = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && s.version == version
        {
            return Ok(s.clone());
        }
        let fresh = Arc::new(Snapshot::load(conn, version)?);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
        Ok(fresh)
    }
}

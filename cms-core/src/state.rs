//! The application state built once in `main` (or per test) and shared by every plugin and
//! worker: configuration, database and media store. No globals, so tests build as many as
//! they like.

use std::sync::Arc;

use crate::api::TokenLimiter;
use crate::config::Config;
use crate::db::{Db, MigrationReport, run_migrations};
use crate::error::Result;
use crate::media::MediaStore;
use crate::page_cache::PageCache;
use crate::snapshot::SnapshotCache;
use crate::view_counter::ViewCounter;

/// Everything a handler or worker needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub media: Arc<dyn MediaStore>,
    /// Rendered public pages, shared by every worker of this node.
    pub pages: PageCache,
    /// Photo views waiting to be written.
    pub views: Arc<ViewCounter>,
    /// Settings and the gallery tree of the current content version.
    pub snapshot: Arc<SnapshotCache>,
    /// Requests per minute of each API token on this node.
    pub api_limits: Arc<TokenLimiter>,
    /// This node's counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl AppState {
    /// Connects to the database and opens the media store (both checked at once).
    pub fn open(config: Config) -> Result<Self> {
        let db = Db::connect(&config.database)?;
        let media = crate::media::open(&config.storage)?;
        let pages = PageCache::new(config.server.page_cache_bytes);
        Ok(AppState {
            db,
            media,
            pages,
            views: Arc::new(ViewCounter::default()),
            snapshot: Arc::new(SnapshotCache::default()),
            api_limits: Arc::new(TokenLimiter::new(config.server.api_rate_per_minute)),
            metrics: Arc::default(),
            config: Arc::new(config),
        })
    }

    /// Applies pending migrations.
    pub fn migrate(&self) -> Result<MigrationReport> {
        let mut conn = self.db.conn()?;
        run_migrations(&mut conn)
    }
}

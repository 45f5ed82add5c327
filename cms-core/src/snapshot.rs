//! What nearly every page reads but rarely changes — the site's settings, the gallery
//! category tree and the post counts — loaded once per content version and shared, so
//! breadcrumbs, layouts and list totals cost no queries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::QueryResult;

use crate::branding::{self, Branding};
use crate::db::DbConn;
use crate::models::gallery_category::{self, GalleryCategory, MAX_DEPTH};
use crate::models::photo::{self, Photo, Place};
use crate::models::post::{self, PostStats};

/// Settings and the gallery tree as of one content version.
#[derive(Debug)]
pub struct Snapshot {
    pub version: i64,
    pub site_title: String,
    /// The site's look, as set in Settings.
    pub branding: Arc<Branding>,
    /// Every gallery category, parents first, siblings in display order.
    pub categories: Vec<GalleryCategory>,
    by_id: HashMap<i64, usize>,
    /// Post counts, read on first use (not every request needs them).
    post_stats: OnceLock<PostStats>,
    /// Held while the counts are read, so concurrent first uses read them once.
    reading_stats: Mutex<()>,
    /// Photo order of the albums whose photo pages were built in this version.
    album_orders: Mutex<AlbumOrders>,
}

/// At most this many (position, id) pairs are held, about 8 MB; larger albums, or albums past
/// the bound, are answered from the database.
const ORDER_CACHE_PHOTOS: usize = 500_000;

#[derive(Debug, Default)]
struct AlbumOrders {
    held: usize,
    by_album: HashMap<i64, Arc<[(i64, i64)]>>,
}

impl Snapshot {
    /// Reads the settings and the whole category tree (two or three queries).
    pub fn load(conn: &mut DbConn, version: i64) -> QueryResult<Snapshot> {
        let branding = branding::load(conn)?;
        let categories = gallery_category::all(conn)?;
        let by_id = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        Ok(Snapshot {
            version,
            site_title: branding.title.clone(),
            branding: Arc::new(branding),
            categories,
            by_id,
            post_stats: OnceLock::new(),
            reading_stats: Mutex::new(()),
            album_orders: Mutex::new(AlbumOrders::default()),
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

    /// A photo's number and neighbours in its album: from the album's order, read once per
    /// version (one index scan), instead of counting the photos before it on every page.
    /// `album_photos` is the album's photo count: orders that would not fit are not read.
    pub fn photo_place(
        &self,
        conn: &mut DbConn,
        p: &Photo,
        album_photos: i64,
    ) -> QueryResult<Place> {
        let cached = self
            .album_orders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_album
            .get(&p.album_id)
            .cloned();
        let order = match cached {
            Some(o) => o,
            None => {
                let held = self
                    .album_orders
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .held;
                if usize::try_from(album_photos).map_or(true, |n| held + n > ORDER_CACHE_PHOTOS) {
                    return photo::place(conn, p);
                }
                let o: Arc<[(i64, i64)]> = photo::album_order(conn, p.album_id)?.into();
                let mut orders = self.album_orders.lock().unwrap_or_else(|e| e.into_inner());
                if orders.held + o.len() <= ORDER_CACHE_PHOTOS
                    && !orders.by_album.contains_key(&p.album_id)
                {
                    orders.held += o.len();
                    orders.by_album.insert(p.album_id, o.clone());
                }
                o
            }
        };
        match photo::place_in(&order, p) {
            Some(place) => Ok(place),
            None => photo::place(conn, p),
        }
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

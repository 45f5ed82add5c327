//! What nearly every page reads but rarely changes — the site's settings, the gallery
//! category tree, the post counts, the photos' id range and authors' names — loaded once per
//! content version (names once per process) and shared, so breadcrumbs, layouts, list totals
//! and bylines cost no queries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::QueryResult;

use crate::branding::{self, Branding};
use crate::db::DbConn;
use crate::models::gallery_category::{self, GalleryCategory, MAX_DEPTH};
use crate::models::photo::{self, Photo, Place};
use crate::models::post::{self, PostStats};
use crate::models::user;

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
    /// The photos' id range (random picks draw from it), read on first use.
    photo_ids: OnceLock<Option<(i64, i64)>>,
    /// Held while the counts are read, so concurrent first uses read them once.
    reading_stats: Mutex<()>,
    /// Photo order of the albums whose photo pages were built in this version.
    album_orders: Mutex<AlbumOrders>,
    /// Authors' names, shared by every version (see [`AuthorNames`]).
    authors: Arc<AuthorNames>,
}

/// Display names of the users seen as authors, kept for the life of the process: a user's
/// name is given once, when the account is made, and accounts are disabled, never deleted, so
/// a name once read is right for good (a restore goes into an empty database, the site
/// stopped). Bounded by the number of accounts.
#[derive(Debug, Default)]
pub struct AuthorNames(Mutex<HashMap<i64, String>>);

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
        Self::load_with(conn, version, Arc::default())
    }

    /// Likewise, sharing `authors` with the snapshots before it.
    fn load_with(
        conn: &mut DbConn,
        version: i64,
        authors: Arc<AuthorNames>,
    ) -> QueryResult<Snapshot> {
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
            photo_ids: OnceLock::new(),
            reading_stats: Mutex::new(()),
            album_orders: Mutex::new(AlbumOrders::default()),
            authors,
        })
    }

    /// The display names of the users in `ids` (the authors of some posts): those seen before
    /// from memory, the others in one query.
    pub fn author_names(
        &self,
        conn: &mut DbConn,
        ids: &[i64],
    ) -> QueryResult<HashMap<i64, String>> {
        let mut out = HashMap::with_capacity(ids.len());
        let mut unseen = Vec::new();
        {
            let known = self.authors.0.lock().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                match known.get(id) {
                    Some(name) => {
                        out.insert(*id, name.clone());
                    }
                    None => unseen.push(*id),
                }
            }
        }
        if !unseen.is_empty() {
            let fresh = user::names(conn, &unseen)?;
            let mut known = self.authors.0.lock().unwrap_or_else(|p| p.into_inner());
            for (id, name) in fresh {
                known.insert(id, name.clone());
                out.insert(id, name);
            }
        }
        Ok(out)
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

    /// The lowest and highest photo id as of this version (photos are added and deleted
    /// through writes that change the version), read once.
    pub fn photo_id_range(&self, conn: &mut DbConn) -> QueryResult<Option<(i64, i64)>> {
        if let Some(r) = self.photo_ids.get() {
            return Ok(*r);
        }
        let fresh = photo::id_range(conn)?;
        Ok(*self.photo_ids.get_or_init(|| fresh))
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
    authors: Arc<AuthorNames>,
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
        let authors = self.authors.clone();
        let fresh = Arc::new(Snapshot::load_with(conn, version, authors)?);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
        Ok(fresh)
    }
}

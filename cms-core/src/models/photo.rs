//! Photos in albums. Every insert, delete and move changes the album's count and, for
//! published albums, the category chain's counts in the same transaction.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::album::{self, Album, AlbumStatus};
use super::gallery_category::adjust_counts;
use super::now;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{albums, photos};

/// Photos checked for duplicates (one `IN` of hashes) and inserted per step of `add_to_album`.
const INSERT_CHUNK: usize = 500;

/// A stored photo.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = photos)]
pub struct Photo {
    pub id: i64,
    pub album_id: i64,
    pub position: i64,
    pub original_filename: String,
    pub caption: String,
    pub credit: String,
    pub source: String,
    pub content_hash: String,
    pub mime: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub variants: String,
    pub views: i64,
    pub created_at: NaiveDateTime,
    /// The photo's own title (imported media carry one; empty otherwise).
    pub title: String,
    /// Alternative text for readers who cannot see the image (empty: the caption is used).
    pub alt_text: String,
}

impl Photo {
    /// The derivative widths written for this photo, smallest first.
    pub fn variant_widths(&self) -> Vec<u32> {
        let mut v: Vec<u32> = serde_json::from_str(&self.variants).unwrap_or_default();
        v.sort_unstable();
        v
    }
}

/// A photo to insert: its files are already in the media store.
#[derive(Debug, Clone, Default)]
pub struct NewPhoto {
    pub original_filename: String,
    pub caption: String,
    pub credit: String,
    pub source: String,
    pub content_hash: String,
    pub mime: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub variants: Vec<u32>,
    /// Its own title and alternative text (imports carry them; empty otherwise).
    pub title: String,
    pub alt_text: String,
    /// What an imported photo brings from the old site: its views and the date it was added
    /// there (`None`: added now).
    pub views: i64,
    pub added_at: Option<NaiveDateTime>,
}

/// A photo row to insert: the photo, where it goes, and its counters.
pub(crate) struct PlacedPhoto<'a> {
    pub album_id: i64,
    pub position: i64,
    pub views: i64,
    pub created_at: NaiveDateTime,
    pub photo: &'a NewPhoto,
}

/// Rows per INSERT in [`insert_rows`]: 16 columns × 2,000 stays under SQLite's 32,766 bound
/// parameters.
const ROWS_PER_INSERT: usize = 2_000;

/// Inserts photo rows as given and returns their ids: no duplicate check and no counts, which
/// the callers ([`add_to_album`], the archive generator) keep right themselves.
pub(crate) fn insert_rows(conn: &mut DbConn, rows: &[PlacedPhoto<'_>]) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<_> = chunk
            .iter()
            .map(|r| {
                let p = r.photo;
                (
                    photos::album_id.eq(r.album_id),
                    photos::position.eq(r.position),
                    photos::original_filename.eq(&p.original_filename),
                    photos::caption.eq(&p.caption),
                    photos::credit.eq(&p.credit),
                    photos::source.eq(&p.source),
                    photos::content_hash.eq(&p.content_hash),
                    photos::mime.eq(&p.mime),
                    photos::width.eq(p.width),
                    photos::height.eq(p.height),
                    photos::bytes.eq(p.bytes),
                    photos::variants
                        .eq(serde_json::to_string(&p.variants).unwrap_or_else(|_| "[]".into())),
                    photos::views.eq(r.views),
                    photos::created_at.eq(r.created_at),
                    photos::title.eq(&p.title),
                    photos::alt_text.eq(&p.alt_text),
                )
            })
            .collect();
        ids.extend(crate::per_backend!(conn, |c| diesel::insert_into(
            photos::table
        )
        .values(&values)
        .returning(photos::id)
        .get_results::<i64>(c))?);
    }
    Ok(ids)
}

/// What [`add_to_album`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddReport {
    /// Ids of the new rows, in the order given.
    pub inserted: Vec<i64>,
    /// File names skipped because the album already holds the same content.
    pub duplicates: Vec<String>,
}

/// Adds photos at the end of an album, in batches, skipping any whose content the album already
/// has (reported by file name). Counts change in the same transaction; call it inside one.
pub fn add_to_album(conn: &mut DbConn, album_id: i64, new: &[NewPhoto]) -> Result<AddReport> {
    let album = album::find(conn, album_id)?.ok_or(Error::NotFound("album"))?;
    let mut report = AddReport::default();
    let mut seen: HashSet<&str> = HashSet::new();
    for chunk in new.chunks(INSERT_CHUNK) {
        let hashes: Vec<&str> = chunk.iter().map(|p| p.content_hash.as_str()).collect();
        let existing: HashSet<String> = photos::table
            .filter(photos::album_id.eq(album_id))
            .filter(photos::content_hash.eq_any(&hashes))
            .select(photos::content_hash)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let fresh: Vec<&NewPhoto> = chunk
            .iter()
            .filter(|p| {
                let dup = existing.contains(&p.content_hash) || !seen.insert(&p.content_hash);
                if dup {
                    report.duplicates.push(p.original_filename.clone());
                }
                !dup
            })
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let max_pos: Option<i64> = photos::table
            .filter(photos::album_id.eq(album_id))
            .select(diesel::dsl::max(photos::position))
            .first(conn)?;
        let start = max_pos.map_or(0, |p| p + 1);
        let t = now();
        let rows: Vec<PlacedPhoto> = fresh
            .iter()
            .enumerate()
            .map(|(i, p)| PlacedPhoto {
                album_id,
                position: start + i as i64,
                views: p.views.max(0),
                created_at: p.added_at.unwrap_or(t),
                photo: p,
            })
            .collect();
        let ids = insert_rows(conn, &rows)?;
        let n = ids.len() as i64;
        report.inserted.extend(ids);
        diesel::update(albums::table.find(album_id))
            .set((
                albums::photo_count.eq(albums::photo_count + n),
                albums::last_added_at.eq(t),
                albums::updated_at.eq(t),
            ))
            .execute(conn)?;
        if album.status == AlbumStatus::Published {
            adjust_counts(conn, album.category_id, 0, n)?;
        }
    }
    if !report.inserted.is_empty() && album.cover_photo_id.is_none() {
        diesel::update(albums::table.find(album_id))
            .set(albums::cover_photo_id.eq(report.inserted.first().copied()))
            .execute(conn)?;
    }
    Ok(report)
}

/// A photo by id, whatever its album's status (admin).
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Photo>> {
    photos::table
        .find(id)
        .select(Photo::as_select())
        .first(conn)
        .optional()
}

/// A photo with its album, if the album is published (readers).
pub fn find_published(conn: &mut DbConn, id: i64) -> QueryResult<Option<(Photo, Album)>> {
    photos::table
        .inner_join(albums::table)
        .filter(photos::id.eq(id))
        .filter(albums::status.eq(AlbumStatus::Published))
        .select((Photo::as_select(), Album::as_select()))
        .first(conn)
        .optional()
}

/// One page of an album's photos in display order.
pub fn page_in_album(
    conn: &mut DbConn,
    album_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<Photo>> {
    page_from(conn, album_id, 0, offset, limit)
}

/// One page, in display order, of an album's photos with ids from `first_id` on.
fn page_from(
    conn: &mut DbConn,
    album_id: i64,
    first_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<Photo>> {
    photos::table
        .filter(photos::album_id.eq(album_id))
        .filter(photos::id.ge(first_id))
        .order((photos::position.asc(), photos::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(Photo::as_select())
        .load(conn)
}

/// Photos by id, in the order of `ids` (missing ones left out).
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Photo>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<Photo> = Vec::with_capacity(ids.len().min(BY_IDS_CHUNK));
    // A statement per 10,000 ids: SQLite takes at most 32,766 bound values in one.
    for chunk in ids.chunks(BY_IDS_CHUNK) {
        rows.extend(
            photos::table
                .filter(photos::id.eq_any(chunk))
                .select(Photo::as_select())
                .load::<Photo>(conn)?,
        );
    }
    // In the order asked for (an id given twice: where it came first), each photo once.
    let mut first: std::collections::HashMap<i64, usize> = Default::default();
    for (n, id) in ids.iter().enumerate() {
        first.entry(*id).or_insert(n);
    }
    rows.sort_by_key(|p| first.get(&p.id).copied());
    rows.dedup_by_key(|p| p.id);
    Ok(rows)
}

/// Ids per statement in [`by_ids`].
const BY_IDS_CHUNK: usize = 10_000;

/// The previous and next photo in the album's order, by id.
pub fn neighbours(conn: &mut DbConn, photo: &Photo) -> QueryResult<(Option<i64>, Option<i64>)> {
    let prev = photos::table
        .filter(photos::album_id.eq(photo.album_id))
        .filter(
            photos::position.lt(photo.position).or(photos::position
                .eq(photo.position)
                .and(photos::id.lt(photo.id))),
        )
        .order((photos::position.desc(), photos::id.desc()))
        .select(photos::id)
        .first(conn)
        .optional()?;
    let next = photos::table
        .filter(photos::album_id.eq(photo.album_id))
        .filter(
            photos::position.gt(photo.position).or(photos::position
                .eq(photo.position)
                .and(photos::id.gt(photo.id))),
        )
        .order((photos::position.asc(), photos::id.asc()))
        .select(photos::id)
        .first(conn)
        .optional()?;
    Ok((prev, next))
}

/// Where a photo stands in its album: its 0-based index and its neighbours' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub index: i64,
    pub prev: Option<i64>,
    pub next: Option<i64>,
}

/// A photo's place read from the database: a count of the photos before it (which grows with
/// its position) and two neighbour lookups. [`crate::snapshot::Snapshot::photo_place`] answers
/// from the album's order held in memory instead.
pub fn place(conn: &mut DbConn, photo: &Photo) -> QueryResult<Place> {
    let index = index_in_album(conn, photo)?;
    let (prev, next) = neighbours(conn, photo)?;
    Ok(Place { index, prev, next })
}

/// An album's photos as (position, id), in display order: what [`place_in`] searches.
pub fn album_order(conn: &mut DbConn, album_id: i64) -> QueryResult<Vec<(i64, i64)>> {
    photos::table
        .filter(photos::album_id.eq(album_id))
        .order((photos::position.asc(), photos::id.asc()))
        .select((photos::position, photos::id))
        .load(conn)
}

/// A photo's place in an album order from [`album_order`], by binary search; `None` if the
/// order does not hold it.
pub fn place_in(order: &[(i64, i64)], photo: &Photo) -> Option<Place> {
    let i = order.binary_search(&(photo.position, photo.id)).ok()?;
    Some(Place {
        index: i as i64,
        prev: i.checked_sub(1).map(|j| order[j].1),
        next: order.get(i + 1).map(|x| x.1),
    })
}

/// The 0-based index of a photo within its album's order (to link back to its album page).
pub fn index_in_album(conn: &mut DbConn, photo: &Photo) -> QueryResult<i64> {
    photos::table
        .filter(photos::album_id.eq(photo.album_id))
        .filter(
            photos::position.lt(photo.position).or(photos::position
                .eq(photo.position)
                .and(photos::id.lt(photo.id))),
        )
        .count()
        .get_result(conn)
}

/// Changes a photo's caption, credit and source.
pub fn update_meta(
    conn: &mut DbConn,
    id: i64,
    caption: &str,
    credit: &str,
    source: &str,
) -> Result<()> {
    let n = diesel::update(photos::table.find(id))
        .set((
            photos::caption.eq(caption.trim()),
            photos::credit.eq(credit.trim()),
            photos::source.eq(source.trim()),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("photo"));
    }
    Ok(())
}

fn albums_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = photos::table
        .filter(photos::id.eq_any(ids))
        .group_by(photos::album_id)
        .select((photos::album_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Takes `n` photos out of an album's counts (and its chain's, if published).
fn remove_from_counts(conn: &mut DbConn, album: &Album, n: i64) -> Result<()> {
    diesel::update(albums::table.find(album.id))
        .set((
            albums::photo_count.eq(albums::photo_count - n),
            albums::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if album.status == AlbumStatus::Published {
        adjust_counts(conn, album.category_id, 0, -n)?;
    }
    Ok(())
}

/// Deletes photos; returns the deleted rows so the caller can remove files no other photo uses
/// (after the transaction commits, never before).
pub fn delete(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<Photo>> {
    let per_album = albums_of(conn, ids)?;
    let gone: Vec<Photo> = photos::table
        .filter(photos::id.eq_any(ids))
        .select(Photo::as_select())
        .load(conn)?;
    for (album_id, n) in &per_album {
        let album = album::find(conn, *album_id)?.ok_or(Error::NotFound("album"))?;
        remove_from_counts(conn, &album, *n)?;
    }
    diesel::delete(photos::table.filter(photos::id.eq_any(ids))).execute(conn)?;
    Ok(gone)
}

/// The media keys of a photo's files: every derivative and the original.
pub fn file_keys(p: &Photo) -> Vec<String> {
    let mut keys: Vec<String> = p
        .variant_widths()
        .into_iter()
        .map(|w| crate::media::photo_variant_key(&p.content_hash, w))
        .collect();
    keys.push(crate::media::photo_original_key(&p.content_hash, &p.mime));
    keys
}

/// Of `deleted` photos, the file keys no remaining photo uses: safe to remove from the store.
pub fn unused_files(conn: &mut DbConn, deleted: &[Photo]) -> QueryResult<Vec<String>> {
    let mut out = Vec::new();
    for p in deleted {
        if !hash_in_use(conn, &p.content_hash)? {
            out.extend(file_keys(p));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Moves photos to the end of another album. Refused (nothing moved) if the target already holds
/// the same content as any of them.
pub fn move_to_album(conn: &mut DbConn, ids: &[i64], target_id: i64) -> Result<usize> {
    let target = album::find(conn, target_id)?.ok_or(Error::NotFound("target album"))?;
    let moving: Vec<(i64, i64, String)> = photos::table
        .filter(photos::id.eq_any(ids))
        .filter(photos::album_id.ne(target_id))
        .order((
            photos::album_id.asc(),
            photos::position.asc(),
            photos::id.asc(),
        ))
        .select((photos::id, photos::album_id, photos::content_hash))
        .load(conn)?;
    if moving.is_empty() {
        return Ok(0);
    }
    let hashes: Vec<&str> = moving.iter().map(|m| m.2.as_str()).collect();
    let clashes: i64 = photos::table
        .filter(photos::album_id.eq(target_id))
        .filter(photos::content_hash.eq_any(&hashes))
        .count()
        .get_result(conn)?;
    let distinct: HashSet<&str> = hashes.iter().copied().collect();
    if clashes > 0 || distinct.len() != hashes.len() {
        return Err(Error::Conflict(format!(
            "the album '{}' already has the same image as {} of these photos",
            target.title,
            clashes.max(1)
        )));
    }
    let mut per_album: BTreeMap<i64, i64> = BTreeMap::new();
    for m in &moving {
        *per_album.entry(m.1).or_default() += 1;
    }
    for (album_id, n) in &per_album {
        let src = album::find(conn, *album_id)?.ok_or(Error::NotFound("album"))?;
        remove_from_counts(conn, &src, *n)?;
        if src
            .cover_photo_id
            .is_some_and(|c| moving.iter().any(|m| m.0 == c))
        {
            diesel::update(albums::table.find(src.id))
                .set(albums::cover_photo_id.eq(None::<i64>))
                .execute(conn)?;
        }
    }
    let max_pos: Option<i64> = photos::table
        .filter(photos::album_id.eq(target_id))
        .select(diesel::dsl::max(photos::position))
        .first(conn)?;
    let start = max_pos.map_or(0, |p| p + 1);
    for (i, m) in moving.iter().enumerate() {
        diesel::update(photos::table.find(m.0))
            .set((
                photos::album_id.eq(target_id),
                photos::position.eq(start + i as i64),
            ))
            .execute(conn)?;
    }
    let n = moving.len() as i64;
    let t = now();
    diesel::update(albums::table.find(target_id))
        .set((
            albums::photo_count.eq(albums::photo_count + n),
            albums::last_added_at.eq(t),
            albums::updated_at.eq(t),
        ))
        .execute(conn)?;
    if target.status == AlbumStatus::Published {
        adjust_counts(conn, target.category_id, 0, n)?;
    }
    Ok(moving.len())
}

/// Sets an album's photo order to the order of `ids` (ids of other albums are ignored).
pub fn reorder(conn: &mut DbConn, album_id: i64, ids: &[i64]) -> Result<()> {
    for (i, id) in ids.iter().enumerate() {
        diesel::update(
            photos::table
                .filter(photos::id.eq(id))
                .filter(photos::album_id.eq(album_id)),
        )
        .set(photos::position.eq(i as i64))
        .execute(conn)?;
    }
    Ok(())
}

/// The newest photos in published albums.
pub fn latest_published(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<(Photo, Album)>> {
    photos::table
        .inner_join(albums::table)
        .filter(albums::status.eq(AlbumStatus::Published))
        .order((photos::created_at.desc(), photos::id.desc()))
        .limit(limit)
        .select((Photo::as_select(), Album::as_select()))
        .load(conn)
}

/// How many photos of an album have ids from `first_id` on: what an import added.
pub fn count_from(conn: &mut DbConn, album_id: i64, first_id: i64) -> QueryResult<i64> {
    photos::table
        .filter(photos::album_id.eq(album_id))
        .filter(photos::id.ge(first_id))
        .count()
        .get_result(conn)
}

/// Which photos of an album a strip of thumbnails shows: the first in display order among
/// those with ids from `first_id` on (what an import added: ids only grow) and, when `added`
/// is set, created in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripOf {
    pub album_id: i64,
    pub first_id: i64,
    pub added: Option<(NaiveDateTime, NaiveDateTime)>,
}

impl StripOf {
    /// An album's first photos.
    pub fn first(album_id: i64) -> Self {
        StripOf {
            album_id,
            first_id: 0,
            added: None,
        }
    }
}

/// A strip's photos and how many photos match it in all.
#[derive(Debug, Clone, Default)]
pub struct Strip {
    pub photos: Vec<Photo>,
    pub matching: i64,
}

#[derive(QueryableByName)]
struct StripRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    strip: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    matching: i64,
    #[diesel(embed)]
    photo: Photo,
}

/// The strips of [`strips`] on PostgreSQL: a lateral join over the list of strips. Its values
/// are read through `(SELECT $n)` so that its plan is made once per connection (see
/// [`crate::db::prepared`]).
const STRIPS_SQL: &str = "SELECT s.n - 1 AS strip, c.matching, p.* \
     FROM unnest((SELECT $1), (SELECT $2), (SELECT $3), (SELECT $4)) \
       WITH ORDINALITY AS s(album_id, first_id, t0, t1, n) \
     CROSS JOIN LATERAL (SELECT count(*) AS matching FROM photos q WHERE (SELECT $5) \
       AND q.album_id = s.album_id AND q.id >= s.first_id \
       AND (s.t0 IS NULL OR (q.created_at >= s.t0 AND q.created_at < s.t1))) c \
     CROSS JOIN LATERAL (SELECT * FROM photos q \
       WHERE q.album_id = s.album_id AND q.id >= s.first_id \
       AND (s.t0 IS NULL OR (q.created_at >= s.t0 AND q.created_at < s.t1)) \
       ORDER BY q.position, q.id LIMIT (SELECT $6)) p \
     ORDER BY s.n, p.position, p.id";

/// Up to `limit` photos of each strip, in the order of `strips`, and, if `count`, how many
/// photos match each strip in all: what the home page's latest additions and the album embeds
/// of a post show. On PostgreSQL one prepared statement for all strips (a lateral join over
/// the list), whatever their number; on SQLite, in process, one or two indexed queries per
/// strip.
pub fn strips(
    conn: &mut DbConn,
    strips: &[StripOf],
    limit: i64,
    count: bool,
) -> QueryResult<Vec<Strip>> {
    let mut out = vec![Strip::default(); strips.len()];
    if strips.is_empty() {
        return Ok(out);
    }
    match conn {
        DbConn::Pg(c) => {
            let albums: Vec<i64> = strips.iter().map(|s| s.album_id).collect();
            let firsts: Vec<i64> = strips.iter().map(|s| s.first_id).collect();
            let froms: Vec<Option<NaiveDateTime>> =
                strips.iter().map(|s| s.added.map(|a| a.0)).collect();
            let tos: Vec<Option<NaiveDateTime>> =
                strips.iter().map(|s| s.added.map(|a| a.1)).collect();
            use crate::db::prepared::{Bind, sql};
            let binds = [
                Bind::BigInts(&albums),
                Bind::BigInts(&firsts),
                Bind::Stamps(&froms),
                Bind::Stamps(&tos),
                Bind::Bool(count),
                Bind::BigInt(limit),
            ];
            let rows: Vec<StripRow> = sql(STRIPS_SQL, &binds).load(c)?;
            for r in rows {
                if let Some(s) = usize::try_from(r.strip).ok().and_then(|i| out.get_mut(i)) {
                    s.matching = r.matching;
                    s.photos.push(r.photo);
                }
            }
        }
        DbConn::Sqlite(_) => {
            for (want, strip) in strips.iter().zip(out.iter_mut()) {
                let q = || {
                    let q = photos::table
                        .filter(photos::album_id.eq(want.album_id))
                        .filter(photos::id.ge(want.first_id))
                        .into_boxed();
                    // A day's additions come from `photos_album_created`: the album's photos
                    // of that day, not the site's (an import day's range is the whole import).
                    match want.added {
                        Some((from, to)) => q
                            .filter(photos::created_at.ge(from))
                            .filter(photos::created_at.lt(to)),
                        None => q,
                    }
                };
                if count {
                    strip.matching = q().count().get_result(conn)?;
                }
                strip.photos = q()
                    .order((photos::position.asc(), photos::id.asc()))
                    .limit(limit)
                    .select(Photo::as_select())
                    .load(conn)?;
            }
        }
    }
    Ok(out)
}

/// Adds view counts gathered in memory (one UPDATE per photo, batched by the caller).
pub fn add_views(conn: &mut DbConn, views: &[(i64, i64)]) -> QueryResult<()> {
    for (id, n) in views {
        diesel::update(photos::table.find(id))
            .set(photos::views.eq(photos::views + n))
            .execute(conn)?;
    }
    Ok(())
}

/// Is any photo still using this content (so its files must stay)?
pub fn hash_in_use(conn: &mut DbConn, content_hash: &str) -> QueryResult<bool> {
    let n: i64 = photos::table
        .filter(photos::content_hash.eq(content_hash))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Photos by id whose albums are published (featured photos, embeds), in the order of `ids`.
pub fn published_by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(Photo, Album)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<(Photo, Album)> = photos::table
        .inner_join(albums::table)
        .filter(photos::id.eq_any(ids))
        .filter(albums::status.eq(AlbumStatus::Published))
        .select((Photo::as_select(), Album::as_select()))
        .load(conn)?;
    rows.sort_by_key(|(p, _)| ids.iter().position(|&i| i == p.id));
    Ok(rows)
}

/// The most viewed photos in published albums.
pub fn most_viewed(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<(Photo, Album)>> {
    photos::table
        .inner_join(albums::table)
        .filter(albums::status.eq(AlbumStatus::Published))
        .filter(photos::views.gt(0))
        .order((photos::views.desc(), photos::id.asc()))
        .limit(limit)
        .select((Photo::as_select(), Album::as_select()))
        .load(conn)
}

/// A photo with its album's title, as PostgreSQL's random picks return it.
#[derive(QueryableByName)]
struct Pick {
    #[diesel(embed)]
    photo: Photo,
    #[diesel(sql_type = diesel::sql_types::Text)]
    album_title: String,
}

/// The lowest and highest photo id (`None` when there are no photos): the range random picks
/// draw from.
pub fn id_range(conn: &mut DbConn) -> QueryResult<Option<(i64, i64)>> {
    let bounds: (Option<i64>, Option<i64>) = photos::table
        .select((diesel::dsl::min(photos::id), diesel::dsl::max(photos::id)))
        .first(conn)?;
    Ok(bounds.0.zip(bounds.1))
}

/// Up to `n` random photos from published albums, each with its album's title, each photo
/// once; see [`random_published_in`].
pub fn random_published(conn: &mut DbConn, n: usize) -> QueryResult<Vec<(Photo, String)>> {
    let range = id_range(conn)?;
    random_published_in(conn, range, n)
}

/// Up to `n` random photos from published albums, each with its album's title, each photo
/// once, whatever the archive's size, given the photos' id range (see [`id_range`]; the page
/// snapshot keeps it). On PostgreSQL one statement: three times `n` distinct random ids in
/// the range, each the photo with that very id if it is in a published album (a key lookup
/// each; every published photo as likely as any other); only if that leaves the list short
/// (ids with many gaps: photos deleted, or in albums readers cannot see) a second one takes
/// each id's next published photo. On SQLite, in process, one lookup per random id (the next
/// published photo) until `n` are found. An id past the last published photo takes the first
/// one, so the list is empty only when nothing is published.
pub fn random_published_in(
    conn: &mut DbConn,
    range: Option<(i64, i64)>,
    n: usize,
) -> QueryResult<Vec<(Photo, String)>> {
    let mut out: Vec<(Photo, String)> = Vec::with_capacity(n);
    let Some((lo, hi)) = range.filter(|(lo, hi)| lo <= hi && n > 0) else {
        return Ok(out);
    };
    // Distinct ids at random in [lo, hi] (all of them where the range is that small).
    let span = usize::try_from(hi.abs_diff(lo)).map_or(usize::MAX, |d| d.saturating_add(1));
    let points: Vec<i64> = {
        let mut rng = rand::thread_rng();
        let per_photo = if matches!(conn, DbConn::Pg(_)) { 3 } else { 2 };
        let mut picked: Vec<i64> =
            rand::seq::index::sample(&mut rng, span, n.saturating_mul(per_photo).min(span))
                .into_iter()
                .filter_map(|i| i64::try_from(i).ok())
                .map(|i| lo + i)
                .collect();
        if picked.len() == span {
            rand::seq::SliceRandom::shuffle(picked.as_mut_slice(), &mut rng);
        }
        picked
    };
    let keep = |found: &mut Vec<Pick>, out: &mut Vec<(Photo, String)>| {
        for p in found.drain(..) {
            if out.len() < n && out.iter().all(|(q, _)| q.id != p.photo.id) {
                out.push((p.photo, p.album_title));
            }
        }
    };
    match conn {
        DbConn::Pg(c) => {
            use crate::db::prepared::{Bind, sql};
            let binds = [Bind::BigInts(&points)];
            let mut found: Vec<Pick> = sql(
                "SELECT p.*, a.title AS album_title FROM photos p
                 JOIN albums a ON a.id = p.album_id
                 WHERE p.id = ANY((SELECT $1)::int8[]) AND a.status = 'published'",
                &binds,
            )
            .load(c)?;
            // In the random order of the ids drawn.
            let order: std::collections::HashMap<i64, usize> =
                points.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            found.sort_by_key(|p| order.get(&p.photo.id).copied());
            keep(&mut found, &mut out);
            // Every id drawn (a small range): nothing more is published to find.
            if out.len() < n && points.len() < span {
                // The points' ids are gathered first, the photos read once for all of them
                // (joined in the same step, PostgreSQL joined the photos again for each point).
                let mut found: Vec<Pick> = sql(
                    "WITH picks AS MATERIALIZED (
                         SELECT r.n, coalesce(
                             (SELECT q.id FROM photos q JOIN albums a ON a.id = q.album_id
                              WHERE a.status = 'published' AND q.id >= r.at
                              ORDER BY q.id LIMIT 1),
                             (SELECT q.id FROM photos q JOIN albums a ON a.id = q.album_id
                              WHERE a.status = 'published'
                              ORDER BY q.id LIMIT 1)) AS id
                         FROM unnest((SELECT $1)) WITH ORDINALITY AS r(at, n))
                     SELECT p.*, a.title AS album_title FROM picks
                     JOIN photos p ON p.id = picks.id
                     JOIN albums a ON a.id = p.album_id
                     ORDER BY picks.n",
                    &binds,
                )
                .load(c)?;
                keep(&mut found, &mut out);
            }
        }
        DbConn::Sqlite(_) => {
            let next_from = |conn: &mut DbConn, at: i64| {
                photos::table
                    .inner_join(albums::table)
                    .filter(albums::status.eq(AlbumStatus::Published))
                    .filter(photos::id.ge(at))
                    .order(photos::id.asc())
                    .select((Photo::as_select(), albums::title))
                    .first::<(Photo, String)>(conn)
                    .optional()
            };
            for at in points {
                if out.len() >= n {
                    break;
                }
                let found = match next_from(conn, at)? {
                    Some(f) => Some(f),
                    None => next_from(conn, lo)?,
                };
                if let Some(f) = found
                    && out.iter().all(|(p, _)| p.id != f.0.id)
                {
                    out.push(f);
                }
            }
        }
    }
    Ok(out)
}

/// Ids of photos in published albums with ids in `[from, to)`, in id order (sitemaps cover
/// fixed id ranges, so each holds at most `to - from` URLs and needs no offset).
pub fn published_ids_in_range(conn: &mut DbConn, from: i64, to: i64) -> QueryResult<Vec<i64>> {
    photos::table
        .inner_join(albums::table)
        .filter(albums::status.eq(AlbumStatus::Published))
        .filter(photos::id.ge(from))
        .filter(photos::id.lt(to))
        .order(photos::id.asc())
        .select(photos::id)
        .load(conn)
}

/// True when some published photo has an id in `[from, to)`.
pub fn any_published_in_range(conn: &mut DbConn, from: i64, to: i64) -> QueryResult<bool> {
    photos::table
        .inner_join(albums::table)
        .filter(albums::status.eq(AlbumStatus::Published))
        .filter(photos::id.ge(from))
        .filter(photos::id.lt(to))
        .select(photos::id)
        .first::<i64>(conn)
        .optional()
        .map(|o| o.is_some())
}

/// The highest photo id, if any.
pub fn max_id(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    photos::table
        .select(diesel::dsl::max(photos::id))
        .first(conn)
}

/// Orders an album's photos by file name, naturally (`…-2` before `…-10`).
pub fn sort_by_name(conn: &mut DbConn, album_id: i64) -> Result<()> {
    let mut rows: Vec<(i64, String)> = photos::table
        .filter(photos::album_id.eq(album_id))
        .select((photos::id, photos::original_filename))
        .load(conn)?;
    rows.sort_by(|a, b| natord::compare(&a.1, &b.1).then(a.0.cmp(&b.0)));
    let ids: Vec<i64> = rows.into_iter().map(|r| r.0).collect();
    reorder(conn, album_id, &ids)
}

/// The content hashes an album holds (to skip uploads it already has before decoding).
pub fn hashes_in_album(conn: &mut DbConn, album_id: i64) -> QueryResult<Vec<String>> {
    photos::table
        .filter(photos::album_id.eq(album_id))
        .select(photos::content_hash)
        .load(conn)
}

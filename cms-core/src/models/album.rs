//! Albums: a titled set of photos in a gallery category. An album counts its photos; when it is
//! published, its category chain counts it and its photos too.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::gallery_category::{self, adjust_counts};
use super::{now, text_enum};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{albums, photos};
use crate::slug;

text_enum! {
    /// Readers see published albums only.
    pub enum AlbumStatus {
        Draft = "draft",
        Published = "published",
    }
}

/// A stored album.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = albums)]
pub struct Album {
    pub id: i64,
    pub category_id: Option<i64>,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub credit: String,
    pub status: AlbumStatus,
    pub cover_photo_id: Option<i64>,
    pub photo_count: i64,
    pub position: i32,
    pub published_at: Option<NaiveDateTime>,
    pub last_added_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What it takes to create an album.
#[derive(Debug, Clone)]
pub struct NewAlbum<'a> {
    pub category_id: Option<i64>,
    pub title: &'a str,
    pub description: &'a str,
    pub credit: &'a str,
    pub status: AlbumStatus,
}

fn validate_title(title: &str) -> Result<&str> {
    let t = title.trim();
    if t.is_empty() {
        return Err(Error::invalid("title", "must not be empty"));
    }
    // Counted as given, as the API description's maxLength counts.
    if title.chars().count() > 200 {
        return Err(Error::invalid("title", "must be at most 200 characters"));
    }
    Ok(t)
}

fn slug_taken(conn: &mut DbConn, s: &str) -> Result<bool> {
    let n: i64 = albums::table
        .filter(albums::slug.eq(s))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A new album's slug: its title's, or — when another album has that — the names of its
/// category and then of the category's parents in front, nearest first, so per-season
/// "Episode 1" albums read `season-2-episode-1` rather than `episode-1-2`; a number only when
/// every such name is taken too.
fn album_slug(
    conn: &mut DbConn,
    title: &str,
    category: Option<gallery_category::GalleryCategory>,
) -> Result<String> {
    let base = slug::slugify(title);
    if !slug_taken(conn, &base)? {
        return Ok(base);
    }
    let mut words = title.to_string();
    let mut first = None;
    let mut next = category;
    for _ in 0..4 {
        let Some(c) = next else { break };
        // A title that already starts with the category's name ("Season 2 Episode 1" in
        // "Season 2") does not get it twice.
        let (have, name) = (slug::slugify(&words), slug::slugify(&c.name));
        // A whole-word prefix only: "season-20-…" does not start with "season-2".
        if have != name && !have.starts_with(&format!("{name}-")) {
            words = format!("{} {words}", c.name);
            let candidate = slug::slugify(&words);
            if !slug_taken(conn, &candidate)? {
                return Ok(candidate);
            }
            first.get_or_insert(candidate);
        }
        next = match c.parent_id {
            Some(p) => gallery_category::find(conn, p)?,
            None => None,
        };
    }
    slug::unique(first.as_deref().unwrap_or(&base), |s| slug_taken(conn, s))
}

/// Creates an album with a unique slug made from its title (see [`album_slug`]).
pub fn create(conn: &mut DbConn, new: &NewAlbum<'_>) -> Result<Album> {
    let title = validate_title(new.title)?;
    let category = match new.category_id {
        Some(c) => Some(gallery_category::find(conn, c)?.ok_or_else(|| {
            Error::missing("category_id", format!("there is no gallery category {c}"))
        })?),
        None => None,
    };
    let slug = album_slug(conn, title, category)?;
    let q = albums::table
        .select(diesel::dsl::max(albums::position))
        .into_boxed();
    let position: Option<i32> = match new.category_id {
        Some(c) => q.filter(albums::category_id.eq(c)).first(conn)?,
        None => q.filter(albums::category_id.is_null()).first(conn)?,
    };
    let t = now();
    let published = new.status == AlbumStatus::Published;
    let album = diesel::insert_into(albums::table)
        .values((
            albums::category_id.eq(new.category_id),
            albums::slug.eq(&slug),
            albums::title.eq(title),
            albums::description.eq(new.description.trim()),
            albums::credit.eq(new.credit.trim()),
            albums::status.eq(new.status),
            albums::position.eq(position.map_or(0, |p| p + 1)),
            albums::published_at.eq(published.then_some(t)),
            albums::created_at.eq(t),
            albums::updated_at.eq(t),
        ))
        .returning(albums::all_columns)
        .get_result::<Album>(conn)?;
    if published {
        adjust_counts(conn, new.category_id, 1, 0)?;
    }
    Ok(album)
}

/// An album by id, in any status.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Album>> {
    albums::table
        .find(id)
        .select(Album::as_select())
        .first(conn)
        .optional()
}

/// An album by slug, in any status (admin).
pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Album>> {
    albums::table
        .filter(albums::slug.eq(slug))
        .select(Album::as_select())
        .first(conn)
        .optional()
}

/// A published album by slug (readers).
pub fn find_published_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Album>> {
    albums::table
        .filter(albums::slug.eq(slug))
        .filter(albums::status.eq(AlbumStatus::Published))
        .select(Album::as_select())
        .first(conn)
        .optional()
}

/// The album in `category_id` with this title (imports match folders by name).
pub fn find_in_category_by_title(
    conn: &mut DbConn,
    category_id: Option<i64>,
    title: &str,
) -> QueryResult<Option<Album>> {
    let q = albums::table
        .filter(albums::title.eq(title.trim()))
        .select(Album::as_select());
    match category_id {
        Some(c) => q.filter(albums::category_id.eq(c)).first(conn),
        None => q.filter(albums::category_id.is_null()).first(conn),
    }
    .optional()
}

/// Albums in a category in display order; readers pass `published_only`.
pub fn in_category(
    conn: &mut DbConn,
    category_id: Option<i64>,
    published_only: bool,
) -> QueryResult<Vec<Album>> {
    let mut q = albums::table
        .order((albums::position.asc(), albums::title.asc()))
        .select(Album::as_select())
        .into_boxed();
    q = match category_id {
        Some(c) => q.filter(albums::category_id.eq(c)),
        None => q.filter(albums::category_id.is_null()),
    };
    if published_only {
        q = q.filter(albums::status.eq(AlbumStatus::Published));
    }
    q.load(conn)
}

/// Published albums with photos, most recently added to first.
pub fn latest_published(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Album>> {
    albums::table
        .filter(albums::status.eq(AlbumStatus::Published))
        .filter(albums::photo_count.gt(0))
        .order((albums::last_added_at.desc(), albums::id.desc()))
        .limit(limit)
        .select(Album::as_select())
        .load(conn)
}

/// [`latest_published`] taken from albums already read (published ones): those with photos,
/// most recently added to first.
pub fn latest_of(albums: &[Album], limit: usize) -> Vec<Album> {
    let mut with_photos: Vec<&Album> = albums
        .iter()
        .filter(|a| a.status == AlbumStatus::Published && a.photo_count > 0)
        .collect();
    with_photos.sort_by(|a, b| {
        b.last_added_at
            .cmp(&a.last_added_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    with_photos.into_iter().take(limit).cloned().collect()
}

/// Changes title, description and credit; the slug stays.
pub fn update_details(
    conn: &mut DbConn,
    id: i64,
    title: &str,
    description: &str,
    credit: &str,
) -> Result<()> {
    let title = validate_title(title)?;
    let n = diesel::update(albums::table.find(id))
        .set((
            albums::title.eq(title),
            albums::description.eq(description.trim()),
            albums::credit.eq(credit.trim()),
            albums::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("album"));
    }
    Ok(())
}

/// Publishes or unpublishes an album; its category chain gains or loses it and its photos.
pub fn set_status(conn: &mut DbConn, id: i64, status: AlbumStatus) -> Result<Album> {
    let album = find(conn, id)?.ok_or(Error::NotFound("album"))?;
    if album.status == status {
        return Ok(album);
    }
    let sign = if status == AlbumStatus::Published {
        1
    } else {
        -1
    };
    adjust_counts(conn, album.category_id, sign, sign * album.photo_count)?;
    let t = now();
    let first_publish = status == AlbumStatus::Published && album.published_at.is_none();
    let updated = diesel::update(albums::table.find(id))
        .set((
            albums::status.eq(status),
            albums::published_at.eq(if first_publish {
                Some(t)
            } else {
                album.published_at
            }),
            albums::updated_at.eq(t),
        ))
        .returning(albums::all_columns)
        .get_result::<Album>(conn)?;
    Ok(updated)
}

/// Moves an album to another category (or the top); a published album's counts move with it.
pub fn move_to(conn: &mut DbConn, id: i64, category_id: Option<i64>) -> Result<()> {
    let album = find(conn, id)?.ok_or(Error::NotFound("album"))?;
    if album.category_id == category_id {
        return Ok(());
    }
    if let Some(c) = category_id
        && gallery_category::find(conn, c)?.is_none()
    {
        return Err(Error::missing(
            "category_id",
            format!("there is no gallery category {c}"),
        ));
    }
    if album.status == AlbumStatus::Published {
        adjust_counts(conn, album.category_id, -1, -album.photo_count)?;
        adjust_counts(conn, category_id, 1, album.photo_count)?;
    }
    diesel::update(albums::table.find(id))
        .set((
            albums::category_id.eq(category_id),
            albums::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets the cover photo, which must belong to the album.
pub fn set_cover(conn: &mut DbConn, id: i64, photo_id: Option<i64>) -> Result<()> {
    if let Some(p) = photo_id {
        let owner: Option<i64> = photos::table
            .find(p)
            .select(photos::album_id)
            .first(conn)
            .optional()?;
        if owner != Some(id) {
            return Err(Error::invalid(
                "cover_photo_id",
                "the photo is not in this album",
            ));
        }
    }
    diesel::update(albums::table.find(id))
        .set(albums::cover_photo_id.eq(photo_id))
        .execute(conn)?;
    Ok(())
}

/// Deletes an album and its photos' rows, keeping every count right. Returns the deleted photos
/// so the caller can remove files no other photo uses.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<Vec<crate::models::photo::Photo>> {
    let album = find(conn, id)?.ok_or(Error::NotFound("album"))?;
    let gone: Vec<crate::models::photo::Photo> = photos::table
        .filter(photos::album_id.eq(id))
        .select(crate::models::photo::Photo::as_select())
        .load(conn)?;
    diesel::update(albums::table.find(id))
        .set(albums::cover_photo_id.eq(None::<i64>))
        .execute(conn)?;
    diesel::delete(photos::table.filter(photos::album_id.eq(id))).execute(conn)?;
    diesel::delete(albums::table.find(id)).execute(conn)?;
    if album.status == AlbumStatus::Published {
        adjust_counts(conn, album.category_id, -1, -album.photo_count)?;
    }
    Ok(gone)
}

/// One page of the published albums directly in a category, and their number.
pub fn published_in_category_page(
    conn: &mut DbConn,
    category_id: Option<i64>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Album>, i64)> {
    let build = || {
        let q = albums::table
            .filter(albums::status.eq(AlbumStatus::Published))
            .into_boxed();
        match category_id {
            Some(c) => q.filter(albums::category_id.eq(c)),
            None => q.filter(albums::category_id.is_null()),
        }
    };
    let total = build().count().get_result(conn)?;
    let rows = build()
        .order((
            albums::position.asc(),
            albums::title.asc(),
            albums::id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select(Album::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The cover of the published album most recently added to anywhere beneath each category
/// of `paths` (the category itself or its descendants), in their order: what category cards
/// show. On PostgreSQL one prepared statement whatever the number of cards; on SQLite one
/// indexed query per card and one for the photos.
pub fn latest_covers_beneath(
    conn: &mut DbConn,
    paths: &[String],
) -> QueryResult<Vec<Option<super::photo::Photo>>> {
    let mut out = vec![None; paths.len()];
    if paths.is_empty() {
        return Ok(out);
    }
    match conn {
        DbConn::Pg(c) => {
            #[derive(QueryableByName)]
            struct CoverRow {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                card: i64,
                #[diesel(embed)]
                photo: super::photo::Photo,
            }
            let binds = [crate::db::prepared::Bind::Texts(paths)];
            // Paths are slugs joined by '/', so they hold no LIKE wildcards.
            let rows: Vec<CoverRow> = crate::db::prepared::sql(
                "SELECT s.n - 1 AS card, p.* FROM unnest((SELECT $1)) WITH ORDINALITY AS s(path, n)
                 CROSS JOIN LATERAL (
                     SELECT a.cover_photo_id FROM albums a
                     JOIN gallery_categories gc ON gc.id = a.category_id
                     WHERE (gc.path = s.path OR gc.path LIKE s.path || '/%')
                       AND a.status = 'published' AND a.cover_photo_id IS NOT NULL
                     ORDER BY a.last_added_at DESC, a.id DESC LIMIT 1) c
                 JOIN photos p ON p.id = c.cover_photo_id",
                &binds,
            )
            .load(c)?;
            for r in rows {
                if let Some(slot) = usize::try_from(r.card).ok().and_then(|i| out.get_mut(i)) {
                    *slot = Some(r.photo);
                }
            }
        }
        DbConn::Sqlite(_) => {
            let mut ids = Vec::with_capacity(paths.len());
            for p in paths {
                ids.push(latest_cover_beneath(conn, p)?);
            }
            let photos =
                super::photo::by_ids(conn, &ids.iter().flatten().copied().collect::<Vec<_>>())?;
            for (slot, id) in out.iter_mut().zip(ids) {
                *slot = id.and_then(|id| photos.iter().find(|p| p.id == id).cloned());
            }
        }
    }
    Ok(out)
}

/// The cover of the published album most recently added to anywhere beneath the category at
/// `path` (the category itself or its descendants).
fn latest_cover_beneath(conn: &mut DbConn, path: &str) -> QueryResult<Option<i64>> {
    use crate::schema::gallery_categories as gc;
    // Paths are slugs joined by '/', so they hold no LIKE wildcards.
    albums::table
        .inner_join(gc::table)
        .filter(gc::path.eq(path).or(gc::path.like(format!("{path}/%"))))
        .filter(albums::status.eq(AlbumStatus::Published))
        .filter(albums::cover_photo_id.is_not_null())
        .order((albums::last_added_at.desc(), albums::id.desc()))
        .select(albums::cover_photo_id)
        .first::<Option<i64>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Slugs and update times of every published album, for the sitemap.
pub fn published_slugs(conn: &mut DbConn) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    albums::table
        .filter(albums::status.eq(AlbumStatus::Published))
        .order(albums::id.asc())
        .select((albums::slug, albums::updated_at))
        .load(conn)
}

/// Published albums by id (post embeds).
pub fn published_by_slugs(conn: &mut DbConn, slugs: &[String]) -> QueryResult<Vec<Album>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    albums::table
        .filter(albums::slug.eq_any(slugs))
        .filter(albums::status.eq(AlbumStatus::Published))
        .select(Album::as_select())
        .load(conn)
}

/// Every published album in display order (the gallery tree of a small archive).
pub fn all_published(conn: &mut DbConn) -> QueryResult<Vec<Album>> {
    albums::table
        .filter(albums::status.eq(AlbumStatus::Published))
        .order((albums::position.asc(), albums::title.asc()))
        .select(Album::as_select())
        .load(conn)
}

/// Every album (any status) with its category, for admin pickers; by title.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Album>> {
    albums::table
        .order((albums::title.asc(), albums::id.asc()))
        .select(Album::as_select())
        .load(conn)
}

//! Gallery categories: a tree of any depth. Each keeps recursive counts of the published albums
//! and their photos beneath it, changed in the same transaction as every change that moves them,
//! so a page never has to count.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::album::AlbumStatus;
use super::now;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{albums, gallery_categories, photos};
use crate::slug;

/// Top-level slugs that would collide with gallery pages.
const RESERVED_TOP_SLUGS: &[&str] = &["latest"];

/// The deepest tree we accept; guards every walk up the tree against a corrupt cycle.
pub const MAX_DEPTH: usize = 64;

/// A stored gallery category.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = gallery_categories)]
pub struct GalleryCategory {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub slug: String,
    pub path: String,
    pub name: String,
    pub description: String,
    pub position: i32,
    pub album_count: i64,
    pub photo_count: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn validate_name(raw: &str) -> Result<&str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    // Counted as given, as the API description's maxLength counts.
    if raw.chars().count() > 200 {
        return Err(Error::invalid("name", "must be at most 200 characters"));
    }
    Ok(name)
}

fn child_path(parent: Option<&GalleryCategory>, slug: &str) -> String {
    match parent {
        Some(p) => format!("{}/{slug}", p.path),
        None => slug.to_string(),
    }
}

fn path_taken(conn: &mut DbConn, path: &str) -> Result<bool> {
    let n: i64 = gallery_categories::table
        .filter(gallery_categories::path.eq(path))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The highest position among the children of `parent_id`.
fn last_position(conn: &mut DbConn, parent_id: Option<i64>) -> QueryResult<Option<i32>> {
    let q = gallery_categories::table
        .select(diesel::dsl::max(gallery_categories::position))
        .into_boxed();
    match parent_id {
        Some(id) => q.filter(gallery_categories::parent_id.eq(id)).first(conn),
        None => q
            .filter(gallery_categories::parent_id.is_null())
            .first(conn),
    }
}

/// Creates a category under `parent_id` (or at the top). The slug comes from the name and is
/// made unique among its siblings.
pub fn create(
    conn: &mut DbConn,
    parent_id: Option<i64>,
    name: &str,
    description: &str,
) -> Result<GalleryCategory> {
    let name = validate_name(name)?;
    let parent = match parent_id {
        Some(id) => Some(find(conn, id)?.ok_or_else(|| {
            Error::missing("parent_id", format!("there is no gallery category {id}"))
        })?),
        None => None,
    };
    if let Some(p) = &parent
        && ancestor_ids(conn, p.id)?.len() >= MAX_DEPTH
    {
        return Err(Error::invalid("parent", "the tree is too deep"));
    }
    let base = slug::slugify(name);
    // `/gallery/latest` is a page of its own, so no top-level category may take that path.
    let slug = slug::unique(&base, |s| {
        Ok((parent.is_none() && RESERVED_TOP_SLUGS.contains(&s))
            || path_taken(conn, &child_path(parent.as_ref(), s))?)
    })?;
    let position = last_position(conn, parent_id)?;
    let t = now();
    let row = diesel::insert_into(gallery_categories::table)
        .values((
            gallery_categories::parent_id.eq(parent_id),
            gallery_categories::slug.eq(&slug),
            gallery_categories::path.eq(child_path(parent.as_ref(), &slug)),
            gallery_categories::name.eq(name),
            gallery_categories::description.eq(description.trim()),
            gallery_categories::position.eq(position.map_or(0, |p| p + 1)),
            gallery_categories::created_at.eq(t),
            gallery_categories::updated_at.eq(t),
        ))
        .returning(gallery_categories::all_columns)
        .get_result::<GalleryCategory>(conn)?;
    Ok(row)
}

/// A category by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<GalleryCategory>> {
    gallery_categories::table
        .find(id)
        .select(GalleryCategory::as_select())
        .first(conn)
        .optional()
}

/// A category by its slug path, e.g. `television-productions/heartstopper`.
pub fn find_by_path(conn: &mut DbConn, path: &str) -> QueryResult<Option<GalleryCategory>> {
    gallery_categories::table
        .filter(gallery_categories::path.eq(path))
        .select(GalleryCategory::as_select())
        .first(conn)
        .optional()
}

/// The child of `parent_id` with this display name (imports match folders by name).
pub fn find_child_by_name(
    conn: &mut DbConn,
    parent_id: Option<i64>,
    name: &str,
) -> QueryResult<Option<GalleryCategory>> {
    let q = gallery_categories::table
        .filter(gallery_categories::name.eq(name.trim()))
        .select(GalleryCategory::as_select());
    match parent_id {
        Some(id) => q.filter(gallery_categories::parent_id.eq(id)).first(conn),
        None => q
            .filter(gallery_categories::parent_id.is_null())
            .first(conn),
    }
    .optional()
}

/// The children of a category (or the top level), in their display order.
pub fn children(conn: &mut DbConn, parent_id: Option<i64>) -> QueryResult<Vec<GalleryCategory>> {
    let q = gallery_categories::table
        .order((
            gallery_categories::position.asc(),
            gallery_categories::name.asc(),
        ))
        .select(GalleryCategory::as_select());
    match parent_id {
        Some(id) => q.filter(gallery_categories::parent_id.eq(id)).load(conn),
        None => q.filter(gallery_categories::parent_id.is_null()).load(conn),
    }
}

/// Every category, parents before children and siblings in display order: the whole tree in
/// one query, for the gallery index and the admin.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<GalleryCategory>> {
    let rows: Vec<GalleryCategory> = gallery_categories::table
        .select(GalleryCategory::as_select())
        .load(conn)?;
    Ok(order_as_tree(rows))
}

/// Orders rows depth-first, siblings by position then name.
pub fn order_as_tree(rows: Vec<GalleryCategory>) -> Vec<GalleryCategory> {
    let mut by_parent: HashMap<Option<i64>, Vec<GalleryCategory>> = HashMap::new();
    for r in rows {
        by_parent.entry(r.parent_id).or_default().push(r);
    }
    for v in by_parent.values_mut() {
        v.sort_by(|a, b| {
            a.position
                .cmp(&b.position)
                .then_with(|| a.name.cmp(&b.name))
        });
    }
    let mut out = Vec::new();
    fn walk(
        parent: Option<i64>,
        by_parent: &mut HashMap<Option<i64>, Vec<GalleryCategory>>,
        out: &mut Vec<GalleryCategory>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(children) = by_parent.remove(&parent) {
            for c in children {
                let id = c.id;
                out.push(c);
                walk(Some(id), by_parent, out, depth + 1);
            }
        }
    }
    walk(None, &mut by_parent, &mut out, 0);
    out
}

/// The ids of a category and all its ancestors, the category first.
pub fn ancestor_ids(conn: &mut DbConn, id: i64) -> Result<Vec<i64>> {
    let mut ids = vec![id];
    let mut current = id;
    loop {
        let parent: Option<i64> = gallery_categories::table
            .find(current)
            .select(gallery_categories::parent_id)
            .first(conn)?;
        match parent {
            Some(p) if ids.len() <= MAX_DEPTH => {
                if ids.contains(&p) {
                    return Err(Error::Internal(format!(
                        "gallery category {id} is in a cycle"
                    )));
                }
                ids.push(p);
                current = p;
            }
            Some(_) => return Err(Error::Internal("gallery tree too deep".into())),
            None => return Ok(ids),
        }
    }
}

/// A category and its ancestors, root first: the breadcrumb.
pub fn breadcrumb(conn: &mut DbConn, id: i64) -> Result<Vec<GalleryCategory>> {
    let ids = ancestor_ids(conn, id)?;
    let mut rows: Vec<GalleryCategory> = gallery_categories::table
        .filter(gallery_categories::id.eq_any(&ids))
        .select(GalleryCategory::as_select())
        .load(conn)?;
    rows.sort_by_key(|r| ids.iter().rev().position(|&i| i == r.id));
    Ok(rows)
}

/// Adds `albums` and `photos` (either may be negative) to the counts of `category_id` and every
/// ancestor. Call inside the transaction that makes the change.
pub(crate) fn adjust_counts(
    conn: &mut DbConn,
    category_id: Option<i64>,
    albums: i64,
    photos: i64,
) -> Result<()> {
    let Some(id) = category_id else {
        return Ok(());
    };
    if albums == 0 && photos == 0 {
        return Ok(());
    }
    let ids = ancestor_ids(conn, id)?;
    diesel::update(gallery_categories::table.filter(gallery_categories::id.eq_any(ids)))
        .set((
            gallery_categories::album_count.eq(gallery_categories::album_count + albums),
            gallery_categories::photo_count.eq(gallery_categories::photo_count + photos),
        ))
        .execute(conn)?;
    Ok(())
}

/// Renames a category and changes its description; the slug (and so its URL) stays.
pub fn update_details(conn: &mut DbConn, id: i64, name: &str, description: &str) -> Result<()> {
    let name = validate_name(name)?;
    let n = diesel::update(gallery_categories::table.find(id))
        .set((
            gallery_categories::name.eq(name),
            gallery_categories::description.eq(description.trim()),
            gallery_categories::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("gallery category"));
    }
    Ok(())
}

/// Moves a category (with everything under it) to a new parent, or to the top. Its counts
/// leave the old ancestors and join the new ones; paths beneath it are rewritten.
pub fn move_to(conn: &mut DbConn, id: i64, new_parent: Option<i64>) -> Result<()> {
    let node = find(conn, id)?.ok_or(Error::NotFound("gallery category"))?;
    if node.parent_id == new_parent {
        return Ok(());
    }
    let parent = match new_parent {
        Some(p) => {
            if ancestor_ids(conn, p)?.contains(&id) {
                return Err(Error::invalid(
                    "parent",
                    "a category cannot move into itself or one of its subcategories",
                ));
            }
            Some(find(conn, p)?.ok_or_else(|| {
                Error::missing("parent_id", format!("there is no gallery category {p}"))
            })?)
        }
        None => None,
    };
    // Counts: out of the old chain (above the node), into the new chain.
    if let Some(old_parent) = node.parent_id {
        adjust_counts(conn, Some(old_parent), -node.album_count, -node.photo_count)?;
    }
    adjust_counts(conn, new_parent, node.album_count, node.photo_count)?;

    let new_slug = slug::unique(&node.slug, |s| {
        Ok((parent.is_none() && RESERVED_TOP_SLUGS.contains(&s))
            || path_taken(conn, &child_path(parent.as_ref(), s))?)
    })?;
    let new_path = child_path(parent.as_ref(), &new_slug);
    let old_prefix = format!("{}/", node.path);
    let descendants: Vec<(i64, String)> = gallery_categories::table
        .filter(gallery_categories::path.like(format!("{old_prefix}%")))
        .select((gallery_categories::id, gallery_categories::path))
        .load(conn)?;
    let position = last_position(conn, new_parent)?;
    diesel::update(gallery_categories::table.find(id))
        .set((
            gallery_categories::parent_id.eq(new_parent),
            gallery_categories::slug.eq(&new_slug),
            gallery_categories::path.eq(&new_path),
            gallery_categories::position.eq(position.map_or(0, |p| p + 1)),
            gallery_categories::updated_at.eq(now()),
        ))
        .execute(conn)?;
    for (did, dpath) in descendants {
        let rest = &dpath[old_prefix.len()..];
        diesel::update(gallery_categories::table.find(did))
            .set(gallery_categories::path.eq(format!("{new_path}/{rest}")))
            .execute(conn)?;
    }
    Ok(())
}

/// Sets the display order of a parent's children to the order of `ids`.
pub fn reorder(conn: &mut DbConn, ids: &[i64]) -> Result<()> {
    for (i, id) in ids.iter().enumerate() {
        diesel::update(gallery_categories::table.find(id))
            .set(gallery_categories::position.eq(i32::try_from(i).unwrap_or(i32::MAX)))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes a category that has no subcategories and no albums.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    let children: i64 = gallery_categories::table
        .filter(gallery_categories::parent_id.eq(id))
        .count()
        .get_result(conn)?;
    let album_n: i64 = albums::table
        .filter(albums::category_id.eq(id))
        .count()
        .get_result(conn)?;
    if children > 0 || album_n > 0 {
        return Err(Error::Conflict(
            "the category is not empty: move or delete its subcategories and albums first".into(),
        ));
    }
    let n = diesel::delete(gallery_categories::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("gallery category"));
    }
    Ok(())
}

/// Recomputes every count from the rows and lists each stored count that differs. Empty means
/// the counts are right. Used by tests and by `cms doctor`-style checks; never on a page view.
pub fn verify_counts(conn: &mut DbConn) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let photo_counts: Vec<(i64, i64)> = photos::table
        .group_by(photos::album_id)
        .select((photos::album_id, diesel::dsl::count_star()))
        .load(conn)?;
    let photo_counts: HashMap<i64, i64> = photo_counts.into_iter().collect();
    let album_rows: Vec<(i64, Option<i64>, AlbumStatus, i64)> = albums::table
        .select((
            albums::id,
            albums::category_id,
            albums::status,
            albums::photo_count,
        ))
        .load(conn)?;
    let cats: Vec<GalleryCategory> = gallery_categories::table
        .select(GalleryCategory::as_select())
        .load(conn)?;
    let parents: HashMap<i64, Option<i64>> = cats.iter().map(|c| (c.id, c.parent_id)).collect();
    let mut expected: HashMap<i64, (i64, i64)> = cats.iter().map(|c| (c.id, (0, 0))).collect();
    for (id, category_id, status, stored) in &album_rows {
        let actual = photo_counts.get(id).copied().unwrap_or(0);
        if *stored != actual {
            problems.push(format!("album {id}: photo_count {stored}, rows {actual}"));
        }
        if *status != AlbumStatus::Published {
            continue;
        }
        let mut cur = *category_id;
        let mut steps = 0;
        while let Some(c) = cur {
            if let Some(e) = expected.get_mut(&c) {
                e.0 += 1;
                e.1 += actual;
            }
            cur = parents.get(&c).copied().flatten();
            steps += 1;
            if steps > MAX_DEPTH {
                problems.push(format!("category {c}: cycle in the tree"));
                break;
            }
        }
    }
    for c in &cats {
        let (a, p) = expected.get(&c.id).copied().unwrap_or((0, 0));
        if c.album_count != a || c.photo_count != p {
            problems.push(format!(
                "category {} ({}): stored {}/{} albums/photos, actual {a}/{p}",
                c.id, c.path, c.album_count, c.photo_count
            ));
        }
    }
    Ok(problems)
}

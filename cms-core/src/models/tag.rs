//! Flat tags on posts (`/tag/{slug}`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::tags;
use crate::slug;

/// A stored tag.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = tags)]
pub struct Tag {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// The tag whose slug matches this name's, created if missing ("Joe Locke" and "joe locke"
/// are one tag).
pub fn find_or_create(conn: &mut DbConn, raw: &str) -> Result<Tag> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid("tags", "a tag must not be empty"));
    }
    // A name of nothing but punctuation has no slug of its own ("untitled"): it would merge
    // with every other such tag.
    if !name.chars().any(char::is_alphanumeric) {
        return Err(Error::invalid("tags", "a tag needs a letter or a digit"));
    }
    // Counted as given, as the API description's maxLength counts.
    if raw.chars().count() > 100 {
        return Err(Error::invalid(
            "tags",
            "a tag must be at most 100 characters",
        ));
    }
    let slug = slug::slugify(name);
    if let Some(t) = find_by_slug(conn, &slug)? {
        return Ok(t);
    }
    Ok(diesel::insert_into(tags::table)
        .values((
            tags::slug.eq(&slug),
            tags::name.eq(name),
            tags::created_at.eq(now()),
        ))
        .returning(tags::all_columns)
        .get_result::<Tag>(conn)?)
}

/// A tag by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Tag>> {
    tags::table
        .find(id)
        .select(Tag::as_select())
        .first(conn)
        .optional()
}

/// A tag by slug.
pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Tag>> {
    tags::table
        .filter(tags::slug.eq(slug))
        .select(Tag::as_select())
        .first(conn)
        .optional()
}

/// Every tag, by name.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Tag>> {
    tags::table
        .order(tags::name.asc())
        .select(Tag::as_select())
        .load(conn)
}

/// Deletes a tag (its posts lose it).
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    if diesel::delete(tags::table.find(id)).execute(conn)? == 0 {
        return Err(Error::NotFound("tag"));
    }
    Ok(())
}

//! Post categories: a tree with site-wide unique slugs (`/category/{slug}`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{categories, post_categories};
use crate::slug;

/// A stored post category.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = categories)]
pub struct Category {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn slug_taken(conn: &mut DbConn, s: &str) -> Result<bool> {
    let n: i64 = categories::table
        .filter(categories::slug.eq(s))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Creates a category; the slug is `slug` if given (it must be free) or made from the name.
pub fn create(
    conn: &mut DbConn,
    parent_id: Option<i64>,
    name: &str,
    slug: Option<&str>,
    description: &str,
) -> Result<Category> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if let Some(p) = parent_id
        && find(conn, p)?.is_none()
    {
        return Err(Error::missing(
            "parent_id",
            format!("there is no category {p}"),
        ));
    }
    let slug = match slug.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            slug::validate(s)?;
            if slug_taken(conn, s)? {
                return Err(Error::taken("slug", format!("the slug '{s}' is taken")));
            }
            s.to_string()
        }
        None => slug::unique(&slug::slugify(name), |s| slug_taken(conn, s))?,
    };
    let t = now();
    let row = diesel::insert_into(categories::table)
        .values((
            categories::parent_id.eq(parent_id),
            categories::slug.eq(&slug),
            categories::name.eq(name),
            categories::description.eq(description.trim()),
            categories::created_at.eq(t),
            categories::updated_at.eq(t),
        ))
        .returning(categories::all_columns)
        .get_result::<Category>(conn)?;
    Ok(row)
}

/// A category by its name.
pub fn find_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<Category>> {
    categories::table
        .filter(categories::name.eq(name.trim()))
        .select(Category::as_select())
        .first(conn)
        .optional()
}

/// A category by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Category>> {
    categories::table
        .find(id)
        .select(Category::as_select())
        .first(conn)
        .optional()
}

/// A category by slug.
pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Category>> {
    categories::table
        .filter(categories::slug.eq(slug))
        .select(Category::as_select())
        .first(conn)
        .optional()
}

/// Every category, by position and name.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Category>> {
    categories::table
        .order((categories::position.asc(), categories::name.asc()))
        .select(Category::as_select())
        .load(conn)
}

/// The ids of a category and all categories beneath it (a category page lists its subtree).
pub fn subtree_ids(conn: &mut DbConn, id: i64) -> QueryResult<Vec<i64>> {
    let all: Vec<(i64, Option<i64>)> = categories::table
        .select((categories::id, categories::parent_id))
        .load(conn)?;
    let mut out = vec![id];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(all.iter().filter(|(_, p)| *p == Some(cur)).map(|(c, _)| *c));
        i += 1;
        if out.len() > all.len() {
            break;
        }
    }
    Ok(out)
}

/// Renames a category (its slug stays).
pub fn update(conn: &mut DbConn, id: i64, name: &str, description: &str) -> Result<()> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    let n = diesel::update(categories::table.find(id))
        .set((
            categories::name.eq(name),
            categories::description.eq(description.trim()),
            categories::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("category"));
    }
    Ok(())
}

/// Deletes a category without subcategories; its posts simply lose it.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    let children: i64 = categories::table
        .filter(categories::parent_id.eq(id))
        .count()
        .get_result(conn)?;
    if children > 0 {
        return Err(Error::Conflict(
            "the category has subcategories: move or delete them first".into(),
        ));
    }
    diesel::delete(post_categories::table.filter(post_categories::category_id.eq(id)))
        .execute(conn)?;
    let n = diesel::delete(categories::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("category"));
    }
    Ok(())
}

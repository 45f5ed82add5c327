//! Writing post categories and tags. Tags are made by the posts that carry them
//! (`post::set_tags`, inside a post's write); deleting one is a change of its own.

use super::{Audit, finish};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::models::audit::Actor;
use crate::models::category::{self, Category};
use crate::models::change::{EventKind, NewEvent};
use crate::models::tag;

fn category_event(kind: EventKind, c: &Category) -> NewEvent {
    NewEvent::new(
        kind,
        "category",
        c.id,
        serde_json::json!({
            "name": c.name,
            "slug": c.slug,
            "path": format!("/category/{}", c.slug),
            "parent_id": c.parent_id,
        }),
    )
}

fn category_write(
    conn: &mut DbConn,
    actor: &Actor,
    kind: EventKind,
    c: &Category,
    action: &'static str,
) -> Result<()> {
    finish(
        conn,
        actor,
        &[category_event(kind, c)],
        Some(Audit::of(action, ("category", c.id), c.name.clone())),
    )
}

/// Creates a category; its slug is `slug` if given (it must be free) or made from the name.
pub fn create_category(
    conn: &mut DbConn,
    actor: &Actor,
    parent_id: Option<i64>,
    name: &str,
    slug: Option<&str>,
    description: &str,
) -> Result<Category> {
    let c = category::create(conn, parent_id, name, slug, description)?;
    category_write(
        conn,
        actor,
        EventKind::CategoryCreated,
        &c,
        "category.create",
    )?;
    Ok(c)
}

/// The top-level category with this name, created if missing (demo content, imports).
pub fn ensure_category(conn: &mut DbConn, actor: &Actor, name: &str) -> Result<Category> {
    match category::find_by_name(conn, name)? {
        Some(c) => Ok(c),
        None => create_category(conn, actor, None, name, None, ""),
    }
}

/// Renames a category (its slug stays).
pub fn update_category(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    name: &str,
    description: &str,
) -> Result<Category> {
    category::update(conn, id, name, description)?;
    let c = category::find(conn, id)?.ok_or(Error::NotFound("category"))?;
    category_write(
        conn,
        actor,
        EventKind::CategoryUpdated,
        &c,
        "category.update",
    )?;
    Ok(c)
}

/// Deletes a category without subcategories; its posts lose it.
pub fn delete_category(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<Category> {
    let c = category::find(conn, id)?.ok_or(Error::NotFound("category"))?;
    category::delete(conn, id)?;
    category_write(
        conn,
        actor,
        EventKind::CategoryDeleted,
        &c,
        "category.delete",
    )?;
    Ok(c)
}

/// Deletes a tag; its posts lose it.
pub fn delete_tag(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<()> {
    let t = tag::find(conn, id)?.ok_or(Error::NotFound("tag"))?;
    tag::delete(conn, id)?;
    finish(
        conn,
        actor,
        &[NewEvent::new(
            EventKind::TagDeleted,
            "tag",
            id,
            serde_json::json!({
                "name": t.name,
                "slug": t.slug,
                "path": format!("/tag/{}", t.slug),
            }),
        )],
        Some(Audit::of("tag.delete", ("tag", id), t.name.clone())),
    )
}

/// The tag whose slug matches this name's, created if missing (the API's `POST /tags`; an
/// unused tag shows nowhere, so its creation is no change readers see).
pub fn create_tag(conn: &mut DbConn, actor: &Actor, name: &str) -> Result<tag::Tag> {
    let t = tag::find_or_create(conn, name)?;
    finish(
        conn,
        actor,
        &[],
        Some(Audit::of("tag.create", ("tag", t.id), t.name.clone())),
    )?;
    Ok(t)
}

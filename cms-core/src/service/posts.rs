//! Writing posts: the model's write, then (`after`) search, the publish schedule, the update
//! email, the content version, the change event and the audit entry.

use chrono::NaiveDateTime;

use super::{Audit, finish, visibility_event};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::models::audit::Actor;
use crate::models::change::{EventKind, NewEvent};
use crate::models::post::{self, Post, PostInput, PostStatus};
use crate::{notify, publishing, search};

const KINDS: [EventKind; 4] = [
    EventKind::PostPublished,
    EventKind::PostUpdated,
    EventKind::PostUnpublished,
    EventKind::PostDeleted,
];

fn visible(p: &Post) -> bool {
    p.status == PostStatus::Published
}

/// What an event says of a post: enough for a bot or a mirror without a second request.
fn payload(p: &Post) -> serde_json::Value {
    serde_json::json!({
        "title": p.title,
        "slug": p.slug,
        "kind": p.kind.as_str(),
        "path": format!("/posts/{}", p.slug),
        "published_at": p.published_at.map(crate::api::views::iso),
    })
}

/// Everything that follows a write of post `old` → `new` (`None`: deleted).
fn after(
    conn: &mut DbConn,
    actor: &Actor,
    old: Option<&Post>,
    new: Option<&Post>,
    audit: Audit<'_>,
) -> Result<()> {
    let Some(subject) = new.or(old) else {
        return Ok(());
    };
    match new {
        Some(p) => {
            search::sync_post(conn, p.id)?;
            publishing::sync_schedule(conn, p)?;
            if visible(p) && p.notify_subscribers && !actor.importing {
                notify::schedule(conn, &notify::Item::Post(p.id))?;
            }
        }
        None => search::remove(conn, search::Kind::Post, &[subject.id])?,
    }
    let kind = visibility_event(old.is_some_and(visible), new.map(visible), KINDS);
    let events: Vec<NewEvent> = kind
        .map(|k| NewEvent::new(k, "post", subject.id, payload(subject)))
        .into_iter()
        .collect();
    finish(conn, actor, &events, Some(audit))
}

/// Creates a post (any status).
pub fn create(conn: &mut DbConn, actor: &Actor, input: &PostInput) -> Result<Post> {
    let p = post::create(conn, input)?;
    after(
        conn,
        actor,
        None,
        Some(&p),
        Audit::of("post.create", ("post", p.id), p.title.clone()),
    )?;
    Ok(p)
}

/// Replaces a post's fields (see `post::update`); `editor_id` is recorded on the revision.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    input: &PostInput,
    editor_id: Option<i64>,
) -> Result<Post> {
    let old = post::find(conn, id)?.ok_or(Error::NotFound("post"))?;
    let p = post::update(conn, id, input, editor_id)?;
    after(
        conn,
        actor,
        Some(&old),
        Some(&p),
        Audit::of("post.update", ("post", id), p.status.as_str()),
    )?;
    Ok(p)
}

/// Publishes a post now (it keeps its first publication date if it had one).
pub fn publish(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<Post> {
    set_status(conn, actor, id, PostStatus::Published)
}

/// Sets a post's status without touching its content (publish, unpublish, archive).
pub fn set_status(conn: &mut DbConn, actor: &Actor, id: i64, status: PostStatus) -> Result<Post> {
    let old = post::find(conn, id)?.ok_or(Error::NotFound("post"))?;
    let p = post::set_status(conn, id, status)?;
    after(
        conn,
        actor,
        Some(&old),
        Some(&p),
        Audit::of("post.status", ("post", id), status.as_str()),
    )?;
    Ok(p)
}

/// Publishes a post that is still scheduled and due at `at` (the scheduler); `None` when it
/// is not (published already, rescheduled, deleted), so a retry publishes nothing twice.
pub fn publish_if_due(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    at: NaiveDateTime,
) -> Result<Option<Post>> {
    let Some(old) = post::find(conn, id)? else {
        return Ok(None);
    };
    let Some(p) = post::publish_if_due(conn, &old, at)? else {
        return Ok(None);
    };
    after(
        conn,
        actor,
        Some(&old),
        Some(&p),
        Audit::of("post.publish", ("post", id), "on schedule"),
    )?;
    Ok(Some(p))
}

/// Deletes a post with its revisions, links and redirects.
pub fn delete(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<Post> {
    let old = post::find(conn, id)?.ok_or(Error::NotFound("post"))?;
    post::delete(conn, id)?;
    after(
        conn,
        actor,
        Some(&old),
        None,
        Audit::of("post.delete", ("post", id), old.title.clone()),
    )?;
    Ok(old)
}

/// Puts a revision's title, body and excerpt back, as a new revision.
pub fn restore_revision(
    conn: &mut DbConn,
    actor: &Actor,
    post_id: i64,
    revision_id: i64,
    editor_id: Option<i64>,
) -> Result<Post> {
    let old = post::find(conn, post_id)?.ok_or(Error::NotFound("post"))?;
    let p = post::restore_revision(conn, post_id, revision_id, editor_id)?;
    after(
        conn,
        actor,
        Some(&old),
        Some(&p),
        Audit::of(
            "post.restore",
            ("post", post_id),
            format!("revision {revision_id}"),
        ),
    )?;
    Ok(p)
}

/// Replaces a post's body with the same text whose links point at new addresses (a WordPress
/// import's last step): no revision, an update event for a published post.
pub fn relink(conn: &mut DbConn, actor: &Actor, id: i64, markdown: &str) -> Result<Post> {
    rewrite(
        conn,
        actor,
        id,
        |c| post::set_body(c, id, markdown),
        Audit::of("post.relink", ("post", id), "links to the new addresses"),
    )
}

/// Sets (or clears) a post's featured photo.
pub fn set_featured_photo(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    photo_id: Option<i64>,
) -> Result<Post> {
    rewrite(
        conn,
        actor,
        id,
        |c| post::set_featured_photo(c, id, photo_id),
        Audit::of(
            "post.featured",
            ("post", id),
            photo_id.map_or_else(|| "none".into(), |p| format!("photo {p}")),
        ),
    )
}

/// Post `id` changed by `write` (a model's write of one of its fields), then what follows.
fn rewrite(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    write: impl FnOnce(&mut DbConn) -> Result<()>,
    audit: Audit<'_>,
) -> Result<Post> {
    let old = post::find(conn, id)?.ok_or(Error::NotFound("post"))?;
    write(conn)?;
    let p = post::find(conn, id)?.ok_or(Error::NotFound("post"))?;
    after(conn, actor, Some(&old), Some(&p), audit)?;
    Ok(p)
}

//! Writing the video vault: the model's write, then search, the update email, the content
//! version, the change event and the audit entry.

use super::{Audit, finish, visibility_event};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::models::audit::Actor;
use crate::models::change::{EventKind, NewEvent};
use crate::models::video::{self, Video, VideoInput, VideoStatus};
use crate::{notify, search};

const KINDS: [EventKind; 4] = [
    EventKind::VideoPublished,
    EventKind::VideoUpdated,
    EventKind::VideoUnpublished,
    EventKind::VideoDeleted,
];

fn visible(v: &Video) -> bool {
    v.status == VideoStatus::Published
}

fn payload(v: &Video) -> serde_json::Value {
    serde_json::json!({
        "title": v.title,
        "slug": v.slug,
        "path": format!("/videos/{}", v.slug),
        "published_at": v.published_at.map(crate::api::views::iso),
    })
}

fn after(
    conn: &mut DbConn,
    actor: &Actor,
    old: Option<&Video>,
    new: Option<&Video>,
    audit: Audit<'_>,
) -> Result<()> {
    let Some(subject) = new.or(old) else {
        return Ok(());
    };
    match new {
        Some(v) => {
            search::sync_video(conn, v.id)?;
            if visible(v) && !actor.importing {
                notify::schedule(conn, &notify::Item::Video(v.id))?;
            }
        }
        None => search::remove(conn, search::Kind::Video, &[subject.id])?,
    }
    let kind = visibility_event(old.is_some_and(visible), new.map(visible), KINDS);
    let events: Vec<NewEvent> = kind
        .map(|k| NewEvent::new(k, "video", subject.id, payload(subject)))
        .into_iter()
        .collect();
    finish(conn, actor, &events, Some(audit))
}

/// Creates an entry.
pub fn create(conn: &mut DbConn, actor: &Actor, input: &VideoInput) -> Result<Video> {
    let v = video::create(conn, input)?;
    after(
        conn,
        actor,
        None,
        Some(&v),
        Audit::of("video.create", ("video", v.id), v.title.clone()),
    )?;
    Ok(v)
}

/// Replaces an entry's fields.
pub fn update(conn: &mut DbConn, actor: &Actor, id: i64, input: &VideoInput) -> Result<Video> {
    let old = video::find(conn, id)?.ok_or(Error::NotFound("video"))?;
    let v = video::update(conn, id, input)?;
    after(
        conn,
        actor,
        Some(&old),
        Some(&v),
        Audit::of("video.update", ("video", id), v.title.clone()),
    )?;
    Ok(v)
}

/// Deletes an entry; returns it (its files are the caller's to remove after the commit).
pub fn delete(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<Video> {
    let old = video::find(conn, id)?.ok_or(Error::NotFound("video"))?;
    video::delete(conn, id)?;
    after(
        conn,
        actor,
        Some(&old),
        None,
        Audit::of("video.delete", ("video", id), old.title.clone()),
    )?;
    Ok(old)
}

//! Writing the gallery: albums, their photos and the category tree. The models keep the rows
//! and the counts right; here follow search, the update email, the content version, the change
//! events and the audit entries. Photos of a draft album are nobody's business but the
//! editors': adding, moving or removing them appends nothing until readers can see them.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::{Audit, finish, visibility_event};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::models::album::{self, Album, AlbumStatus, NewAlbum};
use crate::models::audit::Actor;
use crate::models::change::{EventKind, NewEvent};
use crate::models::gallery_category::{self, GalleryCategory};
use crate::models::photo::{self, AddReport, NewPhoto, Photo};
use crate::schema::photos;
use crate::{notify, search};

const ALBUM_KINDS: [EventKind; 4] = [
    EventKind::AlbumPublished,
    EventKind::AlbumUpdated,
    EventKind::AlbumUnpublished,
    EventKind::AlbumDeleted,
];

fn visible(a: &Album) -> bool {
    a.status == AlbumStatus::Published
}

fn album_payload(a: &Album) -> serde_json::Value {
    serde_json::json!({
        "title": a.title,
        "slug": a.slug,
        "path": format!("/albums/{}", a.slug),
        "category_id": a.category_id,
        "photo_count": a.photo_count,
    })
}

fn album_event(kind: EventKind, a: &Album) -> NewEvent {
    NewEvent::new(kind, "album", a.id, album_payload(a))
}

fn find_album(conn: &mut DbConn, id: i64) -> Result<Album> {
    album::find(conn, id)?.ok_or(Error::NotFound("album"))
}

/// The event for an album's write, from its state before and after.
fn album_change(old: Option<&Album>, new: Option<&Album>) -> Option<NewEvent> {
    let subject = new.or(old)?;
    visibility_event(old.is_some_and(visible), new.map(visible), ALBUM_KINDS)
        .map(|k| album_event(k, subject))
}

/// Creates an album (a draft, or published at once).
pub fn create_album(conn: &mut DbConn, actor: &Actor, new: &NewAlbum<'_>) -> Result<Album> {
    let a = album::create(conn, new)?;
    if visible(&a) {
        search::sync_album(conn, a.id)?;
        if !actor.importing {
            notify::schedule(conn, &notify::Item::Albums(vec![a.id]))?;
        }
    }
    let events: Vec<NewEvent> = album_change(None, Some(&a)).into_iter().collect();
    finish(
        conn,
        actor,
        &events,
        Some(Audit::of("album.create", ("album", a.id), a.title.clone())),
    )?;
    Ok(a)
}

/// What an edit of an album changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AlbumEdit<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub credit: Option<&'a str>,
    /// The category to move it to (`Some(None)`: the top).
    pub category_id: Option<Option<i64>>,
    /// The cover (`Some(None)`: none); it must be one of the album's photos.
    pub cover_photo_id: Option<Option<i64>>,
    pub status: Option<AlbumStatus>,
}

/// Edits an album — details, category, cover, status, any of them — as one change: one event
/// (`album.published` or `album.unpublished` when readers gain or lose it, else `album.moved`
/// when it changed category, else `album.updated`), one audit entry. Publishing tells the
/// gallery's subscribers (once per album, ever).
pub fn edit_album(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    edit: &AlbumEdit<'_>,
) -> Result<Album> {
    let old = find_album(conn, id)?;
    if edit.title.is_some() || edit.description.is_some() || edit.credit.is_some() {
        album::update_details(
            conn,
            id,
            edit.title.unwrap_or(&old.title),
            edit.description.unwrap_or(&old.description),
            edit.credit.unwrap_or(&old.credit),
        )?;
    }
    if let Some(c) = edit.category_id.filter(|c| *c != old.category_id) {
        album::move_to(conn, id, c)?;
    }
    if let Some(cover) = edit.cover_photo_id {
        album::set_cover(conn, id, cover)?;
    }
    if let Some(status) = edit.status.filter(|s| *s != old.status) {
        album::set_status(conn, id, status)?;
    }
    let a = find_album(conn, id)?;
    search::sync_album(conn, id)?;
    if visible(&a) && !visible(&old) && !actor.importing {
        notify::schedule(conn, &notify::Item::Albums(vec![id]))?;
    }
    let event = if visible(&a) && visible(&old) && a.category_id != old.category_id {
        let mut e = album_event(EventKind::AlbumMoved, &a);
        e.payload["from_category_id"] = old.category_id.into();
        Some(e)
    } else {
        album_change(Some(&old), Some(&a))
    };
    let action = match (visible(&old), visible(&a)) {
        (false, true) => "album.publish",
        (true, false) => "album.unpublish",
        _ => "album.update",
    };
    finish(
        conn,
        actor,
        &event.into_iter().collect::<Vec<_>>(),
        Some(Audit::of(action, ("album", id), a.title.clone())),
    )?;
    Ok(a)
}

/// Publishes or unpublishes one album (see [`edit_album`]).
pub fn set_album_status(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    status: AlbumStatus,
) -> Result<Album> {
    edit_album(
        conn,
        actor,
        id,
        &AlbumEdit {
            status: Some(status),
            ..AlbumEdit::default()
        },
    )
}

/// Changes an album's title, description and credit (see [`edit_album`]).
pub fn update_album(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    title: &str,
    description: &str,
    credit: &str,
) -> Result<Album> {
    let edit = AlbumEdit {
        title: Some(title),
        description: Some(description),
        credit: Some(credit),
        ..AlbumEdit::default()
    };
    edit_album(conn, actor, id, &edit)
}

/// Moves an album to another category, or the top (see [`edit_album`]).
pub fn move_album(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    category_id: Option<i64>,
) -> Result<Album> {
    let edit = AlbumEdit {
        category_id: Some(category_id),
        ..AlbumEdit::default()
    };
    edit_album(conn, actor, id, &edit)
}

/// Sets or clears an album's cover (see [`edit_album`]).
pub fn set_cover(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    photo_id: Option<i64>,
) -> Result<Album> {
    let edit = AlbumEdit {
        cover_photo_id: Some(photo_id),
        ..AlbumEdit::default()
    };
    edit_album(conn, actor, id, &edit)
}

/// Publishes albums together (an import's): one update email about all of them, one event
/// per album. Returns the albums that were not published before.
pub fn publish_albums(conn: &mut DbConn, actor: &Actor, ids: &[i64]) -> Result<Vec<i64>> {
    let mut newly = Vec::new();
    let mut events = Vec::new();
    for &id in ids {
        let old = find_album(conn, id)?;
        if visible(&old) {
            continue;
        }
        let a = album::set_status(conn, id, AlbumStatus::Published)?;
        search::sync_album(conn, id)?;
        events.extend(album_change(Some(&old), Some(&a)));
        newly.push(a);
    }
    if newly.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = newly.iter().map(|a| a.id).collect();
    if !actor.importing {
        notify::schedule(conn, &notify::Item::Albums(ids.clone()))?;
    }
    finish(conn, actor, &events, None)?;
    for a in &newly {
        super::audit(
            conn,
            actor,
            Audit::of("album.publish", ("album", a.id), a.title.clone()),
        )?;
    }
    Ok(ids)
}

/// What follows albums written published, with their photos, in bulk by `actor` (an
/// importing one: `cms generate`, whose million-photo archives are written in 2,000-row
/// INSERTs, not album by album): their search documents and one event each (quiet).
pub fn bulk_loaded_albums(conn: &mut DbConn, actor: &Actor, ids: &[i64]) -> Result<()> {
    debug_assert!(
        actor.importing,
        "a bulk load emails nobody and audits its run"
    );
    let mut events = Vec::with_capacity(ids.len());
    for &id in ids {
        search::sync_album(conn, id)?;
        let a = find_album(conn, id)?;
        events.extend(album_change(None, Some(&a)));
    }
    finish(conn, actor, &events, None)
}

/// Deletes an album and its photos' rows. Returns the photos, whose files the caller removes
/// after the commit if no other photo uses them (`photo::unused_files`).
pub fn delete_album(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<Vec<Photo>> {
    let old = find_album(conn, id)?;
    let gone = album::delete(conn, id)?;
    let photo_ids: Vec<i64> = gone.iter().map(|p| p.id).collect();
    search::remove(conn, search::Kind::Photo, &photo_ids)?;
    search::remove(conn, search::Kind::Album, &[id])?;
    let events: Vec<NewEvent> = album_change(Some(&old), None).into_iter().collect();
    finish(
        conn,
        actor,
        &events,
        Some(Audit::of("album.delete", ("album", id), old.title.clone())),
    )?;
    Ok(gone)
}

/// Adds photos (their files already stored) at the end of an album, skipping content it has.
pub fn add_photos(
    conn: &mut DbConn,
    actor: &Actor,
    album_id: i64,
    new: &[NewPhoto],
) -> Result<AddReport> {
    let a = find_album(conn, album_id)?;
    let report = photo::add_to_album(conn, album_id, new)?;
    if report.inserted.is_empty() {
        return Ok(report);
    }
    let mut events = Vec::new();
    if visible(&a) {
        // Photos are found by their own words only; a draft album's are indexed when it is
        // published.
        if new
            .iter()
            .any(|p| !(p.title.is_empty() && p.caption.is_empty() && p.credit.is_empty()))
        {
            search::sync_photos(conn, &report.inserted)?;
        }
        let a = find_album(conn, album_id)?;
        let mut e = album_event(EventKind::PhotosAdded, &a);
        e.payload["count"] = report.inserted.len().into();
        e.payload["photo_ids"] = report.inserted.clone().into();
        events.push(e);
    }
    let detail = match new {
        [one] => one.original_filename.clone(),
        _ => format!("{} photos", report.inserted.len()),
    };
    finish(
        conn,
        actor,
        &events,
        Some(Audit::of("photos.add", ("album", album_id), detail)),
    )?;
    Ok(report)
}

/// Changes a photo's caption, credit and source.
pub fn update_photo(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    caption: &str,
    credit: &str,
    source: &str,
) -> Result<()> {
    photo::update_meta(conn, id, caption, credit, source)?;
    search::sync_photos(conn, &[id])?;
    let p = photo::find(conn, id)?.ok_or(Error::NotFound("photo"))?;
    let a = find_album(conn, p.album_id)?;
    let events: Vec<NewEvent> = visible(&a)
        .then(|| {
            NewEvent::new(
                EventKind::PhotoUpdated,
                "photo",
                id,
                serde_json::json!({
                    "album_id": a.id,
                    "path": format!("/photos/{id}"),
                    "caption": p.caption,
                }),
            )
        })
        .into_iter()
        .collect();
    finish(
        conn,
        actor,
        &events,
        Some(Audit::of("photo.update", ("photo", id), "")),
    )
}

/// New caption, credit and source for several photos of album `album_id` at once (the
/// admin's batch edit, `what` naming it for the audit log): one `photo.updated` event per
/// photo of a published album, as [`update_photo`] writes, but one search update, one content
/// version and one audit entry for the batch.
pub fn update_photos(
    conn: &mut DbConn,
    actor: &Actor,
    album_id: i64,
    what: &str,
    changes: &[PhotoMeta<'_>],
) -> Result<()> {
    let audit = Audit::of(
        "photos.update",
        ("album", album_id),
        format!("{what} of {} photos", changes.len()),
    );
    if changes.is_empty() {
        return Ok(());
    }
    let mut events = Vec::new();
    let mut albums: Vec<Album> = Vec::new();
    for c in changes {
        photo::update_meta(conn, c.id, c.caption, c.credit, c.source)?;
        let p = photo::find(conn, c.id)?.ok_or(Error::NotFound("photo"))?;
        let a = match albums.iter().find(|a| a.id == p.album_id) {
            Some(a) => a.clone(),
            None => {
                let a = find_album(conn, p.album_id)?;
                albums.push(a.clone());
                a
            }
        };
        if visible(&a) {
            events.push(NewEvent::new(
                EventKind::PhotoUpdated,
                "photo",
                p.id,
                serde_json::json!({
                    "album_id": a.id,
                    "path": format!("/photos/{}", p.id),
                    "caption": p.caption,
                }),
            ));
        }
    }
    let ids: Vec<i64> = changes.iter().map(|c| c.id).collect();
    search::sync_photos(conn, &ids)?;
    finish(conn, actor, &events, Some(audit))
}

/// A photo's new caption, credit and source.
#[derive(Debug, Clone, Copy)]
pub struct PhotoMeta<'a> {
    pub id: i64,
    pub caption: &'a str,
    pub credit: &'a str,
    pub source: &'a str,
}

/// The published albums holding any of `ids`, with how many of them each holds.
fn published_albums_of(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<(Album, Vec<i64>)>> {
    let rows: Vec<(i64, i64)> = photos::table
        .filter(photos::id.eq_any(ids))
        .order(photos::id.asc())
        .select((photos::album_id, photos::id))
        .load(conn)?;
    let mut per: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (album_id, id) in rows {
        per.entry(album_id).or_default().push(id);
    }
    let mut out = Vec::new();
    for (album_id, ids) in per {
        let a = find_album(conn, album_id)?;
        if visible(&a) {
            out.push((a, ids));
        }
    }
    Ok(out)
}

fn photos_event(kind: EventKind, a: &Album, ids: &[i64]) -> NewEvent {
    let mut e = album_event(kind, a);
    e.payload["count"] = ids.len().into();
    e.payload["photo_ids"] = ids.to_vec().into();
    e
}

/// Deletes photos; returns their rows so the caller can remove files no other photo uses
/// (after the transaction commits, never before).
pub fn delete_photos(conn: &mut DbConn, actor: &Actor, ids: &[i64]) -> Result<Vec<Photo>> {
    let from = published_albums_of(conn, ids)?;
    let gone = photo::delete(conn, ids)?;
    if gone.is_empty() {
        return Ok(gone);
    }
    search::remove(conn, search::Kind::Photo, ids)?;
    let mut events = Vec::new();
    for (old, ids) in &from {
        let a = find_album(conn, old.id)?;
        events.push(photos_event(EventKind::PhotosRemoved, &a, ids));
    }
    let target = match gone.as_slice() {
        [one] => ("photo", one.id),
        _ => ("album", gone[0].album_id),
    };
    finish(
        conn,
        actor,
        &events,
        Some(Audit::of(
            "photos.delete",
            target,
            format!("{} photos", gone.len()),
        )),
    )?;
    Ok(gone)
}

/// Moves photos to the end of another album (refused if it holds the same image as any).
/// Readers see them leave a published album (`photos.moved`, the item the album left) and
/// arrive in one (`photos.added`).
pub fn move_photos(conn: &mut DbConn, actor: &Actor, ids: &[i64], target_id: i64) -> Result<usize> {
    let from = published_albums_of(conn, ids)?;
    let n = photo::move_to_album(conn, ids, target_id)?;
    if n == 0 {
        return Ok(0);
    }
    let moved: Vec<i64> = photos::table
        .filter(photos::id.eq_any(ids))
        .filter(photos::album_id.eq(target_id))
        .order(photos::id.asc())
        .select(photos::id)
        .load(conn)?;
    search::sync_photos(conn, &moved)?;
    let target = find_album(conn, target_id)?;
    let mut events = Vec::new();
    for (old, ids) in &from {
        if old.id == target_id {
            continue;
        }
        let a = find_album(conn, old.id)?;
        let mut e = photos_event(EventKind::PhotosMoved, &a, ids);
        e.payload["to_album_id"] = target_id.into();
        events.push(e);
    }
    if visible(&target) {
        events.push(photos_event(EventKind::PhotosAdded, &target, &moved));
    }
    finish(
        conn,
        actor,
        &events,
        Some(Audit::of(
            "photos.move",
            ("album", target_id),
            format!("{n} photos"),
        )),
    )?;
    Ok(n)
}

/// Sets an album's photo order (ids of other albums are ignored).
pub fn reorder_photos(conn: &mut DbConn, actor: &Actor, album_id: i64, ids: &[i64]) -> Result<()> {
    let a = find_album(conn, album_id)?;
    photo::reorder(conn, album_id, ids)?;
    let events: Vec<NewEvent> = visible(&a)
        .then(|| {
            let mut e = album_event(EventKind::AlbumUpdated, &a);
            e.payload["reordered"] = true.into();
            e
        })
        .into_iter()
        .collect();
    finish(
        conn,
        actor,
        &events,
        Some(Audit::of("photos.reorder", ("album", album_id), "")),
    )
}

/// Sorts an album's photos by file name (natural order).
pub fn sort_photos_by_name(conn: &mut DbConn, actor: &Actor, album_id: i64) -> Result<()> {
    let a = find_album(conn, album_id)?;
    photo::sort_by_name(conn, album_id)?;
    let events: Vec<NewEvent> = visible(&a)
        .then(|| {
            let mut e = album_event(EventKind::AlbumUpdated, &a);
            e.payload["reordered"] = true.into();
            e
        })
        .into_iter()
        .collect();
    finish(
        conn,
        actor,
        &events,
        Some(Audit::of("photos.sort", ("album", album_id), "by name")),
    )
}

fn category_payload(c: &GalleryCategory) -> serde_json::Value {
    serde_json::json!({
        "name": c.name,
        "path": format!("/gallery/{}", c.path),
        "parent_id": c.parent_id,
    })
}

fn category_event(kind: EventKind, c: &GalleryCategory) -> NewEvent {
    NewEvent::new(kind, "gallery_category", c.id, category_payload(c))
}

fn find_category(conn: &mut DbConn, id: i64) -> Result<GalleryCategory> {
    gallery_category::find(conn, id)?.ok_or(Error::NotFound("gallery category"))
}

/// Creates a gallery category under `parent_id` (or at the top).
pub fn create_category(
    conn: &mut DbConn,
    actor: &Actor,
    parent_id: Option<i64>,
    name: &str,
    description: &str,
) -> Result<GalleryCategory> {
    let c = gallery_category::create(conn, parent_id, name, description)?;
    finish(
        conn,
        actor,
        &[category_event(EventKind::GalleryCategoryCreated, &c)],
        Some(Audit::of(
            "gallery_category.create",
            ("gallery_category", c.id),
            c.name.clone(),
        )),
    )?;
    Ok(c)
}

/// Finds or creates the chain of categories named `names` from the top; the id of the last
/// (imports map a folder path onto the tree this way).
pub fn ensure_path(conn: &mut DbConn, actor: &Actor, names: &[&str]) -> Result<Option<i64>> {
    let mut parent: Option<i64> = None;
    for name in names {
        let id = match gallery_category::find_child_by_name(conn, parent, name)? {
            Some(c) => c.id,
            None => create_category(conn, actor, parent, name, "")?.id,
        };
        parent = Some(id);
    }
    Ok(parent)
}

/// Renames a category and changes its description (its address stays).
pub fn update_category(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    name: &str,
    description: &str,
) -> Result<GalleryCategory> {
    gallery_category::update_details(conn, id, name, description)?;
    search::sync_albums_under(conn, id)?;
    let c = find_category(conn, id)?;
    finish(
        conn,
        actor,
        &[category_event(EventKind::GalleryCategoryUpdated, &c)],
        Some(Audit::of(
            "gallery_category.update",
            ("gallery_category", id),
            c.name.clone(),
        )),
    )?;
    Ok(c)
}

/// Moves a category, with everything under it, to a new parent or to the top.
pub fn move_category(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    new_parent: Option<i64>,
) -> Result<GalleryCategory> {
    let old = find_category(conn, id)?;
    if old.parent_id == new_parent {
        return Ok(old);
    }
    gallery_category::move_to(conn, id, new_parent)?;
    search::sync_albums_under(conn, id)?;
    let c = find_category(conn, id)?;
    let mut e = category_event(EventKind::GalleryCategoryMoved, &c);
    e.payload["from_path"] = format!("/gallery/{}", old.path).into();
    finish(
        conn,
        actor,
        &[e],
        Some(Audit::of(
            "gallery_category.move",
            ("gallery_category", id),
            c.path.clone(),
        )),
    )?;
    Ok(c)
}

/// Sets the display order of one parent's children to the order of `ids`.
pub fn reorder_categories(conn: &mut DbConn, actor: &Actor, ids: &[i64]) -> Result<()> {
    let Some(&first) = ids.first() else {
        return Ok(());
    };
    let parent = find_category(conn, first)?.parent_id;
    gallery_category::reorder(conn, ids)?;
    let event = NewEvent::new(
        EventKind::GalleryCategoriesReordered,
        "gallery_category",
        parent.unwrap_or(0),
        serde_json::json!({ "parent_id": parent, "order": ids }),
    );
    finish(
        conn,
        actor,
        &[event],
        Some(Audit {
            action: "gallery_category.reorder",
            target: parent.map(|p| ("gallery_category", p)),
            detail: String::new(),
        }),
    )
}

/// Deletes an empty category.
pub fn delete_category(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<()> {
    let old = find_category(conn, id)?;
    gallery_category::delete(conn, id)?;
    finish(
        conn,
        actor,
        &[category_event(EventKind::GalleryCategoryDeleted, &old)],
        Some(Audit::of(
            "gallery_category.delete",
            ("gallery_category", id),
            old.name.clone(),
        )),
    )
}

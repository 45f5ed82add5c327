//! The public change feed (`GET /api/v1/changes?after=CURSOR`): the change stream as readers
//! may see it, oldest first, for mirrors, headless front-ends and bots that poll.
//!
//! Only changes readers could see are in the stream at all (the service layer appends nothing
//! for a draft). What was taken back is not repeated: an event followed, later in the stream,
//! by the removal of its item (unpublished or deleted) is listed without its data — a mirror
//! still learns that something happened to that item, then that it went, but a title
//! published by mistake and withdrawn a minute later is not kept on show.

use std::collections::HashSet;

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::views::{Urls, iso};
use crate::db::DbConn;
use crate::models::change::{self, ChangeEvent, EventKind};
use crate::schema::change_events;

/// The longest page of changes.
pub const MAX_LIMIT: u64 = 200;
/// A page's length when none is asked for.
pub const DEFAULT_LIMIT: u64 = 50;

/// The item a change is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeItem {
    /// `post`, `album`, `photo`, `video`, `category`, `tag` or `gallery_category`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: i64,
}

/// One change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeOut {
    /// The change's position in the stream: give it as `after` to read on from here.
    pub id: i64,
    /// What happened, e.g. `post.published`, `photos.added`, `album.deleted`.
    #[serde(rename = "type")]
    pub kind: String,
    pub item: ChangeItem,
    /// When it happened (UTC).
    pub at: String,
    /// True when the item left the site with this change (unpublished or deleted): mirrors
    /// remove it.
    pub removal: bool,
    /// What the change was about, as it was then: title, slug, `url`, and for photos their
    /// count and ids; for a removal only the address that went. Absent when the item was
    /// taken back by a later change.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

/// A page of changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeList {
    pub items: Vec<ChangeOut>,
    /// Where to read on from: the last change's id, or `after` when there was none (the
    /// newest change's id when `after` is beyond it, as after a site is restored from an
    /// older backup).
    pub next_cursor: String,
    /// More changes follow this page now.
    pub has_more: bool,
}

/// Items among `events` that a later event removed: (type, id, the removal's id).
fn later_removals(
    conn: &mut DbConn,
    events: &[ChangeEvent],
) -> QueryResult<Vec<(String, i64, i64)>> {
    let Some(first) = events.first().map(|e| e.id) else {
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e.item_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let removals: Vec<&str> = EventKind::ALL
        .iter()
        .filter(|k| k.is_removal())
        .map(|k| k.as_str())
        .collect();
    change_events::table
        .filter(change_events::id.gt(first))
        .filter(change_events::item_id.eq_any(ids))
        .filter(change_events::kind.eq_any(removals))
        .select((
            change_events::item_type,
            change_events::item_id,
            change_events::id,
        ))
        .load(conn)
}

/// The changes after `after`, at most `limit` of them.
pub fn change_list(
    conn: &mut DbConn,
    after: i64,
    limit: u64,
    urls: Urls<'_>,
) -> QueryResult<ChangeList> {
    let limit = limit.clamp(1, MAX_LIMIT) as i64;
    let mut events = change::after(conn, after, limit + 1)?;
    let has_more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    let removed = later_removals(conn, &events)?;
    let items: Vec<ChangeOut> = events
        .iter()
        .map(|e| {
            let kind = e.kind();
            let withdrawn = removed
                .iter()
                .any(|(t, id, at)| *t == e.item_type && *id == e.item_id && *at > e.id);
            let removal = kind.is_some_and(EventKind::is_removal);
            let data = (!withdrawn).then(|| {
                let mut data = e.payload_json();
                if removal && let Some(all) = data.as_object_mut() {
                    // What went is named by its address only, for mirrors to drop it.
                    all.retain(|k, _| k == "slug" || k == "path");
                }
                if let Some(path) = data.get("path").and_then(|p| p.as_str()) {
                    data["url"] = urls.abs(path).into();
                }
                data
            });
            ChangeOut {
                id: e.id,
                kind: e.kind.clone(),
                item: ChangeItem {
                    kind: e.item_type.clone(),
                    id: e.item_id,
                },
                at: iso(e.created_at),
                removal,
                data,
            }
        })
        .collect();
    let next_cursor = match items.last() {
        Some(e) => e.id,
        // A cursor beyond the newest change (a site restored from an older backup, a typed
        // number) would skip the changes to come until the ids caught up with it: read on
        // from the newest instead.
        None if after > 0 => after.min(change::last_id(conn)?),
        None => after,
    }
    .to_string();
    Ok(ChangeList {
        items,
        next_cursor,
        has_more,
    })
}

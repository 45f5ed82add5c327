//! The change stream: what readers can see changing, one row per change, in the order the
//! changes committed. Only the service layer (`crate::service`) appends to it, in the
//! transaction that makes the change; webhooks, the public change feed and update digests read
//! it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::schema::change_events;

macro_rules! event_kinds {
    ($($(#[$meta:meta])* $variant:ident = $text:literal),+ $(,)?) => {
        /// What happened. The text (`post.published`) is what the API, webhooks and the
        /// database carry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind { $($(#[$meta])* $variant),+ }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            /// The kind's name.
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for EventKind {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok(EventKind::$variant),)+
                    other => Err(format!("unknown event type '{other}'")),
                }
            }
        }
    };
}

event_kinds! {
    /// A post became visible to readers (published now, or on its schedule).
    PostPublished = "post.published",
    /// A published post changed.
    PostUpdated = "post.updated",
    /// A published post was taken back (draft, scheduled again, archived).
    PostUnpublished = "post.unpublished",
    /// A published post was deleted.
    PostDeleted = "post.deleted",
    /// An album became visible to readers.
    AlbumPublished = "album.published",
    /// A published album's title, description, credit, cover or photo order changed.
    AlbumUpdated = "album.updated",
    /// A published album moved to another gallery category.
    AlbumMoved = "album.moved",
    /// A published album was taken back to a draft.
    AlbumUnpublished = "album.unpublished",
    /// A published album was deleted.
    AlbumDeleted = "album.deleted",
    /// Photos were added to a published album (the item is the album).
    PhotosAdded = "photos.added",
    /// Photos of a published album were moved to another album (the item is the album left).
    PhotosMoved = "photos.moved",
    /// Photos were removed from a published album (the item is the album).
    PhotosRemoved = "photos.removed",
    /// A photo in a published album got a new caption, credit or source.
    PhotoUpdated = "photo.updated",
    /// A video became visible to readers.
    VideoPublished = "video.published",
    /// A published video changed.
    VideoUpdated = "video.updated",
    /// A published video was taken back to a draft.
    VideoUnpublished = "video.unpublished",
    /// A published video was deleted.
    VideoDeleted = "video.deleted",
    /// A post category was created, renamed or deleted.
    CategoryCreated = "category.created",
    CategoryUpdated = "category.updated",
    CategoryDeleted = "category.deleted",
    /// A tag was deleted (tags are created with the posts that carry them).
    TagDeleted = "tag.deleted",
    /// A gallery category was created, renamed, moved, reordered among its siblings or
    /// deleted.
    GalleryCategoryCreated = "gallery_category.created",
    GalleryCategoryUpdated = "gallery_category.updated",
    GalleryCategoryMoved = "gallery_category.moved",
    GalleryCategoriesReordered = "gallery_categories.reordered",
    GalleryCategoryDeleted = "gallery_category.deleted",
}

impl EventKind {
    /// Does this change take an item away from readers (mirrors remove it)?
    pub fn is_removal(self) -> bool {
        matches!(
            self,
            EventKind::PostUnpublished
                | EventKind::PostDeleted
                | EventKind::AlbumUnpublished
                | EventKind::AlbumDeleted
                | EventKind::VideoUnpublished
                | EventKind::VideoDeleted
                | EventKind::CategoryDeleted
                | EventKind::TagDeleted
                | EventKind::GalleryCategoryDeleted
        )
    }
}

impl serde::Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A change about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub item_type: &'static str,
    pub item_id: i64,
    /// A small JSON object: what a consumer needs without reading the item (its title, slug
    /// and address; for photos, how many and which).
    pub payload: serde_json::Value,
}

impl NewEvent {
    pub fn new(
        kind: EventKind,
        item_type: &'static str,
        item_id: i64,
        payload: serde_json::Value,
    ) -> Self {
        NewEvent {
            kind,
            item_type,
            item_id,
            payload,
        }
    }
}

/// A stored change.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = change_events)]
pub struct ChangeEvent {
    pub id: i64,
    pub kind: String,
    pub item_type: String,
    pub item_id: i64,
    pub actor: String,
    pub payload: String,
    /// Imported content: it was on the old site already, so it is not announced (digests and
    /// update emails leave it out), though mirrors and the change feed see it.
    pub quiet: bool,
    pub created_at: NaiveDateTime,
}

impl ChangeEvent {
    /// The kind, if this binary knows it.
    pub fn kind(&self) -> Option<EventKind> {
        self.kind.parse().ok()
    }

    /// The payload as JSON (an empty object if it does not parse).
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload)
            .unwrap_or_else(|_| serde_json::Value::Object(Default::default()))
    }
}

/// Appends `events` in order. Call it in the transaction that made the changes, after the
/// content version was bumped (the bump's row lock orders concurrent writers, so ids follow
/// commit order on PostgreSQL too).
pub fn append(conn: &mut DbConn, actor: &str, quiet: bool, events: &[NewEvent]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let t = now();
    let rows: Vec<_> = events
        .iter()
        .map(|e| {
            (
                change_events::kind.eq(e.kind.as_str()),
                change_events::item_type.eq(e.item_type),
                change_events::item_id.eq(e.item_id),
                change_events::actor.eq(actor),
                change_events::payload.eq(e.payload.to_string()),
                change_events::quiet.eq(quiet),
                change_events::created_at.eq(t),
            )
        })
        .collect();
    // 500 rows (3,500 values) per INSERT: under SQLite's limit of bound values however many
    // albums a bulk load writes at once.
    for chunk in rows.chunks(500) {
        crate::per_backend!(conn, |c| diesel::insert_into(change_events::table)
            .values(chunk.to_vec())
            .execute(c))?;
    }
    Ok(())
}

/// Up to `limit` events after the one with id `after`, oldest first.
pub fn after(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<ChangeEvent>> {
    change_events::table
        .filter(change_events::id.gt(after))
        .order(change_events::id.asc())
        .limit(limit)
        .select(ChangeEvent::as_select())
        .load(conn)
}

/// The events about one item, oldest first.
pub fn of_item(conn: &mut DbConn, item_type: &str, item_id: i64) -> QueryResult<Vec<ChangeEvent>> {
    change_events::table
        .filter(change_events::item_type.eq(item_type))
        .filter(change_events::item_id.eq(item_id))
        .order(change_events::id.asc())
        .select(ChangeEvent::as_select())
        .load(conn)
}

/// The newest event's id (0 when there is none).
pub fn last_id(conn: &mut DbConn) -> QueryResult<i64> {
    change_events::table
        .select(diesel::dsl::max(change_events::id))
        .first::<Option<i64>>(conn)
        .map(|m| m.unwrap_or(0))
}

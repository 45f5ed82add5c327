//! The one way content that readers see changes. The admin panel, the write API, the
//! importers, the scheduler, the demo and the archive generator call these functions instead
//! of the models' writes; each runs inside the caller's transaction and, with the change
//! itself, keeps everything that follows from it in step:
//!
//! - the search index (published items only),
//! - follow-up jobs (a scheduled post's publish job, an update email's fan-out),
//! - the content version (page caches and ETags key on it, on every node),
//! - the change stream (`models::change`: one event per change readers can see — a draft's
//!   edits append nothing),
//! - the audit log (who did it, from where).
//!
//! The models below are data access and the integrity of their own rows (slugs, revisions,
//! gallery counts); they call none of this, so nothing above can be skipped by calling a model
//! directly from a new place — and nothing here is written twice.

pub mod gallery;
pub mod posts;
pub mod taxonomy;
pub mod videos;

use crate::db::DbConn;
use crate::error::Result;
use crate::models::audit::{self, Actor};
use crate::models::change::{self, NewEvent};
use crate::models::site;

/// What the audit log says of a write.
#[derive(Debug, Clone)]
pub(crate) struct Audit<'a> {
    pub action: &'a str,
    pub target: Option<(&'a str, i64)>,
    pub detail: String,
}

impl<'a> Audit<'a> {
    pub(crate) fn of(action: &'a str, target: (&'a str, i64), detail: impl Into<String>) -> Self {
        Audit {
            action,
            target: Some(target),
            detail: detail.into(),
        }
    }
}

/// The steps every write ends with: the content version first (its row lock orders writers,
/// so events take their ids in commit order), then the events, then the audit entry — which
/// an import leaves to its run (`Actor::importing`).
pub(crate) fn finish(
    conn: &mut DbConn,
    actor: &Actor,
    events: &[NewEvent],
    audit: Option<Audit<'_>>,
) -> Result<()> {
    site::bump_content_version(conn)?;
    change::append(conn, &actor.label, actor.importing, events)?;
    match audit {
        Some(a) => self::audit(conn, actor, a),
        None => Ok(()),
    }
}

/// Writes an audit entry, unless the actor is an import (which audits its run).
pub(crate) fn audit(conn: &mut DbConn, actor: &Actor, a: Audit<'_>) -> Result<()> {
    if !actor.importing {
        audit::record(conn, actor, a.action, a.target, &a.detail)?;
    }
    Ok(())
}

/// The event for an item that was or was not visible to readers before a write and is or is
/// not after it (`None` after: deleted). Nothing when readers saw it neither before nor after.
pub(crate) fn visibility_event(
    was: bool,
    is: Option<bool>,
    kinds: [change::EventKind; 4],
) -> Option<change::EventKind> {
    let [published, updated, unpublished, deleted] = kinds;
    match (was, is) {
        (false, Some(true)) => Some(published),
        (true, Some(true)) => Some(updated),
        (true, Some(false)) => Some(unpublished),
        (true, None) => Some(deleted),
        (false, _) => None,
    }
}

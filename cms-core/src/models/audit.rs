//! The audit log of admin actions: who did what to which item, and from where.

use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::schema::audit_log;

/// A stored audit entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub user_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub detail: String,
    pub ip: Option<String>,
    pub created_at: chrono::NaiveDateTime,
}

/// Who acted: a user of the panel, an API token, or the command line.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
    pub ip: Option<String>,
    /// Moving a site in (WordPress, Coppermine, Piwigo): what it writes was on the old site
    /// already. Its changes are recorded as quiet events (nobody is told of them) and the
    /// import writes its own audit entries for the run instead of one per item.
    pub importing: bool,
}

impl Actor {
    /// The command line (`cms …`).
    pub fn cli() -> Self {
        Actor {
            user_id: None,
            label: "cli".into(),
            ip: None,
            importing: false,
        }
    }

    /// A background worker, e.g. `scheduler`.
    pub fn system(name: &str) -> Self {
        Actor {
            user_id: None,
            label: format!("system:{name}"),
            ip: None,
            importing: false,
        }
    }

    /// An import from `source` (a WordPress, Coppermine or Piwigo site): see
    /// [`Actor::importing`].
    pub fn import(source: &str) -> Self {
        Actor {
            user_id: None,
            label: format!("import:{source}"),
            ip: None,
            importing: true,
        }
    }

    /// The same actor moving a site in (see [`Actor::importing`]).
    pub fn importing(&self) -> Self {
        Actor {
            importing: true,
            ..self.clone()
        }
    }
}

/// Appends an entry.
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    target: Option<(&str, i64)>,
    detail: &str,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::user_id.eq(actor.user_id),
            audit_log::actor.eq(&actor.label),
            audit_log::action.eq(action),
            audit_log::target_type.eq(target.map(|t| t.0)),
            audit_log::target_id.eq(target.map(|t| t.1)),
            audit_log::detail.eq(detail),
            audit_log::ip.eq(actor.ip.as_deref()),
            audit_log::created_at.eq(now()),
        ))
        .execute(conn)
        .map(drop)
}

/// The newest entries first.
pub fn recent(conn: &mut DbConn, limit: i64, offset: i64) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .offset(offset)
        .select(AuditEntry::as_select())
        .load(conn)
}

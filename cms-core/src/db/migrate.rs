//! Embedded migrations, one folder per backend with the same names and order.

use diesel::backend::Backend;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConn;
use crate::error::{Error, Result};

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// An arbitrary constant that names Keepsake's migration lock in `pg_advisory_lock`.
const PG_MIGRATION_LOCK: i64 = 0x6b65_6570_7361_6b65;

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run, oldest first; empty when the schema was current.
    pub applied: Vec<String>,
}

/// Refuses a database that a newer Keepsake has migrated: it holds a schema version this
/// binary does not know, and running on it would misread (or damage) what the newer one wrote.
fn refuse_newer<DB: Backend>(
    c: &mut impl MigrationHarness<DB>,
    source: &EmbeddedMigrations,
) -> Result<()>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    let known: Vec<String> = MigrationSource::<DB>::migrations(source)
        .map_err(|e| Error::Internal(format!("migrations unreadable: {e}")))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let applied = c
        .applied_migrations()
        .map_err(|e| Error::Internal(format!("cannot read the schema version: {e}")))?;
    let newest_unknown = applied
        .iter()
        .map(ToString::to_string)
        .filter(|v| !known.contains(v))
        .max();
    if let Some(v) = newest_unknown {
        return Err(Error::Internal(format!(
            "this database was upgraded by a newer version of Keepsake (schema {v}; this version \
             knows up to {}): run the newer version, or restore a backup taken before the upgrade",
            known.iter().max().map_or("none", String::as_str)
        )));
    }
    Ok(())
}

/// Applies every pending migration, after refusing a database a newer version migrated. On
/// PostgreSQL an advisory lock makes several nodes that start at once take turns, so each
/// migration runs exactly once.
pub fn run_migrations(conn: &mut DbConn) -> Result<MigrationReport> {
    let applied = match conn {
        DbConn::Sqlite(c) => {
            refuse_newer(c, &SQLITE)?;
            c.run_pending_migrations(SQLITE)
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
                .map_err(|e| Error::Internal(format!("migration failed: {e}")))?
        }
        DbConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let result = refuse_newer(c, &POSTGRES).and_then(|()| {
                c.run_pending_migrations(POSTGRES)
                    .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .map_err(|e| Error::Internal(format!("migration failed: {e}")))
            });
            c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
            result?
        }
    };
    Ok(MigrationReport { applied })
}

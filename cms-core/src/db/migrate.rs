//! Embedded migrations, one folder per backend with the same names and order.

use diesel::connection::SimpleConnection;
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

/// Applies every pending migration. On PostgreSQL an advisory lock makes several nodes that
/// start at once take turns, so each migration runs exactly once.
pub fn run_migrations(conn: &mut DbConn) -> Result<MigrationReport> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| Error::Internal(format!("migration failed: {e}")))?,
        DbConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let result = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
                .map_err(|e| Error::Internal(format!("migration failed: {e}")));
            c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
            result?
        }
    };
    Ok(MigrationReport { applied })
}

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

/// The newest schema version this build knows (both backends have the same versions).
pub fn newest_known() -> String {
    MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
        .ok()
        .and_then(|ms| ms.iter().map(|m| m.name().version().to_string()).max())
        .unwrap_or_default()
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

/// Applies the pending migrations up to and including `version`, oldest first (an import of
/// an export made at that schema loads into it, then the rest run). Returns the newest
/// version applied before, if any.
pub fn migrate_up_to(conn: &mut DbConn, version: &str) -> Result<Option<String>> {
    fn go<DB: Backend>(
        c: &mut impl MigrationHarness<DB>,
        source: &EmbeddedMigrations,
        version: &str,
    ) -> Result<Option<String>>
    where
        EmbeddedMigrations: MigrationSource<DB>,
    {
        refuse_newer(c, source)?;
        let applied: Vec<String> = c
            .applied_migrations()
            .map_err(|e| Error::Internal(format!("cannot read the schema version: {e}")))?
            .iter()
            .map(ToString::to_string)
            .collect();
        let before = applied.iter().max().cloned();
        let mut all = MigrationSource::<DB>::migrations(source)
            .map_err(|e| Error::Internal(format!("migrations unreadable: {e}")))?;
        all.sort_by_key(|m| m.name().version().to_string());
        for m in all {
            let v = m.name().version().to_string();
            if v.as_str() > version {
                break;
            }
            if !applied.contains(&v) {
                c.run_migration(&*m)
                    .map_err(|e| Error::Internal(format!("migration failed: {e}")))?;
            }
        }
        Ok(before)
    }
    match conn {
        DbConn::Sqlite(c) => go(c, &SQLITE, version),
        DbConn::Pg(c) => go(c, &POSTGRES, version),
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};
    use diesel_migrations::MigrationHarness;

    use super::SQLITE;

    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }

    #[derive(QueryableByName)]
    struct Sql {
        #[diesel(sql_type = Text)]
        sql: String,
    }

    /// A database made by the version before ids were kept unique (migrations 1–6), with rows
    /// pointing at each other, is rebuilt by the next: every row kept, every reference intact,
    /// and the newest id, once deleted, never handed out again.
    #[test]
    fn an_existing_sqlite_database_stops_reusing_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let mut c = SqliteConnection::establish(&path.display().to_string()).expect("open");
        c.batch_execute("PRAGMA foreign_keys = ON").expect("fk");
        for _ in 0..6 {
            c.run_next_migration(SQLITE).expect("an older migration");
        }
        c.batch_execute(
            "INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
               VALUES (1, 'a@example.org', 'A', 'admin', 'x', '2024-01-01', '2024-01-01');
             INSERT INTO posts (id, slug, title, body_markdown, body_html, excerpt, kind, status,
               author_id, created_at, updated_at)
               VALUES (1, 'one', 'One', '', '', '', 'news', 'draft', 1, '2024-01-01', '2024-01-01'),
                      (2, 'two', 'Two', '', '', '', 'news', 'draft', 1, '2024-01-01', '2024-01-01');
             INSERT INTO post_revisions (post_id, title, body_markdown, excerpt, author_id,
               created_at) VALUES (2, 'Two', '', '', 1, '2024-01-01');",
        )
        .expect("rows of the older version");
        let applied = c.run_pending_migrations(SQLITE).expect("the rebuild");
        assert!(!applied.is_empty());
        c.batch_execute("PRAGMA foreign_keys = ON").expect("fk");
        let sql: Vec<Sql> =
            diesel::sql_query("SELECT sql FROM sqlite_master WHERE name IN ('posts', 'photos')")
                .load(&mut c)
                .expect("schema");
        assert!(sql.iter().all(|s| s.sql.contains("AUTOINCREMENT")));
        let ids: Vec<Id> = diesel::sql_query("SELECT id FROM posts ORDER BY id")
            .load(&mut c)
            .expect("posts");
        assert_eq!(ids.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2]);
        let broken: Vec<Id> =
            diesel::sql_query("SELECT count(*) AS id FROM pragma_foreign_key_check")
                .load(&mut c)
                .expect("fk check");
        assert_eq!(broken[0].id, 0);
        // The revision still belongs to post 2; deleting post 2 takes it along (the foreign
        // key's cascade survived the rebuild), and the next post is 3, not 2.
        c.batch_execute("DELETE FROM posts WHERE id = 2")
            .expect("delete");
        let left: Vec<Id> = diesel::sql_query("SELECT count(*) AS id FROM post_revisions")
            .load(&mut c)
            .expect("revisions");
        assert_eq!(left[0].id, 0);
        c.batch_execute(
            "INSERT INTO posts (slug, title, body_markdown, body_html, excerpt, kind, status,
               author_id, created_at, updated_at)
               VALUES ('three', 'Three', '', '', '', 'news', 'draft', 1, '2024-01-01', '2024-01-01')",
        )
        .expect("insert");
        let newest: Vec<Id> = diesel::sql_query("SELECT max(id) AS id FROM posts")
            .load(&mut c)
            .expect("max");
        assert_eq!(newest[0].id, 3);
    }
}

//! The database: one connection type over SQLite and PostgreSQL, a pool, embedded migrations,
//! and the transaction helper that every write goes through.

mod migrate;
mod pool;
pub mod prepared;
pub mod wake;

pub use migrate::{MigrationReport, migrate_up_to, newest_known, run_migrations};
pub use pool::{Clock, Db, PooledConn, establish_pg};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

/// A connection to either backend. Model functions take `&mut DbConn` and run unchanged on
/// both; the few places where SQL must differ match on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which backend a connection or pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl DbConn {
    /// The backend of this connection.
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Pg(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs the same code against the concrete connection of either backend, for the few diesel
/// features the multi-backend connection lacks (batch inserts, `FOR UPDATE SKIP LOCKED`).
/// The body is compiled once per backend.
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

/// Runs a page's reads. On SQLite in one transaction: one lock for all of the page's queries
/// instead of one per query, and one consistent view. On PostgreSQL without one: under its
/// READ COMMITTED isolation a transaction would still give each statement its own snapshot,
/// and would cost two round trips (`BEGIN`, `COMMIT`) on every page built.
pub fn read_view<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(_) => diesel::Connection::transaction(conn, f),
        DbConn::Pg(_) => f(conn),
    }
}

/// Runs `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so the write
/// lock is taken (waiting up to `busy_timeout`) before anything is read: a deferred transaction
/// that reads, then writes, fails with `SQLITE_BUSY` when another connection wrote in between.
/// On PostgreSQL it is an ordinary transaction. Nested calls become savepoints.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let nested = match conn {
        DbConn::Sqlite(inner) => {
            let depth = AnsiTransactionManager::transaction_manager_status_mut(inner)
                .transaction_depth()
                .map_err(E::from)?;
            if depth.is_none() {
                AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
                false
            } else {
                true
            }
        }
        DbConn::Pg(_) => return diesel::Connection::transaction(conn, f),
    };
    if nested {
        return diesel::Connection::transaction(conn, f);
    }
    let result = f(conn);
    let DbConn::Sqlite(inner) = conn else {
        unreachable!("the SQLite branch started this transaction")
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(inner)?;
            Ok(value)
        }
        Err(e) => {
            // A failed rollback leaves the connection marked broken; the pool then discards it.
            let _ = AnsiTransactionManager::rollback_transaction(inner);
            Err(e)
        }
    }
}

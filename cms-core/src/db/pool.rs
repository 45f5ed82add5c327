//! The connection pool and the bridge from async handlers to synchronous diesel.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};

use super::wake::Wake;
use super::{Backend, DbConn, write_tx};
use crate::config::{DatabaseConfig, DatabaseUrl};
use crate::error::{Error, Result};
use crate::models::site::{ContentVersion, content_state};

/// A connection checked out of the pool.
pub type PooledConn = PooledConnection<Manager>;

/// Opens connections of the configured backend and sets them up the same way every time.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
    /// Statements sent through the pool's connections (`/metrics`).
    statements: Arc<AtomicU64>,
}

/// How long SQLite waits for another writer before giving up (`busy_timeout`).
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

impl Manager {
    fn establish(&self) -> std::result::Result<DbConn, diesel::ConnectionError> {
        match &self.url {
            DatabaseUrl::Sqlite { path } => {
                let path = path.to_str().ok_or_else(|| {
                    diesel::ConnectionError::InvalidConnectionUrl(
                        "the SQLite path is not valid UTF-8".into(),
                    )
                })?;
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres { url } => {
                let mut conn = establish_pg(url)?;
                // PostgreSQL's built-in random_page_cost (4) prices a page read at random as
                // four read in turn, as on a spinning disk; an archive's pages are in memory or
                // on SSD, and at 4 the planner reads a small site's tables whole for a lookup
                // (the album strips of a post: 8 scans of every photo, 2.3x the time of the
                // index). 1.1 is the usual figure for SSD; a value set anywhere (the server's
                // configuration, ALTER DATABASE/ROLE, the URL's options) is kept.
                conn.batch_execute(
                    "SET TIME ZONE 'UTC';
                     SELECT set_config('random_page_cost', '1.1', false) FROM pg_settings
                      WHERE name = 'random_page_cost' AND source = 'default'",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Pg(conn))
            }
        }
    }
}

/// Opens a PostgreSQL connection to `url` as every part of Keepsake does: through
/// [`libpq_url`], OpenSSL initialised first — without its exit handler: by default OpenSSL
/// frees its locks when the process exits, while a pool thread may still be connecting (seen:
/// a segfault in an r2d2 worker after `cms user reset-2fa` had done its work).
pub fn establish_pg(url: &str) -> diesel::ConnectionResult<PgConnection> {
    openssl_sys::init();
    PgConnection::establish(&libpq_url(url, env_chooses_tls()))
}

/// Whether the environment chose how libpq uses TLS (or a service file that may).
fn env_chooses_tls() -> bool {
    std::env::vars_os().any(|(k, _)| {
        k.to_str().is_some_and(|k| {
            k.starts_with("PGSSL")
                || k.starts_with("PGGSS")
                || matches!(k, "PGREQUIRESSL" | "PGSERVICE" | "PGSERVICEFILE")
        })
    })
}

/// The URL handed to libpq: `url`, with `sslmode=allow` added when it names a loopback
/// address (`localhost`, `127.0.0.0/8`, `::1`) and neither it nor the environment (`env_chose`:
/// `PGSSLMODE`, `PGSSLROOTCERT`, a service…) says anything of TLS. libpq's own default,
/// `prefer`, speaks TLS to any server that offers it — Debian's does, with its snakeoil
/// certificate — and on loopback TLS protects nothing (nobody but the machine's root sees its
/// traffic, and `prefer` checks no certificate) while it costs every statement a round of
/// encryption on both sides (docs/PERFORMANCE.md). `allow` tries without TLS first and with it
/// when the server requires it (`hostssl` in `pg_hba.conf`). A URL with any `ssl…` or `gss…`
/// parameter (a CA, a client certificate: its owner wants TLS), any other host, a Unix
/// socket, several hosts, or a URL libpq reads differently is passed on as it is.
fn libpq_url(url: &str, env_chose: bool) -> std::borrow::Cow<'_, str> {
    let keep = std::borrow::Cow::Borrowed(url);
    if env_chose {
        return keep;
    }
    let Ok(mut parsed) = url::Url::parse(url) else {
        return keep;
    };
    let chooses = |k: &str| {
        k.starts_with("ssl")
            || k.starts_with("gss")
            || matches!(k, "requiressl" | "host" | "hostaddr" | "service")
    };
    if parsed.query_pairs().any(|(k, _)| chooses(&k)) {
        return keep;
    }
    let loopback = match parsed.host() {
        // A postgres:// URL's host is opaque to the URL standard: an IPv4 address comes as
        // a name.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !loopback {
        return keep;
    }
    parsed.query_pairs_mut().append_pair("sslmode", "allow");
    std::borrow::Cow::Owned(parsed.into())
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> std::result::Result<DbConn, r2d2::Error> {
        let mut conn = self.establish().map_err(r2d2::Error::ConnectionError)?;
        // One atomic add per statement: what every page, job and scrape costs the database is
        // counted where it is sent (diesel's instrumentation sees each query, BEGIN and COMMIT
        // included).
        let statements = self.statements.clone();
        conn.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
            if let diesel::connection::InstrumentationEvent::StartQuery { .. } = event {
                statements.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> std::result::Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::connection::TransactionManager;
        let status = match conn {
            DbConn::Pg(c) => {
                diesel::connection::AnsiTransactionManager::transaction_manager_status_mut(c)
                    .transaction_depth()
                    .map(|d| d.is_some())
            }
            DbConn::Sqlite(c) => {
                diesel::connection::AnsiTransactionManager::transaction_manager_status_mut(c)
                    .transaction_depth()
                    .map(|d| d.is_some())
            }
        };
        // A connection still inside a transaction (or in a broken state) is not reused.
        !matches!(status, Ok(false))
    }
}

/// The database handle kept in the application state: cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    statements: Arc<AtomicU64>,
    backend: Backend,
    /// Serialises this process's SQLite writers so they queue here, in order, instead of
    /// polling SQLite's busy handler. `BEGIN IMMEDIATE` still guards against other processes.
    write_lock: Arc<Mutex<()>>,
    version: Arc<VersionCache>,
    clock: Arc<Clock>,
    /// Opens the listening connection ([`Db::listen`]) the way the pool opens its own.
    manager: Manager,
    wake: Arc<Wake>,
}

/// The time the background work of one `Db` goes by (what is due: scheduled posts, jobs,
/// emails to retry). It is the real time; tests move it forward instead of sleeping, and a
/// moved clock is seen only through its own `Db` (one test's world).
#[derive(Debug, Default)]
pub struct Clock {
    ahead_micros: std::sync::atomic::AtomicI64,
}

impl Clock {
    /// Moves this clock forward (tests: "two seconds later").
    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX);
        self.ahead_micros
            .fetch_add(micros, std::sync::atomic::Ordering::Relaxed);
    }

    /// The time now by this clock.
    pub fn now(&self) -> chrono::NaiveDateTime {
        let ahead = self.ahead_micros.load(std::sync::atomic::Ordering::Relaxed);
        crate::models::now() + chrono::Duration::microseconds(ahead)
    }
}

/// How long a node trusts its copy of the content version before asking the database again.
/// Writes made through this `Db` invalidate it at once; writes by other nodes or processes
/// show within this time.
pub const CONTENT_VERSION_TTL: Duration = Duration::from_millis(1000);

#[derive(Default)]
struct VersionCache {
    value: Mutex<Option<(ContentVersion, Instant)>>,
    stale: AtomicBool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects once to report a clear error at once if the database cannot be reached, then
    /// builds the pool. Creates the SQLite file's folder if needed.
    pub fn connect(cfg: &DatabaseConfig) -> Result<Db> {
        if let DatabaseUrl::Sqlite { path } = &cfg.url
            && let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        let statements = Arc::new(AtomicU64::new(0));
        let manager = Manager {
            url: cfg.url.clone(),
            statements: statements.clone(),
        };
        let first = manager.establish().map_err(|e| {
            Error::Unavailable(format!(
                "cannot connect to {}: {}",
                cfg.url,
                one_line(&e.to_string())
            ))
        })?;
        let backend = first.backend();
        // No idle connections kept in reserve: r2d2 opens those on its worker threads after a
        // connection is taken, so a command that ends right after its last query would exit
        // while a worker is still connecting — and the process's exit handlers (name
        // resolution's, TLS's) pull the ground from under it: a segfault in `r2d2-worker`
        // after the work was done (seen in CI after `cms restore` and `cms user reset-2fa`).
        // Connections are still reused: each goes back to the pool idle after use.
        let pool = Pool::builder()
            .max_size(cfg.pool_size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(10))
            .test_on_check_out(false)
            .build_unchecked(manager.clone());
        // Hand the probe connection to nobody: r2d2 opens its own; dropping it here is cheap.
        drop(first);
        Ok(Db {
            pool,
            statements,
            backend,
            write_lock: Arc::new(Mutex::new(())),
            version: Arc::new(VersionCache::default()),
            clock: Arc::new(Clock::default()),
            manager,
            wake: Arc::new(Wake::default()),
        })
    }

    /// This process's worker wake-ups ([`super::wake`]).
    pub fn wake(&self) -> &Wake {
        &self.wake
    }

    /// Listens for the database's notifications (PostgreSQL) and wakes this process's workers
    /// with them, until the process starts stopping; on SQLite returns at once. Blocking: run
    /// it on a thread of its own. A lost connection is opened again after
    /// [`super::wake::RECONNECT`]; meanwhile the workers look on their own as often as they
    /// did before listening existed.
    pub fn listen(&self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let (mut lost_said, mut pause) = (false, super::wake::RECONNECT);
        while !crate::shutdown::is_stopping() {
            match self.listen_once(&mut lost_said) {
                Ok(()) => return,
                Err(e) => {
                    // A connection that was heard is opened again soon; one that never heard
                    // its first probe (a pooler in transaction mode) less and less often.
                    pause = if self.wake.listening() {
                        super::wake::RECONNECT
                    } else {
                        (pause * 2).min(super::wake::RECONNECT_MAX)
                    };
                    self.wake.set_listening(false);
                    // Everyone looks: work queued while nobody listened is not missed.
                    self.wake.wake_all();
                    if !lost_said {
                        tracing::warn!(error = %one_line(&e), "not listening for work; workers poll until it is back");
                        lost_said = true;
                    }
                }
            }
            let until = Instant::now() + pause;
            while Instant::now() < until && !crate::shutdown::is_stopping() {
                std::thread::sleep(super::wake::LISTEN_POLL);
            }
        }
    }

    /// One listening connection's life: `Ok` when the process stops, `Err` when it is lost.
    /// It counts as listening only once it has heard a notification of its own, sent through
    /// the pool (a probe) right after `LISTEN`: a session that cannot hear (a pooler that does
    /// not keep the session's `LISTEN`) never sends the workers to their long waits. A
    /// connection that then hears nothing for [`super::wake::PROBE_EVERY`] probes again and
    /// must hear it within [`super::wake::PROBE_WAIT`]: one lost without a word (a half-open
    /// TCP connection) is given up, and the workers poll until a new one hears.
    fn listen_once(&self, lost_said: &mut bool) -> std::result::Result<(), String> {
        let mut conn = match self.manager.establish().map_err(|e| e.to_string())? {
            DbConn::Pg(c) => c,
            DbConn::Sqlite(_) => return Ok(()),
        };
        conn.batch_execute(&format!("LISTEN {}", super::wake::CHANNEL))
            .map_err(|e| e.to_string())?;
        let probe = || -> std::result::Result<Instant, String> {
            let mut c = self.conn().map_err(|e| e.to_string())?;
            super::wake::announce(&mut c, super::wake::PROBE).map_err(|e| e.to_string())?;
            Ok(Instant::now())
        };
        let mut probed = Some(probe()?);
        let mut last_heard = Instant::now();
        while !crate::shutdown::is_stopping() {
            // Reads what the server has sent, without a statement or a wait.
            for heard in conn.notifications_iter() {
                let heard = heard.map_err(|e| e.to_string())?;
                if !self.wake.listening() {
                    self.wake.set_listening(true);
                    // Anything queued before this connection heard is looked for now.
                    self.wake.wake_all();
                    self.version.stale.store(true, Ordering::Release);
                    if std::mem::take(lost_said) {
                        tracing::warn!("listening for work again");
                    } else {
                        tracing::info!("listening for work on PostgreSQL");
                    }
                }
                if heard.payload == "site_state" {
                    self.version.stale.store(true, Ordering::Release);
                }
                self.wake.heard(&heard.payload);
                (last_heard, probed) = (Instant::now(), None);
            }
            match probed {
                None if last_heard.elapsed() >= super::wake::PROBE_EVERY => probed = Some(probe()?),
                Some(at) if at.elapsed() >= super::wake::PROBE_WAIT => {
                    return Err(format!(
                        "a notification sent {} s ago was not heard back",
                        super::wake::PROBE_WAIT.as_secs()
                    ));
                }
                _ => {}
            }
            std::thread::sleep(super::wake::LISTEN_POLL);
        }
        self.wake.set_listening(false);
        Ok(())
    }

    /// Statements this handle's connections have sent the database since it was opened.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The time background work goes by ([`Clock`]).
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now()
    }

    /// The clock of this handle (and its clones).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The backend this pool talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Takes a connection, blocking up to the pool's timeout. For synchronous callers (CLI,
    /// workers on blocking threads); async code uses [`Db::run`] or [`Db::write`].
    pub fn conn(&self) -> Result<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// Runs read work on the blocking thread pool, off the async executor. The closure's error
    /// type is the caller's (core, web or admin errors all convert from [`Error`]).
    pub async fn run<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let db = self.clone();
        // The caller's span (a request's, with its id) goes with the work.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _in = span.enter();
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// Runs `f` in a write transaction on the blocking thread pool (see [`write_tx`]).
    pub async fn write<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Error> + From<diesel::result::Error> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _in = span.enter();
            db.write_blocking(f)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// [`Db::write`] for code already on a blocking thread.
    pub fn write_blocking<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> std::result::Result<T, E>,
        E: From<Error> + From<diesel::result::Error>,
    {
        let mut conn = self.conn()?;
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Postgres => None,
        };
        let result = write_tx(&mut conn, f);
        self.version.stale.store(true, Ordering::Release);
        result
    }

    /// The content version, from memory when it is fresh: page caches and ETags call this on
    /// every request, so a cached page costs no query.
    pub async fn content_version(&self) -> Result<ContentVersion> {
        if !self.version.stale.load(Ordering::Acquire)
            && let Some((v, at)) = *self.version.value.lock().unwrap_or_else(|p| p.into_inner())
            && at.elapsed() < CONTENT_VERSION_TTL
        {
            return Ok(v);
        }
        self.version.stale.store(false, Ordering::Release);
        let v = self
            .run(|conn| Ok::<_, Error>(content_state(conn)?))
            .await?;
        *self.version.value.lock().unwrap_or_else(|p| p.into_inner()) = Some((v, Instant::now()));
        Ok(v)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::libpq_url;

    #[test]
    fn loopback_without_a_chosen_mode_asks_for_tls_only_if_required() {
        for (url, want) in [
            (
                "postgres://k:pw@127.0.0.1:5432/keepsake",
                "postgres://k:pw@127.0.0.1:5432/keepsake?sslmode=allow",
            ),
            (
                "postgresql://k@localhost/keepsake",
                "postgresql://k@localhost/keepsake?sslmode=allow",
            ),
            (
                "postgres://k@LOCALHOST/keepsake",
                "postgres://k@LOCALHOST/keepsake?sslmode=allow",
            ),
            (
                "postgres://k@[::1]:5432/keepsake?connect_timeout=5",
                "postgres://k@[::1]:5432/keepsake?connect_timeout=5&sslmode=allow",
            ),
            (
                "postgres://k@127.0.0.2/keepsake",
                "postgres://k@127.0.0.2/keepsake?sslmode=allow",
            ),
        ] {
            assert_eq!(libpq_url(url, false), want, "{url}");
        }
    }

    #[test]
    fn a_chosen_mode_another_host_or_a_socket_is_passed_on_as_it_is() {
        for url in [
            "postgres://k@127.0.0.1/keepsake?sslmode=require",
            "postgres://k@127.0.0.1/keepsake?sslmode=verify-full&sslrootcert=/ca.pem",
            "postgres://k@localhost/keepsake?requiressl=1",
            "postgres://k@localhost/keepsake?sslrootcert=system",
            "postgres://k@127.0.0.1/keepsake?sslcert=/c.pem&sslkey=/c.key",
            "postgres://k@127.0.0.1/keepsake?gssencmode=require",
            "postgres://k@localhost/keepsake?service=archive",
            "postgres://k@localhost/keepsake?host=db.example.org",
            "postgres://k@localhost/keepsake?hostaddr=10.0.0.5",
            "postgres://k@db.example.org/keepsake",
            "postgres://k@10.0.0.5:5432/keepsake",
            "postgres://k@localhost.example.org/keepsake",
            "postgres://k@%2Fvar%2Frun%2Fpostgresql/keepsake",
            "postgres:///keepsake",
            "postgres://k@127.0.0.1,10.0.0.5/keepsake",
        ] {
            assert_eq!(libpq_url(url, false), url, "{url}");
        }
        // The environment chose (PGSSLMODE, PGSSLROOTCERT, a service…).
        let url = "postgres://k@127.0.0.1/keepsake";
        assert_eq!(libpq_url(url, true), url);
    }
}

//! A MySQL/MariaDB database per test for the gallery importers (like `common::PgDatabase`):
//! made from a schema file, filled by the test, dropped afterwards. The server is the one
//! `scripts/test` starts (`KEEPSAKE_TEST_MYSQL`, root on 127.0.0.1:3306 by default).

use std::sync::atomic::{AtomicU64, Ordering};

use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

/// The server tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("KEEPSAKE_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

fn admin() -> Conn {
    let url = admin_url();
    Conn::new(Opts::from_url(&url).expect("KEEPSAKE_TEST_MYSQL is a mysql:// URL")).unwrap_or_else(
        |e| panic!("MariaDB must be running for the tests ({url}): {e}; scripts/test starts it"),
    )
}

/// A database made for one test.
pub struct MySqlDatabase {
    pub name: String,
    /// `mysql://…/name`, what the importer is given.
    pub url: String,
    /// Accounts made by [`MySqlDatabase::reader`], dropped with the database.
    readers: Vec<String>,
}

impl MySqlDatabase {
    /// An empty database.
    pub fn empty() -> MySqlDatabase {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "keepsake_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        admin()
            .query_drop(format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            ))
            .expect("create test database");
        MySqlDatabase {
            url: format!("{}/{name}", admin_url().trim_end_matches('/')),
            name,
            readers: Vec::new(),
        }
    }

    /// A database with the tables of a schema file (statements end with `;` at a line's end).
    pub fn with_schema(path: &std::path::Path) -> MySqlDatabase {
        let db = Self::empty();
        let sql = std::fs::read_to_string(path).expect("schema file");
        let mut conn = db.conn();
        let mut statement = String::new();
        for line in sql.lines() {
            if line.trim_start().starts_with("--") {
                continue;
            }
            statement.push_str(line);
            statement.push('\n');
            if line.trim_end().ends_with(';') {
                conn.query_drop(&statement).expect("schema statement");
                statement.clear();
            }
        }
        db
    }

    /// A new account with a password that may only read this database, as a site owner would
    /// give the importer. Returns its name.
    pub fn reader(&mut self, password: &str) -> String {
        let user = format!("{}_r{}", self.name, self.readers.len());
        let mut admin = admin();
        // CREATE USER takes no placeholders: the password is quoted here.
        let quoted = password.replace('\\', "\\\\").replace('\'', "''");
        admin
            .query_drop(format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{quoted}'"))
            .expect("create reader");
        admin
            .query_drop(format!("GRANT SELECT ON {}.* TO '{user}'@'%'", self.name))
            .expect("grant");
        self.readers.push(user.clone());
        user
    }

    pub fn conn(&self) -> Conn {
        Conn::new(Opts::from_url(&self.url).expect("url")).expect("connect to the test database")
    }
}

impl Drop for MySqlDatabase {
    fn drop(&mut self) {
        let mut admin = admin();
        for user in &self.readers {
            let _ = admin.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"));
        }
        let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}

/// Rows inserted with one prepared statement each (a few hundred at most in the fixtures).
pub fn insert(conn: &mut Conn, sql: &str, rows: Vec<Vec<mysql::Value>>) {
    let stmt = conn.prep(sql).expect("prepare");
    for row in rows {
        conn.exec_drop(&stmt, row).expect("insert");
    }
}

/// Our database for a test that runs the `cms` binary: a SQLite file in `dir` or a new
/// PostgreSQL database (kept alive by the second value).
pub fn our_database(
    backend: crate::common::Backend,
    dir: &std::path::Path,
) -> (String, Option<crate::common::PgDatabase>) {
    match backend {
        crate::common::Backend::Sqlite => {
            (format!("sqlite://{}", dir.join("cms.db").display()), None)
        }
        crate::common::Backend::Postgres => {
            let db = crate::common::PgDatabase::create();
            (db.url.clone(), Some(db))
        }
    }
}

/// Runs an import three times, killing it (SIGKILL) once `count` reaches a third, two thirds
/// and all of `n`, then once more to the end, which must succeed. Returns what `count` saw at
/// each kill; at least one must be part-way.
pub fn kill_then_finish(
    command: impl Fn() -> std::process::Command,
    count: impl Fn() -> i64,
    n: i64,
) -> Vec<i64> {
    let mut kills = Vec::new();
    for target in [1, n / 3, 2 * n / 3] {
        let mut child = command()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let mut seen = 0;
        for _ in 0..2400 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            seen = count();
            if seen >= target || child.try_wait().expect("wait").is_some() {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        kills.push(seen);
    }
    assert!(
        kills.iter().any(|k| *k > 0 && *k < n),
        "killed part-way at least once: {kills:?}"
    );
    let out = command().output().expect("rerun");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    kills
}

/// A command that could do nothing: exit 1 and one `error:` line containing `want`.
pub fn refused(out: &std::process::Output, want: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(errors[0].contains(want), "{want} in {stderr}");
}

/// Rows per table (photos, albums, categories, redirects, keys), to compare runs.
pub fn totals(env: &crate::common::TestEnv) -> Vec<i64> {
    use cms_core::schema;
    use diesel::prelude::*;
    let mut conn = env.conn();
    let c = &mut *conn;
    vec![
        schema::photos::table.count().get_result(c).expect("n"),
        schema::albums::table.count().get_result(c).expect("n"),
        schema::gallery_categories::table
            .count()
            .get_result(c)
            .expect("n"),
        schema::redirects::table.count().get_result(c).expect("n"),
        schema::import_items::table
            .count()
            .get_result(c)
            .expect("n"),
    ]
}

/// The state of the database a `cms` command wrote to, if it can be opened yet.
pub fn state_of(dir: &std::path::Path, url: &str) -> Option<cms_core::AppState> {
    let config = cms_core::Config::for_tests(dir, url).expect("config");
    cms_core::AppState::open(config).ok()
}

/// Photos in the database a `cms` command writes to (0 before it exists).
pub fn photo_count(dir: &std::path::Path, url: &str) -> i64 {
    use diesel::prelude::*;
    let Some(state) = state_of(dir, url) else {
        return 0;
    };
    let Ok(mut conn) = state.db.conn() else {
        return 0;
    };
    cms_core::schema::photos::table
        .count()
        .get_result(&mut *conn)
        .unwrap_or(0)
}

/// After a resumed import: `albums` albums, each published with `per` photos, and every count
/// right.
pub fn all_albums_whole(conn: &mut cms_core::DbConn, albums: usize, per: i64) {
    use cms_core::schema;
    use diesel::prelude::*;
    let rows: Vec<(String, i64)> = schema::albums::table
        .select((schema::albums::status, schema::albums::photo_count))
        .load(conn)
        .expect("albums");
    assert_eq!(rows.len(), albums, "no album doubled");
    assert!(
        rows.iter().all(|(s, n)| s == "published" && *n == per),
        "{rows:?}"
    );
    assert!(
        cms_core::models::gallery_category::verify_counts(conn)
            .expect("verify")
            .is_empty()
    );
}

/// Nothing an import did is announced to subscribers.
pub fn nothing_announced(conn: &mut cms_core::DbConn) {
    use cms_core::schema;
    use diesel::prelude::*;
    let fanouts: i64 = schema::jobs::table
        .filter(schema::jobs::kind.eq("fanout"))
        .filter(schema::jobs::status.ne("done"))
        .count()
        .get_result(conn)
        .expect("jobs");
    assert_eq!(fanouts, 0, "an import announces nothing");
    let outbox: i64 = schema::email_outbox::table
        .count()
        .get_result(conn)
        .expect("outbox");
    assert_eq!(outbox, 0);
}

//! The MySQL or MariaDB database of a gallery being moved in (Coppermine, Piwigo): connecting
//! from a `mysql://` URL with every failure said in one line and the password never shown,
//! checking that the tables are the ones expected, and reading rows a chunk at a time.
//!
//! Nothing here holds a result set open while the import works: large tables are read as
//! ordered lists of ids and then in chunks of rows by id, so a slow image never leaves the
//! server waiting on a half-read result, and memory is one chunk's.

use std::collections::BTreeSet;
use std::time::Duration;

pub use mysql::Row;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Value};

use crate::error::{Error, Result};

/// A connection to the old gallery's database.
pub struct Source {
    conn: Conn,
    prefix: String,
    /// The URL without its password, for messages.
    pub label: String,
    /// The database's name (part of the import's key when the site gives none).
    pub database: String,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("label", &self.label)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A MySQL error as one readable line.
fn describe(e: &mysql::Error) -> String {
    let line = match e {
        mysql::Error::IoError(io) => io.to_string(),
        mysql::Error::MySqlError(m) => m.message.clone(),
        mysql::Error::DriverError(d) => d.to_string(),
        mysql::Error::UrlError(u) => u.to_string(),
        other => other.to_string(),
    };
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A query failed: which table, and why.
fn failed(what: &str, e: &mysql::Error) -> Error {
    Error::Internal(format!(
        "reading {what} from the old database: {}",
        describe(e)
    ))
}

/// `mysql://user@host:port/db` of a URL, without the password.
fn redacted(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    u.set_query(None);
    u.to_string()
}

/// Checks a database URL without connecting: `mysql://` (or `mariadb://`) with a host. Gives
/// the URL as the driver takes it and its label without the password.
pub fn check_url(url: &str) -> Result<(String, String)> {
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_string(),
    };
    let parsed = url::Url::parse(&url)
        .ok()
        .filter(|u| u.scheme() == "mysql" && u.host_str().is_some_and(|h| !h.is_empty()))
        .ok_or_else(|| {
            Error::invalid(
                "--db",
                "give the old database as mysql://USER:PASSWORD@HOST/DATABASE",
            )
        })?;
    let label = redacted(&parsed);
    Ok((url, label))
}

/// A `mysql://` URL from its parts, each percent-encoded as needed (the admin's form).
pub fn url_of(host: &str, port: u16, user: &str, password: &str, database: &str) -> Result<String> {
    let bad = |what: &str| Error::invalid("db", format!("{what} is not usable in an address"));
    let mut u =
        url::Url::parse("mysql://localhost/").map_err(|e| Error::Internal(e.to_string()))?;
    u.set_host(Some(host.trim())).map_err(|_| bad("the host"))?;
    u.set_port(Some(port)).map_err(|_| bad("the port"))?;
    u.set_username(user.trim()).map_err(|_| bad("the user"))?;
    if !password.is_empty() {
        u.set_password(Some(password))
            .map_err(|_| bad("the password"))?;
    }
    u.path_segments_mut()
        .map_err(|_| bad("the database"))?
        .clear()
        .push(database.trim());
    Ok(u.to_string())
}

/// The label of a URL without its password, for lists, logs and the record an import keeps.
pub fn label_of(url: &str) -> String {
    check_url(url)
        .map(|(_, l)| l)
        .unwrap_or_else(|_| "(not a database address)".to_string())
}

/// Opens the database named by `url` (`mysql://USER:PASS@HOST[:PORT]/DB`; `mariadb://` is
/// taken as the same) whose tables start with `prefix`.
pub fn connect(url: &str, prefix: &str) -> Result<Source> {
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::invalid(
            "--prefix",
            "may hold only letters, digits and underscores",
        ));
    }
    let (url, label) = check_url(url)?;
    let opts = Opts::from_url(&url)
        .map_err(|e| Error::invalid("--db", format!("{label}: {}", describe(&e.into()))))?;
    let database = opts
        .get_db_name()
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid(
                "--db",
                format!("{label} names no database: add /DATABASE to the URL"),
            )
        })?;
    let mut builder = OptsBuilder::from_opts(opts)
        .init(vec!["SET NAMES utf8mb4"])
        .read_timeout(Some(Duration::from_secs(600)))
        .write_timeout(Some(Duration::from_secs(600)));
    if Opts::from(builder.clone())
        .get_tcp_connect_timeout()
        .is_none()
    {
        builder = builder.tcp_connect_timeout(Some(Duration::from_secs(10)));
    }
    let conn = Conn::new(builder).map_err(|e| {
        Error::invalid(
            "--db",
            format!("cannot connect to {label}: {}", describe(&e)),
        )
    })?;
    Ok(Source {
        conn,
        prefix: prefix.to_string(),
        label,
        database,
    })
}

/// Opens a gallery: its files' folder checked, its database connected, its tables checked.
pub fn open_gallery(
    (flag, folder): (&'static str, &std::path::Path),
    url: &str,
    prefix: &str,
    what: &str,
    tables: &[&str],
) -> Result<Source> {
    if !folder.is_dir() {
        return Err(Error::invalid(
            flag,
            format!("{} is not a folder", folder.display()),
        ));
    }
    let mut src = connect(url, prefix)?;
    src.require(what, tables)?;
    Ok(src)
}

impl Source {
    /// The quoted name of one of the gallery's tables (`pictures` → `` `cpg_pictures` ``).
    pub fn table(&self, name: &str) -> String {
        format!("`{}{name}`", self.prefix)
    }

    /// The table prefix in use.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every table of the database.
    fn tables(&mut self) -> Result<BTreeSet<String>> {
        let names: Vec<Vec<u8>> = self
            .conn
            .query("SHOW TABLES")
            .map_err(|e| failed("the list of tables", &e))?;
        Ok(names
            .into_iter()
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .collect())
    }

    /// Fails unless every table of `names` exists under the prefix: "not a Coppermine
    /// database", naming what is missing and, when the tables are there under another prefix,
    /// that prefix.
    pub fn require(&mut self, what: &str, names: &[&str]) -> Result<()> {
        let tables = self.tables()?;
        let missing: Vec<String> = names
            .iter()
            .map(|n| format!("{}{n}", self.prefix))
            .filter(|t| !tables.contains(t))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let key = names.first().copied().unwrap_or_default();
        let others: Vec<&str> = tables
            .iter()
            .filter_map(|t| t.strip_suffix(key))
            .filter(|p| *p != self.prefix)
            .collect();
        let hint = match others.as_slice() {
            [] => String::new(),
            found => format!(
                " (its {key} table has the prefix {}: give --prefix {})",
                found.join(", "),
                found[0]
            ),
        };
        Err(Error::invalid(
            "--db",
            format!(
                "{} is not a {what} database: no table {}{hint}",
                self.label,
                missing.join(", ")
            ),
        ))
    }

    /// Does the database have this table (under the prefix)?
    pub fn has_table(&mut self, name: &str) -> Result<bool> {
        let full = format!("{}{name}", self.prefix);
        Ok(self.tables()?.contains(&full))
    }

    /// All rows of a query (for small tables: categories, albums, settings).
    pub fn rows(&mut self, what: &str, sql: &str) -> Result<Vec<Row>> {
        self.conn.query(sql).map_err(|e| failed(what, &e))
    }

    /// The first column of every row, as numbers (ordered id lists).
    pub fn ids(&mut self, what: &str, sql: &str) -> Result<Vec<i64>> {
        let rows = self.rows(what, sql)?;
        Ok(rows.iter().map(|r| int(r, 0)).collect())
    }

    /// One number (a count).
    pub fn count(&mut self, what: &str, sql: &str) -> Result<u64> {
        let rows = self.rows(what, sql)?;
        Ok(rows.first().map_or(0, |r| int(r, 0).max(0) as u64))
    }

    /// `name` → `value` pairs of a settings table.
    pub fn settings(
        &mut self,
        table: &str,
        key: &str,
        value: &str,
        names: &[&str],
    ) -> Result<std::collections::HashMap<String, String>> {
        let list: Vec<String> = names.iter().map(|n| quote(n)).collect();
        let sql = format!(
            "SELECT `{key}`, `{value}` FROM {} WHERE `{key}` IN ({})",
            self.table(table),
            list.join(", ")
        );
        Ok(self
            .rows("settings", &sql)?
            .iter()
            .map(|r| (text(r, 0), text(r, 1)))
            .collect())
    }
}

/// A string as an SQL literal (settings names; never user input).
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// `1, 2, 3` for an `IN (…)` list of ids (numbers only, so nothing to escape).
pub fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column as text; NULL is empty, bytes that are not UTF-8 are replaced.
pub fn text(row: &Row, i: usize) -> String {
    match row.as_ref(i) {
        Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(Value::NULL) | None => String::new(),
        Some(other) => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

/// A column as a number; NULL and text that is not a number are 0.
pub fn int(row: &Row, i: usize) -> i64 {
    match row.as_ref(i) {
        Some(Value::Int(n)) => *n,
        Some(Value::UInt(n)) => i64::try_from(*n).unwrap_or(i64::MAX),
        Some(Value::Bytes(b)) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// A column as an optional number (NULL is `None`).
pub fn opt_int(row: &Row, i: usize) -> Option<i64> {
    match row.as_ref(i) {
        Some(Value::NULL) | None => None,
        _ => Some(int(row, i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_are_one_line() {
        for (url, want) in [
            ("postgres://x@h/db", "mysql://USER:PASSWORD@HOST/DATABASE"),
            ("not a url", "mysql://USER:PASSWORD@HOST/DATABASE"),
            ("mysql://root:secret@127.0.0.1:3306", "names no database"),
        ] {
            let e = connect(url, "cpg_").err().map(|e| e.to_string());
            let e = e.unwrap_or_default();
            assert!(e.contains(want), "{url}: {e}");
            assert!(!e.contains("secret"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = connect("mysql://root@127.0.0.1/db", "cpg_; DROP")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("prefix"), "{e}");
        assert_eq!(id_list(&[1, 22, 3]), "1, 22, 3");
        assert_eq!(quote("it's"), "'it''s'");
    }
}

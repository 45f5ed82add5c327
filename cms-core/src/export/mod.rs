//! The portable export (`cms export FILE`, `cms import keepsake FILE`): the whole site as
//! JSON Lines, one file per table, plus the media files, in a folder or a `.zip`; the same on
//! both backends, so it also moves a site from SQLite to PostgreSQL and back. The format is
//! described in `docs/EXPORT.md`.
//!
//! An export is one consistent snapshot (one read transaction: SQLite's WAL snapshot,
//! PostgreSQL's repeatable read) taken while the site serves. Sessions and rate-limit events
//! are never exported; API tokens only when asked. `export.json` (format, versions, rows and
//! SHA-256 per file, id counters) is written last: an export without it is unfinished.
//!
//! An import checks `export.json`, refuses a newer format or schema and a target with content,
//! copies the media, migrates the empty target to the export's schema, loads every table in one
//! transaction (every row checked against its column kinds first, every file against its
//! checksum), sets the id counters, commits, and runs the newer migrations.

pub mod archive;
pub mod tables;
pub mod wxr;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use diesel::connection::SimpleConnection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use archive::{Reader, Writer};
use tables::Table;

/// The `format` of `export.json`.
pub const FORMAT: &str = "keepsake-export";
/// The version of the layout this build writes (and the newest it reads).
pub const VERSION: u32 = 1;
/// The file that makes an export complete.
pub const MANIFEST: &str = "export.json";

/// The tables exported, in the order they are loaded (a table after those it refers to; the
/// few references the other way are loaded in a second pass). Sessions and rate-limit events
/// are never exported; `api_tokens` only with `--with-tokens`.
pub const ORDER: &[&str] = &[
    "site_state",
    "settings",
    "users",
    "recovery_codes",
    "categories",
    "tags",
    "gallery_categories",
    "albums",
    "photos",
    "posts",
    "post_categories",
    "post_tags",
    "post_slug_redirects",
    "post_revisions",
    "videos",
    "subscribers",
    "subscriber_topics",
    "email_outbox",
    "jobs",
    "audit_log",
    "change_events",
    "webhooks",
    "webhook_deliveries",
    "digests",
    "import_items",
    "redirects",
    "api_tokens",
    tables::SEARCH,
];

/// What goes into an export.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Include API tokens (their hashes): the integrations keep working after a move.
    pub with_tokens: bool,
    /// Leave the media files out (content only).
    pub no_media: bool,
}

/// One table's file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableFile {
    pub file: String,
    pub rows: u64,
    pub sha256: String,
}

/// `export.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub keepsake: String,
    /// The newest migration of the database it was taken from.
    pub schema: String,
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub source: String,
    pub tables: BTreeMap<String, TableFile>,
    /// The highest id each table ever handed out.
    pub sequences: BTreeMap<String, i64>,
    pub media: Option<crate::backup::MediaSum>,
    pub api_tokens: bool,
    /// Tells whether the importing site has the same secret key (two-step secrets are sealed
    /// with it): an HMAC of a fixed text, not the key.
    pub key_check: String,
}

fn key_check(config: &Config) -> String {
    crate::tokens::sign(&config.secret, "keepsake export key check")[..16].to_string()
}

fn newest_applied(conn: &mut DbConn) -> Result<String> {
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        v: Option<String>,
    }
    let rows: Vec<V> = crate::per_backend!(conn, |c| diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT MAX(version) AS v FROM __diesel_schema_migrations"),
        c
    ))
    .unwrap_or_default();
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.v)
        .unwrap_or_default())
}

/// Exports the site into `path` (a new folder, or a `.zip` file).
pub fn export(config: &Config, db: &Db, path: &Path, opts: Options) -> Result<Manifest> {
    if let Some(s3) = &config.storage.s3
        && !opts.no_media
    {
        return Err(Error::invalid(
            "media",
            format!(
                "the media are in {}: export without the media files (cms export --no-media), and copy them to a folder with cms media migrate --to DIR",
                s3.url()
            ),
        ));
    }
    if !archive::is_zip(path) {
        let _ = std::fs::remove_file(path.join(MANIFEST));
    }
    let mut out = Writer::create(path)?;
    match write_export(config, db, &mut out, opts) {
        Ok(manifest) => {
            out.finish()?;
            Ok(manifest)
        }
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}

/// Writes the tables, the media and `export.json` into `out`.
fn write_export(config: &Config, db: &Db, out: &mut Writer, opts: Options) -> Result<Manifest> {
    let mut conn = db.conn()?;
    let conn: &mut DbConn = &mut conn;
    let names: Vec<&'static str> = ORDER
        .iter()
        .copied()
        .filter(|t| opts.with_tokens || *t != "api_tokens")
        .collect();
    // One snapshot for every table.
    let begin = match conn {
        DbConn::Sqlite(_) => "BEGIN",
        DbConn::Pg(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    conn.batch_execute(begin)?;
    let dumped = (|| -> Result<_> {
        let schema = newest_applied(conn)?;
        let described = tables::describe(conn, &names)?;
        let mut files = BTreeMap::new();
        for t in &described {
            let file = format!("tables/{}.jsonl", t.name);
            out.begin(&file, true)?;
            let mut h = Sha256::new();
            let rows = tables::dump(conn, t, |line| {
                h.update(line.as_bytes());
                h.update(b"\n");
                out.write(line.as_bytes())?;
                out.write(b"\n")
            })?;
            files.insert(
                t.name.to_string(),
                TableFile {
                    file,
                    rows,
                    sha256: hex::encode(h.finalize()),
                },
            );
        }
        let sequences = tables::sequences(conn, &described)?.into_iter().collect();
        Ok((schema, files, sequences))
    })();
    let _ = conn.batch_execute(if dumped.is_ok() { "COMMIT" } else { "ROLLBACK" });
    let (schema, files, sequences) = dumped?;
    let media = if opts.no_media {
        None
    } else {
        let root = &config.storage.media_dir;
        let mut sum = crate::backup::MediaSum::default();
        crate::backup::each_media_file(root, |rel, len| {
            let name = format!(
                "media/{}",
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            );
            out.copy_file(&name, &root.join(rel))?;
            sum.files += 1;
            sum.bytes += len;
            sum.copied += 1;
            sum.copied_bytes += len;
            Ok(())
        })?;
        Some(sum)
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        keepsake: env!("CARGO_PKG_VERSION").into(),
        schema,
        created_at: crate::backup::now_rfc3339(),
        source: match conn {
            DbConn::Sqlite(_) => "sqlite",
            DbConn::Pg(_) => "postgres",
        }
        .into(),
        tables: files,
        sequences,
        media,
        api_tokens: opts.with_tokens,
        key_check: key_check(config),
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("export.json: {e}")))?;
    // Last: an export without it is unfinished.
    out.begin(MANIFEST, true)?;
    out.write(&text)?;
    Ok(manifest)
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub manifest: Option<Manifest>,
    pub rows: BTreeMap<String, u64>,
    pub media_copied: u64,
    /// Accounts whose two-step verification was turned off because the export came from a
    /// site with another secret key (their sealed secrets cannot be opened here).
    pub two_step_reset: usize,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::invalid("import", format!("{} {why}", path.display()))
}

/// Imports the export at `path` into the configured, empty database and media folder.
pub fn import(config: &Config, path: &Path) -> Result<ImportReport> {
    if let Some(s3) = &config.storage.s3 {
        return Err(Error::invalid(
            "media",
            format!(
                "CMS_MEDIA_URL is {}: import without it (into the media folder), then move the media with cms media migrate --to {}",
                s3.url(),
                s3.url()
            ),
        ));
    }
    let mut src = Reader::open(path)?;
    let manifest: Manifest = src
        .with(MANIFEST, |r| {
            serde_json::from_reader(r).map_err(|e| bad(path, format!("has a damaged export.json: {e}")))
        })?
        .ok_or_else(|| {
            bad(
                path,
                "is not a complete Keepsake export: it has no export.json (an export that did not finish, or another kind of file)",
            )
        })?;
    if manifest.format != FORMAT {
        return Err(bad(
            path,
            format!("is a '{}', not a Keepsake export", manifest.format),
        ));
    }
    if manifest.version > VERSION {
        return Err(bad(
            path,
            format!(
                "was made by a newer Keepsake ({}): import it with that version",
                manifest.keepsake
            ),
        ));
    }
    let newest = crate::db::newest_known();
    if manifest.schema > newest {
        return Err(bad(
            path,
            format!(
                "was taken from a newer version of Keepsake (schema {}; this version knows up to {newest}): import it with that version",
                manifest.schema
            ),
        ));
    }
    let db = Db::connect(&config.database)?;
    let mut pooled = db.conn()?;
    let conn: &mut DbConn = &mut pooled;
    if crate::backup::content_rows(conn) > 0 {
        return Err(Error::Conflict(
            "the target database holds content: import into an empty database".into(),
        ));
    }
    let before = crate::db::migrate_up_to(conn, &manifest.schema)?;
    if before
        .as_deref()
        .is_some_and(|b| b > manifest.schema.as_str())
    {
        return Err(Error::Conflict(format!(
            "the target database is already at a newer schema than the export's ({}): import into a new, empty database",
            manifest.schema
        )));
    }
    // Media first: content-addressed files change nothing that is there.
    let media_copied = if manifest.media.is_some() {
        src.copy_media(&config.storage.media_dir)?
    } else {
        0
    };
    let names: Vec<&'static str> = ORDER
        .iter()
        .copied()
        .filter(|t| manifest.tables.contains_key(*t))
        .collect();
    if let Some(unknown) = manifest
        .tables
        .keys()
        .find(|k| !ORDER.contains(&k.as_str()) || *k == "sessions")
    {
        return Err(bad(
            path,
            format!("has a table this version does not import: {unknown}"),
        ));
    }
    let described = tables::describe(conn, &names)?;
    let loaded = in_one_transaction(conn, |conn| {
        load_all(conn, &described, &manifest.sequences, |conn, t, load| {
            let Some(f) = manifest.tables.get(t.name) else {
                return Ok(false);
            };
            src.with(&f.file, |r| {
                let mut h = Sha256::new();
                let reader = std::io::BufReader::new(r);
                for (i, line) in reader.lines().enumerate() {
                    let line = line.map_err(|e| {
                        bad(path, format!("{}: cannot read line {}: {e}", f.file, i + 1))
                    })?;
                    h.update(line.as_bytes());
                    h.update(b"\n");
                    if line.trim().is_empty() {
                        continue;
                    }
                    load.push(conn, line)?
                        .map_err(|why| bad(path, format!("{} line {}: {why}", f.file, i + 1)))?;
                }
                if hex::encode(h.finalize()) != f.sha256 || load.rows != f.rows {
                    return Err(bad(
                        path,
                        format!(
                            "has a damaged {} (its checksum or row count differs from export.json)",
                            f.file
                        ),
                    ));
                }
                Ok(())
            })?
            .ok_or_else(|| bad(path, format!("is missing {}", f.file)))?;
            Ok(true)
        })
    })
    .map_err(|e| match e {
        // A reference to a missing row: say which export.
        Error::Invalid {
            field: DANGLING,
            message,
        } => bad(path, message),
        other => other,
    });
    match loaded {
        Ok(rows) => {
            drop(pooled);
            let mut conn = db.conn()?;
            crate::db::run_migrations(&mut conn)?;
            let two_step_reset = if manifest.key_check != key_check(config) {
                reset_two_step(&mut conn)?
            } else {
                0
            };
            Ok(ImportReport {
                manifest: Some(manifest),
                rows,
                media_copied,
                two_step_reset,
            })
        }
        Err(e) => Err(e),
    }
}

/// The field of the error [`load_all`] gives for a reference to a missing row (its message
/// starts "has a row in …"); the caller names the source.
const DANGLING: &str = "dangling reference";

/// Runs `load` in one transaction. On SQLite, references are checked once after the load
/// (`foreign_key_check`) instead of a lookup per row; the switch only works outside a
/// transaction, and is on again afterwards whatever happened.
fn in_one_transaction<T>(
    conn: &mut DbConn,
    load: impl FnOnce(&mut DbConn) -> Result<T>,
) -> Result<T> {
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    if sqlite {
        conn.batch_execute("PRAGMA foreign_keys = OFF")?;
    }
    let loaded = conn
        .batch_execute(if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" })
        .map_err(Error::from)
        .and_then(|()| load(conn))
        .and_then(|rows| {
            conn.batch_execute("COMMIT")?;
            Ok(rows)
        });
    if loaded.is_err() {
        let _ = conn.batch_execute("ROLLBACK");
    }
    if sqlite {
        conn.batch_execute("PRAGMA foreign_keys = ON")?;
    }
    loaded
}

/// One table's rows on their way in: each checked, the late columns kept aside, loaded in
/// batches.
pub(crate) struct TableLoad<'t> {
    table: &'t Table,
    batch: Vec<String>,
    late: Vec<(String, Vec<serde_json::Value>)>,
    /// Rows pushed so far.
    pub rows: u64,
}

impl<'t> TableLoad<'t> {
    fn new(table: &'t Table) -> Self {
        TableLoad {
            table,
            batch: Vec::with_capacity(tables::BATCH),
            late: table.late.iter().map(|c| (c.clone(), Vec::new())).collect(),
            rows: 0,
        }
    }

    /// Checks one row (a JSON object's text) and queues it, loading a full batch. The inner
    /// error says what is wrong with the row; the caller says where it is.
    pub(crate) fn push(
        &mut self,
        conn: &mut DbConn,
        line: String,
    ) -> Result<std::result::Result<(), String>> {
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => return Ok(Err(format!("not JSON ({e})"))),
        };
        if let Err(why) = tables::check_row(self.table, &v) {
            return Ok(Err(why));
        }
        for (col, rows) in &mut self.late {
            if let Some(x) = v.get(col.as_str()).filter(|x| !x.is_null()) {
                rows.push(serde_json::json!({ "id": v.get("id"), col.as_str(): x }));
            }
        }
        self.batch.push(line);
        self.rows += 1;
        if self.batch.len() == tables::BATCH {
            self.flush(conn)?;
        }
        Ok(Ok(()))
    }

    fn flush(&mut self, conn: &mut DbConn) -> Result<()> {
        if !self.batch.is_empty() {
            tables::load(conn, self.table, &format!("[{}]", self.batch.join(",")))?;
            self.batch.clear();
        }
        Ok(())
    }
}

/// Loads every table, in the caller's transaction, from `feed`: called once per table with a
/// [`TableLoad`] to push its rows into, it returns false when its source has no such table.
/// `sequences`: the highest id each table ever handed out.
fn load_all(
    conn: &mut DbConn,
    described: &[Table],
    sequences: &BTreeMap<String, i64>,
    mut feed: impl FnMut(&mut DbConn, &Table, &mut TableLoad) -> Result<bool>,
) -> Result<BTreeMap<String, u64>> {
    // What the migrations put in (the site's row, default settings) makes way for the rows.
    for t in described.iter().rev() {
        let sql = if t.name == tables::SEARCH {
            match conn {
                DbConn::Sqlite(_) => "DELETE FROM search_fts".to_string(),
                DbConn::Pg(_) => "DELETE FROM search_documents".to_string(),
            }
        } else {
            format!("DELETE FROM {}", t.name)
        };
        conn.batch_execute(&sql)?;
    }
    // Secondary indexes are built once at the end, from sorted keys.
    let mut indexes = Vec::new();
    for t in described {
        for (name, sql) in tables::secondary_indexes(conn, t)? {
            tables::drop_index(conn, &name)?;
            indexes.push(sql);
        }
    }
    let mut counts = BTreeMap::new();
    let mut deferred: Vec<(&Table, String, Vec<serde_json::Value>)> = Vec::new();
    for t in described {
        let mut load = TableLoad::new(t);
        if !feed(conn, t, &mut load)? {
            continue;
        }
        load.flush(conn)?;
        counts.insert(t.name.to_string(), load.rows);
        deferred.extend(load.late.into_iter().map(|(col, rows)| (t, col, rows)));
    }
    // The references to rows loaded later, now that every row is in.
    for (t, col, rows) in deferred {
        for chunk in rows.chunks(tables::BATCH) {
            let text =
                serde_json::to_string(chunk).map_err(|e| Error::Internal(format!("json: {e}")))?;
            tables::load_late(conn, t, &col, &text)?;
        }
    }
    for sql in indexes {
        conn.batch_execute(&sql)?;
    }
    if let Some(why) = tables::dangling_reference(conn)? {
        return Err(Error::invalid(DANGLING, why));
    }
    for t in tables::with_ids(described) {
        let n = sequences.get(t.name).copied().unwrap_or(0);
        tables::set_sequence(conn, t, n)?;
    }
    Ok(counts)
}

/// Copies every table of the database `from` (a backup's SQLite snapshot) into the empty
/// database `to` — migrated first to `from`'s schema, loaded in one transaction the way an
/// import loads an export, then brought up to date. `what` names the source in errors.
pub(crate) fn copy_tables(from: &mut DbConn, to: &mut DbConn, what: &str) -> Result<u64> {
    let schema = newest_applied(from)?;
    crate::db::migrate_up_to(to, &schema)?;
    // The tables of `from`'s own schema (an older one has fewer).
    let names: Vec<&'static str> = ORDER
        .iter()
        .copied()
        .filter(|t| {
            *t == tables::SEARCH
                || from
                    .batch_execute(&format!("SELECT 1 FROM {t} LIMIT 0"))
                    .is_ok()
        })
        .collect();
    let source = tables::describe(from, &names)?;
    let target = tables::describe(to, &names)?;
    let sequences: BTreeMap<String, i64> = tables::sequences(from, &source)?.into_iter().collect();
    let counts = in_one_transaction(to, |to| {
        load_all(to, &target, &sequences, |to, t, load| {
            let Some(s) = source.iter().find(|s| s.name == t.name) else {
                return Ok(false);
            };
            tables::dump(from, s, |line| {
                load.push(to, line.to_string())?
                    .map_err(|why| Error::invalid("restore", format!("{what}: {}: {why}", t.name)))
            })?;
            Ok(true)
        })
    })
    .map_err(|e| match e {
        Error::Invalid {
            field: DANGLING,
            message,
        } => Error::invalid("restore", format!("{what} {message}")),
        other => other,
    })?;
    crate::db::run_migrations(to)?;
    Ok(counts.values().sum())
}

/// Turns off two-step verification for every account that has it (its secret is sealed
/// under another site's key). Returns how many.
fn reset_two_step(conn: &mut DbConn) -> Result<usize> {
    use crate::schema::{recovery_codes, users};
    use diesel::prelude::*;
    crate::db::write_tx(conn, |c| {
        let n = diesel::update(
            users::table.filter(
                users::totp_secret
                    .is_not_null()
                    .or(users::totp_pending_secret.is_not_null()),
            ),
        )
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_pending_secret.eq(None::<String>),
            users::totp_enabled_at.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(c)?;
        diesel::delete(recovery_codes::table).execute(c)?;
        Ok::<_, Error>(n)
    })
}

//! Backups of a running site and their restore (`cms backup DIR`, `cms backup --verify DIR`,
//! `cms restore DIR`).
//!
//! A backup folder holds the database as one consistent snapshot taken while the site serves
//! and writes (SQLite: `VACUUM INTO`, which reads one snapshot, WAL included; PostgreSQL:
//! `pg_dump` on a snapshot exported from a repeatable-read transaction, in which the rows are
//! also counted), the media files (content-addressed and never changed, so a backup into the
//! same folder copies only the files it does not have yet), the secret key file, and
//! `manifest.json`: format, Keepsake and schema versions, counts per table, sizes and SHA-256s.
//! The manifest is removed first and written last (through a rename), so a backup that was
//! killed half-way never looks complete.
//!
//! A restore verifies the backup first, refuses a backup from a newer schema and a target
//! database that holds content (unless forced), copies the media and the key (which changes
//! nothing that is there), then swaps a SQLite file in atomically (removing stale `-wal` and
//! `-shm` files) or loads the dump into PostgreSQL — or a SQLite snapshot into PostgreSQL,
//! table by table as an import loads an export — and migrates an older schema. A restore
//! killed at any point leaves the old database or the whole new one; running it again finishes.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, DatabaseUrl};
use crate::error::{Error, Result};

pub mod schedule;

/// The version of the backup layout this build writes and reads.
pub const FORMAT: u32 = 1;
/// The file that makes a backup folder a complete backup.
pub const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "database.sqlite";
const PG_FILE: &str = "database.pgdump";
const KEY_FILE: &str = "secret.key";
const MEDIA: &str = "media";

/// Every table of the content model, counted in the manifest: those an export carries and the
/// three it never does (sessions and the two kinds of rate-limit counts).
pub fn tables() -> impl Iterator<Item = &'static str> {
    crate::export::ORDER
        .iter()
        .copied()
        .filter(|t| *t != crate::export::tables::SEARCH)
        .chain(["sessions", "rate_events", "api_rate"])
}

/// Tables whose rows make a site "not empty" for a restore.
const CONTENT: &[&str] = &[
    "users",
    "posts",
    "albums",
    "photos",
    "videos",
    "subscribers",
];

/// A file of the backup: its name in the folder, size and SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileSum {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The media part of a backup.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MediaSum {
    /// Files in the backup's media folder.
    pub files: u64,
    pub bytes: u64,
    /// Files this backup copied (the others were there from an earlier backup).
    pub copied: u64,
    /// Bytes of the files it copied.
    #[serde(default)]
    pub copied_bytes: u64,
    /// Files hard-linked instead of copied (no space taken): from the previous snapshot of a
    /// scheduled backup, or to another name of the same file.
    #[serde(default)]
    pub linked: u64,
}

/// What `manifest.json` says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// When the snapshot was taken, RFC 3339 UTC.
    pub created_at: String,
    pub keepsake: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The newest migration applied to the database.
    pub schema: String,
    pub database: FileSum,
    /// The key file, when the key is one (not when it comes from `CMS_SECRET_KEY`).
    pub secret_key: Option<FileSum>,
    pub counts: BTreeMap<String, i64>,
    pub media: MediaSum,
    /// How long the database snapshot and the media took, in seconds.
    #[serde(default)]
    pub seconds: Seconds,
}

/// The time a backup's two parts took.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Seconds {
    pub database: f64,
    pub media: f64,
}

#[derive(QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows per table, on any connection (our own table names, never input).
fn count_tables<C>(conn: &mut C) -> Result<BTreeMap<String, i64>>
where
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Count>,
{
    count_named(conn, tables())
}

/// Rows in each of the named tables (names from our own list or a manifest checked against it).
fn count_named<'n, C>(
    conn: &mut C,
    names: impl IntoIterator<Item = &'n str>,
) -> Result<BTreeMap<String, i64>>
where
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Count>,
{
    let mut out = BTreeMap::new();
    for t in names {
        let rows: Vec<Count> = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {t}"))
            .load(conn)
            .map_err(Error::from)?;
        out.insert(t.to_string(), rows.first().map_or(0, |c| c.n));
    }
    Ok(out)
}

pub(crate) fn io(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(context, e)
}

pub(crate) fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let mut f = std::fs::File::open(path).map_err(io(format!("cannot read {}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(io(format!("cannot read {}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(h.finalize())))
}

fn sum(dir: &Path, file: &str) -> Result<FileSum> {
    let (bytes, sha256) = sha256_file(&dir.join(file))?;
    Ok(FileSum {
        file: file.to_string(),
        bytes,
        sha256,
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename, synced.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("partial");
    let mut f =
        std::fs::File::create(&tmp).map_err(io(format!("cannot write {}", tmp.display())))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(format!("cannot write {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("cannot write {}", path.display())))
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// The newest migration applied to a database.
fn schema_of<C>(conn: &mut C) -> Result<String>
where
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Version>,
{
    let rows: Vec<Version> =
        diesel::sql_query("SELECT MAX(version) AS v FROM __diesel_schema_migrations")
            .load(conn)
            .map_err(Error::from)?;
    rows.into_iter()
        .next()
        .map(|r| r.v)
        .ok_or_else(|| Error::Internal("the database has no schema version".into()))
}

/// libpq's environment for a `postgres://` URL, so no password shows in a process list.
fn pg_env(url: &str) -> Result<Vec<(&'static str, String)>> {
    let u = url::Url::parse(url)
        .map_err(|e| Error::invalid("CMS_DATABASE_URL", format!("not a URL: {e}")))?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut env = vec![
        ("PGHOST", u.host_str().unwrap_or("localhost").to_string()),
        ("PGPORT", u.port().unwrap_or(5432).to_string()),
        ("PGDATABASE", decode(u.path().trim_start_matches('/'))),
    ];
    if !u.username().is_empty() {
        env.push(("PGUSER", decode(u.username())));
    }
    if let Some(p) = u.password() {
        env.push(("PGPASSWORD", decode(p)));
    }
    Ok(env)
}

/// The `application_name` of a restore's loading connection, so a later restore can find one
/// that a killed restore left behind.
const RESTORE_APP: &str = "keepsake-restore";

/// Replaces the database's `public` schema with a `pg_dump` archive in one transaction: the old
/// schema is dropped inside the transaction that loads the new one. `pg_restore` turns the
/// archive into SQL, which reaches `psql` through this process between `BEGIN` and `COMMIT`;
/// killed at any point before the `COMMIT` is passed on, psql's input ends without it and
/// PostgreSQL rolls everything back — the old database stays, and nothing loads on without
/// this process (a `pg_restore --dbname` of its own would go on and commit after a kill).
fn load_dump(url: &str, file: &Path) -> Result<()> {
    use std::process::{Command, Stdio};
    let missing = |tool: &'static str| {
        move |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Internal(format!(
                    "{tool} is not installed: install PostgreSQL's client tools (Debian: postgresql-client)"
                ))
            } else {
                Error::io(format!("cannot run {tool}"), e)
            }
        }
    };
    let mut psql = Command::new("psql")
        .args(["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"])
        .env_remove("PGSERVICE")
        .envs(pg_env(url)?)
        .env("PGAPPNAME", RESTORE_APP)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(missing("psql"))?;
    let mut sql = Command::new("pg_restore")
        .args(["--no-owner", "--no-privileges", "--file=-"])
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(missing("pg_restore"))?;
    // Each tool's complaints are read as they come, so neither blocks on a full pipe.
    let drain = |pipe: Option<std::process::ChildStderr>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let (psql_err, sql_err) = (drain(psql.stderr.take()), drain(sql.stderr.take()));
    let fed = (|| -> std::io::Result<()> {
        let (Some(input), Some(mut output)) = (psql.stdin.as_mut(), sql.stdout.take()) else {
            return Err(std::io::Error::other("no pipe"));
        };
        input.write_all(
            b"SET client_min_messages = warning;\nBEGIN;\n\
              DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n",
        )?;
        std::io::copy(&mut output, input)?;
        // Only a whole archive is committed: pg_restore must have read it to the end.
        if !sql.wait()?.success() {
            return Err(std::io::Error::other("pg_restore failed"));
        }
        input.write_all(b"COMMIT;\n")
    })();
    drop(psql.stdin.take());
    let loaded = psql.wait().map_err(|e| Error::io("cannot run psql", e))?;
    let _ = sql.kill();
    let _ = sql.wait();
    let first_line = |t: std::thread::JoinHandle<String>| {
        t.join()
            .unwrap_or_default()
            .lines()
            .find(|l| !l.trim().is_empty())
            .map(str::to_string)
    };
    let (psql_says, sql_says) = (first_line(psql_err), first_line(sql_err));
    match (fed, loaded.success()) {
        (Ok(()), true) => Ok(()),
        (_, false) => Err(Error::Internal(format!(
            "loading the database failed: {}",
            psql_says.unwrap_or_else(|| "psql stopped".into())
        ))),
        (Err(e), true) => Err(Error::Internal(format!(
            "reading the database dump failed: {}",
            sql_says.unwrap_or_else(|| e.to_string())
        ))),
    }
}

/// Runs a PostgreSQL client tool (`pg_dump`, `pg_restore`) with the database's environment.
fn pg_tool(tool: &str, url: &str, args: &[&str]) -> Result<()> {
    let mut cmd = std::process::Command::new(tool);
    cmd.args(args).env_remove("PGSERVICE").env(
        "PGAPPNAME",
        format!("keepsake-{}", tool.trim_start_matches("pg_")),
    );
    for (k, v) in pg_env(url)? {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Internal(format!(
                "{tool} is not installed: install PostgreSQL's client tools (Debian: postgresql-client)"
            ))
        } else {
            Error::io(format!("cannot run {tool}"), e)
        }
    })?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(Error::Internal(format!(
            "{tool} failed: {}",
            err.lines().next().unwrap_or("no message")
        )))
    }
}

/// Calls `f` with every file under a media folder (its temporary files left out): its path
/// relative to the folder, and its size. One folder's names in memory at a time.
pub(crate) fn each_media_file(
    root: &Path,
    mut f: impl FnMut(&Path, u64) -> Result<()>,
) -> Result<()> {
    walk_media(root, |_, files| {
        files.into_iter().try_for_each(|m| f(&m.rel, m.len))
    })
}

/// A file of a media folder.
struct MediaFile {
    rel: PathBuf,
    len: u64,
    /// Device, inode and number of names of a file with more than one name (hard links).
    shared: Option<(u64, u64, u64)>,
}

#[cfg(unix)]
fn shared_inode(meta: &std::fs::Metadata) -> Option<(u64, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    (meta.nlink() > 1).then(|| (meta.dev(), meta.ino(), meta.nlink()))
}

#[cfg(not(unix))]
fn shared_inode(_: &std::fs::Metadata) -> Option<(u64, u64, u64)> {
    None
}

/// Calls `each` with every folder under a media folder (relative to it) and its files in
/// name order, one folder at a time — a million photos' three million names are never all in
/// memory. Temporary files at the top (`.tmp…`) are left out.
fn walk_media(
    root: &Path,
    mut each: impl FnMut(&Path, Vec<MediaFile>) -> Result<()>,
) -> Result<()> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("cannot read {}", d.display()), e)),
        };
        let mut files = Vec::new();
        for e in entries {
            let e = e.map_err(io(format!("cannot read {}", d.display())))?;
            let name = e.file_name();
            if d == root && name.to_string_lossy().starts_with('.') {
                continue;
            }
            // A copy a killed backup or restore left half-written (never a media key).
            if name.to_string_lossy().ends_with(".partial") {
                continue;
            }
            let meta = e
                .metadata()
                .map_err(io(format!("cannot read {}", e.path().display())))?;
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file()
                && let Ok(rel) = e.path().strip_prefix(root)
            {
                files.push(MediaFile {
                    rel: rel.to_path_buf(),
                    len: meta.len(),
                    shared: shared_inode(&meta),
                });
            }
        }
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        each(d.strip_prefix(root).unwrap_or(Path::new("")), files)?;
    }
    Ok(())
}

/// Copies the files of `from` that `to` does not have. Media files are content-addressed,
/// never change, and get their names only when complete (renamed or linked into place), so a
/// name that is there is the right file: each folder of `to` is listed once, not each file
/// looked at. A file that `link_from` (an earlier snapshot's media) has is hard-linked from
/// there instead, where the filesystem allows: unchanged media then costs a snapshot no space
/// and almost no time. Names that are hard links of one file in `from` stay links of one file
/// in `to` (as `cp -a` and `rsync -H` keep them): a generated archive's million photos share
/// 64 images.
pub(crate) fn copy_missing(from: &Path, to: &Path, link_from: Option<&Path>) -> Result<MediaSum> {
    let mut sum = MediaSum::default();
    // A file with several names: where its first name in `to` is, and how many are to come.
    let mut written: std::collections::HashMap<(u64, u64), (PathBuf, u64)> =
        std::collections::HashMap::new();
    walk_media(from, |dir, files| {
        let dest_dir = to.join(dir);
        let present: std::collections::HashSet<std::ffi::OsString> =
            match std::fs::read_dir(&dest_dir) {
                Ok(entries) => entries.flatten().map(|e| e.file_name()).collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !files.is_empty() {
                        std::fs::create_dir_all(&dest_dir)
                            .map_err(io(format!("cannot create {}", dest_dir.display())))?;
                    }
                    Default::default()
                }
                Err(e) => {
                    return Err(Error::io(format!("cannot read {}", dest_dir.display()), e));
                }
            };
        for MediaFile { rel, len, shared } in files {
            sum.files += 1;
            sum.bytes += len;
            let dest = to.join(&rel);
            if rel.file_name().is_some_and(|n| present.contains(n)) {
                remember(&mut written, shared, &dest);
                continue;
            }
            // A hard link appears whole or not at all, so it goes straight to its name; a
            // copy is written beside it and renamed into place.
            let same =
                shared.and_then(|(dev, ino, _)| written.get(&(dev, ino)).map(|(p, _)| p.clone()));
            let linked = same.is_some_and(|same| link_into(&same, &dest))
                || link_from.is_some_and(|prev| {
                    let earlier = prev.join(&rel);
                    std::fs::metadata(&earlier).is_ok_and(|m| m.len() == len)
                        && link_into(&earlier, &dest)
                });
            if !linked {
                let tmp = dest.with_extension("partial");
                std::fs::copy(from.join(&rel), &tmp)
                    .map_err(io(format!("cannot copy {}", rel.display())))?;
                std::fs::rename(&tmp, &dest)
                    .map_err(io(format!("cannot write {}", dest.display())))?;
            }
            remember(&mut written, shared, &dest);
            if linked {
                sum.linked += 1;
            } else {
                sum.copied += 1;
                sum.copied_bytes += len;
            }
        }
        Ok(())
    })?;
    Ok(sum)
}

/// [`copy_missing`] from an object store: every object the backup's folder lacks (by name and
/// size) is downloaded, checked against its ETag and renamed into place; one the previous
/// snapshot has is hard-linked instead.
fn copy_missing_from_bucket(
    store: &crate::media::s3::S3MediaStore,
    to: &Path,
    link_from: Option<&Path>,
) -> Result<MediaSum> {
    let mut sum = MediaSum::default();
    for (key, len, tag) in store.list()? {
        sum.files += 1;
        sum.bytes += len;
        let dest = to.join(&key);
        if std::fs::metadata(&dest).is_ok_and(|m| m.len() == len) {
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("cannot create {}", parent.display())))?;
        }
        let linked = link_from.is_some_and(|prev| {
            let earlier = prev.join(&key);
            std::fs::metadata(&earlier).is_ok_and(|m| m.len() == len) && link_into(&earlier, &dest)
        });
        if linked {
            sum.linked += 1;
            continue;
        }
        // Streamed into a file beside its name (not whole in memory), checked, renamed.
        let tmp = dest.with_extension("partial");
        store.download_to(&key, &tmp)?;
        if let Some(tag) = tag.as_deref()
            && !crate::media::migrate::etag_matches(tag, &tmp)
                .map_err(io(format!("cannot read {}", tmp.display())))?
        {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Internal(format!(
                "{key}: the bytes read from the media store do not match the object's ETag {tag} (the store's ETags must be MD5s, as Garage's, MinIO's and S3's without KMS are)"
            )));
        }
        std::fs::rename(&tmp, &dest).map_err(io(format!("cannot write {}", dest.display())))?;
        sum.copied += 1;
        sum.copied_bytes += len;
    }
    Ok(sum)
}

/// Restores a backup's media into an object store: every file the bucket lacks (by name and
/// size) is uploaded.
fn upload_missing(from: &Path, store: &crate::media::s3::S3MediaStore) -> Result<u64> {
    let present: std::collections::HashMap<String, u64> = store
        .list()?
        .into_iter()
        .map(|(k, len, _)| (k, len))
        .collect();
    let mut uploaded = 0;
    each_media_file(from, |rel, len| {
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if present.get(&key) == Some(&len) {
            return Ok(());
        }
        store.put_from_path(&key, &from.join(rel))?;
        uploaded += 1;
        Ok(())
    })?;
    Ok(uploaded)
}

/// Notes where a file with several names first landed in the copy, until all its names have
/// been seen.
fn remember(
    written: &mut std::collections::HashMap<(u64, u64), (PathBuf, u64)>,
    shared: Option<(u64, u64, u64)>,
    dest: &Path,
) {
    if let Some((dev, ino, names)) = shared {
        let left = {
            let e = written
                .entry((dev, ino))
                .or_insert_with(|| (dest.to_path_buf(), names));
            e.1 = e.1.saturating_sub(1);
            e.1
        };
        if left == 0 {
            written.remove(&(dev, ino));
        }
    }
}

/// Hard-links `existing` as `dest`, replacing a damaged file there; false where the
/// filesystem cannot (another device, no hard links): the caller copies.
fn link_into(existing: &Path, dest: &Path) -> bool {
    match std::fs::hard_link(existing, dest) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(dest).is_ok() && std::fs::hard_link(existing, dest).is_ok()
        }
        Err(_) => false,
    }
}

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Takes a backup of the site into `dir` (created if needed; an earlier backup there is
/// brought up to date, copying only the media files it lacks).
pub fn backup(
    config: &Config,
    db: &crate::db::Db,
    media_root: &Path,
    dir: &Path,
) -> Result<Manifest> {
    backup_linked(config, db, media_root, dir, None)
}

/// [`backup`], hard-linking media files the snapshot `previous` has instead of copying them.
pub(crate) fn backup_linked(
    config: &Config,
    db: &crate::db::Db,
    media_root: &Path,
    dir: &Path,
    previous: Option<&Path>,
) -> Result<Manifest> {
    if dir.exists() && !dir.is_dir() {
        return Err(bad(
            dir,
            "is a file: back up into a folder (a new one, or an earlier backup)",
        ));
    }
    std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    // From here until the end, this folder is not a complete backup.
    match std::fs::remove_file(dir.join(MANIFEST)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::io(format!("cannot write in {}", dir.display()), e));
        }
        _ => {}
    }
    let started = std::time::Instant::now();
    let (backend, database, counts, schema) = match &config.database.url {
        DatabaseUrl::Sqlite { .. } => {
            let partial = dir.join(format!("{SQLITE_FILE}.partial"));
            let _ = std::fs::remove_file(&partial);
            let quoted = partial.display().to_string().replace('\'', "''");
            {
                // One read snapshot of the live database, WAL included, compacted.
                let mut conn = db.conn()?;
                conn.batch_execute(&format!("VACUUM INTO '{quoted}'"))
                    .map_err(|e| {
                        // A full disk leaves no half snapshot taking its space.
                        let _ = std::fs::remove_file(&partial);
                        Error::from(e)
                    })?;
            }
            let (counts, schema) = {
                let path = partial.display().to_string();
                let mut snap = diesel::SqliteConnection::establish(&path)
                    .map_err(|e| Error::Internal(format!("cannot open the snapshot: {e}")))?;
                (count_tables(&mut snap)?, schema_of(&mut snap)?)
            };
            std::fs::rename(&partial, dir.join(SQLITE_FILE))
                .map_err(io(format!("cannot write in {}", dir.display())))?;
            ("sqlite", sum(dir, SQLITE_FILE)?, counts, schema)
        }
        DatabaseUrl::Postgres { url } => {
            let partial = dir.join(format!("{PG_FILE}.partial"));
            let _ = std::fs::remove_file(&partial);
            let mut c = crate::db::establish_pg(url)
                .map_err(|e| Error::Unavailable(format!("cannot connect: {e}")))?;
            // The rows are counted and dumped in one snapshot: this transaction's, which
            // pg_dump joins.
            c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .map_err(Error::from)?;
            let snap: Vec<Snapshot> = diesel::sql_query("SELECT pg_export_snapshot() AS id")
                .load(&mut c)
                .map_err(Error::from)?;
            let id = snap
                .into_iter()
                .next()
                .map(|s| s.id)
                .ok_or_else(|| Error::Internal("no snapshot".into()))?;
            let counts = count_tables(&mut c)?;
            let schema = schema_of(&mut c)?;
            let file = partial.display().to_string();
            pg_tool(
                "pg_dump",
                url,
                &[
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    &format!("--snapshot={id}"),
                    &format!("--file={file}"),
                ],
            )
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&partial);
            })?;
            c.batch_execute("COMMIT").map_err(Error::from)?;
            std::fs::rename(&partial, dir.join(PG_FILE))
                .map_err(io(format!("cannot write in {}", dir.display())))?;
            ("postgres", sum(dir, PG_FILE)?, counts, schema)
        }
    };
    let database_seconds = started.elapsed().as_secs_f64();
    let earlier = previous.map(|p| p.join(MEDIA));
    let media = match &config.storage.s3 {
        Some(location) => {
            let store = crate::media::s3::S3MediaStore::open(location.clone())?;
            copy_missing_from_bucket(&store, &dir.join(MEDIA), earlier.as_deref())?
        }
        None => copy_missing(media_root, &dir.join(MEDIA), earlier.as_deref())?,
    };
    let media_seconds = started.elapsed().as_secs_f64() - database_seconds;
    let secret_key = if let Some(key_file) = &config.secret_key_file {
        let bytes = std::fs::read(key_file).map_err(io("cannot read the secret key"))?;
        write_atomically(&dir.join(KEY_FILE), &bytes)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(
                dir.join(KEY_FILE),
                std::fs::Permissions::from_mode(0o600),
            );
        }
        Some(sum(dir, KEY_FILE)?)
    } else {
        None
    };
    let manifest = Manifest {
        format: FORMAT,
        created_at: now_rfc3339(),
        keepsake: env!("CARGO_PKG_VERSION").to_string(),
        backend: backend.to_string(),
        schema,
        database,
        secret_key,
        counts,
        media,
        seconds: Seconds {
            database: database_seconds,
            media: media_seconds,
        },
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
    write_atomically(&dir.join(MANIFEST), &text)?;
    Ok(manifest)
}

/// A problem with a backup folder, for the one-line error.
fn bad(dir: &Path, why: impl std::fmt::Display) -> Error {
    Error::invalid("backup", format!("{} {why}", dir.display()))
}

/// Checks a backup: complete (a manifest), readable by this version, files as summed, the
/// SQLite database intact with the counted rows and every photo's original present, a
/// PostgreSQL dump readable by `pg_restore`.
pub fn verify(dir: &Path) -> Result<Manifest> {
    if dir.exists() && !dir.is_dir() {
        return Err(bad(dir, "is a file, not a backup folder"));
    }
    let text = match std::fs::read(dir.join(MANIFEST)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(
                dir,
                "is not a complete backup: it has no manifest.json (a backup that did not finish, or not a backup)",
            ));
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
    };
    let m: Manifest = serde_json::from_slice(&text)
        .map_err(|e| bad(dir, format!("has a damaged manifest.json: {e}")))?;
    if m.format > FORMAT {
        return Err(bad(
            dir,
            format!(
                "was made by a newer Keepsake ({}): use that version",
                m.keepsake
            ),
        ));
    }
    let newest = crate::db::newest_known();
    if m.schema > newest {
        return Err(bad(
            dir,
            format!(
                "was taken from a newer version of Keepsake (schema {}; this version knows up to {newest}): use that version",
                m.schema
            ),
        ));
    }
    for f in std::iter::once(&m.database).chain(m.secret_key.iter()) {
        let (bytes, sha) = sha256_file(&dir.join(&f.file))
            .map_err(|_| bad(dir, format!("is missing {}", f.file)))?;
        if bytes != f.bytes || sha != f.sha256 {
            return Err(bad(
                dir,
                format!("has a damaged {} (its checksum differs)", f.file),
            ));
        }
    }
    match m.backend.as_str() {
        "sqlite" => {
            let path = dir.join(SQLITE_FILE).display().to_string();
            let mut c = diesel::SqliteConnection::establish(&format!("file:{path}?mode=ro"))
                .or_else(|_| diesel::SqliteConnection::establish(&path))
                .map_err(|e| bad(dir, format!("has a database that cannot be opened: {e}")))?;
            let check: Vec<IntegrityRow> = diesel::sql_query("PRAGMA integrity_check")
                .load(&mut c)
                .map_err(|e| bad(dir, format!("has a damaged database: {e}")))?;
            if check.first().map(|r| r.integrity_check.as_str()) != Some("ok") {
                return Err(bad(dir, "has a damaged database (integrity check failed)"));
            }
            // The tables of the backup's own schema: an older one has fewer.
            if let Some(t) = m.counts.keys().find(|t| !tables().any(|k| k == t.as_str())) {
                return Err(bad(
                    dir,
                    format!("counts a table this version does not know: {t}"),
                ));
            }
            let counts = count_named(&mut c, m.counts.keys().map(String::as_str))
                .map_err(|e| bad(dir, format!("has a database unlike its manifest: {e}")))?;
            if counts != m.counts {
                return Err(bad(
                    dir,
                    "has a database whose rows differ from its manifest",
                ));
            }
            let originals: Vec<(String, String)> = crate::schema::photos::table
                .select((
                    crate::schema::photos::content_hash,
                    crate::schema::photos::mime,
                ))
                .load(&mut c)
                .map_err(Error::from)?;
            let media = dir.join(MEDIA);
            let missing = originals
                .iter()
                .filter(|(h, mime)| {
                    !media
                        .join(crate::media::photo_original_key(h, mime))
                        .is_file()
                })
                .count();
            if missing > 0 {
                return Err(bad(dir, format!("lacks {missing} photo file(s) in media/")));
            }
        }
        "postgres" => {
            let out = std::process::Command::new("pg_restore")
                .arg("--list")
                .arg(dir.join(PG_FILE))
                .output()
                .map_err(|e| Error::io("cannot run pg_restore (install postgresql-client)", e))?;
            if !out.status.success() {
                return Err(bad(dir, "has a database dump pg_restore cannot read"));
            }
        }
        other => return Err(bad(dir, format!("is of an unknown backend '{other}'"))),
    }
    let mut on_disk = 0u64;
    each_media_file(&dir.join(MEDIA), |_, _| {
        on_disk += 1;
        Ok(())
    })?;
    if on_disk < m.media.files {
        return Err(bad(
            dir,
            format!(
                "has {} media files, fewer than the {} it was made with",
                on_disk, m.media.files
            ),
        ));
    }
    Ok(m)
}

#[derive(QueryableByName)]
struct IntegrityRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

/// Rows in the content tables of a database (0 when it has none of our tables yet).
pub(crate) fn content_rows<C>(conn: &mut C) -> i64
where
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Count>,
{
    CONTENT
        .iter()
        .filter_map(|t| {
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {t}"))
                .load::<Count>(conn)
                .ok()
                .and_then(|r| r.first().map(|c| c.n))
        })
        .sum()
}

/// Restores the backup in `dir` into the configured database and media folder. The site must
/// not be running on them. Refuses a target with content unless `force`.
pub fn restore(config: &Config, dir: &Path, force: bool) -> Result<Manifest> {
    let m = verify(dir)?;
    let media_root = &config.storage.media_dir;
    let target_backend = match config.database.url {
        DatabaseUrl::Sqlite { .. } => "sqlite",
        DatabaseUrl::Postgres { .. } => "postgres",
    };
    // A SQLite snapshot also loads into PostgreSQL, table by table as an export would; a
    // PostgreSQL dump needs PostgreSQL to read it.
    let across = m.backend == "sqlite" && target_backend == "postgres";
    if m.backend != target_backend && !across {
        return Err(bad(
            dir,
            format!(
                "holds a {} database and CMS_DATABASE_URL is {target_backend}: restore it into PostgreSQL, or move the site with cms export and cms import keepsake",
                m.backend
            ),
        ));
    }
    // Nothing is replaced without --force: a target database that holds content is refused
    // before anything is written.
    let occupied = match &config.database.url {
        DatabaseUrl::Sqlite { path } => {
            path.is_file()
                && diesel::SqliteConnection::establish(&path.display().to_string())
                    .map(|mut c| content_rows(&mut c) > 0)
                    .unwrap_or(true)
        }
        DatabaseUrl::Postgres { url } => {
            let mut c = crate::db::establish_pg(url)
                .map_err(|e| Error::Unavailable(format!("cannot connect: {e}")))?;
            content_rows(&mut c) > 0
        }
    };
    if occupied && !force {
        return Err(Error::Conflict(
            "the target database holds content: restore into an empty one, or pass --force to replace it"
                .into(),
        ));
    }
    // Media and key first: copying content-addressed files never changes one that is there,
    // so a restore killed here leaves the target as it was, and running it again finishes.
    match &config.storage.s3 {
        Some(location) => {
            let store = crate::media::s3::S3MediaStore::open(location.clone())?;
            store.check()?;
            upload_missing(&dir.join(MEDIA), &store)?;
        }
        None => {
            copy_missing(&dir.join(MEDIA), media_root, None)?;
        }
    }
    // The site's key comes back with it (signed links, sessions' cookies, two-step secrets);
    // a key set in the configuration is the configuration's business.
    if let (Some(k), Some(key_file)) = (&m.secret_key, &config.secret_key_file) {
        let bytes = std::fs::read(dir.join(&k.file)).map_err(io("cannot read the backup's key"))?;
        if let Some(parent) = key_file.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("cannot create {}", parent.display())))?;
        }
        write_atomically(key_file, &bytes)?;
    }
    // The database last, in one step: a SQLite file renamed into place; PostgreSQL's schema
    // dropped (a restore killed after that leaves no tables: clearly not a site) and loaded
    // in one transaction.
    match &config.database.url {
        DatabaseUrl::Sqlite { path } => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io(format!("cannot create {}", parent.display())))?;
            }
            let partial = path.with_extension("restore-partial");
            std::fs::copy(dir.join(SQLITE_FILE), &partial)
                .map_err(io(format!("cannot write {}", partial.display())))?;
            std::fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .map_err(io(format!("cannot write {}", partial.display())))?;
            for ext in ["-wal", "-shm"] {
                let stale = PathBuf::from(format!("{}{ext}", path.display()));
                match std::fs::remove_file(&stale) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::io(format!("cannot remove {}", stale.display()), e));
                    }
                    _ => {}
                }
            }
            std::fs::rename(&partial, path)
                .map_err(io(format!("cannot write {}", path.display())))?;
        }
        DatabaseUrl::Postgres { url } if across => {
            let mut c = crate::db::establish_pg(url)
                .map_err(|e| Error::Unavailable(format!("cannot connect: {e}")))?;
            c.batch_execute(
                "DROP SCHEMA public CASCADE; CREATE SCHEMA public; SET TIME ZONE 'UTC';",
            )
            .map_err(Error::from)?;
            let file = dir.join(SQLITE_FILE).display().to_string();
            let snapshot = diesel::SqliteConnection::establish(&format!("file:{file}?mode=ro"))
                .map_err(|e| bad(dir, format!("has a database that cannot be opened: {e}")))?;
            crate::export::copy_tables(
                &mut crate::db::DbConn::Sqlite(snapshot),
                &mut crate::db::DbConn::Pg(c),
                &dir.display().to_string(),
            )?;
        }
        DatabaseUrl::Postgres { url } => {
            let mut c = crate::db::establish_pg(url)
                .map_err(|e| Error::Unavailable(format!("cannot connect: {e}")))?;
            // A load a killed restore left behind (its psql, until PostgreSQL notices the
            // end of its input) is ended now rather than waited for.
            diesel::sql_query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = $1 \
                 AND pid <> pg_backend_pid()",
            )
            .bind::<diesel::sql_types::Text, _>(RESTORE_APP)
            .execute(&mut c)
            .map_err(Error::from)?;
            drop(c);
            load_dump(url, &dir.join(PG_FILE))?;
        }
    }
    // An older schema is brought up to date.
    let db = crate::db::Db::connect(&config.database)?;
    crate::db::run_migrations(&mut *db.conn()?)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::copy_missing;

    #[cfg(unix)]
    #[test]
    fn names_of_one_file_stay_one_file_and_a_second_copy_copies_nothing() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        for d in ["photos/aa", "photos/bb"] {
            std::fs::create_dir_all(from.join(d)).expect("mkdir");
        }
        std::fs::write(from.join("photos/aa/one.jpg"), b"one").expect("write");
        std::fs::hard_link(
            from.join("photos/aa/one.jpg"),
            from.join("photos/bb/two.jpg"),
        )
        .expect("link");
        std::fs::write(from.join("photos/bb/three.jpg"), b"three").expect("write");
        // What a killed copy leaves is not taken for a file.
        std::fs::create_dir_all(to.join("photos/bb")).expect("mkdir");
        std::fs::write(to.join("photos/bb/three.partial"), b"thr").expect("write");

        let sum = copy_missing(&from, &to, None).expect("copy");
        assert_eq!((sum.files, sum.copied, sum.linked), (3, 2, 1));
        let one = std::fs::metadata(to.join("photos/aa/one.jpg")).expect("one");
        let two = std::fs::metadata(to.join("photos/bb/two.jpg")).expect("two");
        assert_eq!(one.ino(), two.ino(), "still one file");
        assert_eq!(
            std::fs::read(to.join("photos/bb/three.jpg")).expect("three"),
            b"three"
        );

        let again = copy_missing(&from, &to, None).expect("again");
        assert_eq!((again.files, again.copied, again.linked), (3, 0, 0));
    }
}

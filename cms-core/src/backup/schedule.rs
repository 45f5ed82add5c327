//! Scheduled backups (`CMS_BACKUP_DIR`, `CMS_BACKUP_EVERY`, `CMS_BACKUP_KEEP`): the worker of
//! `cms serve` takes a backup into a new dated folder of the backup folder whenever the last
//! one is older than the interval, hard-links the media files the previous snapshot has (so an
//! unchanged archive costs a snapshot its database and no media space), and removes the
//! snapshots beyond the last `keep` complete ones, and any a killed run left unfinished.
//!
//! One node takes each backup: the run is claimed in the database (the `backup.status`
//! setting, replaced only if nobody changed it since it was read), with a lease that a dead
//! process of this machine gives up at once. The same record, written after every backup
//! (scheduled or `cms backup`) and every failure, is what the dashboard shows.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{MANIFEST, Manifest};
use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use crate::schema::settings;

/// The setting that holds [`Status`].
pub const STATUS_KEY: &str = "backup.status";

/// How long a claimed run may hold the schedule before another node may take over (a process
/// of this machine that died gives it up at once).
pub const LEASE: chrono::Duration = chrono::Duration::hours(6);

/// How soon a failed backup is tried again (or the interval, when that is shorter).
pub const RETRY: chrono::Duration = chrono::Duration::hours(1);

/// Snapshot folder names: the UTC time the run started, e.g. `2026-11-29T231500Z`.
const STAMP: &str = "%Y-%m-%dT%H%M%SZ";

/// `CMS_BACKUP_DIR`, `CMS_BACKUP_EVERY` and `CMS_BACKUP_KEEP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The folder the dated snapshots go in.
    pub dir: PathBuf,
    /// How often a backup is taken.
    pub every: std::time::Duration,
    /// How many complete snapshots are kept.
    pub keep: u32,
}

/// Parses an interval such as `30m`, `6h`, `1d` or `1w` (at least a minute).
pub fn parse_every(s: &str) -> std::result::Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{s}' is not an interval like 30m, 6h, 1d or 1w"))?;
    let unit_secs = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("'{s}' is not an interval like 30m, 6h, 1d or 1w")),
    };
    match n.checked_mul(unit_secs) {
        Some(secs) if (60..=366 * 86_400).contains(&secs) => {
            Ok(std::time::Duration::from_secs(secs))
        }
        _ => Err(format!("'{s}' is not an interval from 1m to 52w")),
    }
}

/// The last backup that finished.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Done {
    /// When it started (UTC).
    pub at: NaiveDateTime,
    /// The folder it wrote.
    pub folder: String,
    pub database_bytes: u64,
    pub media_files: u64,
    pub media_bytes: u64,
    /// What it had to copy (the rest was there or hard-linked).
    pub copied_bytes: u64,
    pub seconds: f64,
    /// Taken by the schedule (not `cms backup`).
    pub scheduled: bool,
}

/// The last backup that failed, when it is newer than the last that finished.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Failure {
    pub at: NaiveDateTime,
    pub message: String,
}

/// A run in progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Running {
    pub owner: String,
    pub since: NaiveDateTime,
    pub until: NaiveDateTime,
}

/// The backup record the dashboard shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub last: Option<Done>,
    pub failure: Option<Failure>,
    pub running: Option<Running>,
}

impl Status {
    /// The record as stored (`None`: no backup was ever taken or tried).
    pub fn read(conn: &mut DbConn) -> Result<Option<Status>> {
        Ok(read_raw(conn)?.map(|(_, s)| s))
    }

    /// True when a run holds the schedule at `now`.
    fn running_at(&self, now: NaiveDateTime) -> bool {
        self.running.as_ref().is_some_and(|r| {
            r.until > now && !crate::leases::is_dead(&r.owner, &crate::leases::host())
        })
    }

    /// When the next scheduled backup is due.
    pub fn next_due(&self, every: std::time::Duration) -> Option<NaiveDateTime> {
        let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::days(1));
        let ok = self.last.as_ref().map(|d| d.at);
        let failed = self.failure.as_ref().map(|f| f.at);
        match (ok, failed) {
            (_, Some(f)) if ok.is_none_or(|o| f > o) => Some(f + every.min(RETRY)),
            (Some(o), _) => Some(o + every),
            _ => None,
        }
    }
}

fn read_raw(conn: &mut DbConn) -> Result<Option<(String, Status)>> {
    let text: Option<String> = settings::table
        .find(STATUS_KEY)
        .select(settings::value)
        .first(conn)
        .optional()?;
    Ok(text.map(|t| {
        // A record this version cannot read is treated as none (and replaced).
        let s = serde_json::from_str(&t).unwrap_or_default();
        (t, s)
    }))
}

/// Replaces the record if it still is `old` (`None`: if there is none). False when another
/// node changed it first.
fn swap(conn: &mut DbConn, old: Option<&str>, new: &Status) -> Result<bool> {
    let text =
        serde_json::to_string(new).map_err(|e| Error::Internal(format!("backup status: {e}")))?;
    let n = match old {
        Some(old) => diesel::update(
            settings::table
                .filter(settings::key.eq(STATUS_KEY))
                .filter(settings::value.eq(old)),
        )
        .set(settings::value.eq(&text))
        .execute(conn)?,
        None => crate::per_backend!(conn, |c| diesel::insert_into(settings::table)
            .values((settings::key.eq(STATUS_KEY), settings::value.eq(&text)))
            .on_conflict(settings::key)
            .do_nothing()
            .execute(c))?,
    };
    Ok(n == 1)
}

/// Changes the record with `f`, retrying when another node wrote in between.
fn update(db: &Db, f: impl Fn(&mut Status)) -> Result<()> {
    for _ in 0..20 {
        let done = db.write_blocking(|conn| -> Result<bool> {
            let old = read_raw(conn)?;
            let mut s = old.as_ref().map(|(_, s)| s.clone()).unwrap_or_default();
            f(&mut s);
            swap(conn, old.as_ref().map(|(t, _)| t.as_str()), &s)
        })?;
        if done {
            return Ok(());
        }
    }
    Err(Error::Conflict("the backup record keeps changing".into()))
}

/// Records a finished backup (scheduled or not) and clears the failure and the claim.
pub fn record(db: &Db, done: Done) -> Result<()> {
    update(db, |s| {
        s.last = Some(done.clone());
        s.failure = None;
        s.running = None;
    })
}

/// Records a failed backup and clears the claim.
pub fn record_failure(db: &Db, at: NaiveDateTime, message: &str) -> Result<()> {
    update(db, |s| {
        s.failure = Some(Failure {
            at,
            message: message.to_string(),
        });
        s.running = None;
    })
}

/// What [`Done`] says of a manifest.
pub fn done_of(
    m: &Manifest,
    folder: &Path,
    at: NaiveDateTime,
    seconds: f64,
    scheduled: bool,
) -> Done {
    Done {
        at,
        folder: folder.display().to_string(),
        database_bytes: m.database.bytes,
        media_files: m.media.files,
        media_bytes: m.media.bytes,
        copied_bytes: m.database.bytes + m.media.copied_bytes,
        seconds,
        scheduled,
    }
}

/// Claims the next backup for `owner` when one is due at `now`; false when it is not due or
/// another node has it.
fn claim(db: &Db, schedule: &Schedule, owner: &str, now: NaiveDateTime) -> Result<bool> {
    db.write_blocking(|conn| -> Result<bool> {
        let old = read_raw(conn)?;
        let mut s = old.as_ref().map(|(_, s)| s.clone()).unwrap_or_default();
        if s.running_at(now) || s.next_due(schedule.every).is_some_and(|due| due > now) {
            return Ok(false);
        }
        s.running = Some(Running {
            owner: owner.to_string(),
            since: now,
            until: now + LEASE,
        });
        swap(conn, old.as_ref().map(|(t, _)| t.as_str()), &s)
    })
}

/// The snapshot folders of the backup folder (names in the [`STAMP`] form), oldest first,
/// each with whether it is complete. Nothing else in the folder is ever touched.
pub fn snapshots(dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() && chrono::NaiveDateTime::parse_from_str(&name, STAMP).is_ok() {
            out.push((e.path(), e.path().join(MANIFEST).is_file()));
        }
    }
    out.sort();
    Ok(out)
}

/// Removes the complete snapshots beyond the newest `keep` and every unfinished one but
/// `current`. Returns how many it removed.
pub fn prune(dir: &Path, keep: u32, current: Option<&Path>) -> Result<usize> {
    let all = snapshots(dir)?;
    let complete: Vec<&PathBuf> = all.iter().filter(|(_, c)| *c).map(|(p, _)| p).collect();
    let old_complete = complete.len().saturating_sub(keep as usize);
    let mut removed = 0;
    for (i, path) in complete.iter().enumerate() {
        if i < old_complete {
            std::fs::remove_dir_all(path)
                .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))?;
            removed += 1;
        }
    }
    for (path, _) in all
        .iter()
        .filter(|(p, c)| !c && Some(p.as_path()) != current)
    {
        std::fs::remove_dir_all(path)
            .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))?;
        removed += 1;
    }
    Ok(removed)
}

/// Takes the next scheduled backup if one is due and no other node is taking it. Returns the
/// snapshot it wrote.
pub fn run_due(
    config: &Config,
    db: &Db,
    schedule: &Schedule,
    owner: &str,
) -> Result<Option<PathBuf>> {
    let now = db.now();
    if !claim(db, schedule, owner, now)? {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let folder = schedule.dir.join(now.and_utc().format(STAMP).to_string());
    let taken = (|| {
        std::fs::create_dir_all(&schedule.dir)
            .map_err(|e| Error::io(format!("cannot create {}", schedule.dir.display()), e))?;
        let previous = snapshots(&schedule.dir)?
            .into_iter()
            .rev()
            .find(|(p, complete)| *complete && *p != folder)
            .map(|(p, _)| p);
        let m = super::backup_linked(
            config,
            db,
            &config.storage.media_dir,
            &folder,
            previous.as_deref(),
        )?;
        prune(&schedule.dir, schedule.keep, Some(&folder))?;
        Ok::<_, Error>(m)
    })();
    match taken {
        Ok(m) => {
            record(
                db,
                done_of(&m, &folder, now, started.elapsed().as_secs_f64(), true),
            )?;
            Ok(Some(folder))
        }
        Err(e) => {
            // A snapshot that failed half-way has no manifest; the next run removes it.
            record_failure(db, now, &e.to_string())?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(
            parse_every("1d"),
            Ok(std::time::Duration::from_secs(86_400))
        );
        assert_eq!(parse_every("30m"), Ok(std::time::Duration::from_secs(1800)));
        assert_eq!(
            parse_every("2w"),
            Ok(std::time::Duration::from_secs(14 * 86_400))
        );
        for bad in [
            "",
            "d",
            "1",
            "0m",
            "1s",
            "1.5h",
            "-1d",
            "99999999999999999999w",
            "1 d",
        ] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_failure_is_retried_sooner() {
        let t = |h: i64| {
            chrono::DateTime::from_timestamp(1_800_000_000 + h * 3600, 0)
                .expect("time")
                .naive_utc()
        };
        let day = std::time::Duration::from_secs(86_400);
        let done = Done {
            at: t(0),
            folder: "x".into(),
            database_bytes: 1,
            media_files: 0,
            media_bytes: 0,
            copied_bytes: 1,
            seconds: 1.0,
            scheduled: true,
        };
        let mut s = Status::default();
        assert_eq!(s.next_due(day), None, "never taken: due now");
        s.last = Some(done);
        assert_eq!(s.next_due(day), Some(t(24)));
        s.failure = Some(Failure {
            at: t(24),
            message: "disk full".into(),
        });
        assert_eq!(s.next_due(day), Some(t(25)));
    }
}

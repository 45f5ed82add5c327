//! Server-side gallery imports (the "FTP + sync" way, from the admin): a durable job that a
//! worker in `cms serve` runs, writing its progress to the job row as it goes so the admin can
//! show it live. A restarted import resumes (imports are idempotent).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use chrono::Duration;

use super::{Options, Progress, Settings, source};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::media::MediaStore;
use crate::models::audit::Actor;
use crate::models::job::{self, Job};
use crate::models::now;

/// The job kind.
pub const IMPORT_JOB: &str = "import_gallery";
/// The lease of an import; progress updates renew it.
pub const LEASE: Duration = Duration::minutes(2);

/// What the admin asked for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ImportRequest {
    /// Relative to the import folder.
    pub path: String,
    pub into: String,
    pub draft: bool,
    pub announce: bool,
    pub user_id: Option<i64>,
    pub user_label: String,
}

/// Resolves a name inside the import folder, refusing anything that leads outside it.
pub fn resolve(import_dir: &Path, relative: &str) -> Result<PathBuf> {
    let bad = || Error::invalid("path", "choose a folder or .zip inside the import folder");
    if relative.trim().is_empty() || relative.contains('\0') {
        return Err(bad());
    }
    let root = import_dir
        .canonicalize()
        .map_err(|e| Error::io(format!("cannot open {}", import_dir.display()), e))?;
    let full = root.join(relative).canonicalize().map_err(|_| bad())?;
    if full == root || !full.starts_with(&root) {
        return Err(bad());
    }
    Ok(full)
}

/// The folders and zips waiting in the import folder (top level), by name.
pub fn candidates(import_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(import_dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let p = e.path();
            !e.file_name().to_string_lossy().starts_with('.')
                && (p.is_dir() || p.extension().is_some_and(|x| x.eq_ignore_ascii_case("zip")))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort_by(|a, b| natord::compare(a, b));
    out
}

/// Progress of a job written to its row (at most twice a second), renewing its lease: what
/// the admin's live view reads. Shared by every import that runs as a job.
pub struct JobProgress<'a> {
    db: &'a Db,
    job_id: i64,
    owner: &'a str,
    state: Mutex<(u64, u64, String, Instant)>,
}

impl<'a> JobProgress<'a> {
    pub fn new(db: &'a Db, job_id: i64, owner: &'a str) -> Self {
        JobProgress {
            db,
            job_id,
            owner,
            state: Mutex::new((0, 0, String::new(), Instant::now())),
        }
    }

    /// The total announced by `start`.
    pub fn total(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    fn write(&self, finished: bool) {
        let (done, total, album) = {
            let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            (s.0, s.1, s.2.clone())
        };
        let p = serde_json::json!({ "done": done, "total": total, "album": album, "finished": finished });
        let _ = self.db.write_blocking(|c| {
            Ok::<_, Error>(job::set_progress(c, self.job_id, self.owner, &p, LEASE)?)
        });
    }
}

impl Progress for JobProgress<'_> {
    fn start(&self, total: u64) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = total;
        self.write(false);
    }

    fn should_stop(&self) -> bool {
        crate::shutdown::is_stopping()
    }

    fn advance(&self, n: u64, album: &str) {
        let due = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.0 += n;
            s.2 = album.to_string();
            let due = s.3.elapsed().as_millis() >= 500;
            if due {
                s.3 = Instant::now();
            }
            due
        };
        if due {
            self.write(false);
        }
    }
}

/// Claims and runs one queued import, if any. Returns whether it ran one.
pub fn run_next(
    db: &Db,
    media: &dyn MediaStore,
    import_dir: &Path,
    settings: &Settings,
    owner: &str,
) -> Result<bool> {
    let Some(j): Option<Job> = db.write_blocking(|c| {
        Ok::<_, Error>(job::claim_at(c, owner, &[IMPORT_JOB], LEASE, db.now())?)
    })?
    else {
        return Ok(false);
    };
    let outcome = (|| -> Result<serde_json::Value> {
        let req: ImportRequest = serde_json::from_str(&j.payload)
            .map_err(|e| Error::Internal(format!("bad import job: {e}")))?;
        let path = resolve(import_dir, &req.path)?;
        let mut into = source::parse_into(&req.into);
        let plan = if path.is_file() {
            source::plan_zip(&path, &into, settings.max_bytes)?
        } else {
            // The chosen folder is a level of its own ("import this folder"), unless it holds
            // images itself (then it is the album).
            let holds_images = std::fs::read_dir(&path)
                .map(|d| d.filter_map(|e| e.ok()).any(|e| e.path().is_file()))
                .unwrap_or(false);
            if !holds_images && let Some(name) = path.file_name() {
                into.extend(source::parse_into(&name.to_string_lossy()));
            }
            source::plan_folder(&path, &into)?
        };
        let progress = JobProgress::new(db, j.id, owner);
        let actor = Actor {
            user_id: req.user_id,
            label: req.user_label.clone(),
            ip: None,
            importing: false,
        };
        let opts = Options {
            settings: settings.clone(),
            leave_unpublished: req.draft,
            announce: req.announce,
            batch: 0,
        };
        let report = super::run::run(db, media, plan, &opts, &progress, &actor)?;
        let total = progress.total();
        Ok(serde_json::json!({
            "done": total, "total": total, "finished": true,
            "imported": report.imported,
            "duplicates": report.duplicates.len(),
            "skipped": report.skipped.iter().map(|(n, r)| format!("{n}: {r}")).collect::<Vec<_>>(),
            "albums_created": report.albums_created.len(),
            "announcement": report.announcement,
        }))
    })();
    if crate::shutdown::stopped(&outcome) {
        // Stopped between batches, not failed: handed back for any node to go on with.
        db.write_blocking(|c| Ok::<_, Error>(job::release(c, j.id, owner)?))?;
        return Ok(true);
    }
    finish(db, &j, owner, &outcome, None)?;
    Ok(true)
}

/// Records how a job ended: its summary as the final progress, and done or failed; with
/// `payload`, the job's payload is replaced in the same transaction (a secret it held removed).
pub fn finish(
    db: &Db,
    j: &Job,
    owner: &str,
    outcome: &Result<serde_json::Value>,
    payload: Option<&str>,
) -> Result<()> {
    db.write_blocking(|c| -> Result<()> {
        if let Some(p) = payload {
            job::set_payload(c, j.id, owner, p)?;
        }
        match outcome {
            Ok(summary) => {
                job::set_progress(c, j.id, owner, summary, LEASE)?;
                job::complete(c, j.id, owner)?;
            }
            Err(e) => {
                job::set_progress(
                    c,
                    j.id,
                    owner,
                    &serde_json::json!({ "finished": true, "error": e.to_string() }),
                    LEASE,
                )?;
                job::fail(c, j, owner, &e.to_string(), now())?;
            }
        }
        Ok(())
    })
}

//! Site imports run from the admin (Tools → Import): a durable job that a worker in `cms serve`
//! runs, with live progress and the report kept on the job row. The file (and the uploads
//! folder) sit in the import folder, like server-side gallery imports. A job interrupted by a
//! restart runs again when its lease runs out, and the import resumes where it stopped.

use std::path::Path;

use super::wordpress;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ingest::Settings;
use crate::ingest::job::{JobProgress, LEASE, finish, resolve};
use crate::media::MediaStore;
use crate::models::audit::Actor;
use crate::models::job::{self, Job};

/// The job kind.
pub const SITE_IMPORT_JOB: &str = "import_site";

/// Lines of failures kept in a job's report (the command line prints them all).
const MAX_FAILURES_KEPT: usize = 500;

/// What the admin asked for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SiteImportRequest {
    /// `wordpress`.
    pub source: String,
    /// The export file, relative to the import folder.
    pub file: String,
    /// The uploads folder (a copy of `wp-content/uploads`), relative to the import folder.
    pub media: Option<String>,
    pub dry_run: bool,
    pub user_id: Option<i64>,
    pub user_label: String,
}

/// WordPress exports waiting in the import folder (`.xml` files at its top level), by name.
pub fn export_files(import_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(import_dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let p = e.path();
            p.is_file()
                && !e.file_name().to_string_lossy().starts_with('.')
                && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml"))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort_by(|a, b| natord::compare(a, b));
    out
}

/// Folders in the import folder (candidates for the uploads copy), by name.
pub fn folders(import_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(import_dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort_by(|a, b| natord::compare(a, b));
    out
}

/// Checks a request's paths before it is queued (the worker checks them again).
pub fn check(import_dir: &Path, req: &SiteImportRequest) -> Result<()> {
    if req.source != "wordpress" {
        return Err(Error::invalid("source", "choose WordPress"));
    }
    let file = resolve(import_dir, &req.file)
        .map_err(|_| Error::invalid("file", "choose an export file in the import folder"))?;
    if !file.is_file() {
        return Err(Error::invalid(
            "file",
            "choose an export file in the import folder",
        ));
    }
    if let Some(m) = &req.media {
        let dir = resolve(import_dir, m)
            .map_err(|_| Error::invalid("media", "choose a folder in the import folder"))?;
        if !dir.is_dir() {
            return Err(Error::invalid(
                "media",
                "choose a folder in the import folder",
            ));
        }
    }
    Ok(())
}

/// Claims and runs one queued site import, if any. Returns whether it ran one.
pub fn run_next(
    db: &Db,
    media: &dyn MediaStore,
    import_dir: &Path,
    settings: &Settings,
    owner: &str,
) -> Result<bool> {
    let Some(j): Option<Job> =
        db.write_blocking(|c| Ok::<_, Error>(job::claim(c, owner, &[SITE_IMPORT_JOB], LEASE)?))?
    else {
        return Ok(false);
    };
    let outcome = (|| -> Result<serde_json::Value> {
        let req: SiteImportRequest = serde_json::from_str(&j.payload)
            .map_err(|e| Error::Internal(format!("bad import job: {e}")))?;
        check(import_dir, &req)?;
        let file = resolve(import_dir, &req.file)?;
        let media_from = req
            .media
            .as_deref()
            .map(|m| resolve(import_dir, m))
            .transpose()?;
        let progress = JobProgress::new(db, j.id, owner);
        let actor = Actor {
            user_id: req.user_id,
            label: req.user_label.clone(),
            ip: None,
        };
        let opts = wordpress::Options {
            media_from,
            fetch_media: false,
            allow_private_addresses: false,
            dry_run: req.dry_run,
            settings: settings.clone(),
            batch: 0,
        };
        let report = wordpress::run(db, media, &file, &opts, &progress, &actor)?;
        let total = progress.total();
        let failures: Vec<String> = report
            .failures
            .iter()
            .take(MAX_FAILURES_KEPT)
            .map(|(what, why)| format!("{what}: {why}"))
            .collect();
        Ok(serde_json::json!({
            "done": total, "total": total, "finished": true,
            "dry_run": req.dry_run,
            "lines": report.lines(),
            "failures": failures,
            "more_failures": report.failures.len().saturating_sub(MAX_FAILURES_KEPT),
            "summary": report.summary(),
        }))
    })();
    finish(db, &j, owner, &outcome)?;
    Ok(true)
}

//! Site imports run from the admin (Tools → Import): a durable job that a worker in `cms serve`
//! runs, with live progress and the report kept on the job row. A WordPress export (and its
//! uploads folder) or a gallery's files sit in the import folder, like server-side gallery
//! imports; a Coppermine or Piwigo database is reached by its address. A node asked to stop
//! hands the job back between batches, and one killed leaves it to run again when its lease
//! runs out; either way the import resumes where it stopped. The
//! database password is kept on the job only while it may run: it is removed from the row
//! in the same transaction that records the end.

use std::path::Path;

use super::{coppermine, mysql, piwigo, wordpress};
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

/// The sources the admin can import from.
pub const SOURCES: [&str; 3] = ["wordpress", "coppermine", "piwigo"];

/// What the admin asked for.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SiteImportRequest {
    /// `wordpress`, `coppermine` or `piwigo`.
    pub source: String,
    /// WordPress: the export file, relative to the import folder.
    pub file: String,
    /// A folder in the import folder: WordPress's uploads (a copy of `wp-content/uploads`),
    /// Coppermine's `albums/`, or Piwigo's root (holding `upload/` and `galleries/`).
    pub media: Option<String>,
    /// WordPress: fetch the attachments from the old site's public addresses.
    pub fetch_media: bool,
    /// Coppermine, Piwigo: `mysql://USER:PASS@HOST/DB` of the gallery's database.
    pub db_url: String,
    /// Coppermine, Piwigo: the tables' prefix (empty: the product's default).
    pub prefix: String,
    /// Coppermine, Piwigo: the folder the gallery's addresses were under (empty: found or `/`).
    pub base_path: String,
    /// Coppermine: leave members' own galleries out.
    pub skip_user_galleries: bool,
    pub dry_run: bool,
    pub user_id: Option<i64>,
    pub user_label: String,
}

impl SiteImportRequest {
    /// What is imported, for lists: the file, or the source and its database without the
    /// password.
    pub fn label(&self) -> String {
        match self.source.as_str() {
            "coppermine" => format!("Coppermine {}", mysql::label_of(&self.db_url)),
            "piwigo" => format!("Piwigo {}", mysql::label_of(&self.db_url)),
            _ => self.file.clone(),
        }
    }

    /// The same request with the database password removed (kept once the import has ended).
    pub fn without_password(&self) -> Self {
        let mut r = self.clone();
        if !r.db_url.is_empty() {
            r.db_url = mysql::label_of(&r.db_url);
        }
        r
    }

    fn prefix_or(&self, default: &str) -> String {
        match self.prefix.trim() {
            "" => default.to_string(),
            p => p.to_string(),
        }
    }

    fn base_path(&self) -> Option<String> {
        Some(self.base_path.trim().to_string()).filter(|b| !b.is_empty())
    }
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

/// A folder of the import folder named by a request, checked.
fn folder_in(import_dir: &Path, name: &str, what: &str) -> Result<std::path::PathBuf> {
    let hint = || Error::invalid("media", format!("choose {what} in the import folder"));
    let dir = resolve(import_dir, name).map_err(|_| hint())?;
    if !dir.is_dir() {
        return Err(hint());
    }
    Ok(dir)
}

/// Checks a request before it is queued (the worker checks it again): the source, the
/// files and folders in the import folder, and the database address (not connected to).
pub fn check(import_dir: &Path, req: &SiteImportRequest) -> Result<()> {
    match req.source.as_str() {
        "wordpress" => {
            let file = resolve(import_dir, &req.file).map_err(|_| {
                Error::invalid("file", "choose an export file in the import folder")
            })?;
            if !file.is_file() {
                return Err(Error::invalid(
                    "file",
                    "choose an export file in the import folder",
                ));
            }
            if let Some(m) = &req.media {
                if req.fetch_media {
                    return Err(Error::invalid(
                        "media",
                        "choose an uploads folder or fetching from the old site, not both",
                    ));
                }
                folder_in(import_dir, m, "a folder")?;
            }
        }
        "coppermine" | "piwigo" => {
            mysql::check_url(&req.db_url).map_err(|_| {
                Error::invalid(
                    "db",
                    "give the gallery database's host, database name and user",
                )
            })?;
            if !req
                .prefix
                .trim()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(Error::invalid(
                    "prefix",
                    "may hold only letters, digits and underscores",
                ));
            }
            let what = if req.source == "coppermine" {
                "the copy of the gallery's albums folder"
            } else {
                "the copy of the gallery's folder (with upload/ and galleries/)"
            };
            let Some(m) = req.media.as_deref().filter(|m| !m.is_empty()) else {
                return Err(Error::invalid("media", format!("choose {what}")));
            };
            folder_in(import_dir, m, what)?;
        }
        _ => {
            return Err(Error::invalid(
                "source",
                "choose WordPress, Coppermine or Piwigo",
            ));
        }
    }
    Ok(())
}

/// Runs a checked request.
fn run_request(
    db: &Db,
    media: &dyn MediaStore,
    import_dir: &Path,
    settings: &Settings,
    req: &SiteImportRequest,
    progress: &JobProgress<'_>,
    actor: &Actor,
) -> Result<super::report::Report> {
    let folder = req
        .media
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| resolve(import_dir, m))
        .transpose()?;
    match req.source.as_str() {
        "coppermine" => {
            let opts = coppermine::Options {
                db_url: req.db_url.clone(),
                prefix: req.prefix_or("cpg_"),
                albums: folder.unwrap_or_default(),
                base_path: req.base_path(),
                skip_user_galleries: req.skip_user_galleries,
                dry_run: req.dry_run,
                settings: settings.clone(),
                batch: 0,
            };
            coppermine::run(db, media, &opts, progress, actor)
        }
        "piwigo" => {
            let opts = piwigo::Options {
                db_url: req.db_url.clone(),
                prefix: req.prefix_or("piwigo_"),
                root: folder.unwrap_or_default(),
                base_path: req.base_path(),
                dry_run: req.dry_run,
                settings: settings.clone(),
                batch: 0,
            };
            piwigo::run(db, media, &opts, progress, actor)
        }
        _ => {
            let file = resolve(import_dir, &req.file)?;
            let opts = wordpress::Options {
                media_from: folder,
                fetch_media: req.fetch_media,
                allow_private_addresses: false,
                dry_run: req.dry_run,
                settings: settings.clone(),
                batch: 0,
            };
            wordpress::run(db, media, &file, &opts, progress, actor)
        }
    }
}

/// Claims and runs one queued site import, if any. Returns whether it ran one.
pub fn run_next(
    db: &Db,
    media: &dyn MediaStore,
    import_dir: &Path,
    settings: &Settings,
    owner: &str,
) -> Result<bool> {
    let Some(j): Option<Job> = db.write_blocking(|c| {
        Ok::<_, Error>(job::claim_at(
            c,
            owner,
            &[SITE_IMPORT_JOB],
            LEASE,
            db.now(),
        )?)
    })?
    else {
        return Ok(false);
    };
    let outcome = (|| -> Result<serde_json::Value> {
        let req: SiteImportRequest = serde_json::from_str(&j.payload)
            .map_err(|e| Error::Internal(format!("bad import job: {e}")))?;
        check(import_dir, &req)?;
        let progress = JobProgress::new(db, j.id, owner);
        let actor = Actor {
            user_id: req.user_id,
            label: req.user_label.clone(),
            ip: None,
            importing: false,
        };
        let report = run_request(db, media, import_dir, settings, &req, &progress, &actor)?;
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
    if crate::shutdown::stopped(&outcome) {
        // Stopped between batches, not failed: handed back, password and all, for any node to
        // go on with.
        db.write_blocking(|c| Ok::<_, Error>(job::release(c, j.id, owner)?))?;
        return Ok(true);
    }
    // The password is not kept once the import has ended, however it ended.
    let kept = serde_json::from_str::<SiteImportRequest>(&j.payload)
        .ok()
        .and_then(|r| serde_json::to_string(&r.without_password()).ok());
    finish(db, &j, owner, &outcome, kept.as_deref())?;
    Ok(true)
}

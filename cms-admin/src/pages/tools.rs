//! Admin tools: moving a site in (Tools → Import: a WordPress export uploaded here or copied
//! into the import folder, or a Coppermine or Piwigo gallery by its database and a copy of its
//! files; checked with a dry run, imported by a background job with live progress and a
//! report) and the redirects from old addresses (list, search, add, remove).

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::import::job::{self as site_job, SITE_IMPORT_JOB, SiteImportRequest};
use cms_core::import::mysql;
use cms_core::models::audit;
use cms_core::models::job;
use cms_core::models::redirect::{self, Target};

use crate::auth::{AdminOnly, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, Form, see_other};
use crate::layout::{Chrome, Section};
use crate::{time, upload};

/// The largest export accepted through the browser (larger ones: copy into the import folder).
const MAX_EXPORT_BYTES: u64 = 1 << 30;

/// A site import in the list.
#[derive(Debug, Clone)]
pub struct ImportLine {
    pub id: i64,
    pub file: String,
    pub dry_run: bool,
    pub status: String,
    pub when: String,
    pub lines: Vec<String>,
    pub failures: Vec<String>,
    pub error: Option<String>,
    pub finished: bool,
}

#[derive(Template)]
#[template(path = "site_import.html")]
struct ImportPage {
    c: Chrome,
    folder: String,
    files: Vec<String>,
    folders: Vec<String>,
    imports: Vec<ImportLine>,
    /// The gallery form as sent (its password never sent back).
    form: ImportForm,
    errors: Errors,
}

fn line_of(j: job::Job, tz: chrono_tz::Tz) -> ImportLine {
    let req = serde_json::from_str::<SiteImportRequest>(&j.payload).ok();
    let p: serde_json::Value = serde_json::from_str(&j.progress).unwrap_or_default();
    let strings = |key: &str| -> Vec<String> {
        p.get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut failures = strings("failures");
    if let Some(n) = p
        .get("more_failures")
        .and_then(|v| v.as_u64())
        .filter(|n| *n > 0)
    {
        failures.push(format!(
            "… and {n} more (run the import from the command line to see all)"
        ));
    }
    ImportLine {
        id: j.id,
        file: req.as_ref().map(|r| r.label()).unwrap_or_default(),
        dry_run: req.as_ref().is_some_and(|r| r.dry_run),
        status: j.status.to_string(),
        when: time::display(j.created_at, tz),
        lines: strings("lines"),
        failures,
        error: p
            .get("error")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or(j.last_error),
        finished: p.get("finished").and_then(|v| v.as_bool()).unwrap_or(false),
    }
}

async fn import_page(
    state: &AppState,
    req: &HttpRequest,
    user: &AdminOnly,
    form: ImportForm,
    errors: Errors,
) -> Result<HttpResponse, AdminError> {
    let jobs = state
        .db
        .run(|conn| Ok::<_, cms_core::Error>(job::recent(conn, SITE_IMPORT_JOB, 10)?))
        .await?;
    let tz = state.config.timezone;
    let imports = jobs.into_iter().map(|j| line_of(j, tz)).collect();
    let dir = state.config.storage.import_dir.clone();
    let (files, folders) = web::block(move || {
        let _ = std::fs::create_dir_all(&dir);
        (site_job::export_files(&dir), site_job::folders(&dir))
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    forms::render_status(
        errors.status(),
        &ImportPage {
            c: Chrome::new(req, &user.0, "Import a site", Section::Tools),
            folder: state.config.storage.import_dir.display().to_string(),
            files,
            folders,
            imports,
            form: ImportForm {
                password: String::new(),
                ..form
            },
            errors,
        },
    )
}

/// `GET /admin/import`
pub async fn import_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
) -> Result<HttpResponse, AdminError> {
    import_page(
        &state,
        &req,
        &user,
        ImportForm::default(),
        Errors::default(),
    )
    .await
}

/// The import forms (one per source; the gallery ones give their database in parts).
/// No `Debug`: it holds a password.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ImportForm {
    /// `wordpress` (the default), `coppermine` or `piwigo`.
    source: String,
    file: String,
    media: String,
    fetch_media: Option<String>,
    host: String,
    port: String,
    database: String,
    user: String,
    password: String,
    prefix: String,
    base_path: String,
    skip_user_galleries: Option<String>,
    /// `check` (a dry run) or `import`.
    action: String,
}

impl ImportForm {
    /// The gallery database's address from the form's parts.
    fn db_url(&self) -> Result<String, cms_core::Error> {
        let port = match self.port.trim() {
            "" => 3306,
            p => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| cms_core::Error::invalid("port", "give a port number"))?,
        };
        let host = match self.host.trim() {
            "" => "127.0.0.1",
            h => h,
        };
        if self.database.trim().is_empty() {
            return Err(cms_core::Error::invalid(
                "database",
                "give the gallery's database name",
            ));
        }
        if self.user.trim().is_empty() {
            return Err(cms_core::Error::invalid(
                "user",
                "give a database user that can read it",
            ));
        }
        mysql::url_of(host, port, &self.user, &self.password, &self.database)
    }

    fn request(self, user: &AdminOnly) -> Result<SiteImportRequest, cms_core::Error> {
        let source = match self.source.as_str() {
            "" => "wordpress".to_string(),
            s => s.to_string(),
        };
        let gallery = source != "wordpress";
        Ok(SiteImportRequest {
            db_url: if gallery {
                self.db_url()?
            } else {
                String::new()
            },
            source,
            media: Some(self.media).filter(|m| !m.trim().is_empty()),
            fetch_media: !gallery && self.fetch_media.is_some(),
            prefix: self.prefix.trim().to_string(),
            base_path: self.base_path.trim().to_string(),
            skip_user_galleries: self.skip_user_galleries.is_some(),
            file: if gallery { String::new() } else { self.file },
            dry_run: self.action != "import",
            user_id: Some(user.0.user.id),
            user_label: user.0.user.email.clone(),
        })
    }
}

/// `POST /admin/import`: queues a dry run or an import; the worker runs it.
pub async fn start_import(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
    form: Form<ImportForm>,
) -> Result<HttpResponse, AdminError> {
    let sent = form.into_inner();
    let request = match sent.clone().request(&user) {
        Ok(r) => r,
        Err(e) => return import_page(&state, &req, &user, sent, Errors::from_core(e)?).await,
    };
    let dir = state.config.storage.import_dir.clone();
    let checked = request.clone();
    let ok = web::block(move || site_job::check(&dir, &checked))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    if let Err(e) = ok {
        return import_page(&state, &req, &user, sent, Errors::from_core(e)?).await;
    }
    let act = actor(&user.0.user, &req);
    let id = state
        .db
        .write(move |conn| {
            let payload = serde_json::to_value(&request)
                .map_err(|e| cms_core::Error::Internal(e.to_string()))?;
            let id = job::enqueue_returning(conn, SITE_IMPORT_JOB, &payload)?;
            audit::record(
                conn,
                &act,
                if request.dry_run {
                    "import.check"
                } else {
                    "import.start"
                },
                Some(("job", id)),
                &request.label(),
            )?;
            Ok::<_, cms_core::Error>(id)
        })
        .await?;
    Ok(see_other(&format!(
        "/admin/import?notice=started#import-{id}"
    )))
}

/// `GET /admin/import/{id}`: the progress of a site import as JSON, for the live view.
pub async fn import_progress(
    state: web::Data<AppState>,
    _user: AdminOnly,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    super::gallery::job_progress(&state, SITE_IMPORT_JOB, id.into_inner()).await
}

/// A file name safe to keep in the import folder: its last component, letters, digits, `.`,
/// `-` and `_` only, ending in `.xml`.
fn safe_name(original: &str) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or("export");
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string();
    if name.is_empty() {
        name = "export".into();
    }
    if !name.to_ascii_lowercase().ends_with(".xml") {
        name.push_str(".xml");
    }
    name
}

/// True when the first bytes look like an XML document (a BOM and whitespace allowed).
fn looks_like_xml(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    head[start..].starts_with(b"<?xml") || head[start..].starts_with(b"<rss")
}

/// `POST /admin/import/upload` (the page's script sends the file with its CSRF header): keeps
/// a WordPress export in the import folder. Answers JSON.
pub async fn upload_export(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
    mp: Multipart,
) -> Result<HttpResponse, AdminError> {
    let fail = |status: actix_web::http::StatusCode, msg: String| {
        HttpResponse::build(status).json(serde_json::json!({ "ok": false, "error": msg }))
    };
    let staging = state.config.storage.data_dir.join("staging");
    let up = match upload::read(mp, &staging, &[("file", MAX_EXPORT_BYTES)]).await {
        Ok(u) => u,
        Err(AdminError::TooLarge(m)) => {
            return Ok(fail(actix_web::http::StatusCode::PAYLOAD_TOO_LARGE, m));
        }
        Err(e) => return Err(e),
    };
    let Some(file) = up.files.into_values().next() else {
        return Ok(fail(
            actix_web::http::StatusCode::BAD_REQUEST,
            "no file in the upload".into(),
        ));
    };
    if !looks_like_xml(&file.head) {
        return Ok(fail(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "not a WordPress export (an .xml file from Tools → Export)".into(),
        ));
    }
    let dir = state.config.storage.import_dir.clone();
    let wanted = safe_name(&file.filename);
    let saved = web::block(move || -> Result<String, String> {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let (stem, ext) = wanted.rsplit_once('.').unwrap_or((&wanted, "xml"));
        let mut name = wanted.clone();
        let mut n = 2;
        while dir.join(&name).exists() {
            name = format!("{stem}-{n}.{ext}");
            n += 1;
        }
        file.file
            .persist_noclobber(dir.join(&name))
            .map_err(|e| e.error.to_string())?;
        Ok(name)
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?
    .map_err(|e| AdminError::Internal(format!("cannot keep the upload: {e}")))?;
    let act = actor(&user.0.user, &req);
    let detail = saved.clone();
    state
        .db
        .write(move |conn| {
            audit::record(conn, &act, "import.upload", None, &detail)?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ok": true, "name": saved })))
}

/// A redirect in the list.
#[derive(Debug, Clone)]
pub struct RedirectLine {
    pub id: i64,
    pub old_path: String,
    pub target: String,
    pub source: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "redirects.html")]
struct RedirectsPage {
    c: Chrome,
    rows: Vec<RedirectLine>,
    total: i64,
    q: String,
    next: Option<String>,
    prev: Option<String>,
    errors: Errors,
    old_path: String,
    target: String,
}

const PER_PAGE: i64 = 50;

async fn redirects_page(
    state: &AppState,
    req: &HttpRequest,
    user: &AdminOnly,
    errors: Errors,
    typed: (String, String),
) -> Result<HttpResponse, AdminError> {
    let page: i64 = match forms::query_value(req, "page") {
        None => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| (1..100_000).contains(p))
            .ok_or_else(|| AdminError::BadRequest("page must be a number from 1".into()))?,
    };
    let q = forms::query_value(req, "q").unwrap_or_default();
    let query = q.clone();
    let (rows, total) = state
        .db
        .run(move |conn| {
            Ok::<_, cms_core::Error>(redirect::list(
                conn,
                Some(query.as_str()),
                PER_PAGE,
                (page - 1) * PER_PAGE,
            )?)
        })
        .await?;
    let tz = state.config.timezone;
    let link = |p: i64| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            s.append_pair("q", &q);
        }
        s.append_pair("page", &p.to_string());
        format!("/admin/redirects?{}", s.finish())
    };
    forms::render_status(
        errors.status(),
        &RedirectsPage {
            c: Chrome::new(req, &user.0, "Redirects", Section::Redirects),
            rows: rows
                .into_iter()
                .map(|r| RedirectLine {
                    id: r.id,
                    old_path: r.old_path,
                    target: r.target.describe(),
                    source: r.source,
                    when: time::display(r.created_at, tz),
                })
                .collect(),
            total,
            next: (page * PER_PAGE < total).then(|| link(page + 1)),
            prev: (page > 1).then(|| link(page - 1)),
            q,
            errors,
            old_path: typed.0,
            target: typed.1,
        },
    )
}

/// The export form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ExportForm {
    media: Option<String>,
}

/// `POST /admin/export` (`media`: include the media files): the whole site as a Keepsake export
/// zip (no sessions, no API tokens), audit-logged. It is written to a private temporary folder
/// in the data folder and streamed; the folder is removed before the download starts (the open
/// file stays readable).
pub async fn download_export(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
    form: Form<ExportForm>,
) -> Result<HttpResponse, AdminError> {
    let media = form.into_inner().media.is_some();
    let act = actor(&user.0.user, &req);
    let (config, db) = (state.config.clone(), state.db.clone());
    let file = web::block(move || -> Result<std::fs::File, cms_core::Error> {
        let dir = tempfile::Builder::new()
            .prefix(".export-")
            .tempdir_in(&config.storage.data_dir)
            .map_err(|e| cms_core::Error::io("cannot make a temporary folder", e))?;
        let path = dir.path().join("keepsake-export.zip");
        cms_core::export::export(
            &config,
            &db,
            &path,
            cms_core::export::Options {
                with_tokens: false,
                no_media: !media,
            },
        )?;
        std::fs::File::open(&path).map_err(|e| cms_core::Error::io("cannot read the export", e))
    })
    .await
    .map_err(|e| cms_core::Error::Internal(format!("export task failed: {e}")))??;
    state
        .db
        .write(move |conn| {
            audit::record(
                conn,
                &act,
                "site.export",
                None,
                if media { "with media" } else { "content only" },
            )?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    let name = format!(
        "keepsake-export-{}.zip",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    let named = actix_files::NamedFile::from_file(file, &name)
        .map_err(|e| cms_core::Error::io("cannot read the export", e))?
        .set_content_disposition(actix_web::http::header::ContentDisposition {
            disposition: actix_web::http::header::DispositionType::Attachment,
            parameters: vec![actix_web::http::header::DispositionParam::Filename(name)],
        });
    Ok(named.into_response(&req))
}

/// `GET /admin/redirects?q=&page=`
pub async fn redirects(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
) -> Result<HttpResponse, AdminError> {
    redirects_page(&state, &req, &user, Errors::default(), Default::default()).await
}

/// A redirect to add.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct RedirectForm {
    old_path: String,
    target: String,
}

/// `POST /admin/redirects`: adds (or replaces) a redirect from an old address to a path here.
pub async fn add_redirect(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
    form: Form<RedirectForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let act = actor(&user.0.user, &req);
    let (old, target) = (f.old_path.trim().to_string(), f.target.trim().to_string());
    let (o, t) = (old.clone(), target.clone());
    let result = state
        .db
        .write(move |conn| {
            if o.is_empty() {
                return Err(cms_core::Error::invalid("old_path", "give the old address"));
            }
            redirect::put(conn, &o, &Target::Path(t.clone()), "admin")?;
            audit::record(conn, &act, "redirect.add", None, &format!("{o} → {t}"))?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(see_other("/admin/redirects?notice=saved")),
        Err(e) => redirects_page(&state, &req, &user, Errors::from_core(e)?, (old, target)).await,
    }
}

/// `POST /admin/redirects/{id}/delete`
pub async fn delete_redirect(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AdminOnly,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&user.0.user, &req);
    state
        .db
        .write(move |conn| {
            redirect::delete(conn, id).map_err(|e| match e {
                cms_core::Error::NotFound(_) => AdminError::NotFound,
                other => AdminError::from(other),
            })?;
            audit::record(conn, &act, "redirect.delete", Some(("redirect", id)), "")?;
            Ok::<_, AdminError>(())
        })
        .await?;
    Ok(see_other("/admin/redirects?notice=deleted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd.xml");
        assert_eq!(
            safe_name("C:\\Users\\me\\site.WordPress.2024-05-01.xml"),
            "site.WordPress.2024-05-01.xml"
        );
        assert_eq!(safe_name(".hidden.xml"), "hidden.xml");
        assert_eq!(safe_name("fan site ✨.XML"), "fan-site--.XML");
        assert!(looks_like_xml(b"\xef\xbb\xbf  <?xml version"));
        assert!(!looks_like_xml(b"PK\x03\x04"));
    }
}

//! Serving public pages through the page cache, with validators.
//!
//! Every page carries a weak ETag and `Last-Modified` derived from the content version; a
//! matching `If-None-Match` (or a fresh `If-Modified-Since`) is answered 304 without building
//! anything. A hit costs no query at all: the content version is read from memory (see
//! `Db::content_version`). A miss builds the page in one `Db::run` (with the version's
//! [`Snapshot`] of settings and the gallery tree) and stores it; the gzip is made once, for the
//! first client that accepts it.

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use cms_core::page_cache::CachedPage;
use cms_core::snapshot::Snapshot;
use cms_core::{AppState, DbConn};

use crate::error::WebError;

/// What a page handler produces on a miss.
#[derive(Debug)]
pub struct Rendered {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Rendered {
    /// A 200 HTML page.
    pub fn html(body: String) -> Self {
        Rendered {
            status: 200,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body,
        }
    }

    /// A 200 response of another type (feeds, sitemaps, text).
    pub fn typed(content_type: &'static str, body: String) -> Self {
        Rendered {
            status: 200,
            content_type,
            headers: Vec::new(),
            body,
        }
    }

    /// A permanent redirect to a path on this site.
    pub fn moved_permanently(location: String) -> Self {
        Rendered {
            status: 301,
            content_type: "text/plain; charset=utf-8",
            headers: vec![("location", location)],
            body: String::new(),
        }
    }
}

/// Renders an askama template into a page.
pub fn html<T: askama::Template>(page: &T) -> Result<Rendered, WebError> {
    page.render()
        .map(Rendered::html)
        .map_err(|e| WebError::Internal(format!("template: {e}")))
}

/// Bodies smaller than this are not worth compressing.
const GZIP_MIN: usize = 1024;

fn gzip(body: &[u8]) -> Option<Bytes> {
    if body.len() < GZIP_MIN {
        return None;
    }
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::new(6),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok().map(Bytes::from)
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.trim().split(';');
            let name = it.next().unwrap_or_default().trim();
            let q_zero = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

fn etag_matches(req: &HttpRequest, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == bare
        })
}

fn not_modified_since(req: &HttpRequest, changed: chrono::NaiveDateTime) -> bool {
    if req.headers().contains_key(header::IF_NONE_MATCH) {
        return false;
    }
    let Some(since) = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| chrono::DateTime::parse_from_rfc2822(s).ok())
    else {
        return false;
    };
    changed.and_utc().timestamp() <= since.timestamp()
}

fn http_date(t: chrono::NaiveDateTime) -> String {
    t.and_utc().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Answers a GET for a public page: 304, a cached copy, or a page built by `build`.
/// `ttl` bounds an entry's life at the same content version (for pages with random picks).
pub async fn respond<F, E>(
    req: &HttpRequest,
    state: &AppState,
    ttl: Option<Duration>,
    build: F,
) -> Result<HttpResponse, E>
where
    F: FnOnce(&mut DbConn, &Snapshot) -> Result<Rendered, E> + Send + 'static,
    E: From<cms_core::Error> + From<diesel::result::Error> + Send + 'static,
{
    let cv = state.db.content_version().await?;
    let key = match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    };
    let page = match state.pages.get(&key, cv.version) {
        Some(p) => p,
        None => {
            let snapshots = state.snapshot.clone();
            let version = cv.version;
            let media = state.config.storage.media_public_url.clone();
            let rendered = state
                .db
                .run(move |conn| {
                    cms_core::thumbs::with_media_base(media.as_deref(), || {
                        cms_core::db::read_view(conn, |conn| {
                            let snap = snapshots.get(conn, version)?;
                            build(conn, &snap)
                        })
                    })
                })
                .await?;
            let bucket = ttl.map(|t| {
                let secs = t.as_secs().max(1);
                (chrono::Utc::now().timestamp() as u64) / secs
            });
            let etag = match bucket {
                Some(b) => format!("W/\"v{}-{b}\"", cv.version),
                None => format!("W/\"v{}\"", cv.version),
            };
            let body = Bytes::from(rendered.body.into_bytes());
            let page = Arc::new(CachedPage {
                version: cv.version,
                expires: ttl.map(|t| Instant::now() + t),
                status: rendered.status,
                content_type: rendered.content_type,
                headers: rendered.headers,
                gzip: OnceLock::new(),
                body,
                etag,
            });
            state.pages.insert(key, page.clone());
            page
        }
    };
    Ok(send(req, &page, cv.changed_at))
}

/// Answers a GET whose answer depends on who asks (API clients that may see drafts): built on
/// every request, never stored here or in shared caches, with its own validators so a client
/// still gets 304 while nothing changed.
pub async fn respond_private<F, E>(
    req: &HttpRequest,
    state: &AppState,
    build: F,
) -> Result<HttpResponse, E>
where
    F: FnOnce(&mut DbConn, &Snapshot) -> Result<Rendered, E> + Send + 'static,
    E: From<cms_core::Error> + From<diesel::result::Error> + Send + 'static,
{
    let cv = state.db.content_version().await?;
    let etag = format!("W/\"v{}-private\"", cv.version);
    let snapshots = state.snapshot.clone();
    let version = cv.version;
    let media = state.config.storage.media_public_url.clone();
    let rendered = if etag_matches(req, &etag) {
        None
    } else {
        Some(
            state
                .db
                .run(move |conn| {
                    cms_core::thumbs::with_media_base(media.as_deref(), || {
                        cms_core::db::read_view(conn, |conn| {
                            let snap = snapshots.get(conn, version)?;
                            build(conn, &snap)
                        })
                    })
                })
                .await?,
        )
    };
    let rendered = rendered.unwrap_or(Rendered {
        status: 200,
        content_type: "application/json",
        headers: Vec::new(),
        body: String::new(),
    });
    let page = CachedPage {
        version: cv.version,
        expires: None,
        status: rendered.status,
        content_type: rendered.content_type,
        headers: rendered.headers,
        gzip: OnceLock::new(),
        body: Bytes::from(rendered.body.into_bytes()),
        etag,
    };
    let mut resp = send(req, &page, cv.changed_at);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(resp)
}

fn send(req: &HttpRequest, page: &CachedPage, changed: chrono::NaiveDateTime) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(page.status)
        .unwrap_or(actix_web::http::StatusCode::OK);
    let mut resp = HttpResponse::build(status);
    resp.insert_header((header::ETAG, page.etag.as_str()))
        .insert_header((header::LAST_MODIFIED, http_date(changed)))
        .insert_header((header::CACHE_CONTROL, "public, max-age=0, must-revalidate"))
        .insert_header((header::VARY, "Accept-Encoding"));
    for (name, value) in &page.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.insert_header((*name, v));
        }
    }
    if page.status == 200 && (etag_matches(req, &page.etag) || not_modified_since(req, changed)) {
        let mut r = resp
            .status(actix_web::http::StatusCode::NOT_MODIFIED)
            .finish();
        r.headers_mut().remove(header::CONTENT_TYPE);
        return r;
    }
    resp.content_type(page.content_type);
    let gz = if accepts_gzip(req) {
        page.gzip.get_or_init(|| gzip(&page.body)).as_ref()
    } else {
        None
    };
    match gz {
        Some(gz) => resp
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(gz.clone()),
        None => resp
            .insert_header((header::CONTENT_ENCODING, "identity"))
            .body(page.body.clone()),
    }
}

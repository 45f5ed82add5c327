//! Old addresses: a request nothing else answered (a 404), or `/` with a query such as
//! WordPress's `/?p=12`, is looked up in the redirect table (`cms_core::models::redirect`) and
//! answered with a permanent redirect to the item's current address. Only misses pay for the
//! lookup; pages that exist never do.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use cms_core::AppState;
use cms_core::models::redirect;

/// Paths that are ours alone: never looked up.
fn is_own(path: &str) -> bool {
    ["/admin", "/api/", "/static/", "/healthz"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The query keys of WordPress's own addresses on `/` (`/?p=12`, `/?cat=3`): only these make
/// the home page look for a redirect, so `/?utm_source=…` costs no query.
const LEGACY_KEYS: &[&str] = &[
    "p",
    "page_id",
    "cat",
    "tag",
    "attachment_id",
    "author",
    "m",
    "feed",
    "post_type",
];

fn has_legacy_key(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| LEGACY_KEYS.contains(&pair.split('=').next().unwrap_or("")))
}

/// A `Location` value: non-ASCII and unsafe bytes percent-encoded.
fn location(to: &str) -> String {
    let mut out = String::with_capacity(to.len());
    for b in to.bytes() {
        if b.is_ascii_graphic() && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn find(state: &AppState, path: String, query: String) -> Option<String> {
    state
        .db
        .run(move |conn| redirect::lookup(conn, &path, &query).map_err(cms_core::Error::from))
        .await
        .map_err(|e: cms_core::Error| tracing::warn!(error = %e, "redirect lookup failed"))
        .ok()
        .flatten()
}

fn moved(to: &str) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, location(to)))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .finish()
}

/// The middleware (`actix_web::middleware::from_fn`).
pub async fn legacy_redirects(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let readable = matches!(*req.method(), Method::GET | Method::HEAD);
    let path = req.path().to_string();
    if !readable || is_own(&path) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let query = req.query_string().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // `/?p=12` and friends would otherwise be the home page.
    if (path == "/" || path == "/index.php")
        && has_legacy_key(&query)
        && let Some(state) = &state
        && let Some(to) = find(state, path.clone(), query.clone()).await
    {
        let (req, _) = req.into_parts();
        return Ok(ServiceResponse::new(req, moved(&to)));
    }
    let res = next.call(req).await?;
    let mistake = res
        .response()
        .extensions()
        .get::<crate::error::ReaderMistake>()
        .cloned();
    if let (Some(mistake), Some(state)) = (mistake, &state) {
        let status = res.status();
        let (req, res) = res.into_parts();
        let page = crate::error::mistake_page(state, req.path(), status, &mistake).await;
        return Ok(ServiceResponse::new(
            req,
            page.unwrap_or_else(|| res.map_into_boxed_body()),
        ));
    }
    if res.status() != StatusCode::NOT_FOUND {
        return Ok(res.map_into_boxed_body());
    }
    match &state {
        Some(state) => match find(state, path, query).await {
            Some(to) => {
                let (req, _) = res.into_parts();
                Ok(ServiceResponse::new(req, moved(&to)))
            }
            None if res.request().path().starts_with("/media/") => Ok(res.map_into_boxed_body()),
            None => {
                let (req, _) = res.into_parts();
                let page = crate::error::not_found_page(state, req.path()).await;
                Ok(ServiceResponse::new(req, page))
            }
        },
        None => Ok(res.map_into_boxed_body()),
    }
}

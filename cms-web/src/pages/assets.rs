//! Files: the hashed stylesheet, and media from the store under `/media/…` with long cache
//! lifetimes (their names change when their content does).

use actix_files::NamedFile;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use cms_core::AppState;

use crate::error::WebError;
use crate::layout::{STYLESHEET, stylesheet_href};

const YEAR: u32 = 365 * 24 * 3600;

/// `GET /static/{name}`: the stylesheet under its current hashed name only.
pub async fn stylesheet(name: web::Path<String>) -> Result<HttpResponse, WebError> {
    if format!("/static/{}", name.as_str()) != stylesheet_href() {
        return Err(WebError::NotFound);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(YEAR),
            CacheDirective::Extension("immutable".into(), None),
        ]))
        .body(STYLESHEET))
}

/// `GET /media/{key}`: a file of the local media store.
pub async fn media(
    state: web::Data<AppState>,
    key: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let key = key.into_inner();
    cms_core::media::validate_key(&key).map_err(|_| WebError::NotFound)?;
    let root = state.media.local_root().ok_or(WebError::NotFound)?;
    let path = root.join(&key);
    let file = web::block(move || NamedFile::open(path))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|_| WebError::NotFound)?;
    let mut resp = file
        .use_etag(true)
        .use_last_modified(true)
        .into_response(&req);
    resp.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    resp.headers_mut().insert(
        actix_web::http::header::X_CONTENT_TYPE_OPTIONS,
        actix_web::http::header::HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

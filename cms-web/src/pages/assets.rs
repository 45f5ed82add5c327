//! Files: the hashed stylesheet, and media from the store under `/media/…` with long cache
//! lifetimes (their names change when their content does).

use actix_files::NamedFile;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use cms_core::AppState;

use crate::error::WebError;
use crate::layout::{ASSETS, ICON};

const YEAR: u32 = 365 * 24 * 3600;

/// `GET /static/{name}`: a built-in asset under its current hashed name only.
pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, WebError> {
    let path = format!("/static/{}", name.as_str());
    let asset = ASSETS
        .iter()
        .find(|a| a.href() == path)
        .ok_or(WebError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(asset.mime)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(YEAR),
            CacheDirective::Extension("immutable".into(), None),
        ]))
        .body(asset.bytes))
}

/// `GET /favicon.ico`: browsers ask for it by habit; send them to the site's icon — the one
/// set in Settings, else the built-in one. A temporary redirect kept for five minutes, so a
/// new icon reaches browsers that asked before (a permanent one would be kept for good).
pub async fn favicon(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let site = super::subscribe::site(&state).await?;
    let to = match &site.brand.icon {
        Some(icon) => crate::views::media_url(&icon.key),
        None => ICON.href().to_string(),
    };
    Ok(HttpResponse::Found()
        .insert_header(("Location", to))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(300),
        ]))
        .finish())
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

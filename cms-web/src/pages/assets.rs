//! Files: the hashed stylesheet, and media from the store under `/media/…` with long cache
//! lifetimes (their names change when their content does).

use actix_files::NamedFile;
use actix_web::http::header;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use cms_core::AppState;
use cms_core::media::s3::{Fetched, GetRange, S3MediaStore};
use futures_util::StreamExt;

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

/// The headers every media answer carries: a year's cache (names change with content) and no
/// type sniffing.
const MEDIA_CACHE: &str = "public, max-age=31536000, immutable";

/// `GET /media/{key}`: a file of the media store — from the folder, streamed from the object
/// store, or, with `CMS_MEDIA_PUBLIC_URL`, a permanent redirect to the file's public address.
pub async fn media(
    state: web::Data<AppState>,
    key: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let key = key.into_inner();
    cms_core::media::validate_key(&key).map_err(|_| WebError::NotFound)?;
    if let Some(public) = &state.config.storage.media_public_url {
        // Kept a day, not for good: a site that moves its media elsewhere is believed soon.
        return Ok(HttpResponse::Found()
            .insert_header(("Location", format!("{public}/{key}")))
            .insert_header(("Cache-Control", "public, max-age=86400"))
            .finish());
    }
    if let Some(store) = state.media.s3() {
        return from_object_store(store, &key, &req).await;
    }
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
        actix_web::http::header::HeaderValue::from_static(MEDIA_CACHE),
    );
    resp.headers_mut().insert(
        actix_web::http::header::X_CONTENT_TYPE_OPTIONS,
        actix_web::http::header::HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

/// A media file streamed from the object store, with what a browser or a video player expects
/// of a file server: ETag and `If-None-Match` or `If-Modified-Since` (304), `Range` (206,
/// 416) and `HEAD`. `If-Range` needs nothing: an object never changes under its key, so the
/// range asked for is always of the reader's copy.
async fn from_object_store(
    store: &S3MediaStore,
    key: &str,
    req: &HttpRequest,
) -> Result<HttpResponse, WebError> {
    let range = match req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(byte_range)
    {
        // The last zero bytes: a range no file can satisfy (RFC 9110 14.1.1).
        Some(GetRange::Suffix(0)) => {
            return match store.get(key, None, &[], None, true).await {
                Ok(Fetched::Object(o)) => Ok(unsatisfiable(o.size)),
                Ok(_) => Err(WebError::NotFound),
                Err(e) => Err(WebError::Unavailable(e.to_string())),
            };
        }
        other => other,
    };
    // Every tag of `If-None-Match` (a list, or *), weak ones compared as strong ones: the
    // object's bytes never change under its name.
    let if_none_match: Vec<String> = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/").to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let if_modified_since = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<header::HttpDate>().ok())
        .map(std::time::SystemTime::from);
    let head = req.extensions().contains::<crate::edge::WasHead>();
    let fetched = store
        .get(key, range.clone(), &if_none_match, if_modified_since, head)
        .await
        .map_err(|e| WebError::Unavailable(e.to_string()))?;
    let object = match fetched {
        Fetched::Object(o) => o,
        Fetched::NotFound => return Err(WebError::NotFound),
        Fetched::NotModified(tag) => {
            let mut resp = HttpResponse::NotModified();
            if let Some(tag) = tag {
                resp.insert_header((header::ETAG, tag));
            }
            return Ok(resp
                .insert_header((header::CACHE_CONTROL, MEDIA_CACHE))
                .finish());
        }
        Fetched::BadRange(size) => return Ok(unsatisfiable(size)),
    };
    let mut resp = if range.is_some() {
        let mut r = HttpResponse::PartialContent();
        r.insert_header((
            header::CONTENT_RANGE,
            format!(
                "bytes {}-{}/{}",
                object.range.start,
                object.range.end.saturating_sub(1),
                object.size
            ),
        ));
        r
    } else {
        HttpResponse::Ok()
    };
    resp.content_type(cms_core::media::s3::content_type(key))
        .insert_header((header::CACHE_CONTROL, MEDIA_CACHE))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((
            header::LAST_MODIFIED,
            header::HttpDate::from(std::time::SystemTime::from(object.last_modified)).to_string(),
        ));
    if let Some(tag) = &object.e_tag {
        resp.insert_header((header::ETAG, tag.as_str()));
    }
    let length = object.range.end - object.range.start;
    Ok(resp.no_chunking(length).streaming(
        object
            .body
            .map(|c| c.map_err(|e| WebError::Unavailable(e.to_string()))),
    ))
}

/// 416 for a file of `size` bytes.
fn unsatisfiable(size: u64) -> HttpResponse {
    HttpResponse::RangeNotSatisfiable()
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
        .finish()
}

/// One byte range of a `Range` header (`bytes=-0` is kept: it is answered 416); anything else (several ranges, another unit, nonsense)
/// is ignored and the whole file sent, as RFC 9110 allows.
fn byte_range(value: &str) -> Option<GetRange> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    match (first.parse::<u64>().ok(), last.parse::<u64>().ok()) {
        (Some(a), Some(b)) if a <= b => Some(GetRange::Bounded(a..b.saturating_add(1))),
        (Some(a), None) if last.is_empty() => Some(GetRange::Offset(a)),
        (None, Some(n)) if first.is_empty() => Some(GetRange::Suffix(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_are_read_like_a_file_server() {
        assert_eq!(byte_range("bytes=0-99"), Some(GetRange::Bounded(0..100)));
        assert_eq!(byte_range("bytes=100-"), Some(GetRange::Offset(100)));
        assert_eq!(byte_range("bytes=-500"), Some(GetRange::Suffix(500)));
        assert_eq!(byte_range("bytes=-0"), Some(GetRange::Suffix(0)));
        for ignored in ["bytes=5-1", "bytes=0-1,5-9", "items=0-1", "bytes=x-y", ""] {
            assert_eq!(byte_range(ignored), None, "{ignored}");
        }
    }
}

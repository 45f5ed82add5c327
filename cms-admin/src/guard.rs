//! The admin scope's middleware, so that no admin route can forget it:
//! - loads the session (once per request) into the request's extensions;
//! - refuses every unsafe method (POST, PUT, PATCH, DELETE) that comes from another site or
//!   lacks the right CSRF token — from the `X-CSRF-Token` header (scripts), the `_csrf` field
//!   of a urlencoded form (the body is read and put back), or the `_csrf` field that a
//!   multipart form sends first (only that first part is read; the bytes are put back in front
//!   of the rest of the stream, so uploads are never buffered). Never from the URL: a token in
//!   an address ends up in logs and histories;
//! - sets the security headers on every admin response.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use cms_core::AppState;

use crate::csrf;
use crate::error::AdminError;
use crate::session::{self, Current};

/// Largest urlencoded form body the guard reads (posts are Markdown: generous but bounded).
pub const FORM_LIMIT: usize = 2 * 1024 * 1024;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; frame-src 'none'; frame-ancestors 'none'; form-action 'self'; \
                   base-uri 'none'; object-src 'none'";

fn security_headers(res: &mut actix_web::HttpResponse<impl MessageBody>) {
    let h = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, header::HeaderValue::from_static(value));
    }
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn presented_token(req: &mut ServiceRequest) -> Result<Option<String>, AdminError> {
    if let Some(h) = req
        .headers()
        .get(csrf::HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return Ok(Some(h.to_string()));
    }
    let content_type = req.content_type().to_ascii_lowercase();
    if content_type == "multipart/form-data" {
        return Ok(multipart_token(req).await);
    }
    if content_type != "application/x-www-form-urlencoded" {
        return Ok(None);
    }
    let body = req.extract::<web::Bytes>().await.map_err(|_| {
        AdminError::TooLarge(format!("a form may be at most {} MB", FORM_LIMIT >> 20))
    })?;
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == csrf::FIELD)
        .map(|(_, v)| v.into_owned());
    req.set_payload(Payload::from(body));
    Ok(token)
}

/// Bytes of a multipart body read to find its first part: the forms send their hidden
/// `_csrf` field first, a few hundred bytes.
const MULTIPART_PEEK: usize = 16 * 1024;

/// The `_csrf` field of a multipart body when it is the first part. What was read is put back
/// in front of the rest, so the handler reads the whole body as sent.
async fn multipart_token(req: &mut ServiceRequest) -> Option<String> {
    use futures_util::StreamExt;
    let boundary = req
        .mime_type()
        .ok()
        .flatten()
        .and_then(|m| m.get_param("boundary").map(|b| b.as_str().to_string()))?;
    let mut payload = req.take_payload();
    let mut buf = web::BytesMut::new();
    let token = loop {
        match first_field(&buf, &boundary, csrf::FIELD) {
            Found::Value(v) => break Some(v),
            Found::Other => break None,
            Found::NeedMore if buf.len() > MULTIPART_PEEK => break None,
            Found::NeedMore => match payload.next().await {
                Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                _ => break None,
            },
        }
    };
    let head = buf.freeze();
    let rest = futures_util::stream::once(async move { Ok(head) }).chain(payload);
    req.set_payload(Payload::Stream {
        payload: Box::pin(rest),
    });
    token
}

/// What the start of a multipart body says of its first part.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// It is the field asked for, with this value.
    Value(String),
    /// It is another part.
    Other,
    /// Not enough bytes yet.
    NeedMore,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads the first part of a multipart body (`--BOUNDARY`, headers, a blank line, the value,
/// `\r\n--BOUNDARY`) and says whether it is the text field `name`.
fn first_field(body: &[u8], boundary: &str, name: &str) -> Found {
    let opening = format!("--{boundary}\r\n");
    let Some(start) = find(body, opening.as_bytes()) else {
        return Found::NeedMore;
    };
    let rest = &body[start + opening.len()..];
    let Some(end_of_headers) = find(rest, b"\r\n\r\n") else {
        return Found::NeedMore;
    };
    let headers = String::from_utf8_lossy(&rest[..end_of_headers]).to_ascii_lowercase();
    let wanted = format!("name=\"{name}\"");
    let is_field = headers.lines().any(|l| {
        l.starts_with("content-disposition:")
            && l.split(';').any(|p| p.trim() == wanted)
            && !l.contains("filename")
    });
    if !is_field {
        return Found::Other;
    }
    let value = &rest[end_of_headers + 4..];
    match find(value, format!("\r\n--{boundary}").as_bytes()) {
        Some(end) => Found::Value(String::from_utf8_lossy(&value[..end]).into_owned()),
        None => Found::NeedMore,
    }
}

/// The middleware function (`middleware::from_fn(guard::guard)`).
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError(
            "no application state",
        ));
    };
    let cookie = req.cookie(session::COOKIE).map(|c| c.value().to_string());
    let current: Option<Current> = match cookie {
        Some(value) => match state.db.run(move |conn| session::load(conn, &value)).await {
            Ok(c) => c,
            Err(e) => return Ok(reject(req, AdminError::from(e))),
        },
        None => None,
    };
    if is_unsafe(req.method()) {
        let cross_site = req
            .headers()
            .get("Sec-Fetch-Site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
        if cross_site {
            return Ok(reject(
                req,
                AdminError::Forbidden("Requests from other sites are refused.".into()),
            ));
        }
        let expected = match &current {
            Some(c) => Some(c.session.csrf_token.clone()),
            None => csrf::anonymous_from_cookie(&state.config.secret, req.request()),
        };
        let presented = match presented_token(&mut req).await {
            Ok(t) => t,
            Err(e) => return Ok(reject(req, e)),
        };
        let ok = matches!((&expected, &presented), (Some(e), Some(p)) if csrf::equal(e, p));
        if !ok {
            return Ok(reject(
                req,
                AdminError::Forbidden("This form has expired or did not come from this site. Reload the page and try again.".into()),
            ));
        }
    }
    if let Some(c) = current {
        req.extensions_mut().insert(c);
    }
    let mut res = next.call(req).await?;
    security_headers(res.response_mut());
    Ok(res.map_into_left_body())
}

fn reject<B>(
    req: ServiceRequest,
    e: AdminError,
) -> ServiceResponse<actix_web::body::EitherBody<B>> {
    let mut resp = e.error_response();
    security_headers(&mut resp);
    req.into_response(resp).map_into_right_body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_part_of_a_multipart_body() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nemail\r\n--XyZ--\r\n";
        assert_eq!(
            first_field(body, "XyZ", "_csrf"),
            Found::Value("tok123".into())
        );
        assert_eq!(first_field(&body[..40], "XyZ", "_csrf"), Found::NeedMore);
        assert_eq!(first_field(&body[..60], "XyZ", "_csrf"), Found::NeedMore);
        let file_first = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"_csrf\"\r\n\r\nx\r\n--XyZ--";
        assert_eq!(first_field(file_first, "XyZ", "_csrf"), Found::Other);
        let lookalike =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"_csrf2\"\r\n\r\nx\r\n--XyZ--";
        assert_eq!(first_field(lookalike, "XyZ", "_csrf"), Found::Other);
    }
}

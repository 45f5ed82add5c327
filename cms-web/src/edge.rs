//! The edge of the whole app, before any route: requests whose address or query holds a
//! control character are refused with a 400 (`cms_core::input`), HEAD is answered wherever GET
//! is, and every answer that has not set its own carries the security headers (the admin sets
//! stricter ones in its guard).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use cms_core::AppState;
use cms_core::api::Problem;
use cms_core::input;

use crate::error::WebError;

/// The policy of public HTML pages: our own scripts and styles only (style attributes for the
/// gallery tree's depth), images from anywhere over https (imported posts hotlink), players
/// from the two video hosts the vault embeds, and no framing by other sites.
const PAGE_CSP: &str = "default-src 'self'; img-src 'self' data: https:; media-src 'self' https:; \
    style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; connect-src 'self'; \
    frame-src https://www.youtube-nocookie.com https://player.vimeo.com; frame-ancestors 'self'; \
    form-action 'self'; base-uri 'none'; object-src 'none'";

/// The policy of everything else (feeds, JSON, media): nothing runs, nothing frames it.
const DATA_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

fn refused(path: &str) -> HttpResponse {
    let why = "the address holds a control character";
    if path.starts_with("/api/") {
        crate::api::problem_response(&Problem::bad_request(why))
    } else {
        WebError::BadRequest(format!("{why}.")).error_response()
    }
}

fn secure(res: &mut ServiceResponse<BoxBody>, hsts: bool) {
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, header::HeaderValue::from_static(value));
        }
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    set(
        header::CONTENT_SECURITY_POLICY,
        if html { PAGE_CSP } else { DATA_CSP },
    );
    set(header::X_FRAME_OPTIONS, "SAMEORIGIN");
    if hsts {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
}

/// The middleware (`actix_web::middleware::from_fn`), outermost but for logging.
pub async fn edge(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let hsts = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.server.https);
    if input::decoded_has_refused(req.path()) || input::decoded_has_refused(req.query_string()) {
        let path = req.path().to_string();
        let (req, _) = req.into_parts();
        let mut res = ServiceResponse::new(req, refused(&path));
        secure(&mut res, hsts);
        return Ok(res);
    }
    // HEAD is GET without the body: the HTTP layer remembers the request was HEAD and sends
    // the headers (Content-Length included) only.
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    secure(&mut res, hsts);
    Ok(res)
}

/// The client's address (`cms_core::net`): the peer, or what trusted proxies say it is.
pub fn client_ip(req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let peer = req.peer_addr().map(|a| a.ip());
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.config.server.trusted_proxies.client(
            peer,
            header("forwarded"),
            header("x-forwarded-for"),
        ),
        None => peer,
    }
}

/// The client's address for the access log.
pub fn log_client(req: &ServiceRequest) -> String {
    client_ip(req.request()).map_or_else(|| "-".to_string(), |ip| ip.to_string())
}

/// Paths whose last segment is a secret (a subscriber's confirm or unsubscribe token).
const SECRET_PATHS: &[&str] = &["/subscribe/confirm/", "/unsubscribe/"];

/// Query keys whose values are secrets.
const SECRET_KEYS: &[&str] = &[
    "token",
    "_csrf",
    "csrf",
    "key",
    "secret",
    "password",
    "code",
    "signature",
    "sig",
];

/// The request line for the access log, with secrets replaced: the token of a subscriber's
/// link, and the values of query keys that carry one.
pub fn log_line(req: &ServiceRequest) -> String {
    let path = req.path();
    let shown_path = SECRET_PATHS
        .iter()
        .find_map(|p| {
            path.strip_prefix(p)
                .filter(|rest| !rest.is_empty())
                .map(|_| format!("{p}[token]"))
        })
        .unwrap_or_else(|| path.to_string());
    let query = req.query_string();
    let shown_query = if query.is_empty() {
        String::new()
    } else {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                let decoded = percent_encoding::percent_decode_str(key)
                    .decode_utf8_lossy()
                    .to_ascii_lowercase();
                if SECRET_KEYS.contains(&decoded.as_str()) {
                    format!("{key}=[redacted]")
                } else {
                    pair.to_string()
                }
            })
            .collect();
        format!("?{}", pairs.join("&"))
    };
    format!(
        "{} {shown_path}{shown_query} {:?}",
        req.method(),
        req.version()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn secrets_stay_out_of_the_access_log() {
        let line = |uri: &str| log_line(&TestRequest::get().uri(uri).to_srv_request());
        assert_eq!(
            line("/subscribe/confirm/abc.def-123"),
            "GET /subscribe/confirm/[token] HTTP/1.1"
        );
        assert_eq!(
            line("/unsubscribe/tok"),
            "GET /unsubscribe/[token] HTTP/1.1"
        );
        assert_eq!(
            line("/admin/x?_csrf=s3cret&page=2&Token=t"),
            "GET /admin/x?_csrf=[redacted]&page=2&Token=[redacted] HTTP/1.1"
        );
        assert_eq!(
            line("/posts/hello?page=2"),
            "GET /posts/hello?page=2 HTTP/1.1"
        );
        assert_eq!(line("/subscribe"), "GET /subscribe HTTP/1.1");
    }
}

//! The edge of the whole app, before any route: requests whose address or query holds a
//! control character are refused with a 400 (`cms_core::input`), HEAD is answered wherever GET
//! is, and every answer that has not set its own carries the security headers (the admin sets
//! stricter ones in its guard).
//!
//! It also keeps slow clients from holding the server: a request body must keep coming at a
//! minimum rate (after a short grace, [`MIN_BODY_RATE`] bytes a second on average, and never
//! silent for [`BODY_IDLE`]) or it is cut off, uploads included; and one client address may
//! have at most [`MAX_IN_FLIGHT`] requests in progress at once (`/healthz` excepted, so a
//! monitor behind the same address still gets its answer).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use cms_core::AppState;
use cms_core::api::Problem;
use cms_core::input;
use futures_util::Stream;
use tokio::time::Instant;

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
    let res_status = res.status();
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
    // A 304 carries no body and no type; browsers merge its headers into the stored page, so
    // a policy here would replace the page's own (a data policy would sandbox the page: no
    // stylesheet, no script on every revisit).
    if res_status != StatusCode::NOT_MODIFIED {
        set(
            header::CONTENT_SECURITY_POLICY,
            if html { PAGE_CSP } else { DATA_CSP },
        );
    }
    set(header::X_FRAME_OPTIONS, "SAMEORIGIN");
    if hsts {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
}

/// Bytes a second a request body must average once the grace has passed.
pub const MIN_BODY_RATE: u64 = 1024;
/// Time a body may take before the rate counts (a slow start, a TLS proxy's buffering).
pub const BODY_GRACE: Duration = Duration::from_secs(10);
/// Longest silence in the middle of a body.
pub const BODY_IDLE: Duration = Duration::from_secs(20);
/// Requests one client address may have in progress at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// A request body that must keep coming: see the module's description.
struct MinRate<S> {
    inner: S,
    started: Instant,
    bytes: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<S> MinRate<S> {
    fn new(inner: S) -> Self {
        let started = Instant::now();
        let mut s = MinRate {
            inner,
            started,
            bytes: 0,
            deadline: Box::pin(tokio::time::sleep_until(started)),
        };
        s.reset();
        s
    }

    /// The next chunk is due when the average would fall below the minimum rate, and never
    /// later than the idle limit from now.
    fn reset(&mut self) {
        let by_rate = self.started
            + BODY_GRACE
            + Duration::from_millis(self.bytes.saturating_mul(1000) / MIN_BODY_RATE);
        let by_idle = Instant::now() + BODY_IDLE;
        self.deadline.as_mut().reset(by_rate.min(by_idle));
    }
}

impl<S> Stream for MinRate<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.bytes += chunk.len() as u64;
                this.reset();
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body came too slowly",
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Requests in progress per client address.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashMap<IpAddr, usize>>);

/// One request counted against its client until dropped.
struct Slot<'a> {
    table: &'a InFlight,
    ip: IpAddr,
}

impl InFlight {
    fn take(&self, ip: IpAddr) -> Option<Slot<'_>> {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = t.entry(ip).or_insert(0);
        if *n >= MAX_IN_FLIGHT {
            return None;
        }
        *n += 1;
        Some(Slot { table: self, ip })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut t = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = t.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                t.remove(&self.ip);
            }
        }
    }
}

/// The in-flight table of the process (every worker's app shares it).
fn in_flight() -> &'static InFlight {
    static TABLE: OnceLock<InFlight> = OnceLock::new();
    TABLE.get_or_init(InFlight::default)
}

fn too_many(path: &str) -> HttpResponse {
    let why = "too many requests from your address at once; try again in a moment";
    let mut resp = if path.starts_with("/api/") {
        crate::api::problem_response(&Problem::new(429, why))
    } else {
        HttpResponse::TooManyRequests()
            .content_type("text/plain; charset=utf-8")
            .body(format!("{why}.\n"))
    };
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    resp
}

/// True when a request declares a body: a non-zero length, or chunked transfer.
fn has_body(req: &ServiceRequest) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes().trim_ascii() != b"0")
}

/// The middleware (`actix_web::middleware::from_fn`), outermost but for logging.
pub async fn edge(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let hsts = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.server.https);
    let _slot = match client_ip(req.request()) {
        Some(ip) if req.path() != "/healthz" => match in_flight().take(ip) {
            Some(slot) => Some(slot),
            None => {
                let path = req.path().to_string();
                let (req, _) = req.into_parts();
                let mut res = ServiceResponse::new(req, too_many(&path));
                secure(&mut res, hsts);
                return Ok(res);
            }
        },
        _ => None,
    };
    // Every body must keep coming (the handlers read it through this). Requests without one
    // (nearly every page view) skip the timer.
    if has_body(&req) {
        let payload = req.take_payload();
        req.set_payload(Payload::Stream {
            payload: Box::pin(MinRate::new(payload)),
        });
    }
    if input::decoded_has_refused(req.path()) || input::decoded_has_refused(req.query_string()) {
        let path = req.path().to_string();
        let (req, _) = req.into_parts();
        let mut res = ServiceResponse::new(req, refused(&path));
        secure(&mut res, hsts);
        return Ok(res);
    }
    // HEAD is GET without the body: the HTTP layer remembers the request was HEAD and sends
    // the headers (Content-Length included) only. A handler that can skip fetching the body
    // (media from the object store) finds [`WasHead`] among the request's extensions.
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(WasHead);
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    secure(&mut res, hsts);
    Ok(res)
}

/// Marks a request that came as HEAD (and is handled as GET).
#[derive(Debug, Clone, Copy)]
pub struct WasHead;

/// The client's address (`cms_core::net`): the peer, or what trusted proxies say it is.
pub fn client_ip(req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
    let proxies = req.app_data::<web::Data<AppState>>();
    cms_core::net::client_of(
        proxies.map(|s| &s.config.server.trusted_proxies),
        req.peer_addr().map(|a| a.ip()),
        |name| req.headers().get(name).and_then(|v| v.to_str().ok()),
    )
}

/// The client's address for the access log.
pub fn log_client(req: &ServiceRequest) -> String {
    client_ip(req.request()).map_or_else(|| "-".to_string(), |ip| ip.to_string())
}

/// Paths whose last segment is a secret (a subscriber's confirm or unsubscribe token, a
/// preview link).
const SECRET_PATHS: &[&str] = &["/subscribe/confirm/", "/unsubscribe/", "/preview/"];

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
            line("/preview/12.1796083200.9f86d081"),
            "GET /preview/[token] HTTP/1.1"
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

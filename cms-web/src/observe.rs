//! What an operator sees of requests: a request id on every answer (`X-Request-Id`) and on
//! every log line written while the request is handled (a `request` span), the counters of
//! `/metrics`, and `/metrics` itself.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use cms_core::AppState;
use cms_core::config::MetricsAccess;
use tracing::Instrument;

use crate::error::WebError;

/// The request's id, among its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The header the id travels in, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// An id a trusted proxy gave (nginx's `$request_id`, say): kept when it is short and plain,
/// so one id follows the request through the proxy's log and ours.
fn given_id(req: &ServiceRequest) -> Option<String> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let peer = req.peer_addr()?.ip();
    if !state.config.server.trusted_proxies.contains(peer) {
        return None;
    }
    let v = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let plain = (8..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then(|| v.to_string())
}

/// The request's id for the access log line.
pub fn log_id(req: &ServiceRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map_or_else(|| "-".to_string(), |r| r.0.clone())
}

/// Outermost middleware: names the request, runs it inside a `request` span carrying the id,
/// counts it by route group and status with its latency, and sends the id back.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let id = given_id(&req).unwrap_or_else(cms_core::tokens::request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let path = req.path().to_string();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let span = tracing::info_span!("request", id = %id);
    let mut res = next.call(req).instrument(span).await?;
    if let Some(m) = metrics {
        m.request(
            &path,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(header::HeaderName::from_static(REQUEST_ID), v);
    }
    if cms_core::shutdown::is_stopping() {
        // A stopping node answers what it was asked and closes the connection: a proxy's
        // kept-alive connections (nginx's `keepalive`) would otherwise bring it new requests
        // until the drain runs out, and those would be cut off.
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    Ok(res)
}

/// `GET /metrics`: this node's counters and the site's figures in the Prometheus text format,
/// when `CMS_METRICS` allows the caller (a bearer token, or `public`); a 404 otherwise, as if
/// there were nothing here.
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    match &state.config.server.metrics {
        MetricsAccess::Off => return Err(WebError::NotFound),
        MetricsAccess::Public => {}
        MetricsAccess::Token(token) => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map_or("", |(_, token)| token.trim());
            // Compared as digests: the time taken says nothing about the token.
            let hash = cms_core::tokens::hash_token;
            if hash(given) != hash(token) {
                return Ok(HttpResponse::Unauthorized()
                    .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .body("a bearer token is needed (CMS_METRICS)\n"));
            }
        }
    }
    let site = state.db.run(cms_core::metrics::SiteFigures::read).await?;
    let text = state.metrics.render(
        &state.pages,
        &cms_core::metrics::DbFigures::of(&state.db),
        &site,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}

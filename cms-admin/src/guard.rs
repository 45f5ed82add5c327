//! The admin scope's middleware, so that no admin route can forget it:
//! - loads the session (once per request) into the request's extensions;
//! - refuses every unsafe method (POST, PUT, PATCH, DELETE) that comes from another site or
//!   lacks the right CSRF token — from the `X-CSRF-Token` header, the `_csrf` field of a
//!   urlencoded form (the body is read and put back), or the `_csrf` query parameter (uploads);
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
    let from_query = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == csrf::FIELD)
        .map(|(_, v)| v.into_owned());
    let is_form = req
        .content_type()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded");
    if !is_form {
        return Ok(from_query);
    }
    let body = req.extract::<web::Bytes>().await.map_err(|_| {
        AdminError::TooLarge(format!("a form may be at most {} MB", FORM_LIMIT >> 20))
    })?;
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == csrf::FIELD)
        .map(|(_, v)| v.into_owned());
    req.set_payload(Payload::from(body));
    Ok(token.or(from_query))
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

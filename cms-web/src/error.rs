//! The public site's error type: every failure becomes a real HTML page with the right status.
//! Reader mistakes are 4xx; our own failures are logged and shown as a plain 500 or 503 page
//! without internals.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

/// A failure while answering a reader.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Something that was here for a time and is no more (an expired preview link).
    #[error("gone: {0}")]
    Gone(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<cms_core::Error> for WebError {
    /// By the error's kind (`cms_core::error::Kind`), the one mapping; a reader's bad input is
    /// a 400 page whatever rule it broke.
    fn from(e: cms_core::Error) -> Self {
        use cms_core::error::Kind;
        match e.kind() {
            Kind::NotFound => WebError::NotFound,
            Kind::Invalid | Kind::Conflict => WebError::BadRequest(e.to_string()),
            Kind::Unavailable => WebError::Unavailable(e.to_string()),
            Kind::Internal => WebError::Internal(e.to_string()),
        }
    }
}

impl From<diesel::result::Error> for WebError {
    fn from(e: diesel::result::Error) -> Self {
        WebError::from(cms_core::Error::from(e))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    icon_href: &'a str,
    css_href: &'a str,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Gone(_) => StatusCode::GONE,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (heading, message): (&str, String) = match self {
            WebError::NotFound => (
                "Page not found",
                "There is nothing at this address. It may have moved, or the link may be mistyped."
                    .into(),
            ),
            WebError::BadRequest(m) => ("That did not work", m.clone()),
            WebError::Gone(m) => ("No longer here", m.clone()),
            WebError::Unavailable(m) => {
                let id = cms_core::error::incident(tracing::Level::WARN, "service unavailable", m);
                (
                    "Temporarily unavailable",
                    format!("The archive is busy. Please try again in a moment. (Error {id})"),
                )
            }
            WebError::Internal(m) => {
                let id = cms_core::error::incident(tracing::Level::ERROR, "internal error", m);
                (
                    "Something went wrong",
                    format!(
                        "An error on our side stopped this page. It has been logged as error {id}."
                    ),
                )
            }
        };
        let page = ErrorPage {
            icon_href: crate::layout::ICON.href(),
            css_href: crate::layout::STYLESHEET.href(),
            status: status.as_u16(),
            heading,
            message: &message,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {heading}", status.as_u16()));
        let mut resp = HttpResponse::build(status);
        resp.content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"));
        if matches!(self, WebError::Unavailable(_)) {
            resp.insert_header(("Retry-After", "5"));
        }
        let mut resp = resp.body(body);
        // A reader's mistake is shown again inside the site's layout (`redirects`' middleware
        // reads this); the bare page stays for when the site cannot be read.
        if let WebError::BadRequest(m) | WebError::Gone(m) = self {
            resp.extensions_mut().insert(ReaderMistake {
                heading: heading.to_string(),
                message: m.clone(),
            });
        }
        resp
    }
}

/// What a 400 or 410 page says, for the middleware that shows it in the site's layout.
#[derive(Debug, Clone)]
pub struct ReaderMistake {
    pub heading: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "reader_error.html")]
struct ReaderErrorPage<'a> {
    l: crate::layout::Layout,
    heading: &'a str,
    message: &'a str,
}

/// A reader's 400 or 410 inside the site's header, navigation and footer, never indexed or
/// cached; `None` when the site cannot be read (the bare page is kept then).
pub async fn mistake_page(
    state: &cms_core::AppState,
    path: &str,
    status: StatusCode,
    mistake: &ReaderMistake,
) -> Option<HttpResponse> {
    let site = crate::pages::subscribe::site(state).await.ok()?;
    let mut l = crate::layout::Layout::new(
        &site,
        &state.config.server.base_url,
        &mistake.heading,
        path,
        crate::layout::Section::None,
    );
    l.noindex = true;
    let body = ReaderErrorPage {
        l,
        heading: &mistake.heading,
        message: &mistake.message,
    }
    .render()
    .ok()?;
    Some(
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body),
    )
}

/// The default service: a real 404 page for every unknown path.
pub async fn not_found() -> HttpResponse {
    WebError::NotFound.error_response()
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    l: crate::layout::Layout,
}

/// A reader's 404: the site's own header, navigation and footer around it, never indexed or
/// cached. The bare page when even the site's name cannot be read (the database down).
pub async fn not_found_page(state: &cms_core::AppState, path: &str) -> HttpResponse {
    let Ok(site) = crate::pages::subscribe::site(state).await else {
        return WebError::NotFound.error_response();
    };
    let mut l = crate::layout::Layout::new(
        &site,
        &state.config.server.base_url,
        "Page not found",
        path,
        crate::layout::Section::None,
    );
    l.noindex = true;
    match (NotFoundPage { l }).render() {
        Ok(body) => HttpResponse::NotFound()
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body),
        Err(_) => WebError::NotFound.error_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statuses come from the core error's kind: a row that is not there is a 404 here,
    /// however deep in a service the query ran.
    #[test]
    fn core_errors_answer_by_their_kind() {
        use cms_core::Error as E;
        let page = |e: E| WebError::from(e).status_code().as_u16();
        assert_eq!(page(E::from(diesel::result::Error::NotFound)), 404);
        assert_eq!(page(E::NotFound("album")), 404);
        assert_eq!(page(E::invalid("title", "must not be empty")), 400);
        assert_eq!(page(E::taken("slug", "'a' is taken")), 400);
        assert_eq!(page(E::Unavailable("pool".into())), 503);
        assert_eq!(
            page(E::from(diesel::result::Error::RollbackTransaction)),
            500
        );
    }
}

//! The admin's error type: every failure is a page an editor can act on, with the right status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

/// A failure in the admin panel.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Not logged in: go to the login page and come back to `next` afterwards.
    #[error("login required")]
    LoginRequired { next: String },
    /// Logged in with a temporary password, or without the two-step verification the site
    /// requires: set that up on the account page before anything else.
    #[error("account setup required")]
    AccountSetupRequired,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("too many attempts")]
    TooManyRequests { retry_after_secs: i64 },
    #[error("payload too large: {0}")]
    TooLarge(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<cms_core::Error> for AdminError {
    /// By the error's kind (`cms_core::error::Kind`), the one mapping; an editor's input that
    /// breaks a rule outside a form is a 400 page (forms show it by the field).
    fn from(e: cms_core::Error) -> Self {
        use cms_core::error::Kind;
        match e.kind() {
            Kind::NotFound => AdminError::NotFound,
            Kind::Invalid | Kind::Conflict => AdminError::BadRequest(e.to_string()),
            Kind::Unavailable => AdminError::Unavailable(e.to_string()),
            Kind::Internal => AdminError::Internal(e.to_string()),
        }
    }
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        AdminError::from(cms_core::Error::from(e))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    heading: &'a str,
    message: &'a str,
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::LoginRequired { .. } | AdminError::AccountSetupRequired => {
                StatusCode::SEE_OTHER
            }
            AdminError::Forbidden(_) => StatusCode::FORBIDDEN,
            AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AdminError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AdminError::LoginRequired { next } = self {
            let target = format!(
                "/admin/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return HttpResponse::SeeOther()
                .insert_header(("Location", target))
                .insert_header(("Cache-Control", "no-store"))
                .finish();
        }
        if let AdminError::AccountSetupRequired = self {
            return HttpResponse::SeeOther()
                .insert_header(("Location", "/admin/account"))
                .insert_header(("Cache-Control", "no-store"))
                .finish();
        }
        let (heading, message): (&str, String) = match self {
            AdminError::Forbidden(m) => ("Not allowed", m.clone()),
            AdminError::NotFound => (
                "Not found",
                "There is nothing here. It may have been deleted.".into(),
            ),
            AdminError::BadRequest(m) => ("That did not work", m.clone()),
            AdminError::TooManyRequests { retry_after_secs } => (
                "Too many attempts",
                format!(
                    "Please wait {} before trying again.",
                    human_wait(*retry_after_secs)
                ),
            ),
            AdminError::TooLarge(m) => ("Too large", m.clone()),
            AdminError::Unavailable(m) => {
                let id = cms_core::error::incident(tracing::Level::WARN, "admin: unavailable", m);
                let what = if m.starts_with("media store") {
                    "The media store cannot be reached, so nothing was saved."
                } else {
                    "The database is busy."
                };
                (
                    "Temporarily unavailable",
                    format!("{what} Please try again in a moment. (Error {id})"),
                )
            }
            AdminError::Internal(m) => {
                let id =
                    cms_core::error::incident(tracing::Level::ERROR, "admin: internal error", m);
                (
                    "Something went wrong",
                    format!("An error on our side stopped this. It has been logged as error {id}."),
                )
            }
            AdminError::LoginRequired { .. } | AdminError::AccountSetupRequired => {
                ("", String::new())
            }
        };
        let status = self.status_code();
        let body = ErrorPage {
            status: status.as_u16(),
            heading,
            message: &message,
        }
        .render()
        .unwrap_or_else(|_| heading.to_string());
        let mut resp = HttpResponse::build(status);
        resp.content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"));
        if let AdminError::TooManyRequests { retry_after_secs } = self {
            resp.insert_header(("Retry-After", retry_after_secs.max(&1).to_string()));
        }
        resp.body(body)
    }
}

fn human_wait(secs: i64) -> String {
    match secs {
        ..=60 => "a minute".into(),
        61..=3600 => format!("{} minutes", (secs + 59) / 60),
        _ => format!("{} hours", (secs + 3599) / 3600),
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
        let page = |e: E| AdminError::from(e).status_code().as_u16();
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

//! Forms: a urlencoded-form extractor that understands repeated fields (checkboxes), per-field
//! errors for re-rendering a form with what the editor typed, and small response helpers.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::de::DeserializeOwned;

use crate::error::AdminError;
use crate::guard::FORM_LIMIT;

/// A urlencoded form body, parsed with `serde_html_form` so that `tags=a&tags=b` fills a
/// `Vec`. Unknown fields (such as `_csrf`) are ignored; a malformed body, or one holding a
/// control character (`cms_core::input`), is a 400.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T> Form<T> {
    /// The parsed form.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = AdminError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes.await.map_err(|_| {
                AdminError::TooLarge(format!("a form may be at most {} MB", FORM_LIMIT >> 20))
            })?;
            if cms_core::input::form_has_refused(&body) {
                return Err(AdminError::BadRequest(
                    "The form holds a control character.".into(),
                ));
            }
            serde_html_form::from_bytes(&body)
                .map(Form)
                .map_err(|e| AdminError::BadRequest(format!("The form could not be read: {e}")))
        })
    }
}

/// A query parameter's value.
pub fn query_value(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A 303 redirect (after a successful POST).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}

/// Errors by form field, shown next to the fields.
#[derive(Debug, Clone, Default)]
pub struct Errors(Vec<(String, String)>);

impl Errors {
    /// Adds an error for `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_string(), message.into()));
    }

    /// From a core validation error; `Ok` when it is not one (the caller reports it).
    pub fn from_core(e: cms_core::Error) -> Result<Errors, AdminError> {
        match e {
            cms_core::Error::Fields(f) => Ok(Errors(
                f.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            )),
            cms_core::Error::Invalid { field, message }
            | cms_core::Error::Missing { field, message }
            | cms_core::Error::Taken { field, message } => {
                Ok(Errors(vec![(field.to_string(), message)]))
            }
            cms_core::Error::Conflict(m) => Ok(Errors(vec![("form".to_string(), m)])),
            other => Err(AdminError::from(other)),
        }
    }

    /// The status of a page showing a form: 422 when it carries errors, else 200.
    pub fn status(&self) -> StatusCode {
        if self.0.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    /// The error of a field, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every error, for the summary at the top of a form.
    pub fn all(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Renders a page.
pub fn render<T: Template>(page: &T) -> Result<HttpResponse, AdminError> {
    render_status(StatusCode::OK, page)
}

/// Renders a page with a status (422 for a form with errors).
pub fn render_status<T: Template>(
    status: StatusCode,
    page: &T,
) -> Result<HttpResponse, AdminError> {
    let body = page
        .render()
        .map_err(|e| AdminError::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

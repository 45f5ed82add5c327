//! RFC 9457 problem details: every API error is one of these, with a clear `detail` and, for
//! bad input, the field at fault.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The JSON field or query parameter, e.g. `title` or `per_page`.
    pub field: String,
    pub message: String,
}

/// The `type` of every problem: `about:blank` (the status and title say what kind it is).
/// A type of no size, so a problem stays small enough to return by value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AboutBlank;

impl Serialize for AboutBlank {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("about:blank")
    }
}

/// An error answer (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status and title say what kind of problem it is.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "about:blank")]
    pub kind: AboutBlank,
    /// The HTTP status's reason phrase.
    pub title: &'static str,
    pub status: u16,
    /// What went wrong and what to do about it.
    pub detail: String,
    /// The first field at fault, when the problem is in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before trying again (429, 503); sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u32>,
    /// For a failure on our side (5xx): the id of the log line that holds its cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub error_id: Option<Box<str>>,
}

fn title_of(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

impl Problem {
    /// A problem with a status and a detail.
    pub fn new(status: u16, detail: impl Into<String>) -> Problem {
        Problem {
            kind: AboutBlank,
            title: title_of(status),
            status,
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            retry_after: None,
            error_id: None,
        }
    }

    /// 400 for a bad value of `field` (a query parameter or a JSON field).
    pub fn bad_field(field: &str, message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem {
            field: Some(field.to_string()),
            errors: vec![FieldError {
                field: field.to_string(),
                message: message.clone(),
            }],
            ..Problem::new(400, format!("{field}: {message}"))
        }
    }

    /// 400 with a detail.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(400, detail)
    }

    /// 404 for `what`.
    pub fn not_found(what: &str) -> Problem {
        Problem::new(404, format!("{what} not found"))
    }

    /// 401: no usable token.
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(401, detail)
    }

    /// 403: a valid token without the scope.
    pub fn missing_scope(scope: &str) -> Problem {
        Problem::new(403, format!("this token does not have the '{scope}' scope"))
    }

    /// 429 with the wait in seconds.
    pub fn too_many(retry_after: u32) -> Problem {
        Problem {
            retry_after: Some(retry_after),
            ..Problem::new(
                429,
                format!("too many requests for this token; try again in {retry_after} s"),
            )
        }
    }

    /// The headers of the answer: type, no caching, readable cross-origin, `Retry-After` and
    /// `WWW-Authenticate` where they apply.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("content-type", "application/problem+json".to_string()),
            ("cache-control", "no-store".to_string()),
            ("access-control-allow-origin", "*".to_string()),
        ];
        if let Some(s) = self.retry_after {
            h.push(("retry-after", s.to_string()));
        }
        if self.status == 401 {
            h.push(("www-authenticate", "Bearer realm=\"keepsake\"".to_string()));
        }
        h
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// 500 without internals: the cause is logged with an id ([`crate::error::incident`]),
    /// which the answer gives.
    pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
        let id = crate::error::incident(tracing::Level::ERROR, "api: internal error", cause);
        Problem {
            error_id: Some(id.clone().into()),
            ..Problem::new(
                500,
                format!(
                    "an error on our side stopped this request; it has been logged as error {id}"
                ),
            )
        }
    }
}

impl From<Error> for Problem {
    /// The status is the error's kind's ([`crate::error::Kind::status`]); the problem carries
    /// the field at fault where there is one.
    fn from(e: Error) -> Problem {
        let status = e.kind().status();
        match e {
            Error::NotFound(what) => Problem::not_found(what),
            Error::Conflict(m) => Problem::new(status, m),
            Error::Invalid { field, message }
            | Error::Missing { field, message }
            | Error::Taken { field, message } => Problem {
                status,
                title: title_of(status),
                ..Problem::bad_field(field, message)
            },
            Error::Fields(list) => {
                let detail = list
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                Problem {
                    field: list.first().map(|(f, _)| f.to_string()),
                    errors: list
                        .into_iter()
                        .map(|(f, m)| FieldError {
                            field: f.to_string(),
                            message: m,
                        })
                        .collect(),
                    ..Problem::new(status, detail)
                }
            }
            Error::Unavailable(m) => {
                let id =
                    crate::error::incident(tracing::Level::WARN, "api: service unavailable", &m);
                Problem {
                    retry_after: Some(5),
                    error_id: Some(id.clone().into()),
                    ..Problem::new(
                        503,
                        format!("the archive is busy; try again in a moment (error {id})"),
                    )
                }
            }
            Error::MediaUnavailable(m) => {
                let id = crate::error::incident(
                    tracing::Level::WARN,
                    "api: media store unavailable",
                    &m,
                );
                Problem {
                    retry_after: Some(5),
                    error_id: Some(id.clone().into()),
                    ..Problem::new(
                        503,
                        format!(
                            "the media store cannot be reached, so nothing was saved; try again in a moment (error {id})"
                        ),
                    )
                }
            }
            other => Problem::internal(&other),
        }
    }
}

impl From<diesel::result::Error> for Problem {
    fn from(e: diesel::result::Error) -> Problem {
        Problem::from(Error::from(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_the_kinds() {
        let status = |e: Error| Problem::from(e).status;
        assert_eq!(status(Error::from(diesel::result::Error::NotFound)), 404);
        assert_eq!(status(Error::invalid("title", "x")), 422);
        let missing = Problem::from(Error::missing("featured_photo_id", "there is no photo 9"));
        assert_eq!(
            (missing.status, missing.field.as_deref()),
            (409, Some("featured_photo_id"))
        );
        assert_eq!(status(Error::taken("slug", "taken")), 409);
        assert_eq!(status(Error::Internal("bug".into())), 500);
    }

    #[test]
    fn fields_become_422_with_the_field() {
        let p = Problem::from(Error::Fields(vec![
            ("title", "must not be empty".into()),
            ("slug", "bad".into()),
        ]));
        assert_eq!(p.status, 422);
        assert_eq!(p.field.as_deref(), Some("title"));
        assert_eq!(p.errors.len(), 2);
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["type"], "about:blank");
        assert_eq!(json["title"], "Unprocessable Content");
        assert!(json.get("retry_after").is_none());
    }
}

/// The answers every read route may give besides its own (for the API description).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ReadResponses {
    /// Not modified since the `If-None-Match` ETag given.
    #[response(status = 304)]
    NotModified,
    /// A bad or unknown parameter (the `field` names it).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// A token was given and is not valid, revoked or expired.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// Listing unpublished content without a token with `drafts:read`.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// Nothing published at this address (or not visible to the token).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// Too many requests for this token; `Retry-After` says when to try again.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Problem),
}

/// The answers every write route may give besides its own (for the API description).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum WriteResponses {
    /// Malformed JSON, an unknown field, a value of the wrong type, or a bad id.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No token, or one that is not valid, revoked or expired.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token lacks the route's scope.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such item.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The change conflicts with what is stored (a taken slug, a published post to schedule,
    /// a category with subcategories).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The body (or a file) is too large.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not of the type the route takes.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// A field failed validation (the `field` names it).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
    /// Too many requests for this token; `Retry-After` says when to try again.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Problem),
}

//! The domain error of `cms-core`. Model code returns `diesel::QueryResult`; services return
//! [`Error`], which keeps its cause so the HTTP and CLI layers can map it to a status or a line.

use std::fmt;

/// Everything a core operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with what is stored (a duplicate email or slug, a non-empty category).
    #[error("{0}")]
    Conflict(String),
    /// Input that fails validation; `field` names the form or JSON field at fault.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A field names an item that does not exist (a photo id, a parent category): the API
    /// answers 409 naming the field (the request conflicts with what is stored; 404 would say
    /// the addressed item is gone); forms show it next to the field.
    #[error("{field}: {message}")]
    Missing {
        field: &'static str,
        message: String,
    },
    /// A field's value is already another item's (a slug): the API answers 409 naming the
    /// field; forms show it next to the field.
    #[error("{field}: {message}")]
    Taken {
        field: &'static str,
        message: String,
    },
    /// Several fields failed validation at once (forms show each next to its field).
    #[error("{}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Fields(Vec<(&'static str, String)>),
    /// A database error that is not the caller's fault.
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    /// No connection could be taken from the pool in time: the service is overloaded or the
    /// database is down.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The object store holding the media cannot be reached or refused a request: the
    /// operation did nothing and may be tried again.
    #[error("media store unavailable: {0}")]
    MediaUnavailable(String),
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Anything else that is our fault, with a message for the log.
    #[error("{0}")]
    Internal(String),
}

/// The result type of core services.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an error is: the one mapping every layer that answers a request (the
/// public pages, the admin, the API, the CLI) reads its status from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Nothing there: 404.
    NotFound,
    /// The input breaks a rule: 422 (the API; pages show the form again or a 400 page).
    Invalid,
    /// The input conflicts with what is stored (a taken slug, a reference to nothing): 409.
    Conflict,
    /// Overloaded or the database is down, try again: 503.
    Unavailable,
    /// Our fault: 500, logged with an error id.
    Internal,
}

impl Kind {
    /// The HTTP status of this kind of failure.
    pub fn status(self) -> u16 {
        match self {
            Kind::NotFound => 404,
            Kind::Invalid => 422,
            Kind::Conflict => 409,
            Kind::Unavailable => 503,
            Kind::Internal => 500,
        }
    }
}

impl From<diesel::result::Error> for Error {
    /// A query that found no row is [`Error::NotFound`]; anything else stays a database error
    /// with its cause.
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Error::NotFound("item"),
            other => Error::Database(other),
        }
    }
}

impl Error {
    /// What kind of failure this is ([`Kind`]).
    pub fn kind(&self) -> Kind {
        match self {
            Error::NotFound(_) => Kind::NotFound,
            Error::Invalid { .. } | Error::Fields(_) => Kind::Invalid,
            Error::Missing { .. } | Error::Taken { .. } | Error::Conflict(_) => Kind::Conflict,
            Error::Unavailable(_) | Error::MediaUnavailable(_) => Kind::Unavailable,
            Error::Database(_) | Error::Io { .. } | Error::Internal(_) => Kind::Internal,
        }
    }

    /// A validation error for `field`.
    pub fn invalid(field: &'static str, message: impl fmt::Display) -> Self {
        Error::Invalid {
            field,
            message: message.to_string(),
        }
    }

    /// A field naming an item that does not exist.
    pub fn missing(field: &'static str, message: impl fmt::Display) -> Self {
        Error::Missing {
            field,
            message: message.to_string(),
        }
    }

    /// A field whose value another item has.
    pub fn taken(field: &'static str, message: impl fmt::Display) -> Self {
        Error::Taken {
            field,
            message: message.to_string(),
        }
    }

    /// An I/O error with what we were doing when it happened.
    pub fn io(context: impl fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            context: context.to_string(),
            source,
        }
    }

    /// True when the error is a unique-constraint violation in the database.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Error::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Error::Unavailable(e.to_string())
    }
}

/// Maps `Err(NotFound)` from diesel to `Ok(None)`, like diesel's `OptionalExtension`, for
/// [`Result`]s of core services.
pub trait OptionalExt<T> {
    /// `Ok(None)` where the error says the row does not exist.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExt<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Logs a failure that is ours (a 5xx answer) with a short id, and returns the id: the answer
/// shows it, so a reader's report ("error 3f9a2c1d") finds the log line with the cause.
pub fn incident(level: tracing::Level, what: &str, cause: &dyn fmt::Display) -> String {
    let id = crate::tokens::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect::<String>();
    if level == tracing::Level::ERROR {
        tracing::error!(error_id = %id, error = %cause, "{what}");
    } else {
        tracing::warn!(error_id = %id, error = %cause, "{what}");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_kind_and_status() {
        let io = || std::io::Error::other("disk full");
        let cases: Vec<(Error, u16)> = vec![
            (Error::NotFound("post"), 404),
            (Error::from(diesel::result::Error::NotFound), 404),
            (Error::invalid("title", "must not be empty"), 422),
            (Error::Fields(vec![("slug", "bad".into())]), 422),
            (
                Error::missing("featured_photo_id", "there is no photo 9"),
                409,
            ),
            (Error::taken("slug", "'a' is taken"), 409),
            (Error::Conflict("not empty".into()), 409),
            (Error::Unavailable("pool timed out".into()), 503),
            (Error::from(diesel::result::Error::RollbackTransaction), 500),
            (Error::io("writing media", io()), 500),
            (Error::Internal("bug".into()), 500),
        ];
        for (e, status) in cases {
            assert_eq!(e.kind().status(), status, "{e}");
        }
        let found: Result<i32> = Err(Error::from(diesel::result::Error::NotFound));
        assert!(matches!(found.optional(), Ok(None)));
    }
}

//! The write half of the JSON API (`/api/v1/…` with `Authorization: Bearer <token>`).
//!
//! Every handler first authenticates the token, counts it against its rate limit and checks the
//! route's scope (401 without a usable token, 403 without the scope), and only then reads the
//! body: JSON with unknown fields refused, at most [`JSON_LIMIT`] bytes, errors as problem
//! documents naming the field. Writes go through the same core services as the admin panel, so
//! they bump the content version, keep the search index, and notify subscribers the same way.

mod gallery;
mod posts;
mod subscribers;
mod videos;
mod webhooks;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use cms_core::AppState;
use cms_core::api::{self as core_api, Problem};
use cms_core::models::api_token::ApiToken;
use cms_core::models::audit::Actor;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::error::AdminError;

/// The largest JSON body accepted (a post body may be up to 1 MB of Markdown).
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// An API error: a problem document with its status.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0.status, self.0.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        for (name, value) in self.0.headers() {
            resp.insert_header((name, value));
        }
        resp.body(self.0.body())
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError(p)
    }
}

impl From<cms_core::Error> for ApiError {
    fn from(e: cms_core::Error) -> Self {
        ApiError(Problem::from(e))
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError(Problem::from(e))
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        ApiError(match e {
            AdminError::NotFound => Problem::new(404, "nothing at this address"),
            AdminError::BadRequest(m) => Problem::bad_request(m),
            AdminError::TooLarge(m) => Problem::new(413, m),
            AdminError::Forbidden(m) => Problem::new(403, m),
            AdminError::Unavailable(m) => Problem::from(cms_core::Error::Unavailable(m)),
            other => Problem::from(cms_core::Error::Internal(other.to_string())),
        })
    }
}

pub type ApiResult = Result<HttpResponse, ApiError>;

/// The token behind a write, and how the audit log names it.
#[derive(Debug)]
pub struct Caller {
    pub token: ApiToken,
    pub actor: Actor,
}

/// Authenticates the bearer token, counts the request, and requires `scope`.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    scope: &str,
) -> Result<Caller, ApiError> {
    let secret = core_api::bearer(
        req.headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    )?
    .ok_or_else(|| {
        ApiError(Problem::unauthorized(format!(
            "this endpoint needs 'Authorization: Bearer <token>' with the '{scope}' scope"
        )))
    })?;
    let limits = state.api_limits.clone();
    let token = state
        .db
        .run(move |conn| {
            let token = core_api::authenticate(conn, &secret).map_err(ApiError)?;
            limits.check(conn, token.id).map_err(ApiError)?;
            Ok::<_, ApiError>(token)
        })
        .await?;
    if !token.has_scope(scope) {
        return Err(ApiError(Problem::missing_scope(scope)));
    }
    let actor = Actor {
        user_id: token.created_by,
        label: format!("token:{}", token.name),
        ip: crate::auth::client_ip(req).map(|a| a.to_string()),
        importing: false,
    };
    Ok(Caller { token, actor })
}

/// Reads a JSON body of type `T`: `application/json`, at most [`JSON_LIMIT`] bytes, one
/// object with nothing after it, no control characters in its strings, unknown fields
/// refused; a problem naming the field otherwise.
/// JSON does not tell `3` from `3.0` (JSON Schema calls both integers): numbers without a
/// fraction become integers, so an integer field takes either.
fn whole_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= core_api::MAX_ID as f64
            {
                *v = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(o) => o.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// A slug given in a body, held to the description: exactly a slug, with no white space
/// around it and not empty (leave the field out to have one made).
pub fn exact_slug(s: Option<&str>) -> Result<(), ApiError> {
    match s {
        Some(s) => Ok(cms_core::slug::validate(s)?),
        None => Ok(()),
    }
}

pub async fn read_json<T: DeserializeOwned>(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<T, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if ct != "application/json" && !ct.ends_with("+json") {
        return Err(ApiError(Problem::new(
            415,
            "send the body as JSON with 'Content-Type: application/json'",
        )));
    }
    let too_large = || {
        ApiError(Problem::new(
            413,
            format!("the body may be at most {} MB", JSON_LIMIT >> 20),
        ))
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > JSON_LIMIT) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(JSON_LIMIT));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError(Problem::bad_request(format!(
                "the body could not be read: {e}"
            )))
        })?;
        if body.len() + chunk.len() > JSON_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ApiError(Problem::bad_request(
            "the body is empty; send a JSON object",
        )));
    }
    // One JSON object and nothing after it; no control characters in its strings.
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError(Problem::bad_request(format!(
            "the body is not valid JSON: {e}"
        )))
    })?;
    if !value.is_object() {
        return Err(ApiError(Problem::bad_request(
            "the body must be a JSON object",
        )));
    }
    if cms_core::input::json_has_refused(&value) {
        return Err(ApiError(Problem::bad_request(
            "the body holds a control character in a string",
        )));
    }
    let mut value = value;
    whole_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde names unknown and missing fields in its message, not in the path.
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| message.split_once(p))
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(f, _)| f.to_string());
        let field = match (path.as_str(), named) {
            (".", Some(f)) | ("", Some(f)) => f,
            (".", None) | ("", None) => String::new(),
            (p, Some(f)) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
            (p, Some(f)) => format!("{p}.{f}"),
            (p, None) => p.to_string(),
        };
        if inner.is_syntax() || inner.is_eof() || field.is_empty() {
            ApiError(Problem::bad_request(format!(
                "the body is not valid JSON for this endpoint: {message}"
            )))
        } else {
            ApiError(Problem::bad_field(&field, message))
        }
    })
}

/// A numeric id from the path: a 400 problem when it is not one.
pub fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| (1..=cms_core::api::MAX_ID).contains(n))
        .ok_or_else(|| {
            ApiError(Problem::bad_field(
                "id",
                format!(
                    "must be a whole number from 1 to {}, not '{raw}'",
                    cms_core::api::MAX_ID
                ),
            ))
        })
}

/// Finds the id of the item with `slug` (any status), or a 404 problem naming it.
pub fn lookup(
    conn: &mut cms_core::DbConn,
    kind: &'static str,
    slug: &str,
) -> Result<i64, ApiError> {
    use cms_core::models::{album, category, post, tag, video};
    let id = match kind {
        "post" => post::find_by_slug(conn, slug)?.map(|x| x.id),
        "album" => album::find_by_slug(conn, slug)?.map(|x| x.id),
        "video" => video::find_by_slug(conn, slug)?.map(|x| x.id),
        "category" => category::find_by_slug(conn, slug)?.map(|x| x.id),
        "tag" => tag::find_by_slug(conn, slug)?.map(|x| x.id),
        _ => None,
    };
    id.ok_or_else(|| ApiError(Problem::new(404, format!("no {kind} '{slug}'"))))
}

/// A JSON answer with a status.
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(value)
}

/// A `201 Created` answer with the new item's API URL in `Location`.
pub fn created<T: serde::Serialize>(location: &str, value: &T) -> HttpResponse {
    let mut r = json(StatusCode::CREATED, value);
    if let Ok(v) = header::HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A plain delete by slug: authorize for `scope`, find the `kind` (any status), delete it
/// through its service (which writes the audit entry), answer 204.
pub async fn delete_by_slug(
    req: &HttpRequest,
    state: &AppState,
    slug: String,
    scope: &'static str,
    kind: &'static str,
    delete: fn(&mut cms_core::DbConn, &Actor, i64) -> cms_core::Result<()>,
) -> ApiResult {
    let caller = authorize(req, state, scope).await?;
    let act = caller.actor;
    state
        .db
        .write(move |conn| {
            let id = lookup(conn, kind, &slug)?;
            delete(conn, &act, id)?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(deleted())
}

/// `204 No Content`.
pub fn deleted() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .finish()
}

/// The write API's description.
#[derive(OpenApi)]
#[openapi(paths(
    posts::create,
    posts::update,
    posts::publish,
    posts::schedule,
    posts::unpublish,
    posts::delete,
    posts::create_category,
    posts::update_category,
    posts::delete_category,
    posts::create_tag,
    posts::delete_tag,
    gallery::create_category,
    gallery::create_album,
    gallery::update_album,
    gallery::delete_album,
    gallery::upload_photos,
    gallery::update_photo,
    gallery::delete_photo,
    videos::create,
    videos::update,
    videos::delete,
    webhooks::list,
    webhooks::create,
    webhooks::delete,
    webhooks::ping,
    subscribers::list,
    subscribers::create,
    subscribers::set_topics,
    subscribers::delete,
))]
pub struct WriteApi;

macro_rules! write_routes {
    ($( $method:ident $path:literal $scope:literal => $handler:path ),* $(,)?) => {
        /// Every write route of the API: method, path and the scope it needs.
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// The scope each write route needs, in the order of [`ROUTES`].
        pub const SCOPES: &[&str] = &[ $( $scope ),* ];

        /// Registers the write routes (flat, beside the read routes of the same paths).
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
        }
    };
}

write_routes! {
    post "/api/v1/posts" "posts:write" => posts::create,
    patch "/api/v1/posts/{slug}" "posts:write" => posts::update,
    delete "/api/v1/posts/{slug}" "posts:write" => posts::delete,
    post "/api/v1/posts/{slug}/publish" "posts:write" => posts::publish,
    post "/api/v1/posts/{slug}/schedule" "posts:write" => posts::schedule,
    post "/api/v1/posts/{slug}/unpublish" "posts:write" => posts::unpublish,
    post "/api/v1/categories" "posts:write" => posts::create_category,
    patch "/api/v1/categories/{slug}" "posts:write" => posts::update_category,
    delete "/api/v1/categories/{slug}" "posts:write" => posts::delete_category,
    post "/api/v1/tags" "posts:write" => posts::create_tag,
    delete "/api/v1/tags/{slug}" "posts:write" => posts::delete_tag,
    post "/api/v1/gallery/categories" "gallery:write" => gallery::create_category,
    post "/api/v1/albums" "gallery:write" => gallery::create_album,
    patch "/api/v1/albums/{slug}" "gallery:write" => gallery::update_album,
    delete "/api/v1/albums/{slug}" "gallery:write" => gallery::delete_album,
    post "/api/v1/albums/{slug}/photos" "gallery:write" => gallery::upload_photos,
    patch "/api/v1/photos/{id}" "gallery:write" => gallery::update_photo,
    delete "/api/v1/photos/{id}" "gallery:write" => gallery::delete_photo,
    post "/api/v1/videos" "videos:write" => videos::create,
    patch "/api/v1/videos/{slug}" "videos:write" => videos::update,
    delete "/api/v1/videos/{slug}" "videos:write" => videos::delete,
    get "/api/v1/webhooks" "webhooks:write" => webhooks::list,
    post "/api/v1/webhooks" "webhooks:write" => webhooks::create,
    delete "/api/v1/webhooks/{id}" "webhooks:write" => webhooks::delete,
    post "/api/v1/webhooks/{id}/ping" "webhooks:write" => webhooks::ping,
    get "/api/v1/subscribers" "subscribers:write" => subscribers::list,
    post "/api/v1/subscribers" "subscribers:write" => subscribers::create,
    put "/api/v1/subscribers/{id}/topics" "subscribers:write" => subscribers::set_topics,
    delete "/api/v1/subscribers/{id}" "subscribers:write" => subscribers::delete,
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Parses an RFC 3339 time for `field`.
pub fn rfc3339(field: &str, s: &str) -> Result<chrono::NaiveDateTime, ApiError> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.naive_utc())
        .map_err(|_| {
            ApiError(Problem::bad_field(
                field,
                format!("must be an RFC 3339 time such as 2026-12-01T18:00:00Z, not '{s}'"),
            ))
        })
}

/// Parses a `YYYY-MM-DD` date for `field`.
pub fn date(field: &str, s: &str) -> Result<chrono::NaiveDate, ApiError> {
    cms_core::input::iso_date(s).ok_or_else(|| {
        ApiError(Problem::bad_field(
            field,
            format!("must be a date such as 2024-08-03, not '{s}'"),
        ))
    })
}

/// A core error with its fields named as this endpoint's JSON names them (the services name
/// them as the admin's forms do: `source_url` is `source.url` here).
pub fn as_json_fields(e: cms_core::Error, names: &[(&str, &'static str)]) -> cms_core::Error {
    use cms_core::Error as E;
    let rename = |f: &'static str| {
        names
            .iter()
            .find(|(from, _)| *from == f)
            .map_or(f, |(_, to)| *to)
    };
    match e {
        E::Invalid { field, message } => E::Invalid {
            field: rename(field),
            message,
        },
        E::Missing { field, message } => E::Missing {
            field: rename(field),
            message,
        },
        E::Taken { field, message } => E::Taken {
            field: rename(field),
            message,
        },
        E::Fields(list) => E::Fields(list.into_iter().map(|(f, m)| (rename(f), m)).collect()),
        other => other,
    }
}

//! The read half of the JSON API (`/api/v1/…`, public). Answers go through the page cache like
//! pages do (ETag and 304 keyed on the content version, gzip made once); a token with
//! `drafts:read` sees drafts too, and its answers are built per request and never cached.
//! Every error is an `application/problem+json` answer; query parameters are read strictly.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, Route, guard, web};
use cms_core::api::views::{self, Audience, Urls};
use cms_core::api::{self as core_api, Paging, Params, Problem};
use cms_core::models::category;
use cms_core::models::photo;
use cms_core::models::post::{self, ListFilter, PostKind, PostStatus};
use cms_core::models::tag;
use cms_core::models::video;
use cms_core::snapshot::Snapshot;
use cms_core::{AppState, DbConn};
use serde::Serialize;
use utoipa::{IntoParams, OpenApi};

use crate::cache::{self, Rendered};
use crate::error::WebError;

/// An API error: a problem document with its status.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0.status, self.0.detail)
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

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        ApiError(match e {
            WebError::NotFound => Problem::new(404, "nothing at this address"),
            WebError::BadRequest(m) => Problem::bad_request(m),
            WebError::Gone(m) => Problem::new(410, m),
            WebError::Unavailable(m) => Problem::from(cms_core::Error::Unavailable(m)),
            WebError::Internal(m) => Problem::from(cms_core::Error::Internal(m)),
        })
    }
}

/// The response of a problem: JSON, never cached, readable cross-origin.
pub fn problem_response(p: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = HttpResponse::build(status);
    for (name, value) in p.headers() {
        resp.insert_header((name, value));
    }
    resp.body(p.body())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        problem_response(&self.0)
    }
}

type ApiResult = Result<HttpResponse, ApiError>;

/// Who is asking: anyone, or a token that may see drafts. A token that is presented must be
/// valid (a 401 otherwise), and counts against its rate limit.
async fn audience(req: &HttpRequest, state: &AppState) -> Result<Audience, ApiError> {
    let Some(secret) = core_api::bearer(
        req.headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    )?
    else {
        return Ok(Audience::Public);
    };
    let limits = state.api_limits.clone();
    let token = state
        .db
        .run(move |conn| {
            let token = core_api::authenticate(conn, &secret).map_err(ApiError)?;
            limits.check(conn, token.id).map_err(ApiError)?;
            Ok::<_, ApiError>(token)
        })
        .await?;
    Ok(if token.has_scope("drafts:read") {
        Audience::Drafts
    } else {
        Audience::Public
    })
}

fn json<T: Serialize>(value: &T) -> Result<Rendered, ApiError> {
    let body = serde_json::to_string(value)
        .map_err(|e| ApiError::from(cms_core::Error::Internal(format!("json: {e}"))))?;
    let mut r = Rendered::typed("application/json", body);
    r.headers.push(("access-control-allow-origin", "*".into()));
    r.headers
        .push(("access-control-expose-headers", "ETag, Link".into()));
    Ok(r)
}

/// Answers through the page cache (readers) or per request (drafts).
async fn answer<F>(req: &HttpRequest, state: &AppState, aud: Audience, build: F) -> ApiResult
where
    F: FnOnce(&mut DbConn, &Snapshot) -> Result<Rendered, ApiError> + Send + 'static,
{
    let mut resp = match aud {
        Audience::Public => cache::respond(req, state, None, build).await?,
        Audience::Drafts => cache::respond_private(req, state, build).await?,
    };
    resp.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Authorization"),
    );
    Ok(resp)
}

fn base(state: &AppState) -> String {
    state.config.server.base_url.clone()
}

/// A list answer with its `Link` header.
fn list<T: Serialize>(
    value: &T,
    paging: Paging,
    total: i64,
    base: &str,
    path: &str,
    query: &str,
) -> Result<Rendered, ApiError> {
    let mut r = json(value)?;
    r.headers
        .push(("link", paging.link_header(base, path, query, total)));
    Ok(r)
}

/// A list filter naming a category or tag that does not exist: 404, naming the parameter.
fn filter_names_nothing(field: &str, slug: &str) -> ApiError {
    ApiError(Problem {
        status: 404,
        title: "Not Found",
        ..Problem::bad_field(field, format!("no {field} '{slug}'"))
    })
}

fn not_found(what: &str, key: &str) -> ApiError {
    ApiError(Problem::new(404, format!("no {what} '{key}'")))
}

/// Query parameters of `GET /api/v1/posts` (documentation; read strictly by the handler).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PostQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 20).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u64>,
    /// A category slug: posts in it or in its subcategories.
    #[param(format = "slug")]
    category: Option<String>,
    /// A tag slug.
    #[param(format = "slug")]
    tag: Option<String>,
    /// `news`, `article` or `page` (pages are only listed when asked for).
    #[param(inline)]
    kind: Option<PostKind>,
    /// Published at or after: a date (`2024-08-03`) or an RFC 3339 time.
    #[param(format = "date-or-time")]
    from: Option<String>,
    /// Published before: a date or an RFC 3339 time.
    #[param(format = "date-or-time")]
    to: Option<String>,
    /// Any status but `published` needs a token with `drafts:read`.
    #[param(inline)]
    status: Option<PostStatus>,
}

/// Query parameters of paginated lists.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 20).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u64>,
}

/// Query parameters of `GET /api/v1/search`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SearchQuery {
    /// The words to find (all must match; the last also as a prefix).
    #[param(format = "line")]
    q: String,
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u64>,
}

/// Published posts, newest first (any status with `drafts:read`, most recently changed first).
#[utoipa::path(get, path = "/api/v1/posts", tag = "content",
    params(PostQuery),
    responses(
        (status = 200, description = "A page of posts; `Link` has the other pages", body = views::PostList),
        cms_core::api::problem::ReadResponses,
    ),
    security((), ("bearer" = ["drafts:read"])))]
pub async fn posts(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    let p = Params::parse(
        req.query_string(),
        &[
            "page", "per_page", "category", "tag", "kind", "from", "to", "status",
        ],
    )?;
    let paging = Paging::from_params(&p)?;
    let kind: Option<PostKind> = p.parsed("kind")?;
    let status: Option<PostStatus> = p.parsed("status")?;
    let from = p.time("from")?;
    let to = p.time("to")?;
    let category = p.text("category", 200)?.map(str::to_string);
    let tag_slug = p.text("tag", 200)?.map(str::to_string);
    let aud = audience(&req, &state).await?;
    if !aud.drafts() && status.is_some_and(|s| s != PostStatus::Published) {
        return Err(ApiError(Problem::new(
            403,
            "listing posts that are not published needs a token with the 'drafts:read' scope",
        )));
    }
    let (b, path, query) = (
        base(&state),
        req.path().to_string(),
        req.query_string().to_string(),
    );
    answer(&req, &state, aud, move |conn, snap| {
        let mut filter = ListFilter {
            kind,
            published_from: from,
            published_before: to,
            any_status: aud.drafts(),
            status,
            ..ListFilter::default()
        };
        if let Some(slug) = &category {
            let c = category::find_by_slug(conn, slug)?
                .ok_or_else(|| filter_names_nothing("category", slug))?;
            filter.category_ids = Some(category::subtree_ids(conn, c.id)?);
        }
        if let Some(slug) = &tag_slug {
            let t =
                tag::find_by_slug(conn, slug)?.ok_or_else(|| filter_names_nothing("tag", slug))?;
            filter.tag_id = Some(t.id);
        }
        let stats = snap.post_stats(conn)?;
        let total = post::count_listed(conn, &filter, Some(stats))?;
        let rows = post::list_page(
            conn,
            &filter,
            paging.offset(),
            paging.limit(),
            Some((stats, total)),
        )?;
        let items = views::post_summaries(conn, &rows, aud, Urls(&b))?;
        let body = views::PostList {
            items,
            total,
            page: paging.page,
            per_page: paging.per_page,
            pages: paging.pages(total),
        };
        list(&body, paging, total, &b, &path, &query)
    })
    .await
}

/// One post with its HTML, Markdown source, categories, tags and featured photo.
#[utoipa::path(get, path = "/api/v1/posts/{slug}", tag = "content",
    params(("slug" = String, Path, description = "The post's slug")),
    responses(
        (status = 200, description = "The post", body = views::PostOut),
        cms_core::api::problem::ReadResponses,
    ),
    security((), ("bearer" = ["drafts:read"])))]
pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    Params::parse(req.query_string(), &[])?;
    let aud = audience(&req, &state).await?;
    let (b, slug) = (base(&state), slug.into_inner());
    answer(&req, &state, aud, move |conn, _| {
        let p = views::find_post(conn, &slug, aud)?.ok_or_else(|| not_found("post", &slug))?;
        json(&views::post_out(conn, &p, aud, Urls(&b))?)
    })
    .await
}

/// Every post category with its number of published posts.
#[utoipa::path(get, path = "/api/v1/categories", tag = "content",
    responses(
        (status = 200, description = "Every category, by name", body = Vec<views::CategoryOut>),
        cms_core::api::problem::ReadResponses,
    ))]
pub async fn categories(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    Params::parse(req.query_string(), &[])?;
    let b = base(&state);
    answer(&req, &state, Audience::Public, move |conn, snap| {
        let stats = snap.post_stats(conn)?;
        json(&views::categories_out(conn, stats, Urls(&b))?)
    })
    .await
}

/// Every tag with its number of published posts.
#[utoipa::path(get, path = "/api/v1/tags", tag = "content",
    responses(
        (status = 200, description = "Every tag, by name", body = Vec<views::TagOut>),
        cms_core::api::problem::ReadResponses,
    ))]
pub async fn tags(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    Params::parse(req.query_string(), &[])?;
    let b = base(&state);
    answer(&req, &state, Audience::Public, move |conn, snap| {
        let stats = snap.post_stats(conn)?;
        json(&views::tags_out(conn, stats, Urls(&b))?)
    })
    .await
}

/// The gallery tree: categories with recursive counts, their albums and subcategories.
#[utoipa::path(get, path = "/api/v1/gallery/categories", tag = "gallery",
    responses(
        (status = 200, description = "The top categories, each with its subtree", body = Vec<views::GalleryNode>),
        cms_core::api::problem::ReadResponses,
    ),
    security((), ("bearer" = ["drafts:read"])))]
pub async fn gallery(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    Params::parse(req.query_string(), &[])?;
    let aud = audience(&req, &state).await?;
    let b = base(&state);
    answer(&req, &state, aud, move |conn, _| {
        json(&views::gallery_tree(conn, aud, Urls(&b))?)
    })
    .await
}

/// One album with its category chain and cover.
#[utoipa::path(get, path = "/api/v1/albums/{slug}", tag = "gallery",
    params(("slug" = String, Path, description = "The album's slug")),
    responses(
        (status = 200, description = "The album", body = views::AlbumOut),
        cms_core::api::problem::ReadResponses,
    ),
    security((), ("bearer" = ["drafts:read"])))]
pub async fn album(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    Params::parse(req.query_string(), &[])?;
    let aud = audience(&req, &state).await?;
    let (b, slug) = (base(&state), slug.into_inner());
    answer(&req, &state, aud, move |conn, _| {
        let a = views::find_album(conn, &slug, aud)?.ok_or_else(|| not_found("album", &slug))?;
        json(&views::album_out(conn, &a, Urls(&b))?)
    })
    .await
}

/// An album's photos in order, with every derivative.
#[utoipa::path(get, path = "/api/v1/albums/{slug}/photos", tag = "gallery",
    params(("slug" = String, Path, description = "The album's slug"), PageQuery),
    responses(
        (status = 200, description = "A page of photos; `Link` has the other pages", body = views::PhotoList),
        cms_core::api::problem::ReadResponses,
    ),
    security((), ("bearer" = ["drafts:read"])))]
pub async fn album_photos(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    let p = Params::parse(req.query_string(), &["page", "per_page"])?;
    let paging = Paging::from_params(&p)?;
    let aud = audience(&req, &state).await?;
    let (b, slug) = (base(&state), slug.into_inner());
    let (path, query) = (req.path().to_string(), req.query_string().to_string());
    answer(&req, &state, aud, move |conn, _| {
        let a = views::find_album(conn, &slug, aud)?.ok_or_else(|| not_found("album", &slug))?;
        let rows = photo::page_in_album(conn, a.id, paging.offset(), paging.limit())?;
        let items = rows
            .iter()
            .map(|p| views::photo_out(p, &a, Urls(&b)))
            .collect();
        let body = views::PhotoList {
            items,
            total: a.photo_count,
            page: paging.page,
            per_page: paging.per_page,
            pages: paging.pages(a.photo_count),
        };
        list(&body, paging, a.photo_count, &b, &path, &query)
    })
    .await
}

/// One photo with every derivative and its dimensions.
#[utoipa::path(get, path = "/api/v1/photos/{id}", tag = "gallery",
    params(("id" = i64, Path, description = "The photo's id", minimum = 1)),
    responses(
        (status = 200, description = "The photo", body = views::PhotoOut),
        cms_core::api::problem::ReadResponses,
    ),
    security((), ("bearer" = ["drafts:read"])))]
pub async fn photo(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult {
    Params::parse(req.query_string(), &[])?;
    let id = parse_id(&id)?;
    let aud = audience(&req, &state).await?;
    let b = base(&state);
    answer(&req, &state, aud, move |conn, _| {
        let found = if aud.drafts() {
            match photo::find(conn, id)? {
                Some(p) => cms_core::models::album::find(conn, p.album_id)?.map(|a| (p, a)),
                None => None,
            }
        } else {
            photo::find_published(conn, id)?
        };
        let (p, a) = found.ok_or_else(|| not_found("photo", &id.to_string()))?;
        json(&views::photo_out(&p, &a, Urls(&b)))
    })
    .await
}

/// A numeric id from the path: a 400 problem when it is not one.
pub fn parse_id(raw: &str) -> Result<i64, ApiError> {
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

/// Video vault entries, newest release first.
#[utoipa::path(get, path = "/api/v1/videos", tag = "videos",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of videos; `Link` has the other pages", body = views::VideoList),
        cms_core::api::problem::ReadResponses,
    ),
    security((), ("bearer" = ["drafts:read"])))]
pub async fn videos(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    let p = Params::parse(req.query_string(), &["page", "per_page"])?;
    let paging = Paging::from_params(&p)?;
    let aud = audience(&req, &state).await?;
    let b = base(&state);
    let (path, query) = (req.path().to_string(), req.query_string().to_string());
    answer(&req, &state, aud, move |conn, _| {
        let (rows, total) = video::list(conn, !aud.drafts(), paging.offset(), paging.limit())?;
        let body = views::VideoList {
            items: rows
                .iter()
                .map(|v| views::video_summary(v, Urls(&b)))
                .collect(),
            total,
            page: paging.page,
            per_page: paging.per_page,
            pages: paging.pages(total),
        };
        list(&body, paging, total, &b, &path, &query)
    })
    .await
}

/// One video vault entry with its transcript and cues.
#[utoipa::path(get, path = "/api/v1/videos/{slug}", tag = "videos",
    params(("slug" = String, Path, description = "The entry's slug")),
    responses(
        (status = 200, description = "The entry", body = views::VideoOut),
        cms_core::api::problem::ReadResponses,
    ),
    security((), ("bearer" = ["drafts:read"])))]
pub async fn video(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    Params::parse(req.query_string(), &[])?;
    let aud = audience(&req, &state).await?;
    let (b, slug) = (base(&state), slug.into_inner());
    answer(&req, &state, aud, move |conn, _| {
        let v = views::find_video(conn, &slug, aud)?.ok_or_else(|| not_found("video", &slug))?;
        json(&views::video_out(&v, Urls(&b)))
    })
    .await
}

/// Full-text search over published posts, albums, photos and videos, best first.
#[utoipa::path(get, path = "/api/v1/search", tag = "content",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of results; `Link` has the other pages", body = views::SearchList),
        cms_core::api::problem::ReadResponses,
    ))]
pub async fn search(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    let p = Params::parse(req.query_string(), &["q", "page", "per_page"])?;
    let paging = Paging::from_params(&p)?;
    let q = p
        .text("q", 200)?
        .ok_or_else(|| ApiError(Problem::bad_field("q", "give the words to search for")))?
        .to_string();
    let b = base(&state);
    let (path, query) = (req.path().to_string(), req.query_string().to_string());
    answer(&req, &state, Audience::Public, move |conn, _| {
        let r = cms_core::search::search(conn, &q, paging.offset(), paging.limit())?;
        let items = r
            .hits
            .into_iter()
            .map(|h| views::SearchHitOut {
                kind: h.kind.label().to_lowercase(),
                id: h.item_id,
                title: h.title,
                url: if h.url.starts_with('/') {
                    format!("{b}{}", h.url)
                } else {
                    h.url
                },
                snippet_html: h.snippet_html,
            })
            .collect();
        let body = views::SearchList {
            items,
            total: r.total,
            page: paging.page,
            per_page: paging.per_page,
            pages: paging.pages(r.total),
        };
        list(&body, paging, r.total, &b, &path, &query)
    })
    .await
}

/// Query parameters of `GET /api/v1/changes`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ChangesQuery {
    /// Read the changes after this one (a change's `id`, or `next_cursor` of the last page;
    /// 0, the default, from the start).
    #[param(minimum = 0, maximum = 9007199254740991.0)]
    after: Option<u64>,
    /// How many changes at most (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
}

/// What changed on the site, oldest first: posts, albums and videos published, updated,
/// unpublished or deleted; photos added, moved or removed; categories changed. Poll with
/// `after` set to the last page's `next_cursor`. Drafts never appear; what was taken back is
/// listed without its data.
#[utoipa::path(get, path = "/api/v1/changes", tag = "content",
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of changes", body = cms_core::api::changes::ChangeList),
        cms_core::api::problem::ReadResponses,
    ))]
pub async fn changes(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    use cms_core::api::changes::{DEFAULT_LIMIT, MAX_LIMIT, change_list};
    let p = Params::parse(req.query_string(), &["after", "limit"])?;
    let after = p.number("after", 0, core_api::MAX_ID as u64)?.unwrap_or(0) as i64;
    let limit = p.number("limit", 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
    // A token, if one is given, must be good (and counts against its limit); the stream is
    // the same for every audience, since it never holds drafts.
    audience(&req, &state).await?;
    let b = base(&state);
    answer(&req, &state, Audience::Public, move |conn, _| {
        json(&change_list(conn, after, limit, Urls(&b))?)
    })
    .await
}

/// The read API's description.
#[derive(OpenApi)]
#[openapi(
    paths(
        posts,
        post,
        categories,
        tags,
        gallery,
        album,
        album_photos,
        photo,
        videos,
        video,
        search,
        changes
    ),
    components(schemas(Problem, cms_core::api::FieldError))
)]
pub struct ReadApi;

fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

macro_rules! read_routes {
    ($( $path:literal => $handler:path ),* $(,)?) => {
        /// Every read route of the API: method and path.
        pub const ROUTES: &[(&str, &str)] = &[ $( ("get", $path) ),* ];

        /// Registers the read routes (flat, so the admin plugin can add write methods on the
        /// same paths) and CORS preflight for the whole API.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, read().to($handler)); )*
            cfg.route("/api/v1/{tail:.*}", web::route().guard(guard::Options()).to(preflight));
        }
    };
}

read_routes! {
    "/api/v1/posts" => posts,
    "/api/v1/posts/{slug}" => post,
    "/api/v1/categories" => categories,
    "/api/v1/tags" => tags,
    "/api/v1/gallery/categories" => gallery,
    "/api/v1/albums/{slug}" => album,
    "/api/v1/albums/{slug}/photos" => album_photos,
    "/api/v1/photos/{id}" => photo,
    "/api/v1/videos" => videos,
    "/api/v1/videos/{slug}" => video,
    "/api/v1/search" => search,
    "/api/v1/changes" => changes,
}

/// CORS preflight: any origin may call the API with a bearer token (tokens are not cookies, so
/// another site can only use a token its user gave it).
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "GET, HEAD, POST, PATCH, DELETE, OPTIONS",
        ))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type, If-None-Match",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

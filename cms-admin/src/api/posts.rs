//! Posts, categories and tags through the API (scope `posts:write`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use cms_core::AppState;
use cms_core::api::Problem;
use cms_core::api::views::{self, Audience, Urls};
use cms_core::models::category::{self, Category};
use cms_core::models::post::{self, Post, PostInput, PostKind, PostStatus};
use cms_core::schema::categories;
use cms_core::service;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    ApiError, ApiResult, as_json_fields, authorize, created, date, double_option, json, read_json,
    rfc3339,
};

/// The post fields the services name as the admin's form does.
const POST_FIELDS: &[(&str, &str)] = &[
    ("source_url", "source.url"),
    ("source_date", "source.date"),
    ("source_publication", "source.publication"),
    ("source_author", "source.author"),
];

/// Where a reposted article first appeared.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceIn {
    pub publication: Option<String>,
    pub author: Option<String>,
    /// `http://` or `https://`.
    pub url: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date: Option<String>,
}

/// A new post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostCreate {
    #[schema(format = "line", max_length = 300)]
    pub title: String,
    /// Markdown. `[[album:slug]]` or `[[video:slug]]` alone on a line embeds an album or video.
    #[serde(default)]
    pub body: String,
    /// Made from the title when absent.
    #[schema(format = "slug")]
    pub slug: Option<String>,
    /// Default `news`.
    pub kind: Option<PostKind>,
    /// Default `draft`. `scheduled` needs `publish_at` in the future.
    pub status: Option<PostStatus>,
    /// RFC 3339: when a scheduled post goes live, or the shown date of a published one.
    #[schema(format = DateTime)]
    pub publish_at: Option<String>,
    #[schema(max_length = 1000)]
    pub excerpt: Option<String>,
    /// Email subscribers of news when the post is published (once).
    #[serde(default)]
    pub notify_subscribers: bool,
    /// Existing categories, by slug or name.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Tag names; new ones are created.
    #[serde(default)]
    pub tags: Vec<String>,
    pub featured_photo_id: Option<i64>,
    pub source: Option<SourceIn>,
}

/// Changes to a post: only the fields given change. Use the publish, schedule and unpublish
/// routes to change its status.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostUpdate {
    #[schema(format = "line", max_length = 300)]
    pub title: Option<String>,
    pub body: Option<String>,
    #[schema(format = "slug")]
    pub slug: Option<String>,
    pub kind: Option<PostKind>,
    #[schema(max_length = 1000)]
    pub excerpt: Option<String>,
    pub notify_subscribers: Option<bool>,
    pub categories: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub featured_photo_id: Option<Option<i64>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<SourceIn>)]
    pub source: Option<Option<SourceIn>>,
}

/// When a post goes live.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    /// RFC 3339, in the future.
    #[schema(format = DateTime)]
    pub publish_at: String,
}

/// Resolves category slugs or names to ids; unknown ones are a 422 naming them.
fn category_ids(conn: &mut cms_core::DbConn, given: &[String]) -> Result<Vec<i64>, ApiError> {
    if given.is_empty() {
        return Ok(Vec::new());
    }
    let all: Vec<Category> = categories::table.select(Category::as_select()).load(conn)?;
    let mut ids = Vec::new();
    for g in given {
        let g = g.trim();
        let found = all
            .iter()
            .find(|c| c.slug == g)
            .or_else(|| all.iter().find(|c| c.name.eq_ignore_ascii_case(g)));
        match found {
            Some(c) => ids.push(c.id),
            None => {
                return Err(ApiError::from(cms_core::Error::missing(
                    "categories",
                    format!("no category '{g}'; create it with POST /api/v1/categories"),
                )));
            }
        }
    }
    Ok(ids)
}

fn apply_source(input: &mut PostInput, s: Option<SourceIn>) -> Result<(), ApiError> {
    let s = s.unwrap_or_default();
    input.source_publication = s.publication;
    input.source_author = s.author;
    input.source_url = s.url;
    input.source_date = s
        .date
        .as_deref()
        .map(|d| date("source.date", d))
        .transpose()?;
    Ok(())
}

fn post_json(
    conn: &mut cms_core::DbConn,
    p: &Post,
    base: &str,
) -> Result<views::PostOut, ApiError> {
    Ok(views::post_out(conn, p, Audience::Drafts, Urls(base))?)
}

/// Creates a post.
#[utoipa::path(post, path = "/api/v1/posts", operation_id = "create_post", tag = "write",
    request_body = PostCreate,
    responses(
        (status = 201, description = "Created; `Location` is the post in the API", body = views::PostOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn create(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> ApiResult {
    let caller = authorize(&req, &state, "posts:write").await?;
    let b: PostCreate = read_json(&req, body).await?;
    super::exact_slug(b.slug.as_deref())?;
    let base = state.config.server.base_url.clone();
    let mut input = PostInput::new(b.title, b.body);
    input.slug = b.slug;
    input.kind = b.kind.unwrap_or(PostKind::News);
    input.status = b.status.unwrap_or(PostStatus::Draft);
    input.publish_at = b
        .publish_at
        .as_deref()
        .map(|t| rfc3339("publish_at", t))
        .transpose()?;
    input.excerpt = b.excerpt.unwrap_or_default();
    input.notify_subscribers = b.notify_subscribers;
    input.tags = b.tags;
    input.featured_photo_id = b.featured_photo_id;
    input.author_id = caller.token.created_by;
    apply_source(&mut input, b.source)?;
    let names = b.categories;
    let act = caller.actor;
    let out = state
        .db
        .write(move |conn| {
            input.category_ids = category_ids(conn, &names)?;
            let p = service::posts::create(conn, &act, &input)
                .map_err(|e| as_json_fields(e, POST_FIELDS))?;
            post_json(conn, &p, &base)
        })
        .await?;
    let location = format!(
        "{}/api/v1/posts/{}",
        state.config.server.base_url, out.summary.slug
    );
    Ok(created(&location, &out))
}

/// Changes some fields of a post.
#[utoipa::path(patch, path = "/api/v1/posts/{slug}", operation_id = "update_post", tag = "write",
    params(("slug" = String, Path, description = "The post's slug")),
    request_body = PostUpdate,
    responses(
        (status = 200, description = "The post as saved", body = views::PostOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "posts:write").await?;
    let slug = slug.into_inner();
    let b: PostUpdate = read_json(&req, body).await?;
    super::exact_slug(b.slug.as_deref())?;
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let editor = caller.token.created_by;
    let out = state
        .db
        .write(move |conn| {
            let id = super::lookup(conn, "post", &slug)?;
            let p = post::find(conn, id)?.ok_or(cms_core::Error::NotFound("post"))?;
            let mut input = post::input_of(conn, &p)?;
            if let Some(t) = b.title {
                input.title = t;
            }
            if let Some(body) = b.body {
                input.body_markdown = body;
            }
            if let Some(s) = b.slug {
                input.slug = Some(s);
            }
            if let Some(k) = b.kind {
                input.kind = k;
            }
            if let Some(e) = b.excerpt {
                input.excerpt = e;
            }
            if let Some(n) = b.notify_subscribers {
                input.notify_subscribers = n;
            }
            if let Some(c) = &b.categories {
                input.category_ids = category_ids(conn, c)?;
            }
            if let Some(t) = b.tags {
                input.tags = t;
            }
            if let Some(f) = b.featured_photo_id {
                input.featured_photo_id = f;
            }
            if let Some(s) = b.source {
                apply_source(&mut input, s)?;
            }
            let saved = service::posts::update(conn, &act, id, &input, editor)
                .map_err(|e| as_json_fields(e, POST_FIELDS))?;
            post_json(conn, &saved, &base)
        })
        .await?;
    Ok(json(StatusCode::OK, &out))
}

/// Shared by publish, schedule and unpublish.
async fn transition(
    state: web::Data<AppState>,
    caller: super::Caller,
    slug: String,
    publish_at: Option<chrono::NaiveDateTime>,
    status: PostStatus,
) -> ApiResult {
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let editor = caller.token.created_by;
    let out = state
        .db
        .write(move |conn| {
            let id = super::lookup(conn, "post", &slug)?;
            let p = match status {
                PostStatus::Scheduled => {
                    let old = post::find(conn, id)?.ok_or(cms_core::Error::NotFound("post"))?;
                    if old.status == PostStatus::Published {
                        return Err(ApiError(Problem::new(
                            409,
                            "the post is published; unpublish it before scheduling it",
                        )));
                    }
                    let when = publish_at.ok_or_else(|| {
                        ApiError(Problem::bad_field(
                            "publish_at",
                            "give the time to publish at",
                        ))
                    })?;
                    if when <= cms_core::models::now() {
                        return Err(ApiError(Problem {
                            status: 422,
                            title: "Unprocessable Content",
                            ..Problem::bad_field(
                                "publish_at",
                                "must be in the future (publish now instead)",
                            )
                        }));
                    }
                    let mut input = post::input_of(conn, &old)?;
                    input.status = PostStatus::Scheduled;
                    input.publish_at = Some(when);
                    service::posts::update(conn, &act, id, &input, editor)?
                }
                other => service::posts::set_status(conn, &act, id, other)?,
            };
            post_json(conn, &p, &base)
        })
        .await?;
    Ok(json(StatusCode::OK, &out))
}

/// Publishes a post now (subscribers are emailed if it asks for it).
#[utoipa::path(post, path = "/api/v1/posts/{slug}/publish", operation_id = "publish_post", tag = "write",
    params(("slug" = String, Path, description = "The post's slug")),
    responses(
        (status = 200, description = "The published post", body = views::PostOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn publish(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    let caller = authorize(&req, &state, "posts:write").await?;
    let slug = slug.into_inner();
    transition(state, caller, slug, None, PostStatus::Published).await
}

/// Schedules a post to go live at a time in the future.
#[utoipa::path(post, path = "/api/v1/posts/{slug}/schedule", operation_id = "schedule_post", tag = "write",
    params(("slug" = String, Path, description = "The post's slug")),
    request_body = ScheduleIn,
    responses(
        (status = 200, description = "The scheduled post", body = views::PostOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn schedule(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "posts:write").await?;
    let slug = slug.into_inner();
    let b: ScheduleIn = read_json(&req, body).await?;
    let when = rfc3339("publish_at", &b.publish_at)?;
    transition(state, caller, slug, Some(when), PostStatus::Scheduled).await
}

/// Takes a post back to draft: readers no longer see it.
#[utoipa::path(post, path = "/api/v1/posts/{slug}/unpublish", operation_id = "unpublish_post", tag = "write",
    params(("slug" = String, Path, description = "The post's slug")),
    responses(
        (status = 200, description = "The post, now a draft", body = views::PostOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn unpublish(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    let caller = authorize(&req, &state, "posts:write").await?;
    let slug = slug.into_inner();
    transition(state, caller, slug, None, PostStatus::Draft).await
}

/// Deletes a post with its revisions.
#[utoipa::path(delete, path = "/api/v1/posts/{slug}", operation_id = "delete_post", tag = "write",
    params(("slug" = String, Path, description = "The post's slug")),
    responses(
        (status = 204, description = "Deleted"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    super::delete_by_slug(
        &req,
        &state,
        slug.into_inner(),
        "posts:write",
        "post",
        |c, a, id| service::posts::delete(c, a, id).map(drop),
    )
    .await
}

/// A new post category.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryCreate {
    #[schema(format = "line")]
    pub name: String,
    /// Made from the name when absent.
    #[schema(format = "slug")]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: String,
    pub parent_id: Option<i64>,
}

/// Changes to a category.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryUpdate {
    #[schema(format = "line")]
    pub name: Option<String>,
    pub description: Option<String>,
}

fn category_json(
    conn: &mut cms_core::DbConn,
    id: i64,
    base: &str,
) -> Result<views::CategoryOut, ApiError> {
    views::one_category_out(conn, id, Urls(base))?
        .ok_or_else(|| ApiError(Problem::not_found("category")))
}

/// Creates a post category.
#[utoipa::path(post, path = "/api/v1/categories", tag = "write",
    request_body = CategoryCreate,
    responses(
        (status = 201, description = "Created", body = views::CategoryOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn create_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "posts:write").await?;
    let b: CategoryCreate = read_json(&req, body).await?;
    super::exact_slug(b.slug.as_deref())?;
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let out = state
        .db
        .write(move |conn| {
            let c = service::taxonomy::create_category(
                conn,
                &act,
                b.parent_id,
                &b.name,
                b.slug.as_deref(),
                &b.description,
            )?;
            category_json(conn, c.id, &base)
        })
        .await?;
    Ok(created(
        &format!("{}/api/v1/categories", state.config.server.base_url),
        &out,
    ))
}

/// Renames a category or changes its description.
#[utoipa::path(patch, path = "/api/v1/categories/{slug}", tag = "write",
    params(("slug" = String, Path, description = "The category's slug")),
    request_body = CategoryUpdate,
    responses(
        (status = 200, description = "The category as saved", body = views::CategoryOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn update_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "posts:write").await?;
    let slug = slug.into_inner();
    let b: CategoryUpdate = read_json(&req, body).await?;
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let out = state
        .db
        .write(move |conn| {
            let id = super::lookup(conn, "category", &slug)?;
            let c = category::find(conn, id)?.ok_or(cms_core::Error::NotFound("category"))?;
            let name = b.name.unwrap_or(c.name);
            let description = b.description.unwrap_or(c.description);
            service::taxonomy::update_category(conn, &act, id, &name, &description)?;
            category_json(conn, id, &base)
        })
        .await?;
    Ok(json(StatusCode::OK, &out))
}

/// Deletes a category without subcategories; its posts lose it.
#[utoipa::path(delete, path = "/api/v1/categories/{slug}", tag = "write",
    params(("slug" = String, Path, description = "The category's slug")),
    responses(
        (status = 204, description = "Deleted"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn delete_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    super::delete_by_slug(
        &req,
        &state,
        slug.into_inner(),
        "posts:write",
        "category",
        |c, a, id| service::taxonomy::delete_category(c, a, id).map(drop),
    )
    .await
}

/// A new tag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagCreate {
    #[schema(format = "line", max_length = 100)]
    pub name: String,
}

/// Creates a tag (or answers the existing one with the same slug).
#[utoipa::path(post, path = "/api/v1/tags", tag = "write",
    request_body = TagCreate,
    responses(
        (status = 201, description = "The tag", body = views::TagOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn create_tag(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "posts:write").await?;
    let b: TagCreate = read_json(&req, body).await?;
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let out = state
        .db
        .write(move |conn| {
            let t = service::taxonomy::create_tag(conn, &act, &b.name)
                .map_err(|e| as_json_fields(e, &[("tags", "name")]))?;
            views::one_tag_out(conn, t.id, Urls(&base))?
                .ok_or_else(|| ApiError(Problem::not_found("tag")))
        })
        .await?;
    Ok(created(
        &format!("{}/api/v1/tags", state.config.server.base_url),
        &out,
    ))
}

/// Deletes a tag; its posts lose it.
#[utoipa::path(delete, path = "/api/v1/tags/{slug}", tag = "write",
    params(("slug" = String, Path, description = "The tag's slug")),
    responses(
        (status = 204, description = "Deleted"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["posts:write"])))]
pub async fn delete_tag(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    super::delete_by_slug(
        &req,
        &state,
        slug.into_inner(),
        "posts:write",
        "tag",
        service::taxonomy::delete_tag,
    )
    .await
}

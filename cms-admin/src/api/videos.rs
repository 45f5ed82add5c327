//! Video vault entries through the API (scope `videos:write`): embeds from allowed providers,
//! details and transcripts. Video files and posters are uploaded in the admin panel.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use cms_core::AppState;
use cms_core::api::views::{self, Urls};
use cms_core::embed::Embed;
use cms_core::models::video::{self, TranscriptFormat, VideoInput};
use cms_core::service;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiError, ApiResult, authorize, created, date, double_option, json, read_json};

/// A new video vault entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoCreate {
    #[schema(format = "line")]
    pub title: String,
    /// Made from the title when absent.
    #[schema(format = "slug")]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: String,
    /// e.g. `Heartstopper Season 2`.
    #[serde(default)]
    pub series: String,
    /// Where it comes from (a broadcaster, an event).
    #[serde(default)]
    pub source: String,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub release_date: Option<String>,
    #[serde(default)]
    pub credits: String,
    #[schema(minimum = 0)]
    pub duration_seconds: Option<i32>,
    /// A YouTube or Vimeo link.
    pub embed_url: Option<String>,
    /// Plain text, or WebVTT (starting with `WEBVTT`) for time-coded cues and captions.
    #[serde(default)]
    pub transcript: String,
    /// Guessed from the transcript when absent.
    pub transcript_format: Option<TranscriptFormat>,
    /// Publish now (subscribers of the video vault are emailed once). Default false.
    #[serde(default)]
    pub published: bool,
}

/// Changes to an entry: only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoUpdate {
    #[schema(format = "line")]
    pub title: Option<String>,
    #[schema(format = "slug")]
    pub slug: Option<String>,
    pub description: Option<String>,
    pub series: Option<String>,
    pub source: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub release_date: Option<Option<String>>,
    pub credits: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 0)]
    pub duration_seconds: Option<Option<i32>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub embed_url: Option<Option<String>>,
    pub transcript: Option<String>,
    pub transcript_format: Option<TranscriptFormat>,
    pub published: Option<bool>,
}

/// Creates a video vault entry.
#[utoipa::path(post, path = "/api/v1/videos", operation_id = "create_video", tag = "write",
    request_body = VideoCreate,
    responses(
        (status = 201, description = "Created; `Location` is the entry in the API", body = views::VideoOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["videos:write"])))]
pub async fn create(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> ApiResult {
    let caller = authorize(&req, &state, "videos:write").await?;
    let b: VideoCreate = read_json(&req, body).await?;
    super::exact_slug(b.slug.as_deref())?;
    let mut input = VideoInput {
        title: b.title,
        slug: b.slug,
        description: b.description,
        series: b.series,
        source: b.source,
        release_date: b
            .release_date
            .as_deref()
            .map(|d| date("release_date", d))
            .transpose()?,
        credits: b.credits,
        duration_seconds: b.duration_seconds,
        embed_url: b.embed_url,
        transcript: b.transcript,
        transcript_format: b.transcript_format,
        published: b.published,
        ..VideoInput::default()
    };
    // An embed gets the provider's thumbnail as its poster, as in the admin.
    if let Some(url) = input.embed_url.clone().filter(|u| Embed::parse(u).is_ok()) {
        match cms_core::posters::fetch_for(&state, url).await {
            Ok(key) => input.poster_key = Some(key),
            Err(why) => tracing::warn!(%why, "the video's poster could not be fetched"),
        }
    }
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let out = state
        .db
        .write(move |conn| {
            let v = service::videos::create(conn, &act, &input)
                .map_err(|e| super::as_json_fields(e, &[("duration", "duration_seconds")]))?;
            Ok::<_, ApiError>(views::video_out(&v, Urls(&base)))
        })
        .await?;
    let location = format!(
        "{}/api/v1/videos/{}",
        state.config.server.base_url, out.summary.slug
    );
    Ok(created(&location, &out))
}

/// Changes some fields of an entry; `published: true` publishes it.
#[utoipa::path(patch, path = "/api/v1/videos/{slug}", operation_id = "update_video", tag = "write",
    params(("slug" = String, Path, description = "The entry's slug")),
    request_body = VideoUpdate,
    responses(
        (status = 200, description = "The entry as saved", body = views::VideoOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["videos:write"])))]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "videos:write").await?;
    let slug = slug.into_inner();
    let b: VideoUpdate = read_json(&req, body).await?;
    super::exact_slug(b.slug.as_deref())?;
    let release_date = match b.release_date {
        Some(Some(d)) => Some(Some(date("release_date", &d)?)),
        Some(None) => Some(None),
        None => None,
    };
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    // A new embed on a video without a poster gets the provider's thumbnail, fetched before
    // the write (nothing waits on the network inside a transaction), so the change is one
    // write and one event.
    let lookup_slug = slug.clone();
    let before = state
        .db
        .run(move |conn| {
            let id = super::lookup(conn, "video", &lookup_slug)?;
            Ok::<_, ApiError>(video::find(conn, id)?)
        })
        .await?
        .ok_or(cms_core::Error::NotFound("video"))?;
    let poster = match &b.embed_url {
        Some(Some(url))
            if cms_core::posters::wanted(
                Some(url.as_str()),
                before.embed_url.as_deref(),
                before.poster_key.as_deref(),
            ) =>
        {
            match cms_core::posters::fetch_for(&state, url.clone()).await {
                Ok(key) => Some(key),
                Err(why) => {
                    tracing::warn!(%why, "the video's poster could not be fetched");
                    None
                }
            }
        }
        _ => None,
    };
    let out = state
        .db
        .write(move |conn| {
            let id = super::lookup(conn, "video", &slug)?;
            let v = video::find(conn, id)?.ok_or(cms_core::Error::NotFound("video"))?;
            let mut input = cms_core::models::video::input_of(&v);
            macro_rules! set {
                ($($field:ident),*) => { $( if let Some(x) = b.$field { input.$field = x; } )* };
            }
            set!(
                title,
                description,
                series,
                source,
                credits,
                transcript,
                published
            );
            if let Some(s) = b.slug {
                input.slug = Some(s);
            }
            if let Some(d) = release_date {
                input.release_date = d;
            }
            if let Some(d) = b.duration_seconds {
                input.duration_seconds = d;
            }
            if let Some(e) = b.embed_url {
                input.embed_url = e;
            }
            if input.poster_key.is_none() {
                input.poster_key = poster;
            }
            if b.transcript_format.is_some() {
                input.transcript_format = b.transcript_format;
            } else if input.transcript != v.transcript {
                input.transcript_format = None;
            }
            let saved = service::videos::update(conn, &act, id, &input)
                .map_err(|e| super::as_json_fields(e, &[("duration", "duration_seconds")]))?;
            Ok::<_, ApiError>(views::video_out(&saved, Urls(&base)))
        })
        .await?;
    Ok(json(StatusCode::OK, &out))
}

/// Deletes an entry.
#[utoipa::path(delete, path = "/api/v1/videos/{slug}", operation_id = "delete_video", tag = "write",
    params(("slug" = String, Path, description = "The entry's slug")),
    responses(
        (status = 204, description = "Deleted"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["videos:write"])))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    super::delete_by_slug(
        &req,
        &state,
        slug.into_inner(),
        "videos:write",
        "video",
        |c, a, id| service::videos::delete(c, a, id).map(drop),
    )
    .await
}

//! Webhooks through the API (scope `webhooks:write`): list, register (the signing secret is
//! in the answer, once), remove, and queue a test delivery. The sending is `cms-worker`'s.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use cms_core::AppState;
use cms_core::api::views::iso;
use cms_core::models::audit;
use cms_core::models::webhook::{self, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, ApiResult, authorize, created, deleted, json, path_id, read_json};

/// A registered endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: i64,
    pub url: String,
    /// The event types it is sent (empty: every type).
    pub events: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// Why it was disabled (deliveries failing for 24 hours, a secret that cannot be read).
    pub disabled_reason: Option<String>,
    /// When the failures going on now began (absent: the last delivery worked).
    pub failing_since: Option<String>,
    pub created_at: String,
}

/// A registered endpoint with its signing secret, answered once, when it is registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_…`: verify `webhook-signature` with it. Not shown again.
    pub secret: String,
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    /// The receiver: http or https, without credentials; a public address unless the site
    /// allows private ones (`CMS_WEBHOOK_ALLOW_PRIVATE`).
    #[schema(format = "uri", max_length = 2000)]
    pub url: String,
    /// Event types, e.g. `album.published` (empty or absent: every type).
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: String,
}

fn out(h: &Webhook) -> WebhookOut {
    WebhookOut {
        id: h.id,
        url: h.url.clone(),
        events: h.event_list().into_iter().map(str::to_string).collect(),
        description: h.description.clone(),
        enabled: h.enabled,
        disabled_reason: h.disabled_reason.clone(),
        failing_since: h.failing_since.map(iso),
        created_at: iso(h.created_at),
    }
}

/// Every registered endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "write",
    responses(
        (status = 200, description = "The endpoints, oldest first", body = Vec<WebhookOut>),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["webhooks:write"])))]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state, "webhooks:write").await?;
    let hooks = state
        .db
        .run(|conn| Ok::<_, ApiError>(webhook::all(conn)?))
        .await?;
    let body: Vec<WebhookOut> = hooks.iter().map(out).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Registers an endpoint for the changes from now on.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "write",
    request_body = WebhookCreate,
    responses(
        (status = 201, description = "The endpoint and its secret (shown once)", body = WebhookCreated),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["webhooks:write"])))]
pub async fn create(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> ApiResult {
    let caller = authorize(&req, &state, "webhooks:write").await?;
    let b: WebhookCreate = read_json(&req, body).await?;
    let key = state.config.secret.clone();
    let act = caller.actor;
    let (hook, secret) = state
        .db
        .write(move |conn| {
            let (h, s) = cms_core::webhooks::add(conn, &key, &b.url, &b.events, &b.description)?;
            audit::record(conn, &act, "webhook.add", Some(("webhook", h.id)), &h.url)?;
            Ok::<_, ApiError>((h, s))
        })
        .await?;
    let base = &state.config.server.base_url;
    Ok(created(
        &format!("{base}/api/v1/webhooks"),
        &WebhookCreated {
            webhook: out(&hook),
            secret,
        },
    ))
}

/// Removes an endpoint and its deliveries.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "write",
    params(("id" = i64, Path, description = "The endpoint's id", minimum = 1)),
    responses(
        (status = 204, description = "Removed"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["webhooks:write"])))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult {
    let caller = authorize(&req, &state, "webhooks:write").await?;
    let id = path_id(&id)?;
    let act = caller.actor;
    state
        .db
        .write(move |conn| {
            if !webhook::delete(conn, id)? {
                return Err(ApiError::from(cms_core::Error::NotFound("webhook")));
            }
            audit::record(conn, &act, "webhook.remove", Some(("webhook", id)), "")?;
            Ok(())
        })
        .await?;
    Ok(deleted())
}

/// Queues a test delivery (`webhook.ping`) to an endpoint.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/ping", tag = "write",
    params(("id" = i64, Path, description = "The endpoint's id", minimum = 1)),
    responses(
        (status = 202, description = "Queued; a worker sends it within a second or two"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["webhooks:write"])))]
pub async fn ping(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult {
    authorize(&req, &state, "webhooks:write").await?;
    let id = path_id(&id)?;
    let base = state.config.server.base_url.clone();
    state
        .db
        .write(move |conn| {
            let h = webhook::find(conn, id)?
                .ok_or_else(|| ApiError::from(cms_core::Error::NotFound("webhook")))?;
            cms_core::webhooks::ping(conn, &h, &base)?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "queued": true }),
    ))
}

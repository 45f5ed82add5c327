//! The `keepsake` application: assembles the plugins into one actix app. The `cms` binary
//! (`src/main.rs`) and the integration tests build the app the same way, through [`app`].

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpResponse, middleware, web};
use cms_core::AppState;

/// The whole application over `state`: health check, public site, admin, and a real 404
/// for everything else.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .wrap(middleware::from_fn(cms_web::redirects::legacy_redirects))
        .wrap(middleware::from_fn(cms_web::edge::edge))
        .wrap(middleware::Compress::default())
        .wrap(
            // The request line with its secrets replaced (`edge::log_line`), never `%r`.
            // The client as trusted proxies name it (`edge::log_client`), never a header's
            // word alone.
            // The request's id last (`observe`, outside this, gives it).
            middleware::Logger::new("%{client}xi \"%{request}xi\" %s %b %Dms %{id}xi")
                .custom_request_replace("id", cms_web::observe::log_id)
                .custom_request_replace("client", cms_web::edge::log_client)
                .custom_request_replace("request", cms_web::edge::log_line)
                .log_target("cms::http"),
        )
        // Outermost: the request id and the counters see every answer, the edge's too.
        .wrap(middleware::from_fn(cms_web::observe::observe))
        .route("/healthz", web::get().to(healthz))
        .route("/api/openapi.json", web::get().to(openapi_json))
        .configure(cms_web::configure)
        .configure(cms_admin::configure)
        .route("/api/{tail:.*}", web::to(api_fallback))
        .default_service(web::to(cms_web::not_found))
}

/// The OpenAPI 3.1 description of the whole JSON API: the read routes of `cms-web` and the
/// write routes of `cms-admin`, generated from their handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    let mut doc = cms_web::api::ReadApi::openapi();
    doc.merge(cms_admin::api::WriteApi::openapi());
    doc.info = utoipa::openapi::InfoBuilder::new()
        .title("Keepsake API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Content of a Keepsake fan archive: posts, the gallery, the video vault. Reading is \
             public; a bearer token with `drafts:read` also sees unpublished content. Writing \
             needs a token with the route's scope: `posts:write` (posts, post categories, \
             tags), `gallery:write` (gallery categories, albums, photos), `videos:write` \
             (videos), `subscribers:write` (the subscribers of the update emails) or \
             `webhooks:write` (webhook endpoints). Lists take `page` and `per_page` (at most \
             100) and send `Link` headers; every answer has an ETag; errors are RFC 9457 \
             problem documents. Keepsake POSTs each change readers can see to the webhook \
             endpoints registered for it, signed as Standard Webhooks specifies: see \
             `webhooks`.",
        ))
        .build();
    // Every scope a token may carry, from the list tokens are checked against, so a scope
    // added there is named here too.
    let scopes = cms_core::models::api_token::SCOPES
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(format!(
                    "A token from the admin panel (Tokens) or `cms token create`, e.g. `ks_…`, \
                     with one or more of the scopes {scopes}"
                )))
                .build(),
        ),
    );
    doc
}

/// The description as served: generated, then held to the rules every request follows
/// (`cms_core::api::spec`), then told what Keepsake sends to webhook endpoints
/// (`describe_webhooks`; added after the rules, which are for what Keepsake accepts).
pub fn openapi_text() -> String {
    let mut doc = serde_json::to_value(openapi()).unwrap_or_default();
    cms_core::api::spec::tighten(&mut doc);
    describe_webhooks(&mut doc);
    doc.to_string()
}

/// Writes into `doc`, under OpenAPI 3.1's top-level `webhooks`, the two requests
/// `cms_core::webhooks` sends to an endpoint: `change` (a change on the site, the body
/// `WebhookEvent`) and `ping` (a test, the body `WebhookPing`), each a POST with the Standard
/// Webhooks headers. No handler of ours receives them, so nothing generates them; they are
/// written here from the sender's own lists and limits (`EventKind::ALL`, `PING`, `TIMEOUT`,
/// `RETRY_FOR`, `MAX_ANSWER`) so that they change when the sender does.
fn describe_webhooks(doc: &mut serde_json::Value) {
    use cms_core::models::change::EventKind;
    use cms_core::models::post::PostKind;
    use cms_core::webhooks::{MAX_ANSWER, PING, RETRY_FOR, TIMEOUT};
    use serde_json::json;

    let event_types: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let post_kinds: Vec<&str> = PostKind::ALL.iter().map(|k| k.as_str()).collect();
    let headers = json!([
        {
            "name": "webhook-id",
            "in": "header",
            "required": true,
            "description": "The message's id. It stays the same on every attempt (retries, and \
                            the admin's \"send again\"): a receiver drops a message whose id it \
                            has handled already.",
            "schema": { "type": "string", "minLength": 1 },
            "example": "msg_3_1207"
        },
        {
            "name": "webhook-timestamp",
            "in": "header",
            "required": true,
            "description": "When this attempt was sent, in Unix seconds (new on every attempt). \
                            It is signed with the body: a receiver refuses a message far from \
                            its own clock (Standard Webhooks suggests five minutes), so a \
                            recorded one cannot be replayed.",
            "schema": { "type": "integer", "minimum": 0 },
            "example": 1767225600
        },
        {
            "name": "webhook-signature",
            "in": "header",
            "required": true,
            "description": "`v1,` and the base64 of the HMAC-SHA256 of \
                            `{webhook-id}.{webhook-timestamp}.{body}` (the body's bytes as \
                            sent), keyed with the endpoint's secret: the bytes of the base64 \
                            after `whsec_` in the `whsec_…` secret given when the endpoint was \
                            registered. Compare in constant time. Standard Webhooks allows \
                            several signatures separated by spaces; Keepsake sends one.",
            "schema": { "type": "string", "pattern": "^v1,[A-Za-z0-9+/]{43}=$" },
            "example": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
        }
    ]);
    let responses = json!({
        "2XX": {
            "description": format!(
                "Received: the delivery is done. The answer's body is not needed (at most \
                 {MAX_ANSWER} bytes of it are kept for the delivery log)."
            )
        },
        "default": {
            "description": format!(
                "Not received: any other answer (a redirect is not followed), or none within \
                 {timeout} seconds. The delivery is tried again, with the same `webhook-id`, 5 \
                 seconds later, then after waits that double up to an hour, for {hours} hours \
                 from when it was queued; an endpoint all of whose deliveries fail for {hours} \
                 hours is disabled, with the reason. A later delivery about the same item waits \
                 until this one is done or has failed for good.",
                timeout = TIMEOUT.as_secs(),
                hours = RETRY_FOR.num_hours(),
            )
        }
    });
    let operation = |id: &str, summary: &str, description: &str, schema: &str| {
        json!({
            "operationId": id,
            "summary": summary,
            "description": description,
            "parameters": headers.clone(),
            "requestBody": {
                "required": true,
                "content": {
                    "application/json": {
                        "schema": { "$ref": format!("#/components/schemas/{schema}") }
                    }
                }
            },
            "responses": responses.clone()
        })
    };
    doc["webhooks"] = json!({
        "change": {
            "post": operation(
                "webhook_change",
                "A change on the site",
                "Sent for every change readers can see (content published, updated, taken back \
                 or deleted; photos added, moved or removed; categories changed; tags deleted) to \
                 each enabled endpoint that asked for its type, or for every type. At least \
                 once: drop a `webhook-id` seen before. In order for each item. Changes that \
                 came with imported content are not sent. Check `webhook-signature` before \
                 trusting the body.",
                "WebhookEvent",
            )
        },
        "ping": {
            "post": operation(
                "webhook_ping",
                "A test",
                "Sent when an admin asks for a test delivery (the admin panel, or `POST \
                 /api/v1/webhooks/{id}/ping`), whatever types the endpoint asked for; signed, \
                 answered and retried as a change is.",
                "WebhookPing",
            )
        }
    });
    let nullable_id = |description: &str| {
        json!({
            "type": ["integer", "null"],
            "minimum": 1,
            "description": description
        })
    };
    doc["components"]["schemas"]["WebhookEvent"] = json!({
        "type": "object",
        "description": "A change on the site, as the change feed (`GET /api/v1/changes`) \
                        knows it.",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {
                "type": "string",
                "enum": event_types,
                "description": "What happened."
            },
            "timestamp": {
                "type": "string",
                "format": "date-time",
                "description": "When the change was made (UTC, to the second); when it was \
                                sent is `webhook-timestamp`."
            },
            "data": {
                "type": "object",
                "description": "What the change was about, as it was at the change (a removal \
                                too: `*.unpublished` and `*.deleted` carry the item as it \
                                went). Besides `event_id` and `item`, by the item's type: a \
                                post: `title`, `slug`, `kind`, `path`, `url`, `published_at`; \
                                an album (`album.*`, `photos.*`): `title`, `slug`, `path`, \
                                `url`, `category_id`, `photo_count`, and for `photos.*` also \
                                `count` and `photo_ids` (`photos.moved` also `to_album_id`; \
                                the album is the one they left); a photo (`photo.updated`): \
                                `album_id`, `path`, `url`, `caption`; a video: `title`, \
                                `slug`, `path`, `url`, `published_at`; a category: `name`, \
                                `slug`, `path`, `url`, `parent_id`; a tag: `name`, `slug`, \
                                `path`, `url`; a gallery category: `name`, `path`, `url`, \
                                `parent_id`, but for `gallery_categories.reordered` only \
                                `parent_id` and `order`. Unlike the change feed, nothing is \
                                left out of a removal or of a change taken back later: each \
                                change is sent as it happened. More fields may come.",
                "required": ["event_id", "item"],
                "properties": {
                    "event_id": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "The change's `id` in the change feed."
                    },
                    "item": {
                        "type": "object",
                        "required": ["type", "id"],
                        "properties": {
                            "type": {
                                "type": "string",
                                "enum": ["post", "album", "photo", "video", "category", "tag",
                                         "gallery_category"]
                            },
                            "id": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "The item's id; for \
                                                `gallery_categories.reordered` the parent's \
                                                (0: the top level)."
                            }
                        }
                    },
                    "path": {
                        "type": "string",
                        "description": "The item's address on the site, e.g. \
                                        `/posts/premiere-night`."
                    },
                    "url": {
                        "type": "string",
                        "format": "uri",
                        "description": "`path` as an absolute URL."
                    },
                    "title": { "type": "string" },
                    "name": { "type": "string" },
                    "slug": { "type": "string" },
                    "kind": { "type": "string", "enum": post_kinds },
                    "published_at": { "type": ["string", "null"], "format": "date-time" },
                    "category_id": nullable_id("The album's gallery category (null: none)."),
                    "parent_id": nullable_id("The parent category (null: the top level)."),
                    "album_id": { "type": "integer", "minimum": 1 },
                    "to_album_id": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "The album the photos moved to."
                    },
                    "photo_count": { "type": "integer", "minimum": 0 },
                    "count": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "How many photos were added, moved or removed."
                    },
                    "photo_ids": { "type": "array", "items": { "type": "integer" } },
                    "caption": { "type": "string" },
                    "order": {
                        "type": "array",
                        "items": { "type": "integer" },
                        "description": "The children of `parent_id` in their new order."
                    }
                }
            }
        }
    });
    doc["components"]["schemas"]["WebhookPing"] = json!({
        "type": "object",
        "description": "A test delivery.",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": { "type": "string", "enum": [PING] },
            "timestamp": {
                "type": "string",
                "format": "date-time",
                "description": "When the test was asked for (UTC, to the second)."
            },
            "data": {
                "type": "object",
                "required": ["webhook_id", "site"],
                "properties": {
                    "webhook_id": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "The endpoint's id, as `GET /api/v1/webhooks` lists it."
                    },
                    "site": {
                        "type": "string",
                        "format": "uri",
                        "description": "The site's address."
                    }
                }
            }
        }
    });
}

/// `GET /api/openapi.json`, generated once.
async fn openapi_json() -> HttpResponse {
    static SPEC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = SPEC.get_or_init(openapi_text);
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(body.clone())
}

/// Every API path no route took: 405 with `Allow` when the path exists with other methods,
/// else 404 — both as problem documents.
async fn api_fallback(req: actix_web::HttpRequest) -> HttpResponse {
    let path = req.path();
    let mut allowed: Vec<String> = cms_web::api::ROUTES
        .iter()
        .chain(cms_admin::api::ROUTES)
        .filter(|(_, pattern)| actix_web::dev::ResourceDef::new(*pattern).is_match(path))
        .map(|(method, _)| method.to_uppercase())
        .collect();
    allowed.sort();
    allowed.dedup();
    let problem = if allowed.is_empty() {
        cms_core::api::Problem::new(
            404,
            format!("no API endpoint at {path}; see /api/openapi.json"),
        )
    } else {
        cms_core::api::Problem::new(
            405,
            format!(
                "{} is not allowed here; use {}",
                req.method(),
                allowed.join(", ")
            ),
        )
    };
    let mut resp = cms_web::api::problem_response(&problem);
    if !allowed.is_empty() {
        if allowed.iter().any(|m| m == "GET") {
            allowed.push("HEAD".into());
        }
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allowed.join(", ")) {
            resp.headers_mut().insert(actix_web::http::header::ALLOW, v);
        }
    }
    resp
}

/// `GET /healthz`: 200 when the database answers, 503 when it does not or when the node is
/// stopping (a load balancer's health check then sends nothing new here).
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    if cms_core::shutdown::is_stopping() {
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"status": "stopping"}));
    }
    let check = state
        .db
        .run(|conn| cms_core::models::site::content_version(conn).map_err(cms_core::Error::from))
        .await;
    match check {
        Ok(version) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"status": "ok", "content_version": version})),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({"status": "unavailable"}))
        }
    }
}

//! Webhooks (administrators): the endpoints, a new one (its secret shown once), removing one,
//! turning a disabled one on again, a test delivery, and each endpoint's delivery log with
//! "send again". The sending is `cms-worker`'s (`cms_core::webhooks`).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::audit;
use cms_core::models::change::EventKind;
use cms_core::models::webhook::{self, Webhook};

use crate::auth::{AdminOnly, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, Form, see_other};
use crate::layout::{Chrome, Section};
use crate::time;

/// An endpoint as the pages show it.
#[derive(Debug, Clone)]
pub struct HookRow {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub events: String,
    pub state: String,
    pub disabled: bool,
    pub created: String,
}

fn row(h: &Webhook, tz: chrono_tz::Tz) -> HookRow {
    HookRow {
        id: h.id,
        url: h.url.clone(),
        description: h.description.clone(),
        events: if h.events.is_empty() {
            "every type".into()
        } else {
            h.events.replace(',', ", ")
        },
        state: match (&h.disabled_reason, h.failing_since) {
            (Some(why), _) => format!("disabled: {why}"),
            (None, Some(since)) => format!("failing since {}", time::display(since, tz)),
            (None, None) => "working".into(),
        },
        disabled: !h.enabled,
        created: time::display(h.created_at, tz),
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<HookRow>,
    kinds: Vec<&'static str>,
    errors: Errors,
    created: Option<String>,
    url: String,
}

async fn list_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &AdminOnly,
    errors: Errors,
    created: Option<String>,
    url: String,
) -> Result<HttpResponse, AdminError> {
    let tz = state.config.timezone;
    let rows = state
        .db
        .run(move |conn| {
            Ok::<_, cms_core::Error>(webhook::all(conn)?.iter().map(|h| row(h, tz)).collect())
        })
        .await?;
    let status = errors.status();
    forms::render_status(
        status,
        &ListPage {
            c: Chrome::new(req, &admin.0, "Webhooks", Section::Webhooks),
            rows,
            kinds: EventKind::ALL.iter().map(|k| k.as_str()).collect(),
            errors,
            created,
            url,
        },
    )
}

/// `GET /admin/webhooks`
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
) -> Result<HttpResponse, AdminError> {
    list_page(&state, &req, &admin, Errors::default(), None, String::new()).await
}

/// The new-webhook form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct HookForm {
    url: String,
    description: String,
    events: Vec<String>,
}

/// `POST /admin/webhooks`: the secret is shown on this response only.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    form: Form<HookForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let act = actor(&admin.0.user, &req);
    let key = state.config.secret.clone();
    let url = f.url.clone();
    let result = state
        .db
        .write(move |conn| {
            let (h, secret) =
                cms_core::webhooks::add(conn, &key, &f.url, &f.events, &f.description)?;
            audit::record(conn, &act, "webhook.add", Some(("webhook", h.id)), &h.url)?;
            Ok::<_, cms_core::Error>(secret)
        })
        .await;
    match result {
        Ok(secret) => {
            list_page(
                &state,
                &req,
                &admin,
                Errors::default(),
                Some(secret),
                String::new(),
            )
            .await
        }
        Err(e) => list_page(&state, &req, &admin, Errors::from_core(e)?, None, url).await,
    }
}

/// A delivery in the log.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub kind: String,
    pub message_id: String,
    pub created: String,
    pub status: String,
    pub attempts: i32,
    pub last: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct HookPage {
    c: Chrome,
    h: HookRow,
    deliveries: Vec<DeliveryRow>,
}

/// `GET /admin/webhooks/{id}`: the endpoint and its last 100 deliveries.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let tz = state.config.timezone;
    let (h, deliveries) = state
        .db
        .run(move |conn| {
            let h = webhook::find(conn, id)?.ok_or(AdminError::NotFound)?;
            let deliveries = webhook::recent(conn, id, 100)?
                .into_iter()
                .map(|d| DeliveryRow {
                    id: d.id,
                    kind: d.kind,
                    message_id: d.message_id,
                    created: time::display(d.created_at, tz),
                    status: match d.status.as_str() {
                        "queued" if d.attempts > 0 => {
                            format!("retrying at {}", time::display(d.next_at, tz))
                        }
                        other => other.to_string(),
                    },
                    attempts: d.attempts,
                    last: match (d.last_status, d.last_error) {
                        (_, Some(e)) => e,
                        (Some(s), None) => s.to_string(),
                        (None, None) => String::new(),
                    },
                })
                .collect::<Vec<_>>();
            Ok::<_, AdminError>((row(&h, tz), deliveries))
        })
        .await?;
    forms::render(&HookPage {
        c: Chrome::new(&req, &admin.0, "Webhook", Section::Webhooks),
        h,
        deliveries,
    })
}

/// `POST /admin/webhooks/{id}/remove`
pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&admin.0.user, &req);
    state
        .db
        .write(move |conn| {
            if !webhook::delete(conn, id)? {
                return Err(cms_core::Error::NotFound("webhook"));
            }
            audit::record(conn, &act, "webhook.remove", Some(("webhook", id)), "")?;
            Ok(())
        })
        .await?;
    Ok(see_other("/admin/webhooks?notice=deleted"))
}

/// `POST /admin/webhooks/{id}/enable`: a disabled endpoint on again, its failures forgotten.
pub async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&admin.0.user, &req);
    state
        .db
        .write(move |conn| {
            if !webhook::set_disabled(conn, id, None)? {
                return Err(cms_core::Error::NotFound("webhook"));
            }
            audit::record(conn, &act, "webhook.enable", Some(("webhook", id)), "")?;
            Ok(())
        })
        .await?;
    Ok(see_other(&format!("/admin/webhooks/{id}?notice=saved")))
}

/// `POST /admin/webhooks/{id}/ping`: a test delivery.
pub async fn ping(
    state: web::Data<AppState>,
    _admin: AdminOnly,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let base = state.config.server.base_url.clone();
    state
        .db
        .write(move |conn| {
            let h = webhook::find(conn, id)?.ok_or(cms_core::Error::NotFound("webhook"))?;
            cms_core::webhooks::ping(conn, &h, &base)
        })
        .await?;
    Ok(see_other(&format!("/admin/webhooks/{id}?notice=sending")))
}

/// `POST /admin/webhooks/{id}/deliveries/{delivery}/resend`: "send again".
pub async fn resend(
    state: web::Data<AppState>,
    _admin: AdminOnly,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AdminError> {
    let (id, delivery) = path.into_inner();
    state
        .db
        .write(move |conn| {
            let d = webhook::find_delivery(conn, delivery)?
                .filter(|d| d.webhook_id == id)
                .ok_or(cms_core::Error::NotFound("delivery"))?;
            webhook::resend(conn, d.id)?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(see_other(&format!("/admin/webhooks/{id}?notice=sending")))
}

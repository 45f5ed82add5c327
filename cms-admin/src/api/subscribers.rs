//! Subscribers through the API (scope `subscribers:write`): list, add (pending with a
//! confirmation email, or confirmed with a stated source, as the CSV import does), change a
//! subscriber's topics and how often each is sent, and delete.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use cms_core::AppState;
use cms_core::api::Problem;
use cms_core::api::views::iso;
use cms_core::models::audit;
use cms_core::models::subscriber::{
    self, Cadence, Choice, SignUp, Subscriber, SubscriberStatus, Topic,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, ApiResult, authorize, created, deleted, json, path_id, read_json};

/// Subscribers per page of the list.
const PER_PAGE: i64 = 100;

/// A topic and how often it is sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicChoice {
    pub topic: Topic,
    /// `immediate` (each update as it happens, the default), `daily` or `weekly` (a digest).
    #[serde(default = "immediate")]
    pub cadence: Cadence,
}

fn immediate() -> Cadence {
    Cadence::Immediate
}

impl From<&TopicChoice> for Choice {
    fn from(c: &TopicChoice) -> Choice {
        Choice::new(c.topic, c.cadence)
    }
}

/// A subscriber.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberOut {
    pub id: i64,
    pub email: String,
    pub status: SubscriberStatus,
    pub topics: Vec<TopicChoice>,
    /// Where the address came from (`form`, an import's stated source).
    pub source: String,
    pub created_at: String,
    pub confirmed_at: Option<String>,
}

/// A page of subscribers.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberPage {
    pub subscribers: Vec<SubscriberOut>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// A new subscriber.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberCreate {
    #[schema(format = "email", min_length = 3, max_length = 254)]
    pub email: String,
    /// At least one topic (a topic given twice counts once, at the cadence given last).
    #[schema(min_items = 1)]
    pub topics: Vec<TopicChoice>,
    /// The person already agreed elsewhere: no confirmation email. Needs `source`.
    #[serde(default)]
    pub confirmed: bool,
    /// Where they agreed (e.g. "the old site's list, 2023").
    #[serde(default)]
    #[schema(max_length = 200)]
    pub source: String,
}

/// A subscriber's topics, replacing the ones they had.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicsUpdate {
    /// At least one topic (to end a subscription, delete it, or the subscriber unsubscribes);
    /// a topic given twice counts once, at the cadence given last.
    #[schema(min_items = 1)]
    pub topics: Vec<TopicChoice>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ListQuery {
    status: String,
    q: String,
    page: Option<String>,
}

fn out(s: &Subscriber, choices: Vec<Choice>) -> SubscriberOut {
    SubscriberOut {
        id: s.id,
        email: s.email.clone(),
        status: s.status,
        topics: choices
            .into_iter()
            .map(|c| TopicChoice {
                topic: c.topic,
                cadence: c.cadence,
            })
            .collect(),
        source: s.source.clone(),
        created_at: iso(s.created_at),
        confirmed_at: s.confirmed_at.map(iso),
    }
}

/// The topics asked for: at least one; a topic given twice counts once, at the cadence given
/// last.
fn choices_of(topics: &[TopicChoice]) -> Result<Vec<Choice>, ApiError> {
    let mut choices: Vec<Choice> = Vec::new();
    for c in topics.iter().map(Choice::from) {
        match choices.iter_mut().find(|d| d.topic == c.topic) {
            Some(d) => d.cadence = c.cadence,
            None => choices.push(c),
        }
    }
    if choices.is_empty() {
        return Err(ApiError::from(cms_core::Error::invalid(
            "topics",
            "choose at least one topic",
        )));
    }
    Ok(choices)
}

/// Subscribers, newest first, a page at a time; filtered by status and an email search.
#[utoipa::path(get, path = "/api/v1/subscribers", operation_id = "list_subscribers", tag = "write",
    params(
        ("status" = Option<SubscriberStatus>, Query, description = "Only subscribers in this state"),
        ("q" = Option<String>, Query, description = "Part of the email address"),
        ("page" = Option<i64>, Query, description = "From 1", minimum = 1, maximum = 1000000),
    ),
    responses(
        (status = 200, description = "A page of subscribers", body = SubscriberPage),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["subscribers:write"])))]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state, "subscribers:write").await?;
    let query: ListQuery = serde_html_form::from_str(req.query_string())
        .map_err(|e| ApiError(Problem::bad_request(format!("the query: {e}"))))?;
    let status = match query.status.as_str() {
        "" => None,
        s => Some(
            s.parse::<SubscriberStatus>()
                .map_err(|e| ApiError(Problem::bad_field("status", e)))?,
        ),
    };
    let page = match query.page.as_deref() {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| ApiError(Problem::bad_field("page", "a number from 1 to 1000000")))?,
    };
    let search = query.q;
    let (subscribers, total) = state
        .db
        .run(move |conn| {
            let (rows, total) = subscriber::list(
                conn,
                Some(search.as_str()),
                status,
                (page - 1) * PER_PAGE,
                PER_PAGE,
            )?;
            let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
            let mut choices = subscriber::choices_for(conn, &ids)?;
            let out_rows = rows
                .iter()
                .map(|s| out(s, choices.remove(&s.id).unwrap_or_default()))
                .collect::<Vec<_>>();
            Ok::<_, ApiError>((out_rows, total))
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        &SubscriberPage {
            subscribers,
            total,
            page,
            per_page: PER_PAGE,
        },
    ))
}

/// Adds a subscriber: pending with a confirmation email (double opt-in), or confirmed when
/// they agreed elsewhere and `source` says where. Someone who unsubscribed is never signed up
/// again this way (409).
#[utoipa::path(post, path = "/api/v1/subscribers", operation_id = "add_subscriber", tag = "write",
    request_body = SubscriberCreate,
    responses(
        (status = 201, description = "The subscriber", body = SubscriberOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["subscribers:write"])))]
pub async fn create(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> ApiResult {
    let caller = authorize(&req, &state, "subscribers:write").await?;
    let b: SubscriberCreate = read_json(&req, body).await?;
    let choices = choices_of(&b.topics)?;
    let email = subscriber::parse_email(&b.email)?;
    let source = b.source.trim().to_string();
    if b.source.chars().count() > 200 {
        return Err(ApiError::from(cms_core::Error::invalid(
            "source",
            "at most 200 characters",
        )));
    }
    if b.confirmed && source.is_empty() {
        return Err(ApiError::from(cms_core::Error::invalid(
            "source",
            "say where this person agreed to get emails",
        )));
    }
    let host = cms_core::notify::host_of(&state.config.server.base_url);
    let act = caller.actor;
    let confirmed = b.confirmed;
    let s = state
        .db
        .write(move |conn| {
            if subscriber::find_by_email(conn, &email)?
                .is_some_and(|s| s.status == SubscriberStatus::Unsubscribed)
            {
                return Err(ApiError(Problem::new(
                    409,
                    "this address unsubscribed; only its owner can subscribe it again",
                )));
            }
            let label = if source.is_empty() {
                "api".to_string()
            } else {
                format!("api ({source})")
            };
            let id = if confirmed {
                subscriber::import_confirmed_for(conn, &email, &choices, &label)?
            } else {
                match subscriber::sign_up_for(conn, &email, &choices, &label)? {
                    SignUp::SendConfirmation {
                        subscriber_id,
                        token,
                    } => {
                        cms_core::notify::request_confirmation(
                            conn,
                            subscriber_id,
                            &email,
                            &token,
                            &host,
                        )?;
                        subscriber_id
                    }
                    SignUp::RecentlySent | SignUp::AlreadyConfirmed => {
                        subscriber::find_by_email(conn, &email)?
                            .ok_or(cms_core::Error::NotFound("subscriber"))?
                            .id
                    }
                }
            };
            let s = subscriber::find(conn, id)?.ok_or(cms_core::Error::NotFound("subscriber"))?;
            audit::record(conn, &act, "subscriber.add", Some(("subscriber", id)), "")?;
            Ok::<_, ApiError>(out(&s, subscriber::choices_of(conn, id)?))
        })
        .await?;
    let base = &state.config.server.base_url;
    Ok(created(&format!("{base}/api/v1/subscribers"), &s))
}

/// Replaces a subscriber's topics and how often each is sent.
#[utoipa::path(put, path = "/api/v1/subscribers/{id}/topics", operation_id = "set_subscriber_topics", tag = "write",
    params(("id" = i64, Path, description = "The subscriber's id", minimum = 1)),
    request_body = TopicsUpdate,
    responses(
        (status = 200, description = "The subscriber", body = SubscriberOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["subscribers:write"])))]
pub async fn set_topics(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "subscribers:write").await?;
    let id = path_id(&id)?;
    let b: TopicsUpdate = read_json(&req, body).await?;
    let choices = choices_of(&b.topics)?;
    let act = caller.actor;
    let s = state
        .db
        .write(move |conn| {
            let s = subscriber::find(conn, id)?.ok_or(cms_core::Error::NotFound("subscriber"))?;
            subscriber::set_choices(conn, id, &choices)?;
            let said = choices
                .iter()
                .map(Choice::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            audit::record(
                conn,
                &act,
                "subscriber.topics",
                Some(("subscriber", id)),
                &said,
            )?;
            Ok::<_, ApiError>(out(&s, subscriber::choices_of(conn, id)?))
        })
        .await?;
    Ok(json(StatusCode::OK, &s))
}

/// Deletes a subscriber and the emails queued for them.
#[utoipa::path(delete, path = "/api/v1/subscribers/{id}", operation_id = "delete_subscriber", tag = "write",
    params(("id" = i64, Path, description = "The subscriber's id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["subscribers:write"])))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult {
    let caller = authorize(&req, &state, "subscribers:write").await?;
    let id = path_id(&id)?;
    let act = caller.actor;
    state
        .db
        .write(move |conn| {
            subscriber::delete(conn, id)?;
            audit::record(
                conn,
                &act,
                "subscriber.delete",
                Some(("subscriber", id)),
                "",
            )?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(deleted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_topic_is_refused_and_a_topic_twice_counts_once() {
        let c = |t: Topic, cadence: Cadence| TopicChoice { topic: t, cadence };
        assert!(choices_of(&[]).is_err());
        assert_eq!(
            choices_of(&[
                c(Topic::News, Cadence::Daily),
                c(Topic::News, Cadence::Weekly)
            ])
            .expect("ok"),
            [Choice::new(Topic::News, Cadence::Weekly)]
        );
    }
}

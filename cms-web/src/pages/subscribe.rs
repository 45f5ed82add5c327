//! Subscriptions, the reader's side: the sign-up form, the confirmation page (a GET shows a
//! button; only its POST confirms, so link scanners cannot subscribe anyone), and the page that
//! changes topics or unsubscribes — including RFC 8058 one-click unsubscribe by POST.
//!
//! Every sign-up answers with the same page, whatever the address's state, so nobody learns
//! whether an address is subscribed. Sign-ups are rate limited per peer address.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Duration;
use cms_core::AppState;
use cms_core::models::rate_limit;
use cms_core::models::subscriber::{self, Cadence, Choice, SignUp, SubscriberStatus, Topic};

use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{Layout, Section, Site};

/// Sign-ups allowed per peer address per hour.
pub const SIGNUPS_PER_HOUR: i64 = 10;

/// The topics readers choose from, as the forms name them.
const TOPICS: [(Topic, &str); 3] = [
    (Topic::News, "News"),
    (Topic::Gallery, "Gallery updates"),
    (Topic::Videos, "Video vault"),
];

/// The cadences, as the forms' menus offer them.
const CADENCES: &[(&str, &str)] = &[
    ("immediate", "As it happens"),
    ("daily", "Daily digest"),
    ("weekly", "Weekly digest"),
];

/// One topic of a form: ticked or not, and how often.
struct TopicRow {
    value: &'static str,
    label: &'static str,
    on: bool,
    cadence: &'static str,
    cadences: &'static [(&'static str, &'static str)],
}

/// The form's rows for `choices` (the topics ticked, each with its cadence).
fn rows(choices: &[Choice]) -> Vec<TopicRow> {
    TOPICS
        .iter()
        .map(|(t, label)| {
            let chosen = choices.iter().find(|c| c.topic == *t);
            TopicRow {
                value: t.as_str(),
                label,
                on: chosen.is_some(),
                cadence: chosen.map_or(Cadence::Immediate, |c| c.cadence).as_str(),
                cadences: CADENCES,
            }
        })
        .collect()
}

/// The choices a form sent: the ticked topics, each at the cadence its menu says (as it
/// happens when the menu is missing). A 400 for a topic or cadence no form offers.
fn choices_of_form(topics: &[String], cadences: &Cadences<'_>) -> Result<Vec<Choice>, WebError> {
    let mut out = Vec::new();
    for t in topics {
        let topic = t
            .parse::<Topic>()
            .map_err(|_| WebError::BadRequest(format!("'{t}' is not a topic")))?;
        let raw = match topic {
            Topic::News => cadences.news,
            Topic::Gallery => cadences.gallery,
            Topic::Videos => cadences.videos,
        };
        let cadence = if raw.is_empty() {
            Cadence::Immediate
        } else {
            raw.parse::<Cadence>()
                .map_err(|_| WebError::BadRequest(format!("'{raw}' is not how often to send")))?
        };
        out.push(Choice::new(topic, cadence));
    }
    Ok(out)
}

/// The forms' "how often" menus, one per topic.
struct Cadences<'a> {
    news: &'a str,
    gallery: &'a str,
    videos: &'a str,
}

#[derive(Template)]
#[template(path = "subscribe.html")]
struct SubscribePage {
    l: Layout,
    email: String,
    error: Option<String>,
    /// The error is about the address (else about the topics), for `aria-invalid`.
    bad_email: bool,
    /// The topics: all ticked, as they happen, on a fresh form; the reader's own choice when
    /// it comes back.
    rows: Vec<TopicRow>,
}

/// `GET /subscribe`
pub async fn form(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |_, snap| {
        let site = Site::of(snap);
        let mut l = Layout::new(&site, &base, "Subscribe", "/subscribe", Section::Subscribe);
        l.description = format!(
            "Get an email when {} publishes news, photos or videos.",
            site.title
        );
        html(&SubscribePage {
            l,
            email: String::new(),
            error: None,
            bad_email: false,
            rows: rows(&Choice::immediate(Topic::ALL)),
        })
    })
    .await
}

/// The layout of a page reached through a personal link or a form answer: never indexed.
fn private_layout(state: &AppState, site: &Site, title: &str) -> Layout {
    let mut l = Layout::new(
        site,
        &state.config.server.base_url,
        title,
        "/subscribe",
        Section::Subscribe,
    );
    l.noindex = true;
    l
}

/// Renders a private page: never cached, and its URL (which may hold a token) is not sent on.
fn private_page(status: StatusCode, page: &impl Template) -> Result<HttpResponse, WebError> {
    let body = page
        .render()
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body))
}

#[derive(Template)]
#[template(path = "subscribe_message.html")]
struct MessagePage {
    l: Layout,
    heading: String,
    message: String,
}

fn page(
    state: &AppState,
    site: &Site,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Result<HttpResponse, WebError> {
    let l = private_layout(state, site, heading);
    private_page(
        status,
        &MessagePage {
            l,
            heading: heading.into(),
            message: message.into(),
        },
    )
}

pub(crate) async fn site(state: &AppState) -> Result<Site, WebError> {
    let cv = state.db.content_version().await?;
    let snaps = state.snapshot.clone();
    let snap = state
        .db
        .run(move |conn| Ok::<_, cms_core::Error>(snaps.get(conn, cv.version)?))
        .await?;
    Ok(Site::of(&snap))
}

/// The sign-up form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SignUpForm {
    email: String,
    topics: Vec<String>,
    #[serde(rename = "cadence-news")]
    cadence_news: String,
    #[serde(rename = "cadence-gallery")]
    cadence_gallery: String,
    #[serde(rename = "cadence-videos")]
    cadence_videos: String,
    /// A field people never see and bots fill in.
    website: String,
}

/// A urlencoded form: a 400 when it cannot be read or holds a control character.
fn parse_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    if cms_core::input::form_has_refused(body) {
        return Err(WebError::BadRequest(
            "The form holds a control character.".into(),
        ));
    }
    serde_html_form::from_bytes(body)
        .map_err(|e| WebError::BadRequest(format!("The form could not be read: {e}")))
}

/// `POST /subscribe`
pub async fn sign_up(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let f: SignUpForm = parse_form(&body)?;
    let site = site(&state).await?;
    let ip = crate::edge::client_ip(&req).map_or_else(|| "unknown".into(), |a| a.to_string());
    let key = ip.clone();
    let (recent, until) = state
        .db
        .run(move |conn| {
            Ok::<_, cms_core::Error>(rate_limit::count(
                conn,
                "subscribe-ip",
                &key,
                Duration::hours(1),
            )?)
        })
        .await?;
    if recent >= SIGNUPS_PER_HOUR {
        let wait = until
            .map(|t| (t - cms_core::models::now()).num_seconds().max(1))
            .unwrap_or(3600);
        let mut resp = page(
            &state,
            &site,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-ups",
            "Too many sign-ups came from your network. Please try again later.",
        )?;
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait),
        );
        return Ok(resp);
    }
    let topics = choices_of_form(
        &f.topics,
        &Cadences {
            news: &f.cadence_news,
            gallery: &f.cadence_gallery,
            videos: &f.cadence_videos,
        },
    )?;
    let invalid = |msg: &str, bad_email: bool| -> Result<HttpResponse, WebError> {
        let l = private_layout(&state, &site, "Subscribe");
        private_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SubscribePage {
                l,
                email: f.email.clone(),
                error: Some(msg.to_string()),
                bad_email,
                rows: rows(&topics),
            },
        )
    };
    if let Err(cms_core::Error::Invalid { message, .. }) = subscriber::parse_email(&f.email) {
        let said = if f.email.trim().is_empty() {
            "Please enter your email address.".to_string()
        } else if message == "is not a valid email address" {
            "That does not look like an email address: please check it.".to_string()
        } else {
            format!("That email address {message}.")
        };
        return invalid(&said, true);
    }
    if topics.is_empty() {
        return invalid("Choose at least one topic.", false);
    }
    let bot = !f.website.is_empty();
    let host = state.config.server.base_url.clone();
    let email = f.email.clone();
    state
        .db
        .write(move |conn| {
            rate_limit::record(conn, "subscribe-ip", &ip)?;
            if bot {
                return Ok(());
            }
            if let SignUp::SendConfirmation {
                subscriber_id,
                token,
            } = subscriber::sign_up_for(conn, &email, &topics, "form")?
            {
                let stored = subscriber::find(conn, subscriber_id)?
                    .map(|s| s.email)
                    .unwrap_or(email.clone());
                cms_core::notify::request_confirmation(
                    conn,
                    subscriber_id,
                    &stored,
                    &token,
                    &host_of(&host),
                )?;
            }
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    page(
        &state,
        &site,
        StatusCode::OK,
        "Check your inbox",
        "If that address can subscribe, an email with a confirmation link is on its way. Nothing else will be sent until you confirm.",
    )
}

fn host_of(base: &str) -> String {
    url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "localhost".into())
}

#[derive(Template)]
#[template(path = "subscribe_confirm.html")]
struct ConfirmPage {
    l: Layout,
    action: String,
}

/// `GET /subscribe/confirm/{token}`: a page with a button; nothing changes on a GET.
pub async fn confirm_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = token.into_inner();
    let site = site(&state).await?;
    let t = token.clone();
    let pending = state
        .db
        .run(move |conn| Ok::<_, cms_core::Error>(subscriber::find_by_confirm_token(conn, &t)?))
        .await?;
    if pending.is_none() {
        return page(
            &state,
            &site,
            StatusCode::NOT_FOUND,
            "This link has expired",
            "The confirmation link is no longer valid: it was used already, or it is more than three days old. You can subscribe again.",
        );
    }
    let l = private_layout(&state, &site, "Confirm your subscription");
    private_page(
        StatusCode::OK,
        &ConfirmPage {
            l,
            action: format!("/subscribe/confirm/{token}"),
        },
    )
}

/// `POST /subscribe/confirm/{token}`
pub async fn confirm(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = token.into_inner();
    let site = site(&state).await?;
    let key = state.config.secret.clone();
    let result = state
        .db
        .write(move |conn| {
            let s = subscriber::confirm(conn, &token)?;
            Ok::<_, cms_core::Error>(subscriber::manage_token(&key, &s))
        })
        .await;
    match result {
        Ok(manage) => {
            let msg = format!(
                "You are subscribed. Every email has a link to change what you get or to unsubscribe; you can also use {}/unsubscribe/{manage}.",
                state.config.server.base_url
            );
            page(&state, &site, StatusCode::OK, "You are subscribed", &msg)
        }
        Err(cms_core::Error::NotFound(_)) => page(
            &state,
            &site,
            StatusCode::NOT_FOUND,
            "This link has expired",
            "The confirmation link is no longer valid. You can subscribe again.",
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "manage.html")]
struct ManagePage {
    l: Layout,
    email: String,
    action: String,
    rows: Vec<TopicRow>,
    subscribed: bool,
}

/// `GET /unsubscribe/{token}`: change topics or unsubscribe.
pub async fn manage_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = token.into_inner();
    let site = site(&state).await?;
    let key = state.config.secret.clone();
    let t = token.clone();
    let found = state
        .db
        .run(move |conn| {
            let Some(s) = subscriber::find_by_manage_token(conn, &key, &t)? else {
                return Ok::<_, cms_core::Error>(None);
            };
            let topics = subscriber::choices_of(conn, s.id)?;
            Ok(Some((s, topics)))
        })
        .await?;
    let Some((s, topics)) = found else {
        return page(
            &state,
            &site,
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is not valid. Use the link in your most recent email.",
        );
    };
    let l = private_layout(&state, &site, "Your subscription");
    private_page(
        StatusCode::OK,
        &ManagePage {
            l,
            email: s.email,
            action: format!("/unsubscribe/{token}"),
            rows: rows(&topics),
            subscribed: s.status == SubscriberStatus::Confirmed,
        },
    )
}

/// The manage form, or a one-click body (`List-Unsubscribe=One-Click`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct ManageForm {
    action: String,
    topics: Vec<String>,
    #[serde(rename = "cadence-news")]
    cadence_news: String,
    #[serde(rename = "cadence-gallery")]
    cadence_gallery: String,
    #[serde(rename = "cadence-videos")]
    cadence_videos: String,
    #[serde(rename = "List-Unsubscribe")]
    list_unsubscribe: String,
}

/// `POST /unsubscribe/{token}`: RFC 8058 one-click, or the manage form.
pub async fn manage(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let token = token.into_inner();
    let f: ManageForm = parse_form(&body)?;
    let one_click = f.list_unsubscribe == "One-Click";
    let unsubscribe = one_click || f.action == "unsubscribe";
    let topics = if unsubscribe {
        Vec::new()
    } else {
        choices_of_form(
            &f.topics,
            &Cadences {
                news: &f.cadence_news,
                gallery: &f.cadence_gallery,
                videos: &f.cadence_videos,
            },
        )?
    };
    let key = state.config.secret.clone();
    let done = state
        .db
        .write(move |conn| {
            let Some(s) = subscriber::find_by_manage_token(conn, &key, &token)? else {
                return Ok::<_, cms_core::Error>(None);
            };
            if unsubscribe || topics.is_empty() {
                subscriber::unsubscribe(conn, s.id)?;
                Ok(Some(true))
            } else {
                subscriber::set_choices(conn, s.id, &topics)?;
                Ok(Some(false))
            }
        })
        .await?;
    if one_click {
        return Ok(match done {
            Some(_) => HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body("unsubscribed"),
            None => HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("unknown link"),
        });
    }
    let site = site(&state).await?;
    match done {
        None => page(
            &state,
            &site,
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is not valid. Use the link in your most recent email.",
        ),
        Some(true) => page(
            &state,
            &site,
            StatusCode::OK,
            "You are unsubscribed",
            "You will get no more emails from us. You can subscribe again at any time.",
        ),
        Some(false) => page(
            &state,
            &site,
            StatusCode::OK,
            "Saved",
            "Your choices are saved.",
        ),
    }
}

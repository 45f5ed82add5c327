//! Subscribers and update emails in the admin: the list with search and status, CSV import
//! (pending with a confirmation email, unless marked as already confirmed with a stated source)
//! and export, deletion with their queued mail; delivery progress per item, retrying failures,
//! and a test email.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::audit;
use cms_core::models::outbox::{self, NewMessage, OutboxStatus};
use cms_core::models::subscriber::{self, Choice, SignUp, SubscriberStatus, Topic};

use crate::auth::{Editor, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, Form, see_other};
use crate::layout::{Chrome, Section};
use crate::time;
use crate::upload;

const PER_PAGE: i64 = 50;

/// A subscriber line.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub email: String,
    pub status: SubscriberStatus,
    pub topics: String,
    pub source: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "subscribers.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    total: i64,
    q: String,
    status: String,
    prev: Option<String>,
    next: Option<String>,
    errors: Errors,
    imported: Option<String>,
}

async fn list_page(
    state: &AppState,
    req: &HttpRequest,
    user: &Editor,
    errors: Errors,
    imported: Option<String>,
) -> Result<HttpResponse, AdminError> {
    let q = forms::query_value(req, "q").unwrap_or_default();
    let status_s = forms::query_value(req, "status").unwrap_or_default();
    let status: Option<SubscriberStatus> = if status_s.is_empty() {
        None
    } else {
        Some(status_s.parse().map_err(AdminError::BadRequest)?)
    };
    let page: i64 = match forms::query_value(req, "page") {
        None => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| AdminError::BadRequest("page must be a number from 1".into()))?,
    };
    let tz = state.config.timezone;
    let search = q.clone();
    let (rows, total) = state
        .db
        .run(move |conn| {
            let (subs, total) = subscriber::list(
                conn,
                Some(search.as_str()),
                status,
                (page - 1) * PER_PAGE,
                PER_PAGE,
            )?;
            let ids: Vec<i64> = subs.iter().map(|s| s.id).collect();
            let mut choices = subscriber::choices_for(conn, &ids)?;
            let mut rows = Vec::with_capacity(subs.len());
            for s in subs {
                let topics = choices
                    .remove(&s.id)
                    .unwrap_or_default()
                    .iter()
                    .map(|c| match c.cadence {
                        subscriber::Cadence::Immediate => c.topic.as_str().to_string(),
                        other => format!("{} ({})", c.topic.as_str(), other.as_str()),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                rows.push(Row {
                    id: s.id,
                    since: time::display(s.created_at, tz),
                    email: s.email,
                    status: s.status,
                    topics,
                    source: s.source,
                });
            }
            Ok::<_, cms_core::Error>((rows, total))
        })
        .await?;
    let link = |p: i64| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            s.append_pair("q", &q);
        }
        if !status_s.is_empty() {
            s.append_pair("status", &status_s);
        }
        s.append_pair("page", &p.to_string());
        format!("/admin/subscribers?{}", s.finish())
    };
    let status = errors.status();
    forms::render_status(
        status,
        &ListPage {
            c: Chrome::new(req, &user.0, "Subscribers", Section::Subscribers),
            prev: (page > 1).then(|| link(page - 1)),
            next: (page * PER_PAGE < total).then(|| link(page + 1)),
            rows,
            total,
            q,
            status: status_s,
            errors,
            imported,
        },
    )
}

/// `GET /admin/subscribers`
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    list_page(&state, &req, &user, Errors::default(), None).await
}

/// `POST /admin/subscribers/{id}/delete`: the subscriber and their queued or sent mail rows.
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&user.0.user, &req);
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
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(see_other("/admin/subscribers?notice=deleted"))
}

fn csv_field(s: &str) -> String {
    // Cells that a spreadsheet would run as a formula get a leading quote.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET /admin/subscribers/export.csv`
pub async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    let act = actor(&user.0.user, &req);
    let body = state
        .db
        .write(move |conn| {
            let mut out = String::from("email,status,topics,source,created_at,confirmed_at\r\n");
            let mut page = 0;
            loop {
                let (rows, _) = subscriber::list(conn, None, None, page * 1000, 1000)?;
                if rows.is_empty() {
                    break;
                }
                let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
                let mut choices = subscriber::choices_for(conn, &ids)?;
                for s in &rows {
                    // `gallery:weekly`: a topic and its cadence (as it happens when alone).
                    let topics = choices
                        .remove(&s.id)
                        .unwrap_or_default()
                        .iter()
                        .map(Choice::to_string)
                        .collect::<Vec<_>>()
                        .join(" ");
                    let line = [
                        csv_field(&s.email),
                        s.status.to_string(),
                        topics,
                        csv_field(&s.source),
                        s.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                        s.confirmed_at
                            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                            .unwrap_or_default(),
                    ]
                    .join(",");
                    out.push_str(&line);
                    out.push_str("\r\n");
                }
                page += 1;
            }
            audit::record(conn, &act, "subscribers.export", None, "")?;
            Ok::<_, cms_core::Error>(out)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"subscribers.csv\"",
        ))
        .body(body))
}

/// `POST /admin/subscribers/import` (multipart: `file`, `confirmed`, `source`): addresses stay
/// pending and get a confirmation email, unless marked as already confirmed with a stated source.
pub async fn import(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    mp: Multipart,
) -> Result<HttpResponse, AdminError> {
    let staging = state.config.storage.data_dir.join("staging");
    let up = upload::read(mp, &staging, &[("file", 20 << 20)]).await?;
    let confirmed = up.fields.contains_key("confirmed");
    let source = up.text("source").trim().to_string();
    let mut errors = Errors::default();
    if confirmed && source.is_empty() {
        errors.add(
            "source",
            "say where these people agreed to get emails (e.g. the old site's list, 2023)",
        );
    }
    let Some(file) = up.files.get("file") else {
        errors.add("file", "choose a CSV file");
        return list_page(&state, &req, &user, errors, None).await;
    };
    if !errors.is_empty() {
        return list_page(&state, &req, &user, errors, None).await;
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file.file.path())
        .map_err(|e| AdminError::BadRequest(format!("The CSV could not be read: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| AdminError::BadRequest(format!("The CSV could not be read: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let Some(email_col) = col("email") else {
        errors.add("file", "the first line must name an `email` column");
        return list_page(&state, &req, &user, errors, None).await;
    };
    let topics_col = col("topics");
    // An exported list's consent: our own `status` column, or Ghost's `subscribed_to_emails`.
    let status_col = col("status");
    let ghost_col = col("subscribed_to_emails");
    let mut entries: Vec<(String, Vec<Choice>, Consent)> = Vec::new();
    let mut rejected: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut repeated = 0usize;
    for (line, record) in reader.records().enumerate() {
        let Ok(record) = record else {
            rejected.push(format!("line {}: unreadable", line + 2));
            continue;
        };
        let email = record.get(email_col).unwrap_or_default().to_string();
        let topics: Vec<Choice> = match topics_col
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => Choice::immediate(Topic::ALL),
            // `news gallery:weekly`: each topic as it happens unless a cadence follows.
            Some(t) => t
                .split([' ', ',', ';', '|'])
                .filter(|x| !x.is_empty())
                .filter_map(|x| x.parse().ok())
                .collect(),
        };
        let consent = match (
            status_col.and_then(|c| record.get(c)),
            ghost_col.and_then(|c| record.get(c)),
        ) {
            (Some(s), _) if !s.trim().is_empty() => Consent::of_status(s),
            (_, Some(g)) if !g.trim().is_empty() => Consent::of_flag(g),
            _ => Some(Consent::Given),
        };
        let Some(consent) = consent else {
            rejected.push(format!("line {}: unknown status", line + 2));
            continue;
        };
        match subscriber::parse_email(&email) {
            // An address counts once whatever its case.
            Ok(normal) if !seen.insert(normal.clone()) => repeated += 1,
            Ok(_) if !topics.is_empty() || consent == Consent::Left => {
                entries.push((email, topics, consent))
            }
            Ok(_) => rejected.push(format!("line {}: no known topic", line + 2)),
            Err(_) => rejected.push(format!(
                "line {}: '{}' is not an email address",
                line + 2,
                email.chars().take(80).collect::<String>()
            )),
        }
    }
    let act = actor(&user.0.user, &req);
    let host = cms_core::notify::host_of(&state.config.server.base_url);
    let label = if confirmed {
        format!("import (confirmed: {source})")
    } else {
        "import".to_string()
    };
    let (added, mailed, left, kept_out) = state
        .db
        .write(move |conn| {
            let (mut added, mut mailed, mut left, mut kept_out) = (0, 0, 0, 0);
            for (email, topics, consent) in entries {
                if consent == Consent::Left {
                    if subscriber::import_unsubscribed(conn, &email, &label)? {
                        left += 1;
                    }
                    continue;
                }
                // Someone who left is never signed up again by an import.
                if subscriber::find_by_email(conn, &email)?
                    .is_some_and(|s| s.status == subscriber::SubscriberStatus::Unsubscribed)
                {
                    kept_out += 1;
                    continue;
                }
                if confirmed && consent == Consent::Given {
                    subscriber::import_confirmed_for(conn, &email, &topics, &label)?;
                    added += 1;
                } else if let SignUp::SendConfirmation {
                    subscriber_id,
                    token,
                } = subscriber::sign_up_for(conn, &email, &topics, &label)?
                {
                    let stored = subscriber::find(conn, subscriber_id)?
                        .map(|s| s.email)
                        .unwrap_or(email);
                    cms_core::notify::request_confirmation(
                        conn,
                        subscriber_id,
                        &stored,
                        &token,
                        &host,
                    )?;
                    added += 1;
                    mailed += 1;
                } else {
                    added += 1;
                }
            }
            audit::record(
                conn,
                &act,
                "subscribers.import",
                None,
                &format!("{added} addresses, {left} opt-outs ({label})"),
            )?;
            Ok::<_, cms_core::Error>((added, mailed, left, kept_out))
        })
        .await?;
    let mut summary = format!("{added} addresses imported; {mailed} confirmation emails queued.");
    if left > 0 {
        summary.push_str(&format!(
            " {left} marked as unsubscribed, as the list says."
        ));
    }
    if kept_out > 0 {
        summary.push_str(&format!(
            " {kept_out} had unsubscribed before and were not signed up again."
        ));
    }
    if repeated > 0 {
        summary.push_str(&format!(" {repeated} repeated addresses counted once."));
    }
    if !rejected.is_empty() {
        summary.push_str(&format!(
            " {} lines skipped: {}",
            rejected.len(),
            rejected
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    list_page(&state, &req, &user, Errors::default(), Some(summary)).await
}

/// What an imported line says about the person's consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consent {
    /// Subscribed (or no status given).
    Given,
    /// Signed up but never confirmed: asked to confirm, never marked confirmed.
    Unconfirmed,
    /// Unsubscribed, bounced or complained: recorded as left, never emailed.
    Left,
}

impl Consent {
    fn of_status(s: &str) -> Option<Consent> {
        match s.trim().to_ascii_lowercase().as_str() {
            "confirmed" | "subscribed" | "active" => Some(Consent::Given),
            "pending" | "unconfirmed" => Some(Consent::Unconfirmed),
            "unsubscribed" | "inactive" | "bounced" | "complained" | "cleaned" => {
                Some(Consent::Left)
            }
            _ => None,
        }
    }

    fn of_flag(s: &str) -> Option<Consent> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(Consent::Given),
            "false" | "no" | "0" => Some(Consent::Left),
            _ => None,
        }
    }
}

/// Delivery of one item.
#[derive(Debug, Clone)]
pub struct ItemLine {
    pub label: String,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
}

/// A failure.
#[derive(Debug, Clone)]
pub struct Failure {
    pub recipient: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "mail.html")]
struct MailPage {
    c: Chrome,
    totals: Vec<(OutboxStatus, i64)>,
    items: Vec<ItemLine>,
    failures: Vec<Failure>,
    transport: String,
    errors: Errors,
}

async fn mail_page(
    state: &AppState,
    req: &HttpRequest,
    user: &Editor,
    errors: Errors,
) -> Result<HttpResponse, AdminError> {
    let (totals, items, failures) = state
        .db
        .run(|conn| {
            use cms_core::models::{album, post, video};
            let totals = outbox::status_counts(conn)?;
            let mut items = Vec::new();
            for (kind, id, counts) in outbox::items_progress(conn, 20)? {
                let get = |s: OutboxStatus| counts.iter().find(|c| c.0 == s).map_or(0, |c| c.1);
                let title = match kind.as_str() {
                    "post" => post::find(conn, id)?.map(|p| p.title),
                    "albums" => album::find(conn, id)?
                        .map(|a| format!("{} (and any published with it)", a.title)),
                    "video" => video::find(conn, id)?.map(|v| v.title),
                    "digest" => cms_core::models::digest::find(conn, id)?
                        .map(|d| format!("{} digest of {}", d.cadence, d.period)),
                    _ => None,
                }
                .unwrap_or_else(|| format!("{kind} {id}"));
                items.push(ItemLine {
                    label: format!("{kind}: {title}"),
                    queued: get(OutboxStatus::Queued) + get(OutboxStatus::Sending),
                    sent: get(OutboxStatus::Sent),
                    failed: get(OutboxStatus::Failed),
                });
            }
            let failures = outbox::failures(conn, 20)?
                .into_iter()
                .map(|m| Failure {
                    recipient: m.recipient,
                    error: m.last_error.unwrap_or_default(),
                })
                .collect();
            Ok::<_, cms_core::Error>((totals, items, failures))
        })
        .await?;
    let transport = match &state.config.mail.smtp_url {
        Some(u) => url::Url::parse(u)
            .map(|mut x| {
                let _ = x.set_password(None);
                x.to_string()
            })
            .unwrap_or_default(),
        None => format!(
            ".eml files in {}",
            state.config.storage.data_dir.join("outbox").display()
        ),
    };
    let status = errors.status();
    forms::render_status(
        status,
        &MailPage {
            c: Chrome::new(req, &user.0, "Update emails", Section::Mail),
            totals,
            items,
            failures,
            transport,
            errors,
        },
    )
}

/// `GET /admin/mail`
pub async fn mail(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    mail_page(&state, &req, &user, Errors::default()).await
}

/// `POST /admin/mail/retry`: queues every failed message again.
pub async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    let act = actor(&user.0.user, &req);
    state
        .db
        .write(move |conn| {
            let n = outbox::retry_failed(conn)?;
            audit::record(conn, &act, "mail.retry", None, &format!("{n} messages"))?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(see_other("/admin/mail?notice=saved"))
}

/// The test email form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TestForm {
    email: String,
}

/// `POST /admin/mail/test`: queues a test email.
pub async fn test_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    form: Form<TestForm>,
) -> Result<HttpResponse, AdminError> {
    let email = form.into_inner().email;
    if let Err(cms_core::Error::Invalid { message, .. }) = subscriber::parse_email(&email) {
        let mut e = Errors::default();
        e.add("email", message);
        return mail_page(&state, &req, &user, e).await;
    }
    let host = cms_core::notify::host_of(&state.config.server.base_url);
    let act = actor(&user.0.user, &req);
    state
        .db
        .write(move |conn| {
            let tag = cms_core::tokens::random_token();
            outbox::enqueue(
                conn,
                &[NewMessage {
                    dedupe_key: format!("test:{tag}"),
                    kind: "test".into(),
                    subscriber_id: None,
                    recipient: email.clone(),
                    item_type: None,
                    item_id: None,
                    message_id: format!("<test-{}@{host}>", &tag[..16]),
                    payload: "{}".into(),
                }],
            )?;
            audit::record(conn, &act, "mail.test", None, &email)?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(see_other("/admin/mail?notice=queued"))
}

/// The "email me this preview" form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PreviewForm {
    cadence: String,
}

fn digest_cadence(value: Option<&str>) -> Result<subscriber::Cadence, AdminError> {
    use subscriber::Cadence;
    match value {
        None | Some("" | "weekly") => Ok(Cadence::Weekly),
        Some("daily") => Ok(Cadence::Daily),
        Some(other) => Err(AdminError::BadRequest(format!(
            "'{other}' is not daily or weekly"
        ))),
    }
}

/// `POST /admin/subscribers/digest/test`: emails the next digest, as it stands now and with
/// every topic, to the editor asking (through the outbox, like every email).
pub async fn email_digest_preview(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    form: Form<PreviewForm>,
) -> Result<HttpResponse, AdminError> {
    let cadence = digest_cadence(Some(form.into_inner().cadence.as_str()))?;
    let email = user.0.user.email.clone();
    let host = cms_core::notify::host_of(&state.config.server.base_url);
    let config = state.config.clone();
    let at = state.db.now();
    let act = actor(&user.0.user, &req);
    let queued = state
        .db
        .write(move |conn| {
            let (after, upto) = cms_core::digest::upcoming_period(conn, cadence, &config, at)?;
            if cms_core::digest::contents(conn, after, upto)?.is_empty() {
                return Ok::<_, cms_core::Error>(false);
            }
            let tag = cms_core::tokens::random_token();
            let payload = serde_json::to_string(&cms_core::digest::PreviewMessage {
                cadence,
                after,
                upto,
            })
            .map_err(|e| cms_core::Error::Internal(format!("preview: {e}")))?;
            outbox::enqueue(
                conn,
                &[NewMessage {
                    dedupe_key: format!("digest-preview:{tag}"),
                    kind: "digest-preview".into(),
                    subscriber_id: None,
                    recipient: email.clone(),
                    item_type: None,
                    item_id: None,
                    message_id: format!("<digest-preview-{}@{host}>", &tag[..16]),
                    payload,
                }],
            )?;
            audit::record(
                conn,
                &act,
                "mail.test",
                None,
                &format!("{} digest preview to {email}", cadence.as_str()),
            )?;
            Ok(true)
        })
        .await?;
    let notice = if queued {
        "preview-queued"
    } else {
        "preview-empty"
    };
    Ok(see_other(&format!(
        "/admin/subscribers/digest?cadence={}&notice={notice}",
        cadence.as_str()
    )))
}

/// An album in the digest preview.
struct PreviewAlbum {
    title: String,
    url: String,
    path: String,
    added: String,
    thumbs: Vec<String>,
}

/// A post or video in the digest preview.
struct PreviewItem {
    title: String,
    url: String,
    text: String,
}

/// A digest sent lately.
struct PastDigest {
    cadence: String,
    period: String,
    messages: i64,
}

#[derive(Template)]
#[template(path = "digest.html")]
struct DigestPage {
    c: Chrome,
    cadence: &'static str,
    /// Where "email me this preview" sends it.
    email: String,
    next_at: String,
    subscribers: i64,
    summary: String,
    albums: Vec<PreviewAlbum>,
    posts: Vec<PreviewItem>,
    videos: Vec<PreviewItem>,
    past: Vec<PastDigest>,
}

/// `GET /admin/subscribers/digest?cadence=daily|weekly`: what the next digest will hold, as
/// it stands now, when it goes out and to how many; the digests sent lately.
pub async fn digest(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    use cms_core::media::photo_variant_key;
    use cms_core::models::photo;
    let cadence = digest_cadence(forms::query_value(&req, "cadence").as_deref())?;
    let config = state.config.clone();
    let tz = config.timezone;
    let at = state.db.now();
    let next_at = config
        .digest
        .next(cadence, tz, at)
        .map(|t| time::display(t, tz))
        .unwrap_or_default();
    let (contents, strips, subscribers, past) = state
        .db
        .run(move |conn| {
            let contents = cms_core::digest::upcoming(conn, cadence, &config, at)?;
            let wants: Vec<photo::StripOf> = contents
                .albums
                .iter()
                .map(|a| photo::StripOf {
                    first_id: a.first_photo,
                    ..photo::StripOf::first(a.album.id)
                })
                .collect();
            let strips = photo::strips(conn, &wants, 6, false)?;
            let subscribers = subscriber::count_for_cadence(conn, cadence)?;
            let past = cms_core::digest::recent(conn, 10)?
                .into_iter()
                .map(|(d, messages)| PastDigest {
                    cadence: d.cadence,
                    period: d.period,
                    messages,
                })
                .collect::<Vec<_>>();
            Ok::<_, cms_core::Error>((contents, strips, subscribers, past))
        })
        .await?;
    let albums = contents
        .albums
        .iter()
        .zip(strips)
        .map(|(a, strip)| PreviewAlbum {
            title: a.album.title.clone(),
            url: format!("/albums/{}", a.album.slug),
            path: a.path.join(" › "),
            added: cms_core::units::counted(a.added, "new photo", "new photos"),
            thumbs: strip
                .photos
                .iter()
                .filter_map(|p| {
                    p.variant_widths()
                        .first()
                        .map(|w| format!("/media/{}", photo_variant_key(&p.content_hash, *w)))
                })
                .collect(),
        })
        .collect();
    let posts = contents
        .posts
        .iter()
        .map(|p| PreviewItem {
            title: p.title.clone(),
            url: format!("/posts/{}", p.slug),
            text: p.summary(),
        })
        .collect();
    let videos = contents
        .videos
        .iter()
        .map(|v| PreviewItem {
            title: v.title.clone(),
            url: format!("/videos/{}", v.slug),
            text: String::new(),
        })
        .collect();
    forms::render_status(
        actix_web::http::StatusCode::OK,
        &DigestPage {
            c: Chrome::new(&req, &user.0, "Digests", Section::Subscribers),
            cadence: cadence.as_str(),
            email: user.0.user.email.clone(),
            next_at,
            subscribers,
            summary: contents.counts().join(", "),
            albums,
            posts,
            videos,
            past,
        },
    )
}

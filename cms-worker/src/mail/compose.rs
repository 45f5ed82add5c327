//! Composing update emails: multipart text + HTML from askama templates, links built from
//! `CMS_BASE_URL` only, a stable Message-ID per (item, subscriber), and the RFC 8058 one-click
//! unsubscribe headers on every update.

use std::collections::HashMap;

use askama::Template;
use cms_core::config::Config;
use cms_core::media::photo_variant_key;
use cms_core::models::outbox::OutboxMessage;
use cms_core::models::subscriber::{self, Subscriber};
use cms_core::models::{album, photo, post, video};
use cms_core::notify::Item;
use cms_core::thumbs::absolute_media_url;
use cms_core::{DbConn, Error, Result};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

/// An album in an update: its path, count, link and a few thumbnails.
#[derive(Debug, Clone)]
pub struct AlbumLine {
    pub title: String,
    pub count: i64,
    /// "1 photo", "1,158 photos".
    pub count_text: String,
    pub url: String,
    pub thumbs: Vec<String>,
}

/// A video in an update: its poster, title and link.
#[derive(Debug, Clone)]
pub struct VideoLine {
    pub title: String,
    pub url: String,
    pub poster: Option<String>,
}

/// What an update is about, ready for the templates.
#[derive(Debug, Clone)]
pub struct Update {
    pub subject: String,
    pub heading: String,
    pub summary: String,
    pub url: String,
    pub image: Option<String>,
    pub albums: Vec<AlbumLine>,
    /// Videos the post embeds.
    pub videos: Vec<VideoLine>,
}

#[derive(Template)]
#[template(path = "email/update.txt")]
struct UpdateText<'a> {
    site: &'a str,
    u: &'a Update,
    manage_url: &'a str,
}

#[derive(Template)]
#[template(path = "email/update.html")]
struct UpdateHtml<'a> {
    site: &'a str,
    u: &'a Update,
    manage_url: &'a str,
}

#[derive(Template)]
#[template(path = "email/confirm.txt")]
struct ConfirmText<'a> {
    site: &'a str,
    confirm_url: &'a str,
}

#[derive(Template)]
#[template(path = "email/confirm.html")]
struct ConfirmHtml<'a> {
    site: &'a str,
    confirm_url: &'a str,
}

#[derive(Template)]
#[template(path = "email/test.txt")]
struct TestText<'a> {
    site: &'a str,
}

/// An album's line: title, count, link and its first thumbnails (or the first of those added
/// from photo `from` on).
fn album_line(
    conn: &mut DbConn,
    a: &album::Album,
    base: &str,
    from: Option<i64>,
) -> Result<AlbumLine> {
    let want = photo::StripOf {
        first_id: from.unwrap_or(0),
        ..photo::StripOf::first(a.id)
    };
    let photos = photo::strips(conn, &[want], 4, false)?
        .pop()
        .unwrap_or_default()
        .photos;
    let thumbs = photos
        .iter()
        .filter_map(|p| {
            p.variant_widths()
                .first()
                .map(|w| absolute_media_url(base, &photo_variant_key(&p.content_hash, *w)))
        })
        .collect();
    Ok(AlbumLine {
        title: a.title.clone(),
        count: a.photo_count,
        count_text: cms_core::units::counted(a.photo_count, "photo", "photos"),
        url: format!("{base}/albums/{}", a.slug),
        thumbs,
    })
}

/// What a post's embeds show, as email lines: published albums and videos only, in the
/// post's order.
fn embedded(
    conn: &mut DbConn,
    p: &post::Post,
    base: &str,
) -> Result<(Vec<AlbumLine>, Vec<VideoLine>)> {
    use cms_core::markdown::{EmbedMarker, split_embeds};
    let (mut album_slugs, mut video_slugs) = (Vec::new(), Vec::new());
    for part in split_embeds(&p.body_html) {
        match part {
            Err(EmbedMarker::Album(s, from)) => album_slugs.push((s, from)),
            Err(EmbedMarker::Video(s)) => video_slugs.push(s),
            Ok(_) => {}
        }
    }
    let slugs: Vec<String> = album_slugs.iter().map(|(s, _)| s.clone()).collect();
    let found = album::published_by_slugs(conn, &slugs)?;
    let mut albums = Vec::new();
    for (slug, from) in &album_slugs {
        if let Some(a) = found.iter().find(|a| &a.slug == slug) {
            albums.push(album_line(conn, a, base, *from)?);
        }
    }
    let found = video::published_by_slugs(conn, &video_slugs)?;
    let videos = video_slugs
        .iter()
        .filter_map(|slug| found.iter().find(|v| &v.slug == slug))
        .map(|v| VideoLine {
            title: v.title.clone(),
            url: format!("{base}/videos/{}", v.slug),
            poster: v.poster_key.as_ref().map(|k| absolute_media_url(base, k)),
        })
        .collect();
    Ok((albums, videos))
}

/// Loads what an item's email says (`None` when the item is gone or not public any more).
pub fn load_update(conn: &mut DbConn, item: &Item, base: &str) -> Result<Option<Update>> {
    Ok(match item {
        Item::Post(id) => match post::find(conn, *id)?.filter(|p| p.is_public()) {
            None => None,
            Some(p) => {
                let image = p
                    .featured_photo_id
                    .and_then(|f| photo::published_by_ids(conn, &[f]).ok())
                    .and_then(|mut v| v.pop())
                    .and_then(|(ph, _)| {
                        ph.variant_widths()
                            .iter()
                            .rev()
                            .find(|w| **w <= 1280)
                            .copied()
                            .map(|w| {
                                absolute_media_url(base, &photo_variant_key(&ph.content_hash, w))
                            })
                    });
                let (albums, videos) = embedded(conn, &p, base)?;
                Some(Update {
                    subject: p.title.clone(),
                    heading: p.title.clone(),
                    summary: p.summary(),
                    url: format!("{base}/posts/{}", p.slug),
                    image,
                    albums,
                    videos,
                })
            }
        },
        Item::Video(id) => video::find(conn, *id)?
            .filter(|v| v.status == video::VideoStatus::Published)
            .map(|v| Update {
                subject: format!("New in the video vault: {}", v.title),
                heading: v.title.clone(),
                summary: v.description.clone(),
                url: format!("{base}/videos/{}", v.slug),
                image: v.poster_key.as_ref().map(|k| absolute_media_url(base, k)),
                albums: Vec::new(),
                videos: Vec::new(),
            }),
        Item::Albums(ids) => {
            let mut albums = Vec::new();
            for id in ids {
                let Some(a) =
                    album::find(conn, *id)?.filter(|a| a.status == album::AlbumStatus::Published)
                else {
                    continue;
                };
                albums.push(album_line(conn, &a, base, None)?);
            }
            let total: i64 = albums.iter().map(|a| a.count).sum();
            match albums.len() {
                0 => None,
                1 => Some(Update {
                    subject: format!("New photos: {}", albums[0].title),
                    heading: albums[0].title.clone(),
                    summary: format!(
                        "{} in the gallery.",
                        cms_core::units::counted(albums[0].count, "photo", "photos")
                    ),
                    url: albums[0].url.clone(),
                    image: None,
                    albums,
                    videos: Vec::new(),
                }),
                n => Some(Update {
                    subject: format!("{n} new albums in the gallery"),
                    heading: format!("{n} new albums"),
                    summary: format!(
                        "{} in {n} albums.",
                        cms_core::units::counted(total, "photo", "photos")
                    ),
                    url: format!("{base}/gallery/latest"),
                    image: None,
                    albums,
                    videos: Vec::new(),
                }),
            }
        }
    })
}

fn render<T: Template>(t: &T) -> Result<String> {
    t.render()
        .map_err(|e| Error::Internal(format!("email template: {e}")))
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// The site's name for emails.
pub fn site_title(conn: &mut DbConn) -> Result<String> {
    Ok(cms_core::models::site::setting(conn, "site_title")?.unwrap_or_else(|| "Keepsake".into()))
}

/// The sender: `CMS_MAIL_FROM` as set, else the default address under the site's title.
pub fn sender(config: &Config, site: &str) -> Result<Mailbox> {
    let from: Mailbox = config
        .mail
        .from
        .parse()
        .map_err(|e| Error::invalid("mail_from", format!("{e}")))?;
    Ok(if config.mail.from_set {
        from
    } else {
        Mailbox::new(Some(site.to_string()), from.email)
    })
}

/// Builds the email for an outbox row. `Ok(None)` means it must not be sent any more (the
/// subscriber left, or the item is no longer public).
pub fn compose(
    conn: &mut DbConn,
    config: &Config,
    m: &OutboxMessage,
    updates: &mut HashMap<String, Option<Update>>,
    site: &str,
) -> Result<Option<lettre::Message>> {
    let base = &config.server.base_url;
    let from = sender(config, site)?;
    let to: Mailbox = m
        .recipient
        .parse()
        .map_err(|e| Error::invalid("recipient", format!("{e}")))?;
    let builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .message_id(Some(m.message_id.clone()));
    let subscriber: Option<Subscriber> = match m.subscriber_id {
        Some(id) => subscriber::find(conn, id)?,
        None => None,
    };
    match m.kind.as_str() {
        "confirm" => {
            let Some(s) = subscriber.filter(|s| s.status == subscriber::SubscriberStatus::Pending)
            else {
                return Ok(None);
            };
            let token = serde_json::from_str::<serde_json::Value>(&m.payload)
                .ok()
                .and_then(|v| v["token"].as_str().map(str::to_string))
                .ok_or_else(|| Error::Internal(format!("confirmation {} has no token", m.id)))?;
            let _ = s;
            let confirm_url = format!("{base}/subscribe/confirm/{token}");
            let text = render(&ConfirmText {
                site,
                confirm_url: &confirm_url,
            })?;
            let html = render(&ConfirmHtml {
                site,
                confirm_url: &confirm_url,
            })?;
            let msg = builder
                .subject(format!("Confirm your subscription to {site}"))
                .multipart(MultiPart::alternative_plain_html(text, html))
                .map_err(|e| Error::Internal(format!("email: {e}")))?;
            Ok(Some(msg))
        }
        "notify" => {
            let Some(s) =
                subscriber.filter(|s| s.status == subscriber::SubscriberStatus::Confirmed)
            else {
                return Ok(None);
            };
            let item: Item = serde_json::from_str(&m.payload)
                .map_err(|e| Error::Internal(format!("outbox {}: {e}", m.id)))?;
            let key = item.key();
            if !updates.contains_key(&key) {
                updates.insert(key.clone(), load_update(conn, &item, base)?);
            }
            let Some(update) = updates.get(&key).cloned().flatten() else {
                return Ok(None);
            };
            let manage_url = format!(
                "{base}/unsubscribe/{}",
                subscriber::manage_token(&config.secret, &s)
            );
            let text = render(&UpdateText {
                site,
                u: &update,
                manage_url: &manage_url,
            })?;
            let html = render(&UpdateHtml {
                site,
                u: &update,
                manage_url: &manage_url,
            })?;
            let msg = builder
                .subject(update.subject.clone())
                .raw_header(header("List-Unsubscribe", format!("<{manage_url}>")))
                .raw_header(header(
                    "List-Unsubscribe-Post",
                    "List-Unsubscribe=One-Click".into(),
                ))
                .raw_header(header(
                    "List-Id",
                    format!("{site} updates <updates.{}>", host_of(base)),
                ))
                .multipart(MultiPart::alternative_plain_html(text, html))
                .map_err(|e| Error::Internal(format!("email: {e}")))?;
            Ok(Some(msg))
        }
        "test" => {
            let text = render(&TestText { site })?;
            let msg = builder
                .subject(format!("Test email from {site}"))
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .map_err(|e| Error::Internal(format!("email: {e}")))?;
            Ok(Some(msg))
        }
        other => Err(Error::Internal(format!("unknown email kind {other}"))),
    }
}

pub use cms_core::notify::host_of;

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

/// A digest composed for one choice of topics, with [`Rendered::PLACEHOLDER`] where each
/// subscriber's own preferences link goes.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub placeholder: String,
}

/// What composing reuses: single updates within a round (each round reads them fresh), and
/// digests for a minute (a digest goes to every subscriber of a choice of topics; it is
/// composed once for all of them, and again after a minute, so what was taken back meanwhile
/// leaves the next messages).
#[derive(Default)]
pub struct Cache {
    pub updates: HashMap<String, Option<Update>>,
    pub digests: HashMap<String, (std::time::Instant, Option<std::sync::Arc<Rendered>>)>,
    pub periods: HashMap<i64, (std::time::Instant, Option<std::sync::Arc<Period>>)>,
}

/// A digest's cadence and its period's contents, read once per digest whatever the choices.
#[derive(Debug)]
pub struct Period {
    pub cadence: subscriber::Cadence,
    pub contents: cms_core::digest::Contents,
}

impl Cache {
    /// Forgets the round's updates and digests composed over a minute ago.
    pub fn new_round(&mut self) {
        self.updates.clear();
        let fresh = |at: &std::time::Instant| at.elapsed() < std::time::Duration::from_secs(60);
        self.digests.retain(|_, (at, _)| fresh(at));
        self.periods.retain(|_, (at, _)| fresh(at));
    }
}

/// A digest's album, ready for the templates.
#[derive(Debug, Clone)]
pub struct DigestAlbum {
    pub line: AlbumLine,
    /// "1,158 new photos".
    pub added_text: String,
    /// "Television Productions › Heartstopper › Season 2".
    pub path: String,
}

/// A digest's post.
#[derive(Debug, Clone)]
pub struct DigestPost {
    pub title: String,
    pub url: String,
    pub excerpt: String,
    pub image: Option<String>,
}

/// A digest, ready for the templates.
#[derive(Debug, Clone)]
pub struct DigestView {
    pub subject: String,
    /// "Today at …" / "This week at …".
    pub heading: String,
    pub summary: String,
    pub albums: Vec<DigestAlbum>,
    pub posts: Vec<DigestPost>,
    pub videos: Vec<VideoLine>,
    pub site_url: String,
}

#[derive(Template)]
#[template(path = "email/digest.txt")]
struct DigestText<'a> {
    site: &'a str,
    d: &'a DigestView,
    manage_url: &'a str,
}

#[derive(Template)]
#[template(path = "email/digest.html")]
pub struct DigestHtml<'a> {
    pub site: &'a str,
    pub d: &'a DigestView,
    pub manage_url: &'a str,
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
    album_line_of(conn, a, base, from, 4)
}

fn album_line_of(
    conn: &mut DbConn,
    a: &album::Album,
    base: &str,
    from: Option<i64>,
    thumbs: i64,
) -> Result<AlbumLine> {
    let want = photo::StripOf {
        first_id: from.unwrap_or(0),
        ..photo::StripOf::first(a.id)
    };
    let photos = photo::strips(conn, &[want], thumbs, false)?
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

/// A post's featured image at the widest derivative up to `max` pixels, if it is public.
fn featured_image(conn: &mut DbConn, p: &post::Post, base: &str, max: u32) -> Option<String> {
    p.featured_photo_id
        .and_then(|f| photo::published_by_ids(conn, &[f]).ok())
        .and_then(|mut v| v.pop())
        .and_then(|(ph, _)| {
            ph.variant_widths()
                .iter()
                .rev()
                .find(|w| **w <= max)
                .copied()
                .map(|w| absolute_media_url(base, &photo_variant_key(&ph.content_hash, w)))
        })
}

/// Thumbnails a digest shows per album.
pub const DIGEST_THUMBS: i64 = 6;

/// What a digest of `contents` says ("Today at …" for `daily`), ready for the templates;
/// `None` when it has nothing to tell.
pub fn digest_view(
    conn: &mut DbConn,
    contents: &cms_core::digest::Contents,
    cadence: subscriber::Cadence,
    site: &str,
    base: &str,
) -> Result<Option<DigestView>> {
    if contents.is_empty() {
        return Ok(None);
    }
    let mut albums = Vec::new();
    for a in &contents.albums {
        let from = (a.first_photo > 0).then_some(a.first_photo);
        albums.push(DigestAlbum {
            line: album_line_of(conn, &a.album, base, from, DIGEST_THUMBS)?,
            added_text: cms_core::units::counted(a.added, "new photo", "new photos"),
            path: a.path.join(" › "),
        });
    }
    let posts = contents
        .posts
        .iter()
        .map(|p| DigestPost {
            title: p.title.clone(),
            url: format!("{base}/posts/{}", p.slug),
            excerpt: p.summary(),
            image: featured_image(conn, p, base, 640),
        })
        .collect();
    let videos = contents
        .videos
        .iter()
        .map(|v| VideoLine {
            title: v.title.clone(),
            url: format!("{base}/videos/{}", v.slug),
            poster: v.poster_key.as_ref().map(|k| absolute_media_url(base, k)),
        })
        .collect();
    let parts = contents.counts();
    let summary = match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    let when = match cadence {
        subscriber::Cadence::Weekly => "This week",
        _ => "Today",
    };
    Ok(Some(DigestView {
        subject: format!("{when} at {site}: {summary}"),
        heading: format!("{when} at {site}"),
        summary,
        albums,
        posts,
        videos,
        site_url: format!("{base}/"),
    }))
}

/// Renders a digest for everyone who chose the same topics, the preferences link left as a
/// placeholder.
fn render_digest(site: &str, d: &DigestView) -> Result<Rendered> {
    let placeholder = format!("keepsake-manage-{}", cms_core::tokens::random_token());
    Ok(Rendered {
        subject: d.subject.clone(),
        text: render(&DigestText {
            site,
            d,
            manage_url: &placeholder,
        })?,
        html: render(&DigestHtml {
            site,
            d,
            manage_url: &placeholder,
        })?,
        placeholder,
    })
}

/// The digest `id`'s cadence and contents (`None` when the digest is gone).
fn period(conn: &mut DbConn, id: i64, cache: &mut Cache) -> Result<Option<std::sync::Arc<Period>>> {
    if let Some((_, p)) = cache.periods.get(&id) {
        return Ok(p.clone());
    }
    let p = match cms_core::models::digest::find(conn, id)? {
        None => None,
        Some(d) => Some(std::sync::Arc::new(Period {
            cadence: d
                .cadence
                .parse()
                .map_err(|_| Error::Internal(format!("digest {id}: cadence {}", d.cadence)))?,
            contents: cms_core::digest::contents(conn, d.after_event, d.upto_event)?,
        })),
    };
    cache
        .periods
        .insert(id, (std::time::Instant::now(), p.clone()));
    Ok(p)
}

/// The digest an outbox row asks for, composed once per (digest, choice of topics).
fn cached_digest(
    conn: &mut DbConn,
    m: &cms_core::digest::DigestMessage,
    cache: &mut Cache,
    site: &str,
    base: &str,
) -> Result<Option<std::sync::Arc<Rendered>>> {
    let key = format!(
        "{}:{}",
        m.digest,
        m.topics
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    if let Some((_, r)) = cache.digests.get(&key) {
        return Ok(r.clone());
    }
    let rendered = match period(conn, m.digest, cache)? {
        None => None,
        Some(p) => digest_view(conn, &p.contents.only(&m.topics), p.cadence, site, base)?
            .map(|v| render_digest(site, &v))
            .transpose()?
            .map(std::sync::Arc::new),
    };
    cache
        .digests
        .insert(key, (std::time::Instant::now(), rendered.clone()));
    Ok(rendered)
}

/// Loads what an item's email says (`None` when the item is gone or not public any more).
pub fn load_update(conn: &mut DbConn, item: &Item, base: &str) -> Result<Option<Update>> {
    Ok(match item {
        Item::Post(id) => match post::find(conn, *id)?.filter(|p| p.is_public()) {
            None => None,
            Some(p) => {
                let image = featured_image(conn, &p, base, 1280);
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

/// An email to a subscriber (an update or a digest): its subject, the RFC 8058 one-click
/// unsubscribe headers with their own preferences link, the list's id, text and HTML.
fn to_subscriber(
    builder: lettre::message::MessageBuilder,
    subject: String,
    manage_url: &str,
    site: &str,
    base: &str,
    text: String,
    html: String,
) -> Result<lettre::Message> {
    builder
        .subject(subject)
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
        .map_err(|e| Error::Internal(format!("email: {e}")))
}

/// Builds the email for an outbox row. `Ok(None)` means it must not be sent any more (the
/// subscriber left, or the item is no longer public).
pub fn compose(
    conn: &mut DbConn,
    config: &Config,
    m: &OutboxMessage,
    cache: &mut Cache,
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
            if !cache.updates.contains_key(&key) {
                let u = load_update(conn, &item, base)?;
                cache.updates.insert(key.clone(), u);
            }
            let Some(update) = cache.updates.get(&key).cloned().flatten() else {
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
            to_subscriber(
                builder,
                update.subject.clone(),
                &manage_url,
                site,
                base,
                text,
                html,
            )
            .map(Some)
        }
        "digest" => {
            let Some(s) =
                subscriber.filter(|s| s.status == subscriber::SubscriberStatus::Confirmed)
            else {
                return Ok(None);
            };
            let wanted: cms_core::digest::DigestMessage = serde_json::from_str(&m.payload)
                .map_err(|e| Error::Internal(format!("outbox {}: {e}", m.id)))?;
            // Topics the subscriber has dropped since the fan-out are left out. One moved to
            // another cadence meanwhile is kept: it was chosen when the digest was prepared,
            // and dropping it would lose this period's news (updates sent as they happen were
            // sent already, and a daily digest covers only the days after the move).
            let now_chosen = subscriber::choices_of(conn, s.id)?;
            let topics: Vec<subscriber::Topic> = wanted
                .topics
                .iter()
                .copied()
                .filter(|t| now_chosen.iter().any(|c| c.topic == *t))
                .collect();
            let wanted = cms_core::digest::DigestMessage {
                digest: wanted.digest,
                topics,
            };
            if wanted.topics.is_empty() {
                return Ok(None);
            }
            let Some(r) = cached_digest(conn, &wanted, cache, site, base)? else {
                return Ok(None);
            };
            let manage_url = format!(
                "{base}/unsubscribe/{}",
                subscriber::manage_token(&config.secret, &s)
            );
            let text = r.text.replace(&r.placeholder, &manage_url);
            let html = r.html.replace(&r.placeholder, &manage_url);
            to_subscriber(
                builder,
                r.subject.clone(),
                &manage_url,
                site,
                base,
                text,
                html,
            )
            .map(Some)
        }
        "digest-preview" => {
            // An editor's preview: every topic, as it stands now, no personal links.
            let p: cms_core::digest::PreviewMessage = serde_json::from_str(&m.payload)
                .map_err(|e| Error::Internal(format!("outbox {}: {e}", m.id)))?;
            let contents = cms_core::digest::contents(conn, p.after, p.upto)?;
            let Some(view) = digest_view(conn, &contents, p.cadence, site, base)? else {
                // Not dropped without a word: the editor was told it was queued, so the mail
                // page lists it among the failures with the reason.
                return Err(Error::Conflict(format!(
                    "nothing left to preview: what the next {} digest held was taken down \
                     after the preview was asked for",
                    p.cadence.as_str()
                )));
            };
            let r = render_digest(site, &view)?;
            let preferences = format!("{base}/subscribe");
            let msg = builder
                .subject(format!("[Preview] {}", r.subject))
                .multipart(MultiPart::alternative_plain_html(
                    r.text.replace(&r.placeholder, &preferences),
                    r.html.replace(&r.placeholder, &preferences),
                ))
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

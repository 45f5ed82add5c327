//! The video vault: the list, an entry with its player and transcript, and its captions.
//!
//! Uploaded files play in an HTML5 `<video>` with the WebVTT transcript as captions. Embeds from
//! allowed providers load nothing from the provider until the reader asks: the page shows a
//! notice and a link (`?player=1`) that renders the privacy-enhanced player.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::video::{self, TranscriptFormat};

use super::lists::{VideoCard, video_cards};
use crate::cache::{self, Rendered, html};
use crate::error::WebError;
use crate::layout::{Layout, SCRIPT, Section, Site};
use crate::query;
use crate::views::{Pager, iso, long_day, media_url};
use cms_core::thumbs::absolute_media_url;

/// Entries per list page.
const PER_PAGE: u64 = 24;

#[derive(Template)]
#[template(path = "videos.html")]
struct VideoList {
    l: Layout,
    videos: Vec<VideoCard>,
    pager: Pager,
}

/// `GET /videos`
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let page_no = query::page(req.query_string())?;
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let site = Site::of(snap);
        let per = PER_PAGE as i64;
        let (videos, total) = video::list_published(conn, (page_no as i64 - 1) * per, per)?;
        query::offset_for(page_no, PER_PAGE, total)?;
        let canonical = if page_no > 1 {
            format!("/videos?page={page_no}")
        } else {
            "/videos".into()
        };
        let mut l = Layout::new(&site, &base, "Video Vault", &canonical, Section::Videos);
        l.description = format!(
            "Interviews, clips and appearances collected by {}.",
            site.title
        );
        html(&VideoList {
            l,
            videos: video_cards(videos),
            pager: Pager::new("/videos", page_no, query::page_count(total, PER_PAGE)),
        })
    })
    .await
}

/// A transcript line.
#[derive(Debug, Clone)]
pub struct Line {
    pub time: Option<String>,
    pub seconds: u64,
    pub text: String,
    /// Where the time code goes: this page with the player starting there (`None` when there is
    /// no player to start).
    pub href: Option<String>,
}

/// How the entry plays.
#[derive(Debug, Clone)]
pub enum Player {
    File {
        src: String,
        mime: String,
        captions: Option<String>,
    },
    Notice {
        provider: &'static str,
        load_href: String,
        watch_url: String,
    },
    Embed {
        provider: &'static str,
        src: String,
    },
    None,
}

#[derive(Template)]
#[template(path = "video.html")]
struct VideoPage {
    l: Layout,
    title: String,
    series: String,
    source: String,
    released: String,
    released_iso: String,
    duration: String,
    description: String,
    credits: Vec<String>,
    poster: Option<String>,
    player: Player,
    transcript: Vec<Line>,
    timed: bool,
}

/// The longest start time accepted: a day.
const MAX_START: u32 = 86_400;

/// A start time as people write it in links: seconds (`90`, `90s`), YouTube's `1m30s` or
/// `1h2m3s`, or a clock `1:30` / `1:02:03`.
fn start_time(t: &str) -> Option<u32> {
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    if t.contains(':') {
        let parts: Vec<&str> = t.split(':').collect();
        if parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        // Minutes and seconds after the first part are 0–59, as on a clock.
        return parts.iter().enumerate().try_fold(0u32, |acc, (i, p)| {
            let n = p.parse::<u32>().ok()?;
            if i > 0 && n >= 60 {
                return None;
            }
            acc.checked_mul(60)?.checked_add(n)
        });
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    // Units in order, each at most once: h, m, s.
    let mut total = 0u32;
    let mut rest = t;
    let mut units = "hms";
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].chars().next()?;
        let at = units.find(unit)?;
        let n: u32 = rest[..digits].parse().ok()?;
        total = total.checked_add(n.checked_mul([3600, 60, 1][at + 3 - units.len()])?)?;
        units = &units[at + 1..];
        rest = &rest[digits + 1..];
    }
    Some(total)
}

/// `player=1` (load an embedded provider's player) and `t` (start there; see [`start_time`]).
fn player_params(query: &str) -> Result<(bool, Option<u32>), WebError> {
    let mut on = false;
    let mut start = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("player", "1") => on = true,
            ("player", other) => {
                return Err(WebError::BadRequest(format!(
                    "player must be 1, not '{other}'"
                )));
            }
            ("t", _) if start.is_some() => {
                return Err(WebError::BadRequest(
                    "give the start time t only once".into(),
                ));
            }
            ("t", t) => {
                start = Some(start_time(t).filter(|s| *s <= MAX_START).ok_or_else(|| {
                    WebError::BadRequest(format!(
                        "The start time (t) must be from 0 to 24 hours, such as 90, 1m30s or 1:30, not '{t}'"
                    ))
                })?);
            }
            _ => {}
        }
    }
    Ok((on, start))
}

fn duration_label(secs: i32) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `GET /videos/{slug}` (and `?player=1` to load an embedded provider's player).
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (load_player, start) = player_params(req.query_string())?;
    let base = state.config.server.base_url.clone();
    let slug = slug.into_inner();
    let media = state.media.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let v = video::find_published_by_slug(conn, &slug)?.ok_or(WebError::NotFound)?;
        let site = Site::of(snap);
        let path = format!("/videos/{}", v.slug);
        let cues = v.cues();
        // A time past the end (an old link to a shortened video) starts at the beginning.
        let start = start.filter(|s| v.duration_seconds.is_none_or(|d| i64::from(*s) < i64::from(d)));
        // A time code starts the player there: a media fragment for our own file, the
        // provider's start parameter for an embed (loaded at once: the reader chose it).
        // (A cue past the longest start a link may give has no link.)
        let at = |s: u64| match (&v.file_key, v.embed()) {
            _ if s > u64::from(MAX_START) => None,
            (Some(_), _) => Some(format!("{path}?t={s}#player")),
            (None, Some(_)) => Some(format!("{path}?player=1&t={s}#player")),
            (None, None) => None,
        };
        let player = match (&v.file_key, v.embed()) {
            (Some(key), _) => Player::File {
                src: match start {
                    Some(s) => format!("{}#t={s}", media_url(key)),
                    None => media_url(key),
                },
                mime: v.file_mime.clone().unwrap_or_else(|| "video/mp4".into()),
                captions: (!cues.is_empty()).then(|| format!("{path}/captions.vtt")),
            },
            (None, Some(e)) if load_player => Player::Embed {
                provider: e.provider(),
                src: match start {
                    Some(s) => e.player_url_at(s),
                    None => e.player_url(),
                },
            },
            (None, Some(e)) => Player::Notice {
                provider: e.provider(),
                load_href: match start {
                    Some(s) => format!("{path}?player=1&t={s}#player"),
                    None => format!("{path}?player=1#player"),
                },
                watch_url: match start {
                    Some(s) => e.watch_url_at(s),
                    None => e.watch_url(),
                },
            },
            (None, None) => Player::None,
        };
        let transcript: Vec<Line> = match v.transcript_format {
            TranscriptFormat::Vtt => cues
                .iter()
                .map(|c| Line {
                    time: Some(c.start_label()),
                    seconds: c.start_ms / 1000,
                    text: c.text.clone(),
                    href: at(c.start_ms / 1000),
                })
                .collect(),
            TranscriptFormat::Plain => v
                .transcript
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| Line { time: None, seconds: 0, text: p.to_string(), href: None })
                .collect(),
            TranscriptFormat::None => Vec::new(),
        };
        let poster = v.poster_key.as_deref().map(media_url);
        let mut l = Layout::new(&site, &base, &v.title, &path, Section::Videos);
        l.description = if v.description.is_empty() { v.title.clone() } else { v.description.clone() };
        l.og_type = "video.other";
        // The poster's own size, when it can be read (0: not stated).
        l.og_image = v.poster_key.as_deref().map(|k| {
            let (w, h) = cms_core::media::image_size(media.as_ref(), k).unwrap_or((0, 0));
            (absolute_media_url(&base, k), w, h)
        });
        if load_player || start.is_some() {
            l.noindex = true;
        }
        if matches!(player, Player::File { .. }) && transcript.iter().any(|t| t.href.is_some()) {
            l.script = Some(SCRIPT.href());
        }
        let upload = v.release_date.map(|d| d.format("%Y-%m-%d").to_string()).or(v.published_at.map(iso));
        l.set_json_ld(&serde_json::json!({
            "@context": "https://schema.org",
            "@type": "VideoObject",
            "name": v.title,
            "description": l.description,
            "uploadDate": upload,
            "thumbnailUrl": v.poster_key.as_deref().map(|k| absolute_media_url(&base, k)),
            "duration": v.duration_seconds.map(|s| format!("PT{}S", s.max(0))),
            "embedUrl": v.embed().map(|e| e.player_url()),
            "contentUrl": v.file_key.as_deref().map(|k| absolute_media_url(&base, k)),
            "transcript": (!transcript.is_empty()).then(|| transcript.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n")),
            "url": format!("{base}{path}"),
        }));
        html(&VideoPage {
            l,
            title: v.title.clone(),
            series: v.series.clone(),
            source: v.source.clone(),
            released: v.release_date.map(long_day).unwrap_or_default(),
            released_iso: v.release_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            duration: v.duration_seconds.map(duration_label).unwrap_or_default(),
            description: v.description.clone(),
            credits: v.credits.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect(),
            poster,
            player,
            timed: v.transcript_format == TranscriptFormat::Vtt,
            transcript,
        })
    })
    .await
}

/// `GET /videos/{slug}/captions.vtt`: the WebVTT transcript as a caption track.
pub async fn captions(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = slug.into_inner();
    cache::respond(&req, &state, None, move |conn, _| {
        let v = video::find_published_by_slug(conn, &slug)?.ok_or(WebError::NotFound)?;
        if v.transcript_format != TranscriptFormat::Vtt || v.cues().is_empty() {
            return Err(WebError::NotFound);
        }
        Ok(Rendered::typed(
            "text/vtt; charset=utf-8",
            cms_core::transcript::to_vtt(&v.cues()),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::start_time;

    #[test]
    fn start_times_are_read_as_people_write_them() {
        for (t, want) in [
            ("0", Some(0)),
            ("90", Some(90)),
            ("90s", Some(90)),
            ("1m30s", Some(90)),
            ("1m", Some(60)),
            ("1h2m3s", Some(3723)),
            ("2h", Some(7200)),
            ("1:30", Some(90)),
            ("1:02:03", Some(3723)),
            ("", None),
            ("-5", None),
            ("1.5", None),
            ("1s2m", None),
            ("1m1m", None),
            ("m", None),
            ("1x", None),
            ("1::2", None),
            ("1:2:3:4", None),
            ("0:99", None),
            ("1:60", None),
            ("90:00", Some(5400)),
            ("99999999999", None),
            ("99999999h", None),
        ] {
            assert_eq!(start_time(t), want, "{t:?}");
        }
    }
}

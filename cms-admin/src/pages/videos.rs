//! The video vault: list, create and edit entries with an embed URL (allow-listed providers)
//! or an uploaded file, a poster image, and a transcript pasted or uploaded as .txt, .vtt or
//! .srt (SubRip is converted to WebVTT).

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::media::{media_extension, sniff};
use cms_core::models::video::{self, TranscriptFormat, Video, VideoInput, VideoStatus};
use cms_core::service;

use crate::auth::{Editor, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, see_other};
use crate::layout::{Chrome, Section};
use crate::pages::ConfirmPage;
use crate::time;
use crate::upload::{self, StagedFile, Upload};

/// The largest video file accepted.
pub const VIDEO_LIMIT: u64 = 2 << 30;
/// The largest poster image accepted.
pub const POSTER_LIMIT: u64 = 10 << 20;
/// The largest transcript file accepted.
pub const TRANSCRIPT_LIMIT: u64 = 2 << 20;

/// A row of the list.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub title: String,
    pub series: String,
    pub released: String,
    pub status: VideoStatus,
}

#[derive(Template)]
#[template(path = "videos.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
}

/// `GET /admin/videos`
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    let rows = state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            let all: Vec<Video> = cms_core::schema::videos::table
                .order(cms_core::schema::videos::updated_at.desc())
                .select(Video::as_select())
                .load(conn)?;
            Ok::<_, cms_core::Error>(
                all.into_iter()
                    .map(|v| Row {
                        id: v.id,
                        released: v
                            .release_date
                            .map(|d| d.format("%-d %b %Y").to_string())
                            .unwrap_or_default(),
                        title: v.title,
                        series: v.series,
                        status: v.status,
                    })
                    .collect(),
            )
        })
        .await?;
    forms::render(&ListPage {
        c: Chrome::new(&req, &user.0, "Video vault", Section::Videos),
        rows,
    })
}

/// The editor's fields as typed.
#[derive(Debug, Clone, Default)]
pub struct VideoForm {
    pub title: String,
    pub slug: String,
    pub description: String,
    pub series: String,
    pub source: String,
    pub release_date: String,
    pub credits: String,
    pub duration: String,
    pub embed_url: String,
    pub transcript: String,
    pub published: bool,
    pub file_key: Option<String>,
    pub file_mime: Option<String>,
    pub poster_key: Option<String>,
}

impl VideoForm {
    fn from_video(v: &Video) -> Self {
        VideoForm {
            title: v.title.clone(),
            slug: v.slug.clone(),
            description: v.description.clone(),
            series: v.series.clone(),
            source: v.source.clone(),
            release_date: v
                .release_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            credits: v.credits.clone(),
            duration: v
                .duration_seconds
                .map(|s| format!("{}:{:02}", s / 60, s % 60))
                .unwrap_or_default(),
            embed_url: v.embed_url.clone().unwrap_or_default(),
            transcript: v.transcript.clone(),
            published: v.status == VideoStatus::Published,
            file_key: v.file_key.clone(),
            file_mime: v.file_mime.clone(),
            poster_key: v.poster_key.clone(),
        }
    }
}

/// Reads `m:ss`, `h:mm:ss` or plain seconds.
fn parse_duration(s: &str) -> Result<Option<i32>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let parts: Result<Vec<i32>, _> = s.split(':').map(str::parse::<i32>).collect();
    let bad = || format!("'{s}' is not a duration like 12:34");
    let parts = parts.map_err(|_| bad())?;
    let secs = match parts.as_slice() {
        [sec] => *sec,
        [m, sec] if *sec < 60 => m * 60 + sec,
        [h, m, sec] if *m < 60 && *sec < 60 => h * 3600 + m * 60 + sec,
        _ => return Err(bad()),
    };
    if secs < 0 { Err(bad()) } else { Ok(Some(secs)) }
}

/// The MIME type of a stored video from its key's extension (we chose the extension).
fn sniff_ext(key: &str) -> Option<String> {
    match key.rsplit('.').next() {
        Some("mp4") => Some("video/mp4".into()),
        Some("webm") => Some("video/webm".into()),
        _ => None,
    }
}

/// Turns an uploaded transcript file into stored text and its format.
fn transcript_from_file(f: &StagedFile) -> Result<(String, TranscriptFormat), String> {
    let text = std::fs::read_to_string(f.file.path())
        .map_err(|_| "the transcript file is not UTF-8 text".to_string())?;
    let trimmed = text.trim_start_matches('\u{feff}');
    if trimmed.trim_start().starts_with("WEBVTT") {
        cms_core::transcript::parse_vtt(trimmed).map_err(|e| e.to_string())?;
        return Ok((trimmed.to_string(), TranscriptFormat::Vtt));
    }
    let looks_srt = trimmed.lines().take(3).any(|l| l.contains("-->"));
    if looks_srt || f.filename.to_ascii_lowercase().ends_with(".srt") {
        return cms_core::transcript::srt_to_vtt(trimmed)
            .map(|v| (v, TranscriptFormat::Vtt))
            .map_err(|e| e.to_string());
    }
    Ok((trimmed.to_string(), TranscriptFormat::Plain))
}

#[derive(Template)]
#[template(path = "video_edit.html")]
struct EditPage {
    c: Chrome,
    video_id: Option<i64>,
    f: VideoForm,
    errors: Errors,
    public_href: Option<String>,
}

fn editor(
    req: &HttpRequest,
    user: &Editor,
    video_id: Option<i64>,
    f: VideoForm,
    errors: Errors,
    public_href: Option<String>,
) -> Result<HttpResponse, AdminError> {
    let status = errors.status();
    let c = Chrome::new(
        req,
        &user.0,
        if video_id.is_some() {
            "Edit video"
        } else {
            "New video"
        },
        Section::Videos,
    );
    forms::render_status(
        status,
        &EditPage {
            c,
            video_id,
            f,
            errors,
            public_href,
        },
    )
}

/// `GET /admin/videos/new`
pub async fn new(req: HttpRequest, user: Editor) -> Result<HttpResponse, AdminError> {
    editor(
        &req,
        &user,
        None,
        VideoForm::default(),
        Errors::default(),
        None,
    )
}

/// `GET /admin/videos/{id}/edit`
pub async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let v = state
        .db
        .run(move |conn| video::find(conn, id)?.ok_or(AdminError::NotFound))
        .await?;
    let public = (v.status == VideoStatus::Published).then(|| format!("/videos/{}", v.slug));
    editor(
        &req,
        &user,
        Some(id),
        VideoForm::from_video(&v),
        Errors::default(),
        public,
    )
}

/// Applies an upload to a form (files go into the media store), collecting errors.
fn apply_upload(
    state: &AppState,
    up: Upload,
    mut f: VideoForm,
) -> (VideoForm, Option<TranscriptFormat>, Errors) {
    let mut errors = Errors::default();
    for (k, slot) in [
        ("title", &mut f.title),
        ("slug", &mut f.slug),
        ("description", &mut f.description),
        ("series", &mut f.series),
        ("source", &mut f.source),
        ("release_date", &mut f.release_date),
        ("credits", &mut f.credits),
        ("duration", &mut f.duration),
        ("embed_url", &mut f.embed_url),
        ("transcript", &mut f.transcript),
    ] {
        *slot = up.text(k);
    }
    f.published = up.fields.contains_key("published");
    // Files uploaded with an earlier submission that failed validation come back as keys; only
    // keys of our own kind that exist in the store are taken.
    let kept = |name: &str, prefix: &str| {
        let k = up.text(name);
        (k.starts_with(prefix)
            && cms_core::media::validate_key(&k).is_ok()
            && state.media.exists(&k))
        .then_some(k)
    };
    if let Some(k) = kept("kept_file_key", "videos/") {
        f.file_mime = sniff_ext(&k);
        f.file_key = Some(k);
    }
    if let Some(k) = kept("kept_poster_key", "posters/") {
        f.poster_key = Some(k);
    }
    if up.fields.contains_key("remove_file") {
        f.file_key = None;
        f.file_mime = None;
    }
    if up.fields.contains_key("remove_poster") {
        f.poster_key = None;
    }
    let mut format = None;
    let mut files = up.files;
    if let Some(v) = files.remove("video_file") {
        match sniff(&v.head) {
            Some(mime @ ("video/mp4" | "video/webm")) => {
                let key = format!(
                    "videos/{}/{}.{}",
                    &v.sha256[..2],
                    v.sha256,
                    media_extension(mime)
                );
                match state.media.put_file(&key, v.file.path()) {
                    Ok(()) => {
                        f.file_key = Some(key);
                        f.file_mime = Some(mime.to_string());
                    }
                    Err(e) => errors.add("video_file", e.to_string()),
                }
            }
            _ => errors.add(
                "video_file",
                format!("{} is not an MP4 or WebM video", v.filename),
            ),
        }
    }
    if let Some(p) = files.remove("poster") {
        match sniff(&p.head) {
            Some(mime @ ("image/jpeg" | "image/png" | "image/webp")) => {
                let key = format!(
                    "posters/{}/{}.{}",
                    &p.sha256[..2],
                    p.sha256,
                    media_extension(mime)
                );
                match state.media.put_file(&key, p.file.path()) {
                    Ok(()) => f.poster_key = Some(key),
                    Err(e) => errors.add("poster", e.to_string()),
                }
            }
            _ => errors.add(
                "poster",
                format!("{} is not a JPEG, PNG or WebP image", p.filename),
            ),
        }
    }
    if let Some(t) = files.remove("transcript_file") {
        match transcript_from_file(&t) {
            Ok((text, fmt)) => {
                f.transcript = text;
                format = Some(fmt);
            }
            Err(e) => errors.add("transcript_file", e),
        }
    }
    (f, format, errors)
}

fn to_input(f: &VideoForm, format: Option<TranscriptFormat>, errors: &mut Errors) -> VideoInput {
    let release_date = if f.release_date.trim().is_empty() {
        None
    } else {
        match time::date_from_input(&f.release_date) {
            Ok(d) => Some(d),
            Err(e) => {
                errors.add("release_date", e);
                None
            }
        }
    };
    let duration_seconds = parse_duration(&f.duration).unwrap_or_else(|e| {
        errors.add("duration", e);
        None
    });
    VideoInput {
        title: f.title.clone(),
        slug: Some(f.slug.clone()).filter(|s| !s.trim().is_empty()),
        description: f.description.clone(),
        series: f.series.clone(),
        source: f.source.clone(),
        release_date,
        credits: f.credits.clone(),
        duration_seconds,
        embed_url: Some(f.embed_url.clone()).filter(|s| !s.trim().is_empty()),
        file_key: f.file_key.clone(),
        file_mime: f.file_mime.clone(),
        poster_key: f.poster_key.clone(),
        transcript: f.transcript.clone(),
        transcript_format: format,
        published: f.published,
    }
}

async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: Option<i64>,
    mp: Multipart,
) -> Result<HttpResponse, AdminError> {
    let staging = state.config.storage.data_dir.join("staging");
    let up = upload::read(
        mp,
        &staging,
        &[
            ("video_file", VIDEO_LIMIT),
            ("poster", POSTER_LIMIT),
            ("transcript_file", TRANSCRIPT_LIMIT),
        ],
    )
    .await?;
    let existing = match id {
        Some(id) => Some(
            state
                .db
                .run(move |conn| video::find(conn, id)?.ok_or(AdminError::NotFound))
                .await?,
        ),
        None => None,
    };
    let base = existing
        .as_ref()
        .map(VideoForm::from_video)
        .unwrap_or_default();
    let st = state.clone();
    let (f, format, mut errors) = web::block(move || apply_upload(&st, up, base))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let mut input = to_input(&f, format, &mut errors);
    if !errors.is_empty() {
        return editor(&req, &user, id, f, errors, None);
    }
    // A new embed without a poster gets the provider's thumbnail, fetched once, here.
    let mut poster_missed = false;
    if cms_core::posters::wanted(
        input.embed_url.as_deref(),
        existing.as_ref().and_then(|v| v.embed_url.as_deref()),
        input.poster_key.as_deref(),
    ) && cms_core::embed::Embed::parse(input.embed_url.as_deref().unwrap_or_default()).is_ok()
    {
        let url = input.embed_url.clone().unwrap_or_default();
        match cms_core::posters::fetch_for(&state, url).await {
            Ok(key) => input.poster_key = Some(key),
            Err(why) => {
                tracing::warn!(%why, "the video's poster could not be fetched");
                poster_missed = true;
            }
        }
    }
    let act = actor(&user.0.user, &req);
    let saved = state
        .db
        .write(move |conn| match id {
            Some(id) => service::videos::update(conn, &act, id, &input),
            None => service::videos::create(conn, &act, &input),
        })
        .await;
    match saved {
        Ok(v) => Ok(see_other(&format!(
            "/admin/videos/{}/edit?notice={}",
            v.id,
            if poster_missed {
                "saved-no-poster"
            } else {
                "saved"
            }
        ))),
        Err(e) => {
            let errors = Errors::from_core(e)?;
            editor(&req, &user, id, f, errors, None)
        }
    }
}

/// `POST /admin/videos` (multipart)
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    mp: Multipart,
) -> Result<HttpResponse, AdminError> {
    save(state, req, user, None, mp).await
}

/// `POST /admin/videos/{id}` (multipart)
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    mp: Multipart,
) -> Result<HttpResponse, AdminError> {
    save(state, req, user, Some(id.into_inner()), mp).await
}

/// `GET /admin/videos/{id}/delete`
pub async fn confirm_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let v = state
        .db
        .run(move |conn| video::find(conn, id)?.ok_or(AdminError::NotFound))
        .await?;
    forms::render(&ConfirmPage {
        c: Chrome::new(&req, &user.0, "Delete video", Section::Videos),
        what: format!("the video vault entry “{}”", v.title),
        action: format!("/admin/videos/{id}/delete"),
        back: format!("/admin/videos/{id}/edit"),
    })
}

/// `POST /admin/videos/{id}/delete`
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
        .write(move |conn| service::videos::delete(conn, &act, id).map(drop))
        .await?;
    Ok(see_other("/admin/videos?notice=deleted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("12:34"), Ok(Some(754)));
        assert_eq!(parse_duration("1:02:03"), Ok(Some(3723)));
        assert_eq!(parse_duration("90"), Ok(Some(90)));
        assert_eq!(parse_duration(""), Ok(None));
        assert!(parse_duration("1:75").is_err());
        assert!(parse_duration("abc").is_err());
    }
}

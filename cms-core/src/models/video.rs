//! Video vault entries: an embed from an allowed provider or an uploaded file, a poster, credits
//! and a transcript (plain text, or WebVTT cues shown time-coded and used as captions).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{now, text_enum};
use crate::db::DbConn;
use crate::embed::Embed;
use crate::error::{Error, Result};
use crate::schema::videos;
use crate::slug;
use crate::transcript;

text_enum! {
    /// Readers see published entries only.
    pub enum VideoStatus {
        Draft = "draft",
        Published = "published",
    }
}

text_enum! {
    /// How the transcript is stored.
    pub enum TranscriptFormat {
        None = "none",
        Plain = "plain",
        Vtt = "vtt",
    }
}

/// A stored video vault entry.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = videos)]
pub struct Video {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub series: String,
    pub source: String,
    pub release_date: Option<NaiveDate>,
    pub credits: String,
    pub duration_seconds: Option<i32>,
    pub embed_url: Option<String>,
    pub file_key: Option<String>,
    pub file_mime: Option<String>,
    pub poster_key: Option<String>,
    pub transcript: String,
    pub transcript_format: TranscriptFormat,
    pub status: VideoStatus,
    pub published_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Video {
    /// The embed, if the entry has a (valid) embed URL.
    pub fn embed(&self) -> Option<Embed> {
        self.embed_url.as_deref().and_then(|u| Embed::parse(u).ok())
    }

    /// The transcript's cues when it is WebVTT.
    pub fn cues(&self) -> Vec<transcript::Cue> {
        match self.transcript_format {
            TranscriptFormat::Vtt => transcript::parse_vtt(&self.transcript).unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// Everything an editor sets on an entry.
#[derive(Debug, Clone, Default)]
pub struct VideoInput {
    pub title: String,
    pub slug: Option<String>,
    pub description: String,
    pub series: String,
    pub source: String,
    pub release_date: Option<NaiveDate>,
    pub credits: String,
    pub duration_seconds: Option<i32>,
    pub embed_url: Option<String>,
    pub file_key: Option<String>,
    pub file_mime: Option<String>,
    pub poster_key: Option<String>,
    pub transcript: String,
    pub transcript_format: Option<TranscriptFormat>,
    pub published: bool,
}

fn validate(input: &VideoInput) -> Result<(Option<String>, TranscriptFormat)> {
    let mut errs: Vec<(&'static str, String)> = Vec::new();
    if input.title.trim().is_empty() {
        errs.push(("title", "must not be empty".into()));
    }
    if let Some(s) = input.slug.as_deref().filter(|s| !s.trim().is_empty())
        && let Err(Error::Invalid { message, .. }) = slug::validate(s.trim())
    {
        errs.push(("slug", message));
    }
    let embed = input
        .embed_url
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(u) = embed
        && let Err(Error::Invalid { message, .. }) = Embed::parse(u)
    {
        errs.push(("embed_url", message));
    }
    if input.duration_seconds.is_some_and(|d| d < 0) {
        errs.push(("duration", "must not be negative".into()));
    }
    let format = match input.transcript_format {
        Some(f) => f,
        None if input.transcript.trim_start().starts_with("WEBVTT") => TranscriptFormat::Vtt,
        None if input.transcript.trim().is_empty() => TranscriptFormat::None,
        None => TranscriptFormat::Plain,
    };
    if format == TranscriptFormat::Vtt
        && let Err(Error::Invalid { message, .. }) = transcript::parse_vtt(&input.transcript)
    {
        errs.push(("transcript", message));
    }
    if errs.is_empty() {
        Ok((embed.map(str::to_string), format))
    } else {
        Err(Error::Fields(errs))
    }
}

fn slug_taken(conn: &mut DbConn, s: &str, except: Option<i64>) -> Result<bool> {
    let mut q = videos::table.filter(videos::slug.eq(s)).into_boxed();
    if let Some(id) = except {
        q = q.filter(videos::id.ne(id));
    }
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

/// Creates an entry.
pub fn create(conn: &mut DbConn, input: &VideoInput) -> Result<Video> {
    let (embed, format) = validate(input)?;
    let slug = match input
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) if slug_taken(conn, s, None)? => {
            return Err(Error::taken("slug", format!("'{s}' is taken")));
        }
        Some(s) => s.to_string(),
        None => slug::unique(&slug::slugify(&input.title), |s| slug_taken(conn, s, None))?,
    };
    let t = now();
    let status = if input.published {
        VideoStatus::Published
    } else {
        VideoStatus::Draft
    };
    let v = diesel::insert_into(videos::table)
        .values((
            videos::slug.eq(&slug),
            videos::title.eq(input.title.trim()),
            videos::description.eq(input.description.trim()),
            videos::series.eq(input.series.trim()),
            videos::source.eq(input.source.trim()),
            videos::release_date.eq(input.release_date),
            videos::credits.eq(input.credits.trim()),
            videos::duration_seconds.eq(input.duration_seconds),
            videos::embed_url.eq(embed),
            videos::file_key.eq(&input.file_key),
            videos::file_mime.eq(&input.file_mime),
            videos::poster_key.eq(&input.poster_key),
            videos::transcript.eq(&input.transcript),
            videos::transcript_format.eq(format),
            videos::status.eq(status),
            videos::published_at.eq(input.published.then_some(t)),
            videos::created_at.eq(t),
            videos::updated_at.eq(t),
        ))
        .returning(videos::all_columns)
        .get_result::<Video>(conn)?;
    Ok(v)
}

/// The input that would store this entry as it is (to change one field and update).
pub fn input_of(v: &Video) -> VideoInput {
    VideoInput {
        title: v.title.clone(),
        slug: Some(v.slug.clone()),
        description: v.description.clone(),
        series: v.series.clone(),
        source: v.source.clone(),
        release_date: v.release_date,
        credits: v.credits.clone(),
        duration_seconds: v.duration_seconds,
        embed_url: v.embed_url.clone(),
        file_key: v.file_key.clone(),
        file_mime: v.file_mime.clone(),
        poster_key: v.poster_key.clone(),
        transcript: v.transcript.clone(),
        transcript_format: Some(v.transcript_format),
        published: v.status == VideoStatus::Published,
    }
}

/// Replaces an entry's fields.
pub fn update(conn: &mut DbConn, id: i64, input: &VideoInput) -> Result<Video> {
    let (embed, format) = validate(input)?;
    let old = find(conn, id)?.ok_or(Error::NotFound("video"))?;
    let slug = match input
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) if s != old.slug && slug_taken(conn, s, Some(id))? => {
            return Err(Error::taken("slug", format!("'{s}' is taken")));
        }
        Some(s) => s.to_string(),
        None => old.slug.clone(),
    };
    let t = now();
    let status = if input.published {
        VideoStatus::Published
    } else {
        VideoStatus::Draft
    };
    let published_at = if input.published {
        old.published_at.or(Some(t))
    } else {
        old.published_at
    };
    let v = diesel::update(videos::table.find(id))
        .set((
            videos::slug.eq(&slug),
            videos::title.eq(input.title.trim()),
            videos::description.eq(input.description.trim()),
            videos::series.eq(input.series.trim()),
            videos::source.eq(input.source.trim()),
            videos::release_date.eq(input.release_date),
            videos::credits.eq(input.credits.trim()),
            videos::duration_seconds.eq(input.duration_seconds),
            videos::embed_url.eq(embed),
            videos::file_key.eq(&input.file_key),
            videos::file_mime.eq(&input.file_mime),
            videos::poster_key.eq(&input.poster_key),
            videos::transcript.eq(&input.transcript),
            videos::transcript_format.eq(format),
            videos::status.eq(status),
            videos::published_at.eq(published_at),
            videos::updated_at.eq(t),
        ))
        .returning(videos::all_columns)
        .get_result::<Video>(conn)?;
    Ok(v)
}

/// An entry by id, any status.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Video>> {
    videos::table
        .find(id)
        .select(Video::as_select())
        .first(conn)
        .optional()
}

/// An entry by slug, in any status.
pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Video>> {
    videos::table
        .filter(videos::slug.eq(slug))
        .select(Video::as_select())
        .first(conn)
        .optional()
}

/// A published entry by slug (readers).
pub fn find_published_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Video>> {
    videos::table
        .filter(videos::slug.eq(slug))
        .filter(videos::status.eq(VideoStatus::Published))
        .select(Video::as_select())
        .first(conn)
        .optional()
}

/// One page of published entries, newest release first, and the total.
pub fn list_published(
    conn: &mut DbConn,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Video>, i64)> {
    list(conn, true, offset, limit)
}

/// The `limit` latest published entries, newest release first (no count: the home page).
pub fn latest_published(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Video>> {
    videos::table
        .filter(videos::status.eq(VideoStatus::Published))
        .order((videos::release_date.desc(), videos::id.desc()))
        .limit(limit)
        .select(Video::as_select())
        .load(conn)
}

/// One page of entries, newest release first, and the total; drafts too unless
/// `published_only`.
pub fn list(
    conn: &mut DbConn,
    published_only: bool,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Video>, i64)> {
    let q = || {
        let q = videos::table.into_boxed();
        if published_only {
            q.filter(videos::status.eq(VideoStatus::Published))
        } else {
            q
        }
    };
    let total: i64 = q().count().get_result(conn)?;
    let rows = q()
        .order((videos::release_date.desc(), videos::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(Video::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Deletes an entry.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    if diesel::delete(videos::table.find(id)).execute(conn)? == 0 {
        return Err(Error::NotFound("video"));
    }
    Ok(())
}

/// Slugs and update times of every published entry, for the sitemap.
pub fn published_slugs(conn: &mut DbConn) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    videos::table
        .filter(videos::status.eq(VideoStatus::Published))
        .order(videos::id.asc())
        .select((videos::slug, videos::updated_at))
        .load(conn)
}

/// Published entries by slug (post embeds).
pub fn published_by_slugs(conn: &mut DbConn, slugs: &[String]) -> QueryResult<Vec<Video>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    videos::table
        .filter(videos::slug.eq_any(slugs))
        .filter(videos::status.eq(VideoStatus::Published))
        .select(Video::as_select())
        .load(conn)
}

//! Embeds in post bodies. An editor writes `[[album:SLUG]]` or `[[video:SLUG]]` alone on a line;
//! the renderer keeps it as a paragraph of text, and here, at view time, it becomes the album's
//! path, a few thumbnails and a link with its live count, or a video vault card. Embeds of
//! unpublished items vanish: drafts never show.

use askama::Template;
use cms_core::DbConn;
use cms_core::markdown::{EmbedMarker as Marker, split_embeds as split};
use cms_core::models::{album, photo, video};
use cms_core::snapshot::Snapshot;

use crate::error::WebError;
use crate::views::{Thumb, long_day, media_url};

/// Thumbnails shown in an album embed.
const EMBED_THUMBS: i64 = 4;

#[derive(Template)]
#[template(path = "partials/embed_album.html")]
struct AlbumEmbed {
    path: Vec<String>,
    href: String,
    count: i64,
    thumbs: Vec<Thumb>,
}

#[derive(Template)]
#[template(path = "partials/embed_video.html")]
struct VideoEmbed {
    href: String,
    title: String,
    series: String,
    released: String,
    poster: Option<String>,
}

/// Replaces embed markers with their live content (a fixed number of queries per embed).
pub fn expand(conn: &mut DbConn, snap: &Snapshot, html: &str) -> Result<String, WebError> {
    if !html.contains("<p>[[") {
        return Ok(html.to_string());
    }
    let parts = split(html);
    let album_slugs: Vec<String> = parts
        .iter()
        .filter_map(|p| match p {
            Err(Marker::Album(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let video_slugs: Vec<String> = parts
        .iter()
        .filter_map(|p| match p {
            Err(Marker::Video(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let albums = album::published_by_slugs(conn, &album_slugs)?;
    let videos = video::published_by_slugs(conn, &video_slugs)?;
    let mut out = String::with_capacity(html.len() + 2048);
    for part in parts {
        match part {
            Ok(text) => out.push_str(text),
            Err(Marker::Album(slug)) => {
                let Some(a) = albums.iter().find(|a| a.slug == slug) else {
                    continue;
                };
                let mut path: Vec<String> = match a.category_id {
                    Some(c) => snap
                        .breadcrumb(c)
                        .into_iter()
                        .map(|c| c.name.clone())
                        .collect(),
                    None => Vec::new(),
                };
                path.push(a.title.clone());
                let thumbs = photo::page_in_album(conn, a.id, 0, EMBED_THUMBS)?
                    .iter()
                    .map(|p| Thumb::of(p, &a.title, 160))
                    .collect();
                let embed = AlbumEmbed {
                    path,
                    href: format!("/albums/{}", a.slug),
                    count: a.photo_count,
                    thumbs,
                };
                out.push_str(
                    &embed
                        .render()
                        .map_err(|e| WebError::Internal(e.to_string()))?,
                );
            }
            Err(Marker::Video(slug)) => {
                let Some(v) = videos.iter().find(|v| v.slug == slug) else {
                    continue;
                };
                let embed = VideoEmbed {
                    href: format!("/videos/{}", v.slug),
                    title: v.title.clone(),
                    series: v.series.clone(),
                    released: v.release_date.map(long_day).unwrap_or_default(),
                    poster: v.poster_key.as_deref().map(media_url),
                };
                out.push_str(
                    &embed
                        .render()
                        .map_err(|e| WebError::Internal(e.to_string()))?,
                );
            }
        }
    }
    Ok(out)
}

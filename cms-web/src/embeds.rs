//! Embeds in post bodies. An editor writes `[[album:SLUG]]` or `[[video:SLUG]]` alone on a line;
//! the renderer keeps it as a paragraph of text, and here, at view time, it becomes the album's
//! path, a few thumbnails and a link with its live count, or a video vault card. Embeds of
//! unpublished items vanish: drafts never show.

use askama::Template;
use cms_core::DbConn;
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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker {
    Album(String),
    Video(String),
}

/// Splits rendered HTML at `<p>[[kind:slug]]</p>` markers.
fn split(html: &str) -> Vec<Result<&str, Marker>> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<p>[[") {
        let after = &rest[start + 5..];
        let Some(end) = after.find("]]</p>") else {
            break;
        };
        let inner = &after[..end];
        let marker = inner.split_once(':').and_then(|(kind, slug)| {
            let valid = !slug.is_empty()
                && slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            match (kind, valid) {
                ("album", true) => Some(Marker::Album(slug.to_string())),
                ("video", true) => Some(Marker::Video(slug.to_string())),
                _ => None,
            }
        });
        match marker {
            Some(m) => {
                out.push(Ok(&rest[..start]));
                out.push(Err(m));
                rest = &after[end + 6..];
            }
            None => {
                out.push(Ok(&rest[..start + 5]));
                rest = after;
            }
        }
    }
    out.push(Ok(rest));
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_and_bad_ones_left_alone() {
        let parts =
            split("<p>a</p><p>[[album:s02e01-out]]</p><p>[[album:Bad Slug]]</p><p>[[video:x]]</p>");
        let markers: Vec<&Marker> = parts.iter().filter_map(|p| p.as_ref().err()).collect();
        assert_eq!(
            markers,
            [
                &Marker::Album("s02e01-out".into()),
                &Marker::Video("x".into())
            ]
        );
        let text: String = parts
            .iter()
            .filter_map(|p| p.as_ref().ok().copied())
            .collect();
        assert_eq!(text, "<p>a</p><p>[[album:Bad Slug]]</p>");
    }
}

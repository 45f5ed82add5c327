//! Embeds in post bodies, drawn the one way everywhere a post is shown — the post page, feeds,
//! the editor's preview, the reader preview and update emails. An editor writes
//! `[[album:SLUG]]` or `[[video:SLUG]]` alone on a line; the Markdown renderer keeps it as a
//! paragraph of text, and here, at view time, it becomes the album's path, a row of thumbnails
//! and a link with its live count, or the video's poster, title and link. Embeds of unpublished
//! items vanish: drafts never show. Links are site-relative; feeds and emails make them
//! absolute.

use askama::Template;

use crate::DbConn;
use crate::error::{Error, Result};
use crate::markdown::{EmbedMarker as Marker, split_embeds as split};
use crate::models::{album, photo, video};
use crate::snapshot::Snapshot;
use crate::thumbs::{Thumb, media_url};

/// Thumbnails shown in an album embed.
const EMBED_THUMBS: i64 = 4;

#[derive(Template)]
#[template(path = "embeds/album.html")]
struct AlbumEmbed {
    path: Vec<String>,
    href: String,
    count: String,
    thumbs: Vec<Thumb>,
}

#[derive(Template)]
#[template(path = "embeds/video.html")]
struct VideoEmbed {
    href: String,
    title: String,
    series: String,
    released: String,
    poster: Option<String>,
}

fn draw<T: Template>(t: &T) -> Result<String> {
    t.render()
        .map_err(|e| Error::Internal(format!("an embed could not be drawn: {e}")))
}

/// Replaces embed markers in rendered Markdown with their live content (three statements
/// whatever the number of embeds: the albums, the videos, every album's strip).
pub fn expand(conn: &mut DbConn, snap: &Snapshot, html: &str) -> Result<String> {
    if !html.contains("<p>[[") {
        return Ok(html.to_string());
    }
    let parts = split(html);
    let slugs = |want_album: bool| -> Vec<String> {
        parts
            .iter()
            .filter_map(|p| match p {
                Err(Marker::Album(s, _)) if want_album => Some(s.clone()),
                Err(Marker::Video(s)) if !want_album => Some(s.clone()),
                _ => None,
            })
            .collect()
    };
    let albums = album::published_by_slugs(conn, &slugs(true))?;
    let videos = video::published_by_slugs(conn, &slugs(false))?;
    // Every album embed's strip in one go, in the order of the markers.
    let album_of = |slug: &str| albums.iter().find(|a| a.slug == slug);
    let wants: Vec<photo::StripOf> = parts
        .iter()
        .filter_map(|p| match p {
            Err(Marker::Album(slug, from)) => album_of(slug).map(|a| photo::StripOf {
                first_id: from.unwrap_or(0),
                ..photo::StripOf::first(a.id)
            }),
            _ => None,
        })
        .collect();
    let mut strips = photo::strips(conn, &wants, EMBED_THUMBS, false)?.into_iter();
    let mut out = String::with_capacity(html.len() + 2048);
    for part in parts {
        match part {
            Ok(text) => out.push_str(text),
            Err(Marker::Album(slug, _)) => {
                let Some(a) = album_of(&slug) else {
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
                let photos = strips.next().unwrap_or_default().photos;
                let thumbs = photos.iter().map(|p| Thumb::of(p, &a.title, 160)).collect();
                out.push_str(&draw(&AlbumEmbed {
                    path,
                    href: format!("/albums/{}", a.slug),
                    count: crate::units::counted(a.photo_count, "photo", "photos"),
                    thumbs,
                })?);
            }
            Err(Marker::Video(slug)) => {
                let Some(v) = videos.iter().find(|v| v.slug == slug) else {
                    continue;
                };
                out.push_str(&draw(&VideoEmbed {
                    href: format!("/videos/{}", v.slug),
                    title: v.title.clone(),
                    series: v.series.clone(),
                    released: v
                        .release_date
                        .map(|d| d.format("%-d %B %Y").to_string())
                        .unwrap_or_default(),
                    poster: v.poster_key.as_deref().map(media_url),
                })?);
            }
        }
    }
    Ok(out)
}

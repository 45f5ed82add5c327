//! List entries shared by several pages: post summaries, album cards, video cards. Each
//! builder takes the whole list and queries once for what the entries share (authors, covers).

use cms_core::DbConn;
use cms_core::media::photo_variant_key;
use cms_core::models::album::{self, Album};
use cms_core::models::photo;
use cms_core::models::post::Post;
use cms_core::models::video::Video;
use cms_core::snapshot::Snapshot;

use crate::error::WebError;
use crate::views::{Thumb, iso, long_date, long_day, media_url};

/// A post in a list.
#[derive(Debug, Clone)]
pub struct PostSummary {
    pub href: String,
    pub title: String,
    pub date: String,
    pub datetime: String,
    pub summary: String,
    pub author: Option<String>,
    pub image: Option<Thumb>,
    /// The featured photo's largest size as an absolute URL, for share cards.
    pub share_image: Option<(String, u32, u32)>,
}

/// An album in a list, with its cover.
#[derive(Debug, Clone)]
pub struct AlbumCard {
    pub href: String,
    pub title: String,
    pub count: i64,
    pub cover: Option<Thumb>,
}

/// A video in a list.
#[derive(Debug, Clone)]
pub struct VideoCard {
    pub href: String,
    pub title: String,
    pub series: String,
    pub released: String,
    pub released_iso: String,
    pub poster: Option<String>,
}

/// Summaries of posts, with authors and featured photos (from published albums only).
pub fn post_summaries(
    conn: &mut DbConn,
    snap: &Snapshot,
    base_url: &str,
    posts: &[Post],
) -> Result<Vec<PostSummary>, WebError> {
    let author_ids: Vec<i64> = posts.iter().filter_map(|p| p.author_id).collect();
    let names = snap.author_names(conn, &author_ids)?;
    let photo_ids: Vec<i64> = posts.iter().filter_map(|p| p.featured_photo_id).collect();
    let photos = photo::published_by_ids(conn, &photo_ids)?;
    Ok(posts
        .iter()
        .map(|p| {
            let published = p.published_at.unwrap_or(p.created_at);
            let featured = p
                .featured_photo_id
                .and_then(|id| photos.iter().find(|(ph, _)| ph.id == id));
            PostSummary {
                href: format!("/posts/{}", p.slug),
                title: p.title.clone(),
                date: long_date(published),
                datetime: iso(published),
                summary: p.summary(),
                author: p.author_id.and_then(|id| names.get(&id).cloned()),
                image: featured.map(|(ph, a)| Thumb::of(ph, &a.title, 320)),
                share_image: featured.and_then(|(ph, _)| share_image(base_url, ph)),
            }
        })
        .collect())
}

/// Album cards with cover thumbnails (one query for all covers).
pub fn album_cards(conn: &mut DbConn, albums: &[Album]) -> Result<Vec<AlbumCard>, WebError> {
    let [cards] = album_card_lists(conn, [albums])?;
    Ok(cards)
}

/// Cards for several lists of albums, the covers of all of them read in one query.
pub fn album_card_lists<const N: usize>(
    conn: &mut DbConn,
    lists: [&[Album]; N],
) -> Result<[Vec<AlbumCard>; N], WebError> {
    let cover_ids: Vec<i64> = lists
        .iter()
        .flat_map(|albums| albums.iter().filter_map(|a| a.cover_photo_id))
        .collect();
    let covers: std::collections::HashMap<i64, photo::Photo> = photo::by_ids(conn, &cover_ids)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(lists.map(|albums| {
        albums
            .iter()
            .map(|a| AlbumCard {
                href: format!("/albums/{}", a.slug),
                title: a.title.clone(),
                count: a.photo_count,
                cover: a
                    .cover_photo_id
                    .and_then(|id| covers.get(&id))
                    .map(|p| Thumb::of(p, &a.title, 320)),
            })
            .collect()
    }))
}

/// Video cards.
pub fn video_cards(videos: Vec<Video>) -> Vec<VideoCard> {
    videos
        .into_iter()
        .map(|v| VideoCard {
            href: format!("/videos/{}", v.slug),
            released: v.release_date.map(long_day).unwrap_or_default(),
            released_iso: v
                .release_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            poster: v.poster_key.as_deref().map(media_url),
            title: v.title,
            series: v.series,
        })
        .collect()
}

/// The absolute URL and size of a photo's largest derivative, for share cards.
pub fn share_image(base_url: &str, p: &photo::Photo) -> Option<(String, u32, u32)> {
    let w = *p.variant_widths().last()?;
    let h = (u64::from(w) * p.height.max(1) as u64 / p.width.max(1) as u64) as u32;
    Some((
        cms_core::thumbs::absolute_media_url(base_url, &photo_variant_key(&p.content_hash, w)),
        w,
        h,
    ))
}

/// Photos added to one album on one day.
#[derive(Debug, Clone)]
pub struct Addition {
    pub href: String,
    pub title: String,
    pub path: String,
    pub day: String,
    pub datetime: String,
    pub added: i64,
    pub thumbs: Vec<Thumb>,
}

/// The `albums` albums most recently added to, each with up to `per_album` of the photos added
/// on its latest day — the newly added photos, not the album's first ones (two statements in
/// all: the albums, then every album's strip and count).
pub fn latest_additions(
    conn: &mut DbConn,
    snap: &Snapshot,
    albums: i64,
    per_album: i64,
) -> Result<Vec<Addition>, WebError> {
    let latest: Vec<(Album, chrono::NaiveDateTime)> = album::latest_published(conn, albums)?
        .into_iter()
        .filter_map(|a| a.last_added_at.map(|last| (a, last)))
        .collect();
    let wants: Vec<photo::StripOf> = latest
        .iter()
        .map(|(a, last)| {
            let day_start = last.date().and_hms_opt(0, 0, 0).unwrap_or(*last);
            photo::StripOf {
                added: Some((day_start, day_start + chrono::Duration::days(1))),
                ..photo::StripOf::first(a.id)
            }
        })
        .collect();
    let strips = photo::strips(conn, &wants, per_album, true)?;
    Ok(latest
        .into_iter()
        .zip(strips)
        .map(|((a, last), strip)| {
            let path = match a.category_id {
                Some(c) => snap
                    .breadcrumb(c)
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" › "),
                None => String::new(),
            };
            Addition {
                href: format!("/albums/{}", a.slug),
                thumbs: strip
                    .photos
                    .iter()
                    .map(|p| Thumb::of(p, &a.title, 160))
                    .collect(),
                title: a.title,
                path,
                day: long_day(last.date()),
                datetime: iso(last),
                added: strip.matching,
            }
        })
        .collect())
}

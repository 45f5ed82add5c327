//! View models: ready-made values for templates, built from core models. Templates never
//! query and never format.

use chrono::{NaiveDate, NaiveDateTime};
use cms_core::media::photo_variant_key;
use cms_core::models::photo::Photo;

/// "3 August 2023".
pub fn long_date(t: NaiveDateTime) -> String {
    t.format("%-d %B %Y").to_string()
}

/// "3 August 2023" for a date.
pub fn long_day(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// `2023-08-03T10:00:00Z` for `<time datetime>` and feeds.
pub fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The URL of a media key.
pub fn media_url(key: &str) -> String {
    format!("/media/{key}")
}

/// A thumbnail with everything the `<img>` needs so nothing jumps while loading.
#[derive(Debug, Clone)]
pub struct Thumb {
    pub photo_id: i64,
    pub href: String,
    pub src: String,
    pub srcset: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
}

impl Thumb {
    /// The thumbnail of a photo: the smallest derivative as `src`, all of them in `srcset`, and
    /// the displayed box (`box_width` wide) as width and height.
    pub fn of(photo: &Photo, album_title: &str, box_width: u32) -> Thumb {
        let widths = photo.variant_widths();
        let smallest = widths.first().copied().unwrap_or(box_width);
        let srcset = widths
            .iter()
            .map(|w| {
                format!(
                    "{} {w}w",
                    media_url(&photo_variant_key(&photo.content_hash, *w))
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let (w, h) = (photo.width.max(1) as u32, photo.height.max(1) as u32);
        let alt = if photo.caption.is_empty() {
            format!("{album_title}, photo {}", photo.position + 1)
        } else {
            photo.caption.clone()
        };
        Thumb {
            photo_id: photo.id,
            href: format!("/photos/{}", photo.id),
            src: media_url(&photo_variant_key(&photo.content_hash, smallest)),
            srcset,
            width: box_width,
            height: (u64::from(box_width) * u64::from(h) / u64::from(w)) as u32,
            alt,
        }
    }
}

/// Links to the pages of a paginated list.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// A pager for `path` (which may carry a query already) at `page` of `pages`.
    pub fn new(path: &str, page: u64, pages: u64) -> Pager {
        let sep = if path.contains('?') { '&' } else { '?' };
        let link = |p: u64| {
            if p == 1 {
                path.to_string()
            } else {
                format!("{path}{sep}page={p}")
            }
        };
        Pager {
            page,
            pages,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

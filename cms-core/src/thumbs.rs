//! Thumbnails: the one rule for a photo's `<img>` in a grid, a card or an embed — the smallest
//! derivative as `src`, every derivative in `srcset`, the displayed box as width and height (so
//! nothing jumps while loading), and alt text from the photo's own alt text, else its caption,
//! else its album and place.

use crate::media::photo_variant_key;
use crate::models::photo::Photo;

/// The URL of a media key.
pub fn media_url(key: &str) -> String {
    format!("/media/{key}")
}

/// The `srcset` of a photo's derivatives: `/media/…-320.jpg 320w, …`.
pub fn srcset(content_hash: &str, widths: &[u32]) -> String {
    widths
        .iter()
        .map(|w| format!("{} {w}w", media_url(&photo_variant_key(content_hash, *w))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A thumbnail with everything the `<img>` needs.
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
    /// The thumbnail of a photo in `album_title`, shown `box_width` wide.
    pub fn of(photo: &Photo, album_title: &str, box_width: u32) -> Thumb {
        let widths = photo.variant_widths();
        let smallest = widths.first().copied().unwrap_or(box_width);
        let (w, h) = (photo.width.max(1) as u64, photo.height.max(1) as u64);
        Thumb {
            photo_id: photo.id,
            href: format!("/photos/{}", photo.id),
            src: media_url(&photo_variant_key(&photo.content_hash, smallest)),
            srcset: srcset(&photo.content_hash, &widths),
            width: box_width,
            height: (u64::from(box_width) * h / w) as u32,
            alt: [&photo.alt_text, &photo.caption]
                .into_iter()
                .find(|t| !t.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| format!("{album_title}, photo {}", photo.position + 1)),
        }
    }
}

//! Thumbnails: the one rule for a photo's `<img>` in a grid, a card or an embed — the smallest
//! derivative as `src`, every derivative in `srcset`, the displayed box as width and height (so
//! nothing jumps while loading), and alt text from the photo's own alt text, else its caption,
//! else its album and place.

use crate::media::photo_variant_key;
use crate::models::photo::Photo;

thread_local! {
    /// Where the page being built on this thread links media (see [`with_media_base`]).
    static MEDIA_BASE: std::cell::RefCell<Option<std::sync::Arc<str>>> =
        const { std::cell::RefCell::new(None) };
}

/// Builds with media linked at `base` — `CMS_MEDIA_PUBLIC_URL`, a public bucket or CDN —
/// instead of `/media/`, so readers' browsers fetch media from there without asking the site
/// first. Public pages, feeds and API answers are built inside it; whatever is built outside
/// links `/media/`, which redirects there (one cheap answer more, never a broken link).
pub fn with_media_base<T>(base: Option<&str>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<std::sync::Arc<str>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            MEDIA_BASE.with(|b| *b.borrow_mut() = previous);
        }
    }
    let previous = MEDIA_BASE.with(|b| b.replace(base.map(std::sync::Arc::from)));
    let _restore = Restore(previous);
    f()
}

/// The URL of a media key: `/media/KEY`, or the public media address's when building inside
/// [`with_media_base`].
pub fn media_url(key: &str) -> String {
    MEDIA_BASE.with(|b| match &*b.borrow() {
        Some(base) => format!("{base}/{key}"),
        None => format!("/media/{key}"),
    })
}

/// The absolute URL of a media key on a site at `site` (feeds, JSON-LD, emails).
pub fn absolute_media_url(site: &str, key: &str) -> String {
    let url = media_url(key);
    if url.starts_with('/') {
        format!("{site}{url}")
    } else {
        url
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_links_follow_the_public_address_only_inside() {
        assert_eq!(
            media_url("photos/ab/x-320.jpg"),
            "/media/photos/ab/x-320.jpg"
        );
        let inside = with_media_base(Some("https://cdn.example.org/site"), || {
            (
                media_url("photos/ab/x-320.jpg"),
                absolute_media_url("https://fans.example.org", "v/p.jpg"),
                with_media_base(None, || media_url("k")),
                media_url("k"),
            )
        });
        assert_eq!(
            inside,
            (
                "https://cdn.example.org/site/photos/ab/x-320.jpg".to_string(),
                "https://cdn.example.org/site/v/p.jpg".to_string(),
                "/media/k".to_string(),
                "https://cdn.example.org/site/k".to_string(),
            )
        );
        assert_eq!(media_url("k"), "/media/k", "restored after");
        assert_eq!(
            absolute_media_url("https://fans.example.org", "v/p.jpg"),
            "https://fans.example.org/media/v/p.jpg"
        );
        let panicked = std::panic::catch_unwind(|| {
            with_media_base(Some("https://cdn.example.org"), || panic!("a page failed"))
        });
        assert!(panicked.is_err());
        assert_eq!(media_url("k"), "/media/k", "restored after a panic too");
    }
}

//! A photo page: the display-size image, the original, caption, credit and source, previous
//! and next within the album, and the album's breadcrumb. Views are counted in memory.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::media::{photo_original_key, photo_variant_key};
use cms_core::models::photo;

use super::album::{Crumb, PER_PAGE, gallery_crumbs};
use super::lists::share_image;
use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{Layout, SCRIPT, Section, Site};
use crate::views::{iso, media_url, srcset};

/// The widest derivative shown on the page.
const DISPLAY_MAX: u32 = 1280;

#[derive(Template)]
#[template(path = "photo.html")]
struct PhotoPage {
    l: Layout,
    crumbs: Vec<Crumb>,
    current: String,
    heading: String,
    caption: String,
    credit: String,
    source: String,
    src: String,
    srcset: String,
    width: u32,
    height: u32,
    alt: String,
    original: String,
    original_size: String,
    index: i64,
    count: i64,
    prev: Option<String>,
    next: Option<String>,
    album_href: String,
    /// Every size there is, smallest first: (label, URL), the original last.
    sizes: Vec<(String, String)>,
}

/// `GET /photos/{id}`
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    state.views.record(id);
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let (p, a) = photo::find_published(conn, id)?.ok_or(WebError::NotFound)?;
        let site = Site::of(snap);
        let mut crumbs = gallery_crumbs(snap, a.category_id);
        let place = snap.photo_place(conn, &p, a.photo_count)?;
        let index = place.index;
        let page = index / PER_PAGE as i64 + 1;
        let album_href = if page > 1 {
            format!("/albums/{}?page={page}", a.slug)
        } else {
            format!("/albums/{}", a.slug)
        };
        crumbs.push(Crumb {
            href: album_href.clone(),
            name: a.title.clone(),
        });
        let (prev, next) = (place.prev, place.next);
        let widths = p.variant_widths();
        let shown = widths
            .iter()
            .copied()
            .filter(|w| *w <= DISPLAY_MAX)
            .max()
            .or(widths.first().copied())
            .unwrap_or(DISPLAY_MAX);
        let srcset = srcset(&p.content_hash, &widths);
        let tall = |w: u32| (u64::from(w) * p.height.max(1) as u64 / p.width.max(1) as u64) as u32;
        let height = tall(shown);
        let number = index + 1;
        // The photo's own title, else its caption, else its place in the album.
        let heading = [&p.title, &p.caption]
            .into_iter()
            .find(|t| !t.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| format!("{} – photo {number}", a.title));
        let alt = [&p.alt_text, &p.caption]
            .into_iter()
            .find(|t| !t.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| format!("{}, photo {number}", a.title));
        let original = media_url(&photo_original_key(&p.content_hash, &p.mime));
        let original_bytes = cms_core::units::bytes(u64::try_from(p.bytes).unwrap_or(0));
        let mut sizes: Vec<(String, String)> = widths
            .iter()
            .filter(|w| i64::from(**w) < i64::from(p.width))
            .map(|w| {
                (
                    format!("{w} × {}", tall(*w)),
                    media_url(&photo_variant_key(&p.content_hash, *w)),
                )
            })
            .collect();
        sizes.push((
            format!("Original, {} × {} ({original_bytes})", p.width, p.height),
            original.clone(),
        ));
        let mut l = Layout::new(
            &site,
            &base,
            &heading,
            &format!("/photos/{}", p.id),
            Section::Gallery,
        );
        l.description = format!("Photo {number} of {} in {}", a.photo_count, a.title);
        l.og_image = share_image(&base, &p);
        l.script = Some(SCRIPT.href());
        let credit = if p.credit.is_empty() {
            a.credit.clone()
        } else {
            p.credit.clone()
        };
        l.set_json_ld(&serde_json::json!({
            "@context": "https://schema.org",
            "@type": "ImageObject",
            "name": heading,
            "caption": (!p.caption.is_empty()).then_some(&p.caption),
            "description": (alt != heading).then_some(&alt),
            "contentUrl": cms_core::thumbs::absolute_media_url(&base, &photo_original_key(&p.content_hash, &p.mime)),
            "thumbnailUrl": widths
                .first()
                .map(|w| cms_core::thumbs::absolute_media_url(&base, &photo_variant_key(&p.content_hash, *w))),
            "width": p.width,
            "height": p.height,
            "encodingFormat": p.mime,
            "contentSize": original_bytes,
            "creditText": (!credit.is_empty()).then_some(&credit),
            "url": format!("{base}/photos/{}", p.id),
            "uploadDate": iso(p.created_at),
            "isPartOf": {
                "@type": "ImageGallery",
                "name": a.title,
                "url": format!("{base}/albums/{}", a.slug),
            },
        }));
        html(&PhotoPage {
            l,
            crumbs,
            current: format!("Photo {number}"),
            alt,
            heading,
            caption: p.caption.clone(),
            credit,
            source: p.source.clone(),
            src: media_url(&photo_variant_key(&p.content_hash, shown)),
            srcset,
            width: shown,
            height,
            original,
            original_size: format!("{} × {} px, {original_bytes}", p.width, p.height),
            index: number,
            count: a.photo_count,
            prev: prev.map(|id| format!("/photos/{id}")),
            next: next.map(|id| format!("/photos/{id}")),
            album_href,
            sizes,
        })
    })
    .await
}

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
use crate::layout::{Layout, Section, Site};
use crate::views::media_url;

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
        let srcset = widths
            .iter()
            .map(|w| {
                format!(
                    "{} {w}w",
                    media_url(&photo_variant_key(&p.content_hash, *w))
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let height = (u64::from(shown) * p.height.max(1) as u64 / p.width.max(1) as u64) as u32;
        let number = index + 1;
        let heading = if p.caption.is_empty() {
            format!("{} – photo {number}", a.title)
        } else {
            p.caption.clone()
        };
        let mut l = Layout::new(
            &site,
            &base,
            &heading,
            &format!("/photos/{}", p.id),
            Section::Gallery,
        );
        l.description = format!("Photo {number} of {} in {}", a.photo_count, a.title);
        l.og_image = share_image(&base, &p);
        html(&PhotoPage {
            l,
            crumbs,
            current: format!("Photo {number}"),
            alt: if p.caption.is_empty() {
                format!("{}, photo {number}", a.title)
            } else {
                p.caption.clone()
            },
            heading,
            caption: p.caption.clone(),
            credit: if p.credit.is_empty() {
                a.credit.clone()
            } else {
                p.credit.clone()
            },
            source: p.source.clone(),
            src: media_url(&photo_variant_key(&p.content_hash, shown)),
            srcset,
            width: shown,
            height,
            original: media_url(&photo_original_key(&p.content_hash, &p.mime)),
            original_size: format!(
                "{} × {} px, {}",
                p.width,
                p.height,
                cms_core::units::bytes(u64::try_from(p.bytes).unwrap_or(0))
            ),
            index: number,
            count: a.photo_count,
            prev: prev.map(|id| format!("/photos/{id}")),
            next: next.map(|id| format!("/photos/{id}")),
            album_href,
        })
    })
    .await
}

//! An album page: its breadcrumb through the gallery tree and one page of thumbnails. A fixed
//! number of queries whatever the album's size.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::{album, photo};
use cms_core::snapshot::Snapshot;

use super::lists::share_image;
use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{Layout, Section, Site};
use crate::query;
use crate::views::{Pager, Thumb};

/// Thumbnails per album page.
pub const PER_PAGE: u64 = 60;

/// One step of a breadcrumb.
#[derive(Debug, Clone)]
pub struct Crumb {
    pub href: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "album.html")]
struct AlbumPage {
    l: Layout,
    title: String,
    description: String,
    credit: String,
    crumbs: Vec<Crumb>,
    current: String,
    thumbs: Vec<Thumb>,
    pager: Pager,
    photo_count: i64,
}

/// The breadcrumb of a gallery category: Gallery, then each category down to it.
pub fn gallery_crumbs(snap: &Snapshot, category_id: Option<i64>) -> Vec<Crumb> {
    let mut crumbs = vec![Crumb {
        href: "/gallery".into(),
        name: "Gallery".into(),
    }];
    if let Some(id) = category_id {
        for c in snap.breadcrumb(id) {
            crumbs.push(Crumb {
                href: format!("/gallery/{}", c.path),
                name: c.name.clone(),
            });
        }
    }
    crumbs
}

/// `GET /albums/{slug}?page=N`
pub async fn show(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let page_no = query::page(req.query_string())?;
    let base = state.config.server.base_url.clone();
    let slug = slug.into_inner();
    cache::respond(&req, &state, None, move |conn, snap| {
        let a = album::find_published_by_slug(conn, &slug)?.ok_or(WebError::NotFound)?;
        let offset = query::offset_for(page_no, PER_PAGE, a.photo_count)?;
        let site = Site::of(snap);
        let crumbs = gallery_crumbs(snap, a.category_id);
        let photos = photo::page_in_album(conn, a.id, offset, PER_PAGE as i64)?;
        let thumbs = photos.iter().map(|p| Thumb::of(p, &a.title, 240)).collect();
        let path = format!("/albums/{}", a.slug);
        let pages = query::page_count(a.photo_count, PER_PAGE);
        let canonical = if page_no > 1 {
            format!("{path}?page={page_no}")
        } else {
            path.clone()
        };
        let mut l = Layout::new(&site, &base, &a.title, &canonical, Section::Gallery);
        l.description = format!(
            "{} in {}",
            cms_core::units::counted(a.photo_count, "photo", "photos"),
            a.title
        );
        l.og_image = photos.first().and_then(|p| share_image(&base, p));
        l.set_json_ld(&serde_json::json!({
            "@context": "https://schema.org",
            "@type": "ImageGallery",
            "name": a.title,
            "url": format!("{base}{path}"),
            "numberOfItems": a.photo_count,
        }));
        html(&AlbumPage {
            l,
            current: format!("{} ({})", a.title, a.photo_count),
            title: a.title,
            description: a.description,
            credit: a.credit,
            crumbs,
            thumbs,
            pager: Pager::new(&path, page_no, pages),
            photo_count: a.photo_count,
        })
    })
    .await
}

//! The gallery: the category tree with recursive counts, nested category pages, and the latest
//! additions grouped by album and day.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::album;
use cms_core::models::{gallery_category, photo};
use cms_core::units::counted;

use super::album::{Crumb, gallery_crumbs};
use super::lists::{
    Addition, AlbumCard, album_card_lists, album_cards, latest_additions, share_image,
};
use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{Layout, Section, Site};
use crate::query;
use crate::views::{Pager, Thumb};

/// Above this many published albums, the gallery index lists categories only.
const TREE_ALBUM_LIMIT: usize = 500;
/// Albums per category page.
const ALBUMS_PER_PAGE: u64 = 48;

/// A line of the tree: a category or an album, at a depth.
#[derive(Debug, Clone)]
pub struct TreeNode {
    pub depth: usize,
    pub href: String,
    pub name: String,
    pub count: i64,
    pub is_album: bool,
}

#[derive(Template)]
#[template(path = "gallery.html")]
struct GalleryIndex {
    l: Layout,
    tree: Vec<TreeNode>,
    top: Vec<CategoryCard>,
    top_albums: Vec<AlbumCard>,
    latest: Vec<AlbumCard>,
    most_viewed: Vec<Thumb>,
    random: Vec<Thumb>,
}

/// `GET /gallery`. Random picks change at most once a minute per node.
pub async fn index(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    cache::respond(
        &req,
        &state,
        Some(Duration::from_secs(60)),
        move |conn, snap| {
            let site = Site::of(snap);
            let cats = &snap.categories;
            let mut albums_by_cat: std::collections::HashMap<Option<i64>, Vec<album::Album>> =
                Default::default();
            let total_published: i64 = cats
                .iter()
                .filter(|c| c.parent_id.is_none())
                .map(|c| c.album_count)
                .sum();
            // A gallery small enough for the whole tree reads every published album once,
            // and takes the albums outside categories and the latest additions from them.
            let all = if (total_published as usize) <= TREE_ALBUM_LIMIT {
                Some(album::all_published(conn)?)
            } else {
                None
            };
            let top_albums = match &all {
                Some(all) => all
                    .iter()
                    .filter(|a| a.category_id.is_none())
                    .cloned()
                    .collect(),
                None => album::in_category(conn, None, true)?,
            };
            let latest = match &all {
                Some(all) => album::latest_of(all, 6),
                None => album::latest_published(conn, 6)?,
            };
            if let Some(all) = all
                && (total_published as usize) + top_albums.len() <= TREE_ALBUM_LIMIT
            {
                for a in all {
                    albums_by_cat.entry(a.category_id).or_default().push(a);
                }
            }
            let mut depth_of: std::collections::HashMap<i64, usize> = Default::default();
            let mut tree = Vec::new();
            // Categories come parents first; each one's albums follow its own line.
            for c in cats {
                let depth = c
                    .parent_id
                    .and_then(|p| depth_of.get(&p).map(|d| d + 1))
                    .unwrap_or(0);
                depth_of.insert(c.id, depth);
                if c.album_count == 0 {
                    continue;
                }
                tree.push(TreeNode {
                    depth,
                    href: format!("/gallery/{}", c.path),
                    name: c.name.clone(),
                    count: c.photo_count,
                    is_album: false,
                });
                for a in albums_by_cat.get(&Some(c.id)).into_iter().flatten() {
                    tree.push(TreeNode {
                        depth: depth + 1,
                        href: format!("/albums/{}", a.slug),
                        name: a.title.clone(),
                        count: a.photo_count,
                        is_album: true,
                    });
                }
            }
            for a in &top_albums {
                tree.push(TreeNode {
                    depth: 0,
                    href: format!("/albums/{}", a.slug),
                    name: a.title.clone(),
                    count: a.photo_count,
                    is_album: true,
                });
            }
            let top = category_cards(
                conn,
                cats.iter()
                    .filter(|c| c.parent_id.is_none())
                    .cloned()
                    .collect(),
            )?;
            let [top_albums, latest] = album_card_lists(conn, [&top_albums, &latest])?;
            let most_viewed = photo::most_viewed(conn, 12)?
                .iter()
                .map(|(p, a)| Thumb::of(p, &a.title, 160))
                .collect();
            let ids = snap.photo_id_range(conn)?;
            let random: Vec<(photo::Photo, String)> = photo::random_published_in(conn, ids, 12)?;
            let mut l = Layout::new(&site, &base, "Gallery", "/gallery", Section::Gallery);
            l.description = format!("The {} photo gallery.", site.title);
            l.og_image = random.first().and_then(|(p, _)| share_image(&base, p));
            let random = random
                .iter()
                .map(|(p, album_title)| Thumb::of(p, album_title, 160))
                .collect();
            html(&GalleryIndex {
                l,
                tree,
                top,
                top_albums,
                latest,
                most_viewed,
                random,
            })
        },
    )
    .await
}

/// A category's card: its name, counts, and the cover of the album most recently added to
/// beneath it.
#[derive(Debug, Clone)]
pub struct CategoryCard {
    pub href: String,
    pub name: String,
    pub albums: i64,
    pub photos: i64,
    pub cover: Option<Thumb>,
}

/// Cards for categories (those with published albums beneath them).
fn category_cards(
    conn: &mut cms_core::DbConn,
    cats: Vec<gallery_category::GalleryCategory>,
) -> Result<Vec<CategoryCard>, WebError> {
    let cats: Vec<_> = cats.into_iter().filter(|k| k.album_count > 0).collect();
    let paths: Vec<String> = cats.iter().map(|c| c.path.clone()).collect();
    let covers = album::latest_covers_beneath(conn, &paths)?;
    Ok(cats
        .into_iter()
        .zip(covers)
        .map(|(k, cover)| CategoryCard {
            href: format!("/gallery/{}", k.path),
            cover: cover.map(|p| Thumb::of(&p, &k.name, 320)),
            name: k.name,
            albums: k.album_count,
            photos: k.photo_count,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "gallery_category.html")]
struct CategoryPage {
    l: Layout,
    crumbs: Vec<Crumb>,
    current: String,
    name: String,
    description: String,
    photo_count: i64,
    children: Vec<CategoryCard>,
    albums: Vec<AlbumCard>,
    pager: Pager,
}

/// `GET /gallery/{path…}`: a category, its subcategories and its albums.
pub async fn category(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let page_no = query::page(req.query_string())?;
    let base = state.config.server.base_url.clone();
    let path = path.into_inner().trim_end_matches('/').to_string();
    cache::respond(&req, &state, None, move |conn, snap| {
        let c = gallery_category::find_by_path(conn, &path)?.ok_or(WebError::NotFound)?;
        if c.album_count == 0 {
            // Nothing published beneath it: readers do not see empty or draft-only categories.
            return Err(WebError::NotFound);
        }
        let site = Site::of(snap);
        let crumbs = gallery_crumbs(snap, c.parent_id);
        let children = gallery_category::children(conn, Some(c.id))?;
        let children = category_cards(conn, children)?;
        let per = ALBUMS_PER_PAGE as i64;
        let (albums, total) =
            album::published_in_category_page(conn, Some(c.id), (page_no as i64 - 1) * per, per)?;
        query::offset_for(page_no, ALBUMS_PER_PAGE, total)?;
        let albums = album_cards(conn, &albums)?;
        let url = format!("/gallery/{}", c.path);
        let canonical = if page_no > 1 {
            format!("{url}?page={page_no}")
        } else {
            url.clone()
        };
        let mut l = Layout::new(&site, &base, &c.name, &canonical, Section::Gallery);
        l.description = format!(
            "{} in {}",
            counted(c.photo_count, "photo", "photos"),
            counted(c.album_count, "album", "albums")
        );
        html(&CategoryPage {
            l,
            crumbs,
            current: c.name.clone(),
            name: c.name,
            description: c.description,
            photo_count: c.photo_count,
            children,
            albums,
            pager: Pager::new(&url, page_no, query::page_count(total, ALBUMS_PER_PAGE)),
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "gallery_latest.html")]
struct LatestPage {
    l: Layout,
    additions: Vec<Addition>,
}

/// `GET /gallery/latest`: the 20 albums most recently added to, each with the photos added on
/// its latest day (a fixed number of queries).
pub async fn latest(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    if !req.query_string().is_empty() {
        query::page(req.query_string())?;
    }
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let site = Site::of(snap);
        let additions = latest_additions(conn, snap, 20, 8)?;
        let mut l = Layout::new(
            &site,
            &base,
            "Latest additions",
            "/gallery/latest",
            Section::Gallery,
        );
        l.description = "The photos added to the gallery most recently.".into();
        html(&LatestPage { l, additions })
    })
    .await
}

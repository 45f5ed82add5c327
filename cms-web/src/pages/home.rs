//! The home page: latest posts, latest gallery additions, latest videos.

use actix_web::{HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::post::{self, ListFilter};
use cms_core::models::{album, photo, user, video};

use crate::error::WebError;
use crate::layout::{Layout, Section, Site};
use crate::views::{Thumb, iso, long_date};

/// A post in a list.
#[derive(Debug, Clone)]
pub struct PostSummary {
    pub href: String,
    pub title: String,
    pub date: String,
    pub datetime: String,
    pub summary: String,
    pub kind: &'static str,
    pub author: Option<String>,
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
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    posts: Vec<PostSummary>,
    albums: Vec<AlbumCard>,
    videos: Vec<VideoCard>,
}

/// Builds list entries for posts, with their authors' names.
pub fn summaries(
    conn: &mut cms_core::DbConn,
    posts: &[post::Post],
) -> Result<Vec<PostSummary>, WebError> {
    let author_ids: Vec<i64> = posts.iter().filter_map(|p| p.author_id).collect();
    let names = user::names(conn, &author_ids)?;
    let mut out = Vec::with_capacity(posts.len());
    for p in posts {
        let author = p.author_id.and_then(|id| names.get(&id).cloned());
        let published = p.published_at.unwrap_or(p.created_at);
        out.push(PostSummary {
            href: format!("/posts/{}", p.slug),
            title: p.title.clone(),
            date: long_date(published),
            datetime: iso(published),
            summary: p.summary(),
            kind: p.kind.as_str(),
            author,
        });
    }
    Ok(out)
}

/// Album cards with cover thumbnails (one query for all covers).
pub fn album_cards(
    conn: &mut cms_core::DbConn,
    albums: &[album::Album],
) -> Result<Vec<AlbumCard>, WebError> {
    let cover_ids: Vec<i64> = albums.iter().filter_map(|a| a.cover_photo_id).collect();
    let covers = photo::by_ids(conn, &cover_ids)?;
    Ok(albums
        .iter()
        .map(|a| AlbumCard {
            href: format!("/albums/{}", a.slug),
            title: a.title.clone(),
            count: a.photo_count,
            cover: a
                .cover_photo_id
                .and_then(|id| covers.iter().find(|p| p.id == id))
                .map(|p| Thumb::of(p, &a.title, 320)),
        })
        .collect())
}

/// `GET /`
pub async fn home(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    let page = state
        .db
        .run(move |conn| {
            let site = Site::load(conn)?;
            let (posts, _) = post::list_published(conn, &ListFilter::default(), 0, 10)?;
            let posts = summaries(conn, &posts)?;
            let albums = album::latest_published(conn, 6)?;
            let albums = album_cards(conn, &albums)?;
            let (videos, _) = video::list_published(conn, 0, 4)?;
            let videos = videos
                .into_iter()
                .map(|v| VideoCard {
                    href: format!("/videos/{}", v.slug),
                    title: v.title,
                    series: v.series,
                    released: v
                        .release_date
                        .map(crate::views::long_day)
                        .unwrap_or_default(),
                })
                .collect();
            Ok::<_, WebError>(HomePage {
                l: Layout::new(&site, &base, &site.title, "/", Section::News),
                posts,
                albums,
                videos,
            })
        })
        .await?;
    crate::render(&page)
}

//! The home page: latest posts, latest gallery additions, latest videos.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::post::{self, ListFilter};
use cms_core::models::{album, video};

use super::lists::{AlbumCard, PostSummary, VideoCard, album_cards, post_summaries, video_cards};
use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{Layout, Section, Site};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    posts: Vec<PostSummary>,
    albums: Vec<AlbumCard>,
    videos: Vec<VideoCard>,
}

/// `GET /`
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let site = Site::of(snap);
        let posts = post::list_page(conn, &ListFilter::default(), 0, 10, None)?;
        let posts = post_summaries(conn, &base, &posts)?;
        let albums = album::latest_published(conn, 6)?;
        let albums = album_cards(conn, &albums)?;
        let (videos, _) = video::list_published(conn, 0, 4)?;
        let mut l = Layout::new(&site, &base, &site.title, "/", Section::News);
        l.description = format!("{}: news, a photo gallery and a video vault.", site.title);
        l.og_image = posts.iter().find_map(|p| p.share_image.clone());
        html(&HomePage {
            l,
            posts,
            albums,
            videos: video_cards(videos),
        })
    })
    .await
}

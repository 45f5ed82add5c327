//! The home page: latest posts as cards, the photos most recently added to the gallery, the
//! latest videos with their posters, and a subscribe box.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::post::{self, ListFilter};
use cms_core::models::video;

use super::lists::{
    Addition, PostSummary, VideoCard, latest_additions, post_summaries, video_cards,
};
use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{Layout, Section, Site};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    posts: Vec<PostSummary>,
    additions: Vec<Addition>,
    videos: Vec<VideoCard>,
}

/// `GET /`
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |conn, snap| {
        let site = Site::of(snap);
        // One wide card and six that fill rows of two or three: no card left alone.
        let posts = post::list_page(conn, &ListFilter::default(), 0, 7, None)?;
        let posts = post_summaries(conn, snap, &base, &posts)?;
        let additions = latest_additions(conn, snap, 3, 6)?;
        let videos = video::latest_published(conn, 4)?;
        let mut l = Layout::new(&site, &base, &site.title, "/", Section::None);
        l.description = format!("{}: news, a photo gallery and a video vault.", site.title);
        l.og_image = posts.iter().find_map(|p| p.share_image.clone());
        if !site.brand.tagline.is_empty() {
            l.description = format!("{}: {}", site.title, site.brand.tagline);
        }
        html(&HomePage {
            l,
            posts,
            additions,
            videos: video_cards(videos),
        })
    })
    .await
}

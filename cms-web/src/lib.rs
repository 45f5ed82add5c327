//! The public site plugin: server-rendered pages (askama), feeds, sitemaps, search and media,
//! on the reader URLs of the contract. Mount it with `App::new().configure(cms_web::configure)`
//! on an app that has `web::Data<cms_core::AppState>`, and run [`spawn_workers`] beside it.

pub mod api;
mod cache;
pub mod edge;
mod embeds;
pub mod error;
mod layout;
pub mod observe;
pub mod pages;
mod query;
pub mod redirects;
mod views;

use std::time::Duration;

use actix_web::{Route, guard, web};
use cms_core::AppState;

pub use error::{WebError, not_found};

use pages::{
    album, assets, discovery, feeds, gallery, home, news, photo, post, search, subscribe, videos,
};

/// GET and HEAD (actix sends no body for HEAD).
fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers every public route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    api::configure(cfg);
    cfg.route("/", read().to(home::home))
        .route("/posts", read().to(news::all))
        .route("/posts/{slug}", read().to(post::show))
        .route("/preview/{token}", read().to(post::preview))
        .route("/category/{slug}", read().to(news::by_category))
        .route(
            "/category/{slug}/feed.atom",
            read().to(feeds::category_atom),
        )
        .route("/category/{slug}/feed.rss", read().to(feeds::category_rss))
        .route("/tag/{slug}", read().to(news::by_tag))
        .route("/archive/{year}/{month}", read().to(news::by_month))
        .route("/gallery", read().to(gallery::index))
        .route("/gallery/latest", read().to(gallery::latest))
        .route("/gallery/{path:.+}", read().to(gallery::category))
        .route("/albums/{slug}", read().to(album::show))
        .route("/photos/{id}", read().to(photo::show))
        .route("/videos", read().to(videos::list))
        .route("/videos/{slug}", read().to(videos::show))
        .route("/videos/{slug}/captions.vtt", read().to(videos::captions))
        .route("/search", read().to(search::search))
        .route("/feed.atom", read().to(feeds::site_atom))
        .route("/feed.rss", read().to(feeds::site_rss))
        .route("/sitemap.xml", read().to(discovery::index))
        .route("/sitemaps/{name}", read().to(discovery::sitemap))
        .route("/robots.txt", read().to(discovery::robots))
        .route("/subscribe", read().to(subscribe::form))
        .route("/subscribe", web::post().to(subscribe::sign_up))
        .route(
            "/subscribe/confirm/{token}",
            read().to(subscribe::confirm_page),
        )
        .route(
            "/subscribe/confirm/{token}",
            web::post().to(subscribe::confirm),
        )
        .route("/unsubscribe/{token}", read().to(subscribe::manage_page))
        .route("/unsubscribe/{token}", web::post().to(subscribe::manage))
        .route("/static/{name}", read().to(assets::asset))
        .route("/favicon.ico", read().to(assets::favicon))
        .route("/media/{key:.+}", read().to(assets::media))
        .route("/metrics", read().to(observe::metrics));
}

/// How often counted photo views are written.
const VIEW_FLUSH_EVERY: Duration = Duration::from_secs(10);

/// Starts the public site's background work: writing photo view counts. Abort the handle at
/// shutdown and call [`flush_views`] once more.
pub fn spawn_workers(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(VIEW_FLUSH_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            flush_views(&state).await;
        }
    })
}

/// Writes pending photo views now.
pub async fn flush_views(state: &AppState) {
    let s = state.clone();
    match tokio::task::spawn_blocking(move || s.views.flush(&s.db)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not write photo views"),
        Err(e) => tracing::warn!(error = %e, "photo view task failed"),
    }
}

//! The public site plugin: server-rendered pages (askama), media, and the reader-facing routes
//! of the contract. Mount it with `App::new().configure(cms_web::configure)` on an app that has
//! `web::Data<cms_core::AppState>`.

pub mod error;
mod layout;
pub mod pages;
mod query;
mod views;

use actix_web::{HttpResponse, web};
use askama::Template;

pub use error::{WebError, not_found};

/// Registers every public route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::home::home))
        .route("/posts/{slug}", web::get().to(pages::post::show))
        .route("/albums/{slug}", web::get().to(pages::album::show))
        .route("/static/{name}", web::get().to(pages::assets::stylesheet))
        .route("/media/{key:.+}", web::get().to(pages::assets::media));
}

/// Renders a template into a 200 HTML response.
pub(crate) fn render<T: Template>(page: &T) -> Result<HttpResponse, WebError> {
    let body = page
        .render()
        .map_err(|e| WebError::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

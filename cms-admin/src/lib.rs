//! The admin plugin: the editors' panel under `/admin`, the write API, and the background
//! workers (scheduled publishing, email delivery). Mount it with
//! `App::new().configure(cms_admin::configure)` on an app that has `web::Data<AppState>`.
//!
//! Routes land here with the admin-panel issue; until then the plugin mounts nothing, so
//! `/admin` is an honest 404 rather than a page that pretends to work.

use actix_web::web;

/// Registers the admin routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}

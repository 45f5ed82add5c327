//! The admin plugin: the editors' panel under `/admin` and the write API. Mount it with
//! `App::new().configure(cms_admin::configure)` on an app that has `web::Data<AppState>`; the
//! background work (scheduler, imports, email) is `cms-worker`'s.
//!
//! Every admin route sits behind [`guard::guard`] (sessions, CSRF on every unsafe method,
//! security headers); handlers ask for [`auth::Editor`] or [`auth::AdminOnly`] to require a
//! login and a role.

mod account;
pub mod api;
pub mod auth;
mod csrf;
pub mod error;
mod forms;
pub mod guard;
mod layout;
pub mod pages;
pub mod session;
mod time;
mod two_factor;
mod upload;

use actix_web::{HttpResponse, middleware, web};

use pages::{
    dashboard, gallery, people, picker, posts, settings, subscribers, taxonomy, tools, videos,
    webhooks,
};

/// `GET /admin/static/{name}`: the admin stylesheet and script under their hashed names.
async fn asset(name: web::Path<String>) -> HttpResponse {
    let path = format!("/admin/static/{}", name.as_str());
    let (body, mime) = if path == layout::css_href() {
        (layout::CSS, "text/css; charset=utf-8")
    } else if path == layout::js_href() {
        (layout::JS, "text/javascript; charset=utf-8")
    } else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found");
    };
    HttpResponse::Ok()
        .content_type(mime)
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(body)
}

/// Unknown admin paths: the admin's own 404 page (behind the guard, with its headers).
async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&error::AdminError::NotFound)
}

/// Who may use a route. The table below is the one source of truth: `configure` registers from
/// it and the tests check every entry (login, role and CSRF) against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the login page, static files).
    Public,
    /// Any logged-in user, even one who must change a temporary password.
    AnyUser,
    /// Admins and editors.
    Editor,
    /// Admins only.
    Admin,
}

macro_rules! admin_routes {
    ($( $method:ident $path:literal $access:ident => $handler:path ),* $(,)?) => {
        /// Every admin route: method, path under `/admin`, and who may use it.
        pub const ROUTES: &[(&str, &str, Access)] = &[ $( (stringify!($method), $path, Access::$access) ),* ];

        fn register(scope: actix_web::Scope) -> actix_web::Scope {
            scope $( .route($path, web::$method().to($handler)) )*
        }
    };
}

admin_routes! {
    get "" Editor => dashboard::show,
    get "/" Editor => dashboard::show,
    get "/static/{name}" Public => asset,
    get "/login" Public => auth::login_form,
    post "/login" Public => auth::login,
    get "/login/verify" Public => two_factor::verify_form,
    post "/login/verify" Public => two_factor::verify,
    post "/logout" AnyUser => auth::logout,
    get "/account" AnyUser => account::show,
    post "/account" AnyUser => account::change_password,
    post "/account/2fa/setup" AnyUser => account::start_two_factor,
    post "/account/2fa/enable" AnyUser => account::enable_two_factor,
    post "/account/2fa/disable" AnyUser => account::disable_two_factor,
    post "/account/2fa/recovery" AnyUser => account::new_recovery_codes,
    post "/preview" Editor => posts::preview,
    get "/posts" Editor => posts::list,
    post "/posts" Editor => posts::create,
    get "/posts/new" Editor => posts::new,
    post "/posts/{id}" Editor => posts::update,
    get "/posts/{id}/edit" Editor => posts::edit,
    get "/posts/{id}/revisions" Editor => posts::revisions,
    post "/posts/{id}/revisions/{rev}/restore" Editor => posts::restore,
    get "/posts/{id}/delete" Editor => posts::confirm_delete,
    post "/posts/{id}/delete" Editor => posts::delete,
    get "/categories" Editor => taxonomy::page,
    post "/categories" Editor => taxonomy::create,
    post "/categories/{id}" Editor => taxonomy::update,
    post "/categories/{id}/delete" Editor => taxonomy::delete,
    post "/tags/{id}/delete" Editor => taxonomy::delete_tag,
    get "/gallery" Editor => gallery::index,
    post "/gallery/categories" Editor => gallery::create_category,
    post "/gallery/categories/{id}" Editor => gallery::update_category,
    post "/gallery/categories/{id}/move" Editor => gallery::move_category,
    post "/gallery/categories/{id}/delete" Editor => gallery::delete_category,
    post "/gallery/categories/{id}/{direction}" Editor => gallery::shift_category,
    get "/gallery/import" Editor => gallery::import_form,
    post "/gallery/import" Editor => gallery::start_import,
    get "/gallery/imports/{id}" Editor => gallery::import_progress,
    get "/photos/pick" Editor => picker::pick,
    post "/albums" Editor => gallery::create_album,
    get "/albums/{id}" Editor => gallery::show_album,
    post "/albums/{id}" Editor => gallery::update_album,
    post "/albums/{id}/photos" Editor => gallery::batch,
    post "/albums/{id}/order" Editor => gallery::order,
    post "/albums/{id}/upload" Editor => gallery::upload_one,
    get "/albums/{id}/delete" Editor => gallery::confirm_delete_album,
    post "/albums/{id}/delete" Editor => gallery::delete_album,
    get "/videos" Editor => videos::list,
    post "/videos" Editor => videos::create,
    get "/videos/new" Editor => videos::new,
    post "/videos/{id}" Editor => videos::update,
    get "/videos/{id}/edit" Editor => videos::edit,
    get "/videos/{id}/delete" Editor => videos::confirm_delete,
    post "/videos/{id}/delete" Editor => videos::delete,
    get "/subscribers" Editor => subscribers::list,
    get "/subscribers/export.csv" Editor => subscribers::export,
    get "/subscribers/digest" Editor => subscribers::digest,
    post "/subscribers/digest/test" Editor => subscribers::email_digest_preview,
    post "/subscribers/import" Editor => subscribers::import,
    post "/subscribers/{id}/delete" Editor => subscribers::delete,
    get "/mail" Editor => subscribers::mail,
    post "/mail/retry" Editor => subscribers::retry,
    post "/mail/test" Editor => subscribers::test_email,
    get "/users" Admin => people::users,
    post "/users" Admin => people::invite,
    post "/users/{id}" Admin => people::update_user,
    post "/users/{id}/2fa/reset" Admin => people::reset_two_factor,
    get "/tokens" Admin => people::tokens,
    post "/tokens" Admin => people::create_token,
    post "/tokens/{id}/revoke" Admin => people::revoke_token,
    get "/webhooks" Admin => webhooks::list,
    post "/webhooks" Admin => webhooks::create,
    get "/webhooks/{id}" Admin => webhooks::show,
    post "/webhooks/{id}/remove" Admin => webhooks::remove,
    post "/webhooks/{id}/enable" Admin => webhooks::enable,
    post "/webhooks/{id}/ping" Admin => webhooks::ping,
    post "/webhooks/{id}/deliveries/{delivery}/resend" Admin => webhooks::resend,
    get "/audit" Admin => people::audit_log,
    get "/import" Admin => tools::import_form,
    post "/import" Admin => tools::start_import,
    post "/import/upload" Admin => tools::upload_export,
    post "/export" Admin => tools::download_export,
    get "/import/{id}" Admin => tools::import_progress,
    get "/settings" Admin => settings::show,
    post "/settings" Admin => settings::save,
    get "/redirects" Admin => tools::redirects,
    post "/redirects" Admin => tools::add_redirect,
    post "/redirects/{id}/delete" Admin => tools::delete_redirect,
}

/// Registers the admin routes under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    api::configure(cfg);
    cfg.service(
        register(web::scope("/admin").app_data(web::PayloadConfig::new(guard::FORM_LIMIT)))
            .default_service(web::to(not_found))
            .wrap(middleware::from_fn(guard::guard)),
    );
}

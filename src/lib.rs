//! The `keepsake` application: assembles the plugins into one actix app. The `cms` binary
//! (`src/main.rs`) and the integration tests build the app the same way, through [`app`].

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpResponse, middleware, web};
use cms_core::AppState;

/// The whole application over `state`: health check, public site, admin, and a real 404
/// for everything else.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .wrap(middleware::Compress::default())
        .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms").log_target("cms::http"))
        .route("/healthz", web::get().to(healthz))
        .configure(cms_web::configure)
        .configure(cms_admin::configure)
        .default_service(web::to(cms_web::not_found))
}

/// `GET /healthz`: 200 when the database answers, 503 when it does not.
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let check = state
        .db
        .run(|conn| cms_core::models::site::content_version(conn).map_err(cms_core::Error::from))
        .await;
    match check {
        Ok(version) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"status": "ok", "content_version": version})),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({"status": "unavailable"}))
        }
    }
}

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
        .wrap(middleware::from_fn(cms_web::redirects::legacy_redirects))
        .wrap(middleware::from_fn(cms_web::edge::edge))
        .wrap(middleware::Compress::default())
        .wrap(
            // The request line with its secrets replaced (`edge::log_line`), never `%r`.
            // The client as trusted proxies name it (`edge::log_client`), never a header's
            // word alone.
            // The request's id last (`observe`, outside this, gives it).
            middleware::Logger::new("%{client}xi \"%{request}xi\" %s %b %Dms %{id}xi")
                .custom_request_replace("id", cms_web::observe::log_id)
                .custom_request_replace("client", cms_web::edge::log_client)
                .custom_request_replace("request", cms_web::edge::log_line)
                .log_target("cms::http"),
        )
        // Outermost: the request id and the counters see every answer, the edge's too.
        .wrap(middleware::from_fn(cms_web::observe::observe))
        .route("/healthz", web::get().to(healthz))
        .route("/api/openapi.json", web::get().to(openapi_json))
        .configure(cms_web::configure)
        .configure(cms_admin::configure)
        .route("/api/{tail:.*}", web::to(api_fallback))
        .default_service(web::to(cms_web::not_found))
}

/// The OpenAPI 3.1 description of the whole JSON API: the read routes of `cms-web` and the
/// write routes of `cms-admin`, generated from their handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    let mut doc = cms_web::api::ReadApi::openapi();
    doc.merge(cms_admin::api::WriteApi::openapi());
    doc.info = utoipa::openapi::InfoBuilder::new()
        .title("Keepsake API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Content of a Keepsake fan archive: posts, the gallery, the video vault. Reading is \
             public; a bearer token with `drafts:read` also sees unpublished content. Writing \
             needs a token with the route's scope (`posts:write`, `gallery:write`, \
             `videos:write`). Lists take `page` and `per_page` (at most 100) and send `Link` \
             headers; every answer has an ETag; errors are RFC 9457 problem documents.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A token from the admin panel (Tokens) or `cms token create`, e.g. `ks_…`",
                ))
                .build(),
        ),
    );
    doc
}

/// The description as served: generated, then held to the rules every request follows
/// (`cms_core::api::spec`).
pub fn openapi_text() -> String {
    let mut doc = serde_json::to_value(openapi()).unwrap_or_default();
    cms_core::api::spec::tighten(&mut doc);
    doc.to_string()
}

/// `GET /api/openapi.json`, generated once.
async fn openapi_json() -> HttpResponse {
    static SPEC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = SPEC.get_or_init(openapi_text);
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(body.clone())
}

/// Every API path no route took: 405 with `Allow` when the path exists with other methods,
/// else 404 — both as problem documents.
async fn api_fallback(req: actix_web::HttpRequest) -> HttpResponse {
    let path = req.path();
    let mut allowed: Vec<String> = cms_web::api::ROUTES
        .iter()
        .chain(cms_admin::api::ROUTES)
        .filter(|(_, pattern)| actix_web::dev::ResourceDef::new(*pattern).is_match(path))
        .map(|(method, _)| method.to_uppercase())
        .collect();
    allowed.sort();
    allowed.dedup();
    let problem = if allowed.is_empty() {
        cms_core::api::Problem::new(
            404,
            format!("no API endpoint at {path}; see /api/openapi.json"),
        )
    } else {
        cms_core::api::Problem::new(
            405,
            format!(
                "{} is not allowed here; use {}",
                req.method(),
                allowed.join(", ")
            ),
        )
    };
    let mut resp = cms_web::api::problem_response(&problem);
    if !allowed.is_empty() {
        if allowed.iter().any(|m| m == "GET") {
            allowed.push("HEAD".into());
        }
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allowed.join(", ")) {
            resp.headers_mut().insert(actix_web::http::header::ALLOW, v);
        }
    }
    resp
}

/// `GET /healthz`: 200 when the database answers, 503 when it does not or when the node is
/// stopping (a load balancer's health check then sends nothing new here).
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    if cms_core::shutdown::is_stopping() {
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"status": "stopping"}));
    }
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

//! The OpenAPI description is generated from the handlers; here it is held to the routes that
//! are really served: every documented operation is routed, every `/api/v1` route documented.

use std::collections::BTreeSet;

use super::{call, json};
use crate::common::{Backend, TestEnv, get};

#[actix_web::test]
async fn the_description_matches_the_routes() {
    let env = TestEnv::new(Backend::Sqlite);
    let app = env.app().await;
    let r = get(&app, "/api/openapi.json").await;
    assert_eq!(r.status, 200);
    let spec = json(&r);
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        spec["openapi"]
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let mut documented = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "patch", "put", "delete"].contains(&method.as_str()) {
                continue;
            }
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its responses"
            );
            documented.insert((method.clone(), path.clone()));
            let id = op["operationId"].as_str().expect("operationId").to_string();
            assert!(
                operation_ids.insert(id.clone()),
                "operationId {id} is used twice"
            );
        }
    }
    let served: BTreeSet<(String, String)> = cms_web::api::ROUTES
        .iter()
        .chain(cms_admin::api::ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not served"
    );
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not documented"
    );
    // The tables are what the app routes: each documented operation reaches a handler (a
    // problem from the handler, never the router's 404/405).
    for (method, path) in &served {
        let concrete = path.replace("{slug}", "x").replace("{id}", "1");
        let resp = call(&app, &method.to_uppercase(), &concrete, None, None).await;
        let v = json(&resp);
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.starts_with("no API endpoint") && resp.status != 405,
            "{method} {path} is not routed: {} {detail}",
            resp.status
        );
    }
    // Every path parameter is declared once per operation, and the same template never
    // appears under two parameter names (ambiguous paths).
    let templates: BTreeSet<String> = documented
        .iter()
        .map(|(_, p)| {
            p.split('/')
                .map(|s| if s.starts_with('{') { "{}" } else { s })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    assert_eq!(
        templates.len(),
        paths.len(),
        "ambiguous path templates: {paths:?}"
    );
}

/// The description says what the handlers enforce (`cms_core::api::spec`): ids, slugs, text
/// without control characters, non-blank titles, dates, unknown fields, the upload's part.
#[actix_web::test]
async fn the_description_is_as_strict_as_the_handlers() {
    let env = TestEnv::new(Backend::Sqlite);
    let app = env.app().await;
    let spec = json(&get(&app, "/api/openapi.json").await);
    let param = |path: &str, method: &str, name: &str| -> serde_json::Value {
        spec["paths"][path][method]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
    };
    let body = |path: &str, method: &str| -> serde_json::Value {
        spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"].clone()
    };
    let id = param("/api/v1/photos/{id}", "get", "id");
    assert_eq!(id["schema"]["minimum"], 1);
    assert_eq!(id["schema"]["maximum"], cms_core::api::MAX_ID);
    let slug = param("/api/v1/posts/{slug}", "get", "slug");
    assert_eq!(slug["schema"]["pattern"], cms_core::api::spec::SLUG);
    assert_eq!(slug["schema"]["maxLength"], 120);
    let from = param("/api/v1/posts", "get", "from");
    let formats: Vec<&str> = from["schema"]["anyOf"]
        .as_array()
        .expect("date or time")
        .iter()
        .filter_map(|s| s["format"].as_str())
        .collect();
    assert_eq!(formats, ["date", "date-time"]);
    let q = param("/api/v1/search", "get", "q");
    assert_eq!(q["schema"]["pattern"], cms_core::api::spec::LINE);
    let create = body("/api/v1/posts", "post");
    assert_eq!(create["additionalProperties"], false);
    assert_eq!(
        create["properties"]["title"]["pattern"],
        cms_core::api::spec::LINE
    );
    assert_eq!(create["properties"]["title"]["maxLength"], 300);
    assert_eq!(
        create["properties"]["body"]["pattern"],
        cms_core::api::spec::TEXT
    );
    assert_eq!(create["properties"]["publish_at"]["format"], "date-time");
    assert_eq!(
        create["properties"]["featured_photo_id"]["maximum"],
        cms_core::api::MAX_ID
    );
    let video = body("/api/v1/videos", "post");
    assert_eq!(video["properties"]["release_date"]["format"], "date");
    let upload = &spec["paths"]["/api/v1/albums/{slug}/photos"]["post"]["requestBody"]["content"]["multipart/form-data"]
        ["schema"];
    assert_eq!(upload["required"], serde_json::json!(["file"]));
    assert_eq!(upload["properties"]["file"]["minItems"], 1);
    assert_eq!(upload["properties"]["file"]["items"]["minLength"], 1);
    assert_eq!(upload["additionalProperties"], false);
}

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

/// The description says what Keepsake POSTs to webhook endpoints (`cms_core::webhooks`): a
/// change, whose `type` is one of the kinds the code defines, and a test, each with the three
/// Standard Webhooks headers; and it names every scope a token may carry.
#[actix_web::test]
async fn the_description_covers_webhook_deliveries_and_every_scope() {
    let env = TestEnv::new(Backend::Sqlite);
    let app = env.app().await;
    let spec = json(&get(&app, "/api/openapi.json").await);
    // Operation ids are unique across the paths and the webhooks together.
    let path_ids: BTreeSet<&str> = spec["paths"]
        .as_object()
        .expect("paths")
        .values()
        .filter_map(|item| item.as_object())
        .flat_map(|item| item.values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    for (hook, schema) in [("change", "WebhookEvent"), ("ping", "WebhookPing")] {
        let op = &spec["webhooks"][hook]["post"];
        assert!(
            op.is_object(),
            "no POST for webhook {hook}: {}",
            spec["webhooks"]
        );
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            format!("#/components/schemas/{schema}"),
            "{hook}"
        );
        let headers: BTreeSet<&str> = op["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter(|p| p["in"] == "header" && p["required"] == true)
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(
            headers,
            BTreeSet::from(["webhook-id", "webhook-timestamp", "webhook-signature"]),
            "{hook}"
        );
        // A 2xx acknowledges; anything else (or nothing) is retried.
        assert!(op["responses"]["2XX"].is_object(), "{hook}");
        assert!(op["responses"]["default"].is_object(), "{hook}");
        let id = op["operationId"].as_str().expect("operationId");
        assert!(!path_ids.contains(id), "operationId {id} is used twice");
    }
    // The body: `type`, `timestamp`, `data`, the types being exactly the code's event kinds.
    let event = &spec["components"]["schemas"]["WebhookEvent"];
    assert_eq!(
        event["required"],
        serde_json::json!(["type", "timestamp", "data"])
    );
    let kinds: Vec<&str> = event["properties"]["type"]["enum"]
        .as_array()
        .expect("event types")
        .iter()
        .filter_map(|k| k.as_str())
        .collect();
    let defined: Vec<&str> = cms_core::models::change::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(kinds, defined);
    assert_eq!(event["properties"]["timestamp"]["format"], "date-time");
    assert_eq!(
        event["properties"]["data"]["required"],
        serde_json::json!(["event_id", "item"])
    );
    let ping = &spec["components"]["schemas"]["WebhookPing"];
    assert_eq!(
        ping["properties"]["type"]["enum"],
        serde_json::json!([cms_core::webhooks::PING])
    );

    // Every scope, in the overview and in the bearer scheme: the two the text once left out
    // by name, then every one tokens are checked against.
    let overview = spec["info"]["description"].as_str().expect("description");
    let bearer = spec["components"]["securitySchemes"]["bearer"]["description"]
        .as_str()
        .expect("bearer description");
    for scope in ["webhooks:write", "subscribers:write"]
        .into_iter()
        .chain(cms_core::models::api_token::SCOPES.iter().copied())
    {
        for text in [overview, bearer] {
            assert!(text.contains(&format!("`{scope}`")), "{scope} in: {text}");
        }
    }
}

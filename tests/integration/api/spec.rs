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

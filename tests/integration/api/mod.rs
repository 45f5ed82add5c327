//! The JSON API: the read routes, the write routes with their tokens and scopes, and the
//! OpenAPI description against the routes actually served.

mod changes;
mod read;
mod spec;
mod write;

use actix_web::body::MessageBody;
use actix_web::test;

use crate::common::{Page, TestApp, TestEnv};

/// A token with `scopes`, created as an admin would; returns the secret.
pub fn token(env: &TestEnv, name: &str, scopes: &[&str]) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    env.write(|c| cms_core::models::api_token::create(c, name, &scopes, None))
        .1
}

/// A request to the API: method, path, an optional bearer token, and an optional body with
/// its content type.
pub async fn call<S, B>(
    app: &S,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Page
where
    S: TestApp<B>,
    B: MessageBody,
{
    let m = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = test::TestRequest::default().method(m).uri(path);
    if let Some(t) = bearer {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    if let Some((ct, bytes)) = body {
        req = req.insert_header(("Content-Type", ct)).set_payload(bytes);
    }
    let resp = test::call_service(app, req.to_request()).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = test::read_body(resp).await;
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A JSON body.
pub fn body(v: serde_json::Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", v.to_string().into_bytes()))
}

/// The parsed JSON of an answer.
pub fn json(p: &Page) -> serde_json::Value {
    serde_json::from_str(&p.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", p.body))
}

/// Asserts that an answer is a problem document with `status`; returns it.
pub fn problem(p: &Page, status: u16) -> serde_json::Value {
    assert_eq!(p.status, status, "{}", p.body);
    assert_eq!(
        p.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{}",
        p.body
    );
    let v = json(p);
    assert_eq!(v["status"], status);
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    v
}

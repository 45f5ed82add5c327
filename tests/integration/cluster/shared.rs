//! What the nodes share: sessions (a login anywhere works everywhere, a logout anywhere ends it
//! everywhere), the content version (a publish through one node is on every node's pages
//! within a second), the login throttle and the API's rate limit.

use std::time::{Duration, Instant};

use cms_core::models::user::Role;

use super::{Browser, Cluster, request, status};
use crate::admin::client::{PASSWORD, make_user};

/// POSTs JSON to the API with a bearer token: status and body.
pub(super) fn api_post(
    addr: &str,
    path: &str,
    token: &str,
    json: serde_json::Value,
) -> (u16, String) {
    let auth = format!("Bearer {token}");
    let (status, _, body) = request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &json.to_string(),
    );
    (status, body)
}

#[test]
fn sessions_pages_and_limits_are_the_same_on_every_node() {
    let c = Cluster::start(&[("api_rate", "60")]);
    let nodes: Vec<String> = c.nodes.iter().map(|n| n.addr.clone()).collect();
    make_user(&c.env, "editor@example.org", Role::Editor);

    // A login made through one node works on the others and through the balancer.
    let mut ed = Browser::default();
    assert_eq!(ed.login(&nodes[0], "editor@example.org", PASSWORD), 303);
    for addr in nodes.iter().chain([&c.addr]) {
        let (s, _, body) = ed.get(addr, "/admin");
        assert_eq!(s, 200, "the session is known to {addr}");
        assert!(
            body.contains("/admin/logout"),
            "{addr} shows the logged-in admin"
        );
    }
    // Logging out through the third ends the session on every node, even for a copy of the
    // cookie kept elsewhere.
    let stolen = ed.clone();
    let (s, head, _) = ed.post(&nodes[2], "/admin", "/admin/logout", &[]);
    assert_eq!(s, 303, "{head}");
    for addr in nodes.iter().chain([&c.addr]) {
        let (s, head, _) = stolen.clone().get(addr, "/admin");
        assert_eq!(s, 303, "{addr} still knew the session");
        assert!(head.contains("location: /admin/login"), "{head}");
    }

    // A publish through one node shows on every node's pages within a second, even where the
    // home page was cached just before.
    let token = crate::api::token(&c.env, "writer", &["posts:write"]);
    for addr in &nodes {
        for _ in 0..2 {
            assert_eq!(status(addr, "/"), 200);
        }
    }
    let (s, body) = api_post(
        &nodes[0],
        "/api/v1/posts",
        &token,
        serde_json::json!({"title": "Season 3 premiere date", "body": "Announced today.", "status": "published"}),
    );
    assert_eq!(s, 201, "{body}");
    let published = Instant::now();
    let slug = serde_json::from_str::<serde_json::Value>(&body).expect("json")["slug"]
        .as_str()
        .expect("slug")
        .to_string();
    let mut slowest = Duration::ZERO;
    for addr in &nodes {
        c.wait("the post on every node", Duration::from_secs(10), || {
            let (_, _, home) = request(addr, "GET", "/", &[], "");
            status(addr, &format!("/posts/{slug}")) == 200
                && home.contains("Season 3 premiere date")
        });
        slowest = slowest.max(published.elapsed());
    }
    // Each node reads the content version at least once a second; the rest is the time the
    // requests take on a busy test machine.
    assert!(
        slowest < Duration::from_secs(2),
        "a node showed the post only after {slowest:?}"
    );

    // The login throttle counts failures on any node: five wrong passwords spread over the
    // three lock the account everywhere, the right password included.
    make_user(&c.env, "second@example.org", Role::Editor);
    for i in 0..cms_admin::auth::MAX_FAILURES as usize {
        let mut b = Browser::default();
        let s = b.login(&nodes[i % 3], "second@example.org", "wrong password");
        assert_ne!(s, 303, "a wrong password let someone in");
        assert_ne!(s, 429, "throttled after only {i} failures");
    }
    for addr in nodes.iter().chain([&c.addr]) {
        let mut b = Browser::default();
        assert_eq!(b.login(addr, "second@example.org", PASSWORD), 429, "{addr}");
    }

    // The API's limit is one allowance for all the nodes: 60 a minute is a burst of 6, then
    // one a second, however the requests are spread.
    let reader = crate::api::token(&c.env, "reader", &["drafts:read"]);
    let auth = format!("Bearer {reader}");
    let started = Instant::now();
    let mut allowed = 0;
    let mut limited = Vec::new();
    for i in 0..15 {
        let (s, head, _) = request(
            &nodes[i % 3],
            "GET",
            "/api/v1/posts",
            &[("Authorization", &auth)],
            "",
        );
        match s {
            200 => allowed += 1,
            429 => limited.push(head),
            other => panic!("GET /api/v1/posts: {other}"),
        }
    }
    let refills = started.elapsed().as_secs() + 1;
    assert!(
        (6..=6 + refills).contains(&allowed),
        "{allowed} of 15 requests allowed in {:?}: each node counted on its own",
        started.elapsed()
    );
    assert!(
        limited.iter().all(|h| h.contains("retry-after: ")),
        "a 429 says when to come back"
    );
    // Through the balancer too: a burst as quick as the one above is refused in part.
    let through: Vec<u16> = (0..8)
        .map(|_| {
            request(
                &c.addr,
                "GET",
                "/api/v1/posts",
                &[("Authorization", &auth)],
                "",
            )
            .0
        })
        .collect();
    assert!(through.contains(&429), "{through:?}");
}

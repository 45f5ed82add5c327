//! Every admin route from the plugin's own route table: login required, roles enforced, CSRF
//! checked on every unsafe method, security headers on every response.

use actix_web::test;
use cms_admin::{Access, ROUTES};
use cms_core::models::post::{self, PostInput};
use cms_core::models::user::Role;
use cms_core::models::{api_token, tag, video};

use super::client::{Client, PASSWORD, csrf_of, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv};

/// Fills a route's parameters with ids of real rows.
fn concrete(path: &str, ids: &Ids) -> String {
    let mut p = format!("/admin{path}");
    let id = if path.starts_with("/gallery/imports") {
        ids.import
    } else if path.starts_with("/gallery") {
        ids.gallery
    } else if path.starts_with("/albums") {
        ids.album
    } else if path.starts_with("/posts") {
        ids.post
    } else if path.starts_with("/categories") {
        ids.category
    } else if path.starts_with("/tags") {
        ids.tag
    } else if path.starts_with("/videos") {
        ids.video
    } else if path.starts_with("/users") {
        ids.user
    } else {
        ids.token
    };
    p = p
        .replace("{id}", &id.to_string())
        .replace("{rev}", &ids.revision.to_string())
        .replace("{name}", "x.css");
    p
}

struct Ids {
    gallery: i64,
    album: i64,
    import: i64,
    post: i64,
    revision: i64,
    category: i64,
    tag: i64,
    video: i64,
    user: i64,
    token: i64,
}

fn seed(env: &TestEnv) -> Ids {
    let editor = make_user(env, "editor@example.org", Role::Editor);
    make_user(env, "admin@example.org", Role::Admin);
    let mut input = PostInput::new("A post", "Body");
    input.tags = vec!["Heartstopper".into()];
    let p = env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &input));
    let revision = post::revisions(&mut env.conn(), p.id).expect("revisions")[0].id;
    let category = env
        .write(|c| {
            cms_core::service::taxonomy::create_category(
                c,
                &crate::common::cli(),
                None,
                "Interviews",
                None,
                "",
            )
        })
        .id;
    let tag = tag::find_by_slug(&mut env.conn(), "heartstopper")
        .expect("q")
        .expect("tag")
        .id;
    let video = env
        .write(|c| {
            cms_core::service::videos::create(
                c,
                &crate::common::cli(),
                &video::VideoInput {
                    title: "A video".into(),
                    ..Default::default()
                },
            )
        })
        .id;
    let token = env
        .write(|c| api_token::create(c, "t", &["posts:write".into()], None))
        .0
        .id;
    let a = env.album_with_photos(&["Events"], "Party", 2);
    let import = env.write(|c| {
        Ok(cms_core::models::job::enqueue_returning(
            c,
            "import_gallery",
            &serde_json::json!({}),
        )?)
    });
    Ids {
        gallery: a.category_id.expect("category"),
        album: a.id,
        import,
        post: p.id,
        revision,
        category,
        tag,
        video,
        user: editor,
        token,
    }
}

fn request(method: &str, path: &str) -> test::TestRequest {
    match method {
        "get" => test::TestRequest::get().uri(path),
        _ => test::TestRequest::post()
            .uri(path)
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload("title=x&name=x"),
    }
}

async fn every_route_requires_login(backend: Backend) {
    let env = TestEnv::new(backend);
    let ids = seed(&env);
    let app = env.app().await;
    for (method, path, access) in ROUTES {
        let url = concrete(path, &ids);
        let mut anon = Client::new();
        if *method == "post" {
            // Anonymous unsafe requests fail CSRF (there is no session) before anything else.
            let page = anon.send(&app, request(method, &url)).await;
            assert_eq!(page.status, 403, "{method} {url}");
            continue;
        }
        let page = anon.send(&app, request(method, &url)).await;
        match access {
            // Public pages never ask for a login (the second step of a login sends a browser
            // without a pending one back to the start, which is not the same).
            Access::Public => assert!(
                !page
                    .header("location")
                    .is_some_and(|l| l.starts_with("/admin/login?next=")),
                "{url} is public"
            ),
            _ => {
                assert_eq!(page.status, 303, "{method} {url} needs a login");
                assert!(
                    page.header("location")
                        .is_some_and(|l| l.starts_with("/admin/login?next=")),
                    "{url}"
                );
            }
        }
    }
}

async fn editors_cannot_use_admin_routes(backend: Backend) {
    let env = TestEnv::new(backend);
    let ids = seed(&env);
    let app = env.app().await;
    let mut editor = Client::new();
    editor.login(&app, "editor@example.org", PASSWORD).await;
    let token = csrf_of(&editor.get(&app, "/admin").await);
    let mut admin_routes = 0;
    for (method, path, access) in ROUTES.iter().filter(|r| r.1 != "/logout") {
        let url = concrete(path, &ids);
        let page = if *method == "post" {
            let req = request(method, &url).insert_header(("X-CSRF-Token", token.as_str()));
            editor.send(&app, req).await
        } else {
            editor.send(&app, request(method, &url)).await
        };
        match access {
            Access::Admin => {
                admin_routes += 1;
                assert_eq!(page.status, 403, "{method} {url} is for admins only");
            }
            Access::Editor => assert_ne!(page.status, 403, "{method} {url} is for editors"),
            _ => {}
        }
    }
    assert!(admin_routes >= 7);
}

async fn every_unsafe_route_checks_csrf(backend: Backend) {
    let env = TestEnv::new(backend);
    let ids = seed(&env);
    let app = env.app().await;
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let good = csrf_of(&admin.get(&app, "/admin").await);
    let mut checked = 0;
    for (method, path, _) in ROUTES.iter().filter(|r| r.0 == "post") {
        let url = concrete(path, &ids);
        let none = admin.send(&app, request(method, &url)).await;
        assert_eq!(none.status, 403, "{url} without a token");
        let wrong = admin
            .send(
                &app,
                request(method, &url)
                    .insert_header(("X-CSRF-Token", "0".repeat(good.len()).as_str())),
            )
            .await;
        assert_eq!(wrong.status, 403, "{url} with a wrong token");
        let cross = admin
            .send(
                &app,
                request(method, &url)
                    .insert_header(("X-CSRF-Token", good.as_str()))
                    .insert_header(("Sec-Fetch-Site", "cross-site")),
            )
            .await;
        assert_eq!(cross.status, 403, "{url} from another site");
        checked += 1;
    }
    assert!(checked >= 19, "{checked} unsafe routes");
    // The token in a form field works as well as the header (and the form still parses).
    let ok = admin
        .post(
            &app,
            "/admin/preview",
            &[("_csrf", &good), ("body", "*hi*")],
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, "<p><em>hi</em></p>\n");
    // Never from the address: a token in a URL ends up in logs and histories.
    let in_url = admin
        .send(
            &app,
            test::TestRequest::post()
                .uri(&format!("/admin/preview?_csrf={good}"))
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload("body=x"),
        )
        .await;
    assert_eq!(in_url.status, 403);
    // A multipart form (uploads without script): its first part, and only that.
    let b = "XcsrfX";
    let csv: &[u8] = b"email\nfan@example.org\n";
    let mp = |fields: &[(&str, &str)]| {
        test::TestRequest::post()
            .uri("/admin/subscribers/import")
            .insert_header(("Content-Type", format!("multipart/form-data; boundary={b}")))
            .set_payload(crate::common::multipart(
                b,
                fields,
                &[("file", "a.csv", csv)],
            ))
    };
    let first = admin
        .send(&app, mp(&[("_csrf", &good), ("source", "")]))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let later = admin
        .send(&app, mp(&[("source", ""), ("_csrf", &good)]))
        .await;
    assert_eq!(later.status, 403);
}

async fn admin_pages_carry_security_headers(backend: Backend) {
    let env = TestEnv::new(backend);
    seed(&env);
    let app = env.app().await;
    let mut admin = Client::new();
    for page in [
        admin.get(&app, "/admin/login").await,
        admin.login(&app, "admin@example.org", PASSWORD).await,
        admin.get(&app, "/admin/posts").await,
        admin.get(&app, "/admin/nope").await,
    ] {
        let csp = page.header("content-security-policy").expect("CSP");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(
            page.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
        assert!(page.header("referrer-policy").is_some());
    }
    assert_eq!(admin.get(&app, "/admin/nope").await.status, 404);
}

async fn control_characters_are_refused_on_every_surface(backend: Backend) {
    let env = TestEnv::new(backend);
    seed(&env);
    let app = env.app().await;
    // Addresses and queries, public and API: 400, never a 500 (PostgreSQL refuses a NUL).
    for path in [
        "/posts/a%00b",
        "/tag/a%00b",
        "/albums/x%00",
        "/search?q=a%00b",
        "/api/v1/posts?tag=a%00b",
        "/api/v1/posts/a%1Bb",
        "/admin/login?next=%00",
    ] {
        let page = crate::common::get(&app, path).await;
        assert_eq!(page.status, 400, "{path}: {}", page.body);
    }
    let api = crate::common::get(&app, "/api/v1/posts?tag=a%00b").await;
    assert_eq!(
        api.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    // Forms: the login and the sign-up form.
    let mut c = Client::new();
    let r = c
        .post_form(
            &app,
            "/admin/login",
            "/admin/login",
            &[("email", "admin@example.org\0"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = crate::common::send(
        &app,
        test::TestRequest::post()
            .uri("/subscribe")
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload("email=fan%00%40example.org&topics=news"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Text with tabs and line breaks is text.
    let ok = crate::common::get(&app, "/search?q=a%09b%0D%0Ac").await;
    assert_eq!(ok.status, 200);
}

async fn public_answers_carry_security_headers(backend: Backend) {
    let env = TestEnv::new(backend);
    seed(&env);
    let app = env.app().await;
    for path in [
        "/",
        "/gallery",
        "/feed.atom",
        "/api/v1/posts",
        "/no/such/page",
        "/healthz",
    ] {
        let page = crate::common::get(&app, path).await;
        assert_eq!(
            page.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert!(page.header("referrer-policy").is_some(), "{path}");
        let csp = page.header("content-security-policy").expect("CSP");
        assert!(csp.contains("frame-ancestors"), "{path}: {csp}");
        assert!(
            page.header("strict-transport-security").is_none(),
            "{path}: http site"
        );
    }
    let home = crate::common::get(&app, "/").await;
    let csp = home.header("content-security-policy").expect("CSP");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'self'"));
    // HSTS once the site says it is served over https.
    let https = TestEnv::with(backend, &[("base_url", "https://keepsake.test")]);
    let app = https.app().await;
    let home = crate::common::get(&app, "/").await;
    assert_eq!(
        home.header("strict-transport-security").as_deref(),
        Some("max-age=31536000")
    );
}

async fn head_answers_wherever_get_does(backend: Backend) {
    let env = TestEnv::new(backend);
    seed(&env);
    let app = env.app().await;
    for path in [
        "/healthz",
        "/api/openapi.json",
        "/admin/login",
        "/",
        "/feed.rss",
    ] {
        let get = crate::common::send(&app, test::TestRequest::get().uri(path)).await;
        let head = crate::common::send(
            &app,
            test::TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(path),
        )
        .await;
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {path}"
        );
    }
    // Admin pages behind a login answer HEAD as GET does: a redirect to the login.
    let head = crate::common::send(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/admin/posts"),
    )
    .await;
    assert_eq!(head.status, 303, "{}", head.body);
}

backend_tests!(
    control_characters_are_refused_on_every_surface,
    public_answers_carry_security_headers,
    head_answers_wherever_get_does,
    every_route_requires_login,
    editors_cannot_use_admin_routes,
    every_unsafe_route_checks_csrf,
    admin_pages_carry_security_headers
);

//! The write routes: tokens and scopes on every route, the post lifecycle with notifications,
//! bad bodies, gallery uploads through the ingest pipeline, videos and taxonomy, rate limits.

use cms_core::models::subscriber::{self, Topic};
use cms_core::models::{audit, job};
use cms_core::notify;

use super::{body, call, json, problem, token};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, multipart};
use crate::gallery::files;

async fn every_write_route_needs_a_token_with_its_scope(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let other = token(&env, "reader", &["drafts:read"]);
    let everything = token(
        &env,
        "all",
        &[
            "posts:write",
            "gallery:write",
            "videos:write",
            "webhooks:write",
            "subscribers:write",
            "drafts:read",
        ],
    );
    assert_eq!(cms_admin::api::ROUTES.len(), cms_admin::api::SCOPES.len());
    for ((method, pattern), scope) in cms_admin::api::ROUTES.iter().zip(cms_admin::api::SCOPES) {
        let path = pattern
            .replace("{slug}", "nothing-here")
            .replace("{id}", "999999");
        let m = method.to_uppercase();
        let anon = call(&app, &m, &path, None, body(serde_json::json!({}))).await;
        let p = problem(&anon, 401);
        assert!(
            p["detail"].as_str().is_some_and(|d| d.contains(scope)),
            "{m} {path}: {p}"
        );
        assert!(anon.header("www-authenticate").is_some(), "{m} {path}");
        problem(
            &call(
                &app,
                &m,
                &path,
                Some("ks_forged"),
                body(serde_json::json!({})),
            )
            .await,
            401,
        );
        let wrong = call(&app, &m, &path, Some(&other), body(serde_json::json!({}))).await;
        let p = problem(&wrong, 403);
        assert!(
            p["detail"].as_str().is_some_and(|d| d.contains(scope)),
            "{p}"
        );
        // With the scope, the request reaches the handler (which finds nothing or wants more,
        // or, for a list, answers it).
        let ok = call(
            &app,
            &m,
            &path,
            Some(&everything),
            body(serde_json::json!({})),
        )
        .await;
        assert!(
            [400, 404, 415, 422].contains(&ok.status) || (m == "GET" && ok.status == 200),
            "{m} {path}: {} {}",
            ok.status,
            ok.body
        );
    }
}

async fn posts_are_written_published_and_deleted(backend: Backend) {
    let env = TestEnv::new(backend);
    env.write(|c| subscriber::import_confirmed(c, "fan@example.org", &[Topic::News], "test"));
    let app = env.app().await;
    let t = token(&env, "newsdesk", &["posts:write"]);
    let cat = call(
        &app,
        "POST",
        "/api/v1/categories",
        Some(&t),
        body(serde_json::json!({"name": "Press", "description": "Interviews"})),
    )
    .await;
    assert_eq!(cat.status, 201, "{}", cat.body);
    assert_eq!(json(&cat)["slug"], "press");

    let created = call(
        &app,
        "POST",
        "/api/v1/posts",
        Some(&t),
        body(serde_json::json!({
            "title": "Kit & Joe on \"Season 3\" / the finale",
            "body": "The **interview** in full.",
            "kind": "article",
            "categories": ["press"],
            "tags": ["Interviews", "Heartstopper"],
            "notify_subscribers": true,
            "source": {"publication": "Netflix Tudum", "url": "https://www.netflix.com/tudum", "date": "2024-08-03"}
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let p = json(&created);
    let slug = p["slug"].as_str().expect("slug").to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("http://keepsake.test/api/v1/posts/{slug}"))
    );
    assert_eq!(p["status"], "draft");
    assert_eq!(p["kind"], "article");
    assert!(
        p["html"]
            .as_str()
            .is_some_and(|h| h.contains("<strong>interview</strong>"))
    );
    assert_eq!(p["categories"][0]["slug"], "press");
    assert_eq!(p["tags"].as_array().map(Vec::len), Some(2));
    assert_eq!(p["source"]["publication"], "Netflix Tudum");
    let id = p["id"].as_i64().expect("id");
    problem(&get(&app, &format!("/api/v1/posts/{slug}")).await, 404);

    // A partial update changes only what it names.
    let patched = call(
        &app,
        "PATCH",
        &format!("/api/v1/posts/{slug}"),
        Some(&t),
        body(serde_json::json!({"excerpt": "Short.", "tags": ["Interviews"], "source": null})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let pv = json(&patched);
    assert_eq!(pv["excerpt"], "Short.");
    assert_eq!(pv["title"], p["title"]);
    assert_eq!(pv["tags"].as_array().map(Vec::len), Some(1));
    assert!(pv["source"].is_null());
    assert_eq!(pv["categories"][0]["slug"], "press", "untouched");

    // Schedule, then publish now: readers see it and subscribers are queued once.
    let sched = call(
        &app,
        "POST",
        &format!("/api/v1/posts/{slug}/schedule"),
        Some(&t),
        body(serde_json::json!({"publish_at": "2099-01-01T10:00:00+01:00"})),
    )
    .await;
    assert_eq!(sched.status, 200, "{}", sched.body);
    assert_eq!(json(&sched)["status"], "scheduled");
    assert_eq!(json(&sched)["publish_at"], "2099-01-01T09:00:00Z");
    let past = call(
        &app,
        "POST",
        &format!("/api/v1/posts/{slug}/schedule"),
        Some(&t),
        body(serde_json::json!({"publish_at": "2001-01-01T10:00:00Z"})),
    )
    .await;
    assert_eq!(problem(&past, 422)["field"], "publish_at");
    let published = call(
        &app,
        "POST",
        &format!("/api/v1/posts/{slug}/publish"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(json(&published)["status"], "published");
    assert_eq!(
        get(&app, &format!("/api/v1/posts/{slug}")).await.status,
        200
    );
    let again = call(
        &app,
        "POST",
        &format!("/api/v1/posts/{slug}/publish"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(again.status, 200);
    let key = format!("fanout:{}", notify::Item::Post(id).key());
    assert!(
        job::find_by_key(&mut env.conn(), &key)
            .expect("q")
            .is_some(),
        "fan-out scheduled"
    );
    while notify::run_next(&env.state.db, "t", "keepsake.test")
        .expect("fan-out")
        .is_some()
    {}
    assert_eq!(
        cms_core::models::outbox::status_counts(&mut env.conn()).expect("q"),
        vec![(cms_core::models::outbox::OutboxStatus::Queued, 1)],
        "one email for one subscriber, however often it is published"
    );

    // Unpublish, delete.
    let un = call(
        &app,
        "POST",
        &format!("/api/v1/posts/{slug}/unpublish"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(json(&un)["status"], "draft");
    problem(&get(&app, &format!("/api/v1/posts/{slug}")).await, 404);
    let del = call(
        &app,
        "DELETE",
        &format!("/api/v1/posts/{slug}"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(del.status, 204);
    problem(
        &call(
            &app,
            "DELETE",
            &format!("/api/v1/posts/{slug}"),
            Some(&t),
            None,
        )
        .await,
        404,
    );

    // The audit log names the token.
    let log = audit::recent(&mut env.conn(), 50, 0).expect("q");
    assert!(
        log.iter()
            .any(|e| e.actor == "token:newsdesk" && e.action == "post.create")
    );
    assert!(
        log.iter()
            .any(|e| e.actor == "token:newsdesk" && e.action == "post.delete")
    );
}

async fn bad_bodies_are_problems_naming_the_field(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let t = token(&env, "w", &["posts:write"]);
    let post =
        |b: Option<(&'static str, Vec<u8>)>| call(&app, "POST", "/api/v1/posts", Some(&t), b);
    let p = problem(
        &post(Some(("application/json", b"{\"title\": ".to_vec()))).await,
        400,
    );
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("JSON")),
        "{p}"
    );
    let p = problem(
        &post(body(serde_json::json!({"title": "x", "author_id": 1}))).await,
        400,
    );
    assert_eq!(p["field"], "author_id", "no mass assignment: {p}");
    let p = problem(&post(body(serde_json::json!({"title": 5}))).await, 400);
    assert_eq!(p["field"], "title", "{p}");
    let p = problem(
        &post(body(serde_json::json!({"body": "no title"}))).await,
        400,
    );
    assert_eq!(p["field"], "title", "{p}");
    let p = problem(
        &post(body(
            serde_json::json!({"title": "x", "source": {"isbn": "1"}}),
        ))
        .await,
        400,
    );
    assert_eq!(p["field"], "source.isbn", "{p}");
    let p = problem(&post(body(serde_json::json!({"title": "  "}))).await, 422);
    assert_eq!(p["field"], "title");
    let p = problem(
        &post(body(
            serde_json::json!({"title": "x", "status": "scheduled"}),
        ))
        .await,
        422,
    );
    assert_eq!(p["field"], "publish_at");
    let p = problem(
        &post(body(
            serde_json::json!({"title": "x", "publish_at": "tomorrow"}),
        ))
        .await,
        400,
    );
    assert_eq!(p["field"], "publish_at");
    let p = problem(
        &post(body(
            serde_json::json!({"title": "x", "categories": ["nope"]}),
        ))
        .await,
        409,
    );
    assert_eq!(p["field"], "categories");
    let p = problem(
        &post(body(serde_json::json!({"title": "x", "kind": "essay"}))).await,
        400,
    );
    assert_eq!(p["field"], "kind");
    problem(&post(Some(("text/plain", b"title=x".to_vec()))).await, 415);
    problem(&post(None).await, 415);
    problem(&post(Some(("application/json", Vec::new()))).await, 400);
    let huge = serde_json::json!({"title": "x", "body": "a".repeat(3 << 20)});
    problem(&post(body(huge)).await, 413);
    problem(&post(body(serde_json::json!([1, 2]))).await, 400);
    // One JSON object and nothing else: trailing bytes, an array in the object's place, a
    // NUL or other control character in a string are refused alike on both backends.
    let p = problem(
        &post(Some(("application/json", br#"{"title":"x"} xxx"#.to_vec()))).await,
        400,
    );
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("trailing")),
        "{p}"
    );
    problem(&post(body(serde_json::json!(["Array title"]))).await, 400);
    problem(
        &post(body(serde_json::json!({"title": "a\u{0}b"}))).await,
        400,
    );
    problem(
        &post(body(
            serde_json::json!({"title": "x", "body": "bell \u{7}"}),
        ))
        .await,
        400,
    );
    let tags = token(&env, "tags", &["posts:write"]);
    problem(
        &call(
            &app,
            "POST",
            "/api/v1/tags",
            Some(&tags),
            body(serde_json::json!(["Array Tag"])),
        )
        .await,
        400,
    );
    // Nothing was written by any of these.
    assert_eq!(
        cms_core::models::post::count(&mut env.conn()).expect("q"),
        0
    );
    assert_eq!(
        cms_core::models::tag::all(&mut env.conn())
            .expect("tags")
            .len(),
        0
    );
}

async fn the_gallery_is_built_through_the_api(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let t = token(&env, "uploader", &["gallery:write"]);
    let top = call(
        &app,
        "POST",
        "/api/v1/gallery/categories",
        Some(&t),
        body(serde_json::json!({"name": "Events"})),
    )
    .await;
    assert_eq!(top.status, 201, "{}", top.body);
    let top_id = json(&top)["id"].as_i64().expect("id");
    let album = call(
        &app,
        "POST",
        "/api/v1/albums",
        Some(&t),
        body(serde_json::json!({"title": "Premiere / Night", "category_id": top_id, "credit": "Staff"})),
    )
    .await;
    assert_eq!(album.status, 201, "{}", album.body);
    let a = json(&album);
    assert_eq!(a["status"], "draft");
    let slug = a["slug"].as_str().expect("slug").to_string();
    assert_eq!(a["categories"][0]["name"], "Events");

    // Several files in one request: two images, a duplicate, and something that is not one.
    let one = files::jpeg(320, 200, 1);
    let two = files::png(300, 300, 2);
    let form = multipart(
        "XapiX",
        &[],
        &[
            ("file", "one.jpg", &one),
            ("file", "two.png", &two),
            ("file", "again.jpg", &one),
            ("file", "notes.txt", b"just text"),
        ],
    );
    let up = call(
        &app,
        "POST",
        &format!("/api/v1/albums/{slug}/photos"),
        Some(&t),
        Some(("multipart/form-data; boundary=XapiX", form)),
    )
    .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let r = json(&up);
    assert_eq!(r["added"].as_array().map(Vec::len), Some(2), "{r}");
    assert_eq!(r["duplicates"], serde_json::json!(["again.jpg"]));
    assert_eq!(r["refused"][0]["file"], "notes.txt");
    let photo_id = r["added"][0]["id"].as_i64().expect("id");
    assert!(
        r["added"][0]["sizes"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    let refused_only = multipart("XapiX", &[], &[("file", "bad.bin", b"\x00\x01\x02")]);
    let bad = call(
        &app,
        "POST",
        &format!("/api/v1/albums/{slug}/photos"),
        Some(&t),
        Some(("multipart/form-data; boundary=XapiX", refused_only)),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    problem(
        &call(
            &app,
            "POST",
            &format!("/api/v1/albums/{slug}/photos"),
            Some(&t),
            body(serde_json::json!({})),
        )
        .await,
        415,
    );

    // Drafts stay hidden until the album is published.
    problem(&get(&app, &format!("/api/v1/albums/{slug}")).await, 404);
    problem(&get(&app, &format!("/api/v1/photos/{photo_id}")).await, 404);
    let published = call(
        &app,
        "PATCH",
        &format!("/api/v1/albums/{slug}"),
        Some(&t),
        body(serde_json::json!({"status": "published", "cover_photo_id": photo_id, "description": "Red carpet"})),
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(json(&published)["cover"]["id"], photo_id);
    let public = json(&get(&app, &format!("/api/v1/albums/{slug}")).await);
    assert_eq!(public["photo_count"], 2);
    assert_eq!(public["description"], "Red carpet");
    let wrong_cover = call(
        &app,
        "PATCH",
        &format!("/api/v1/albums/{slug}"),
        Some(&t),
        body(serde_json::json!({"cover_photo_id": 999999})),
    )
    .await;
    // A reference to something that is not there conflicts with what is stored: 409.
    assert_eq!(problem(&wrong_cover, 409)["field"], "cover_photo_id");

    // Photo text, then deletion.
    let cap = call(
        &app,
        "PATCH",
        &format!("/api/v1/photos/{photo_id}"),
        Some(&t),
        body(serde_json::json!({"caption": "Kit & Joe <arrive>"})),
    )
    .await;
    assert_eq!(json(&cap)["caption"], "Kit & Joe <arrive>");
    assert_eq!(
        json(&get(&app, &format!("/api/v1/photos/{photo_id}")).await)["caption"],
        "Kit & Joe <arrive>"
    );
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/photos/{photo_id}"),
            Some(&t),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        json(&get(&app, &format!("/api/v1/albums/{slug}")).await)["photo_count"],
        1
    );
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/albums/{slug}"),
            Some(&t),
            None
        )
        .await
        .status,
        204
    );
    problem(&get(&app, &format!("/api/v1/albums/{slug}")).await, 404);
}

async fn videos_categories_and_tags_are_written(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let v = token(&env, "vault", &["videos:write"]);
    let vtt =
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nHello.\n\n00:00:05.000 --> 00:00:07.500\nBye.\n";
    let created = call(
        &app,
        "POST",
        "/api/v1/videos",
        Some(&v),
        body(serde_json::json!({
            "title": "Behind the Scenes",
            "embed_url": "https://youtu.be/aaaaaaaaaaa",
            "transcript": vtt,
            "release_date": "2023-02-13",
            "published": true
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let slug = json(&created)["slug"].as_str().expect("slug").to_string();
    let read = json(&get(&app, &format!("/api/v1/videos/{slug}")).await);
    assert_eq!(read["transcript"]["cues"][1]["end_seconds"], 7.5);
    assert_eq!(read["embed"]["id"], "aaaaaaaaaaa");
    let bad = call(
        &app,
        "POST",
        "/api/v1/videos",
        Some(&v),
        body(serde_json::json!({"title": "x", "embed_url": "https://evil.example/x"})),
    )
    .await;
    assert_eq!(problem(&bad, 422)["field"], "embed_url");
    let patched = call(
        &app,
        "PATCH",
        &format!("/api/v1/videos/{slug}"),
        Some(&v),
        body(serde_json::json!({"published": false, "duration_seconds": null, "series": "GQ"})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(json(&patched)["status"], "draft");
    assert_eq!(json(&patched)["series"], "GQ");
    problem(&get(&app, &format!("/api/v1/videos/{slug}")).await, 404);
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/videos/{slug}"),
            Some(&v),
            None
        )
        .await
        .status,
        204
    );

    let p = token(&env, "tax", &["posts:write"]);
    let c = call(
        &app,
        "POST",
        "/api/v1/categories",
        Some(&p),
        body(serde_json::json!({"name": "News"})),
    )
    .await;
    assert_eq!(c.status, 201);
    let dup = call(
        &app,
        "POST",
        "/api/v1/categories",
        Some(&p),
        body(serde_json::json!({"name": "Other", "slug": "news"})),
    )
    .await;
    problem(&dup, 409);
    let r = call(
        &app,
        "PATCH",
        "/api/v1/categories/news",
        Some(&p),
        body(serde_json::json!({"name": "Latest News"})),
    )
    .await;
    assert_eq!(json(&r)["name"], "Latest News");
    let t = call(
        &app,
        "POST",
        "/api/v1/tags",
        Some(&p),
        body(serde_json::json!({"name": "Joe Locke"})),
    )
    .await;
    assert_eq!(json(&t)["slug"], "joe-locke");
    assert!(
        json(&get(&app, "/api/v1/tags").await)
            .as_array()
            .is_some_and(|a| a.len() == 1)
    );
    assert_eq!(
        call(&app, "DELETE", "/api/v1/tags/joe-locke", Some(&p), None)
            .await
            .status,
        204
    );
    assert_eq!(
        call(&app, "DELETE", "/api/v1/categories/news", Some(&p), None)
            .await
            .status,
        204
    );
    assert!(
        json(&get(&app, "/api/v1/categories").await)
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}

async fn each_token_has_its_own_rate_limit(backend: Backend) {
    let env = TestEnv::with(backend, &[("api_rate", "20")]);
    let app = env.app().await;
    let a = token(&env, "a", &["drafts:read"]);
    let b = token(&env, "b", &["drafts:read"]);
    // 20 a minute allows a burst of 2, then asks the client to wait.
    for _ in 0..2 {
        assert_eq!(
            call(&app, "GET", "/api/v1/posts", Some(&a), None)
                .await
                .status,
            200
        );
    }
    let limited = call(&app, "GET", "/api/v1/posts", Some(&a), None).await;
    problem(&limited, 429);
    assert!(
        limited
            .header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/posts", Some(&b), None)
            .await
            .status,
        200
    );
    assert_eq!(
        get(&app, "/api/v1/posts").await.status,
        200,
        "readers without a token are not limited per token"
    );
}

/// The limit's arithmetic, at chosen instants: a burst of a tenth of the minute's allowance,
/// then one request per interval, the wait said in whole seconds, a full burst again after a
/// quiet minute, each token on its own.
async fn the_rate_limit_refills_at_its_rate(backend: Backend) {
    let env = TestEnv::new(backend);
    token(&env, "a", &["drafts:read"]);
    token(&env, "b", &["drafts:read"]);
    let ids: Vec<i64> = {
        use cms_core::schema::api_tokens;
        use diesel::prelude::*;
        api_tokens::table
            .order(api_tokens::id)
            .select(api_tokens::id)
            .load(&mut env.conn())
            .expect("ids")
    };
    let (a, b) = (ids[0], ids[1]);
    let l = cms_core::api::TokenLimiter::new(60);
    let mut c = env.conn();
    let t0: i64 = 1_800_000_000_000_000;
    let sec = 1_000_000;
    for i in 0..6 {
        assert!(l.check_at(&mut c, a, t0).is_ok(), "burst request {i}");
    }
    let p = l.check_at(&mut c, a, t0).expect_err("over the burst");
    assert_eq!((p.status, p.retry_after), (429, Some(1)));
    assert!(l.check_at(&mut c, b, t0).is_ok(), "b has its own allowance");
    assert!(l.check_at(&mut c, a, t0 + sec / 2).is_err(), "not yet");
    assert!(l.check_at(&mut c, a, t0 + sec).is_ok(), "one a second");
    assert!(l.check_at(&mut c, a, t0 + sec).is_err());
    let p = l
        .check_at(&mut c, a, t0 + sec + sec / 10)
        .expect_err("wait");
    assert_eq!(p.retry_after, Some(1), "0.9 s is said as 1 s");
    for i in 0..6 {
        assert!(
            l.check_at(&mut c, a, t0 + 70 * sec).is_ok(),
            "a full burst after a quiet minute ({i})"
        );
    }
    assert!(l.check_at(&mut c, a, t0 + 70 * sec).is_err());
    let off = cms_core::api::TokenLimiter::new(0);
    for _ in 0..100 {
        assert!(off.check_at(&mut c, a, t0).is_ok(), "0 is no limit");
    }
}

/// What the OpenAPI description promises, the handlers keep: whole numbers written `60.0` are
/// integers, a slug is exactly a slug, a taken slug and a reference to nothing are conflicts
/// (409, naming the field), and an upload takes only `file` parts.
async fn the_handlers_keep_the_description(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let t = token(&env, "w", &["posts:write", "gallery:write", "videos:write"]);
    let send = |m: &'static str, path: String, v: serde_json::Value| {
        let t = t.clone();
        let app = &app;
        async move { call(app, m, &path, Some(&t), body(v)).await }
    };
    let v = send(
        "POST",
        "/api/v1/videos".into(),
        serde_json::json!({"title": "Trailer", "duration_seconds": 60.0}),
    )
    .await;
    assert_eq!(v.status, 201, "{}", v.body);
    assert_eq!(json(&v)["duration_seconds"], 60);
    let frac = send(
        "POST",
        "/api/v1/videos".into(),
        serde_json::json!({"title": "Clip", "duration_seconds": 60.5}),
    )
    .await;
    assert_eq!(problem(&frac, 400)["field"], "duration_seconds");
    for bad in ["", " trailer", "Trailer", "a--b"] {
        let r = send(
            "POST",
            "/api/v1/posts".into(),
            serde_json::json!({"title": "x", "slug": bad}),
        )
        .await;
        assert_eq!(problem(&r, 422)["field"], "slug", "slug {bad:?}");
    }
    let first = send(
        "POST",
        "/api/v1/posts".into(),
        serde_json::json!({"title": "First", "slug": "first"}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = send(
        "POST",
        "/api/v1/posts".into(),
        serde_json::json!({"title": "Again", "slug": "first"}),
    )
    .await;
    assert_eq!(problem(&again, 409)["field"], "slug");
    // Dates are written YYYY-MM-DD exactly; fields are named as the JSON names them.
    for bad in ["24-01-01", "+002024-01-01", "2024-1-01"] {
        let r = send(
            "POST",
            "/api/v1/videos".into(),
            serde_json::json!({"title": "Clip", "release_date": bad}),
        )
        .await;
        assert_eq!(problem(&r, 400)["field"], "release_date", "{bad}");
    }
    let r = send(
        "POST",
        "/api/v1/videos".into(),
        serde_json::json!({"title": "Clip", "duration_seconds": -1}),
    )
    .await;
    assert_eq!(problem(&r, 422)["field"], "duration_seconds");
    let r = send(
        "POST",
        "/api/v1/posts".into(),
        serde_json::json!({"title": "x", "source": {"url": "javascript:1"}}),
    )
    .await;
    assert_eq!(problem(&r, 422)["field"], "source.url");
    let r = send(
        "POST",
        "/api/v1/tags".into(),
        serde_json::json!({"name": "???"}),
    )
    .await;
    assert_eq!(
        problem(&r, 422)["field"],
        "name",
        "punctuation alone is no tag"
    );
    // References to nothing are conflicts naming the field, wherever they are.
    for (path, body, field) in [
        (
            "/api/v1/albums",
            serde_json::json!({"title": "a", "category_id": 999}),
            "category_id",
        ),
        (
            "/api/v1/gallery/categories",
            serde_json::json!({"name": "x", "parent_id": 999}),
            "parent_id",
        ),
        (
            "/api/v1/categories",
            serde_json::json!({"name": "x", "parent_id": 999}),
            "parent_id",
        ),
    ] {
        let r = send("POST", path.into(), body).await;
        assert_eq!(problem(&r, 409)["field"], field, "{path}");
    }
    let trailer_slug = json(&v)["slug"].as_str().expect("slug").to_string();
    let taken = send(
        "POST",
        "/api/v1/videos".into(),
        serde_json::json!({"title": "Other", "slug": trailer_slug}),
    )
    .await;
    assert_eq!(problem(&taken, 409)["field"], "slug");
    let cat = send(
        "POST",
        "/api/v1/categories".into(),
        serde_json::json!({"name": "News", "slug": "news"}),
    )
    .await;
    assert_eq!(cat.status, 201, "{}", cat.body);
    let cat2 = send(
        "POST",
        "/api/v1/categories".into(),
        serde_json::json!({"name": "More news", "slug": "news"}),
    )
    .await;
    assert_eq!(problem(&cat2, 409)["field"], "slug");
    let nothing = send(
        "POST",
        "/api/v1/posts".into(),
        serde_json::json!({"title": "x", "featured_photo_id": 424242}),
    )
    .await;
    assert_eq!(problem(&nothing, 409)["field"], "featured_photo_id");
    let album = send(
        "POST",
        "/api/v1/albums".into(),
        serde_json::json!({"title": "Premiere", "category_id": null}),
    )
    .await;
    assert_eq!(album.status, 201, "{}", album.body);
    let slug = json(&album)["slug"].as_str().expect("slug").to_string();
    let jpeg = files::jpeg(64, 48, 1);
    let extra = multipart(
        "XapiX",
        &[("caption", "hello")],
        &[("file", "one.jpg", &jpeg)],
    );
    let r = call(
        &app,
        "POST",
        &format!("/api/v1/albums/{slug}/photos"),
        Some(&t),
        Some(("multipart/form-data; boundary=XapiX", extra)),
    )
    .await;
    let p = problem(&r, 400);
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("unknown part 'caption'")),
        "{p}"
    );
    let extra_file = multipart(
        "XapiX",
        &[],
        &[("file", "one.jpg", &jpeg), ("bogus", "two.jpg", &jpeg)],
    );
    let r = call(
        &app,
        "POST",
        &format!("/api/v1/albums/{slug}/photos"),
        Some(&t),
        Some(("multipart/form-data; boundary=XapiX", extra_file)),
    )
    .await;
    let p = problem(&r, 400);
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("unknown part 'bogus'")),
        "{p}"
    );
    let with_empty = multipart(
        "XapiX",
        &[],
        &[("file", "one.jpg", &jpeg), ("file", "empty.jpg", b"")],
    );
    let r = call(
        &app,
        "POST",
        &format!("/api/v1/albums/{slug}/photos"),
        Some(&t),
        Some(("multipart/form-data; boundary=XapiX", with_empty)),
    )
    .await;
    assert_eq!(
        problem(&r, 400)["field"],
        "file",
        "an empty part is refused whole"
    );
    let album_id = json(&album)["id"].as_i64().expect("id");
    let kept = cms_core::models::photo::hashes_in_album(&mut env.conn(), album_id).expect("q");
    assert!(kept.is_empty(), "nothing of a refused upload is kept");
}

backend_tests!(
    the_handlers_keep_the_description,
    every_write_route_needs_a_token_with_its_scope,
    posts_are_written_published_and_deleted,
    bad_bodies_are_problems_naming_the_field,
    the_gallery_is_built_through_the_api,
    videos_categories_and_tags_are_written,
    each_token_has_its_own_rate_limit,
    the_rate_limit_refills_at_its_rate,
);

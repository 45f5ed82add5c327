//! The read routes on the demo archive: shapes, absolute URLs, pagination, drafts, validators,
//! CORS, and problems for every kind of bad request.

use cms_core::models::album::{AlbumStatus, NewAlbum};
use cms_core::models::post::{self, PostInput, PostStatus};
use cms_core::models::video::VideoInput;

use super::{call, json, problem, token};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, get_with};

const BASE: &str = "http://keepsake.test";

async fn every_read_route_answers_published_content(backend: Backend) {
    let env = TestEnv::new(backend);
    env.demo();
    let app = env.app().await;

    // Posts: a page with totals and Link headers, absolute URLs, no pages unless asked.
    let list = get(&app, "/api/v1/posts?per_page=3").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(
        list.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        list.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let v = json(&list);
    assert_eq!(v["per_page"], 3);
    assert_eq!(v["page"], 1);
    let total = v["total"].as_i64().expect("total");
    assert!(total > 3, "{v}");
    assert_eq!(v["pages"].as_i64(), Some((total + 2) / 3));
    assert_eq!(v["items"].as_array().map(Vec::len), Some(3));
    let link = list.header("link").expect("Link header");
    assert!(
        link.contains(&format!(
            "<{BASE}/api/v1/posts?page=2&per_page=3>; rel=\"next\""
        )),
        "{link}"
    );
    assert!(
        link.contains("rel=\"last\"") && !link.contains("rel=\"prev\""),
        "{link}"
    );
    for item in v["items"].as_array().expect("items") {
        assert_eq!(item["status"], "published");
        assert_ne!(item["kind"], "page");
        assert!(
            item["url"].as_str().is_some_and(|u| u.starts_with(BASE)),
            "{item}"
        );
        assert!(
            item["published_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{item}"
        );
        assert!(item.get("markdown").is_none(), "lists carry summaries");
    }
    let default = json(&get(&app, "/api/v1/posts").await);
    assert_eq!(default["per_page"], 20);

    // One post: HTML with embeds as figures, the Markdown source, terms, featured photo.
    let p = get(&app, "/api/v1/posts/heartstopper-season-2-captures").await;
    assert_eq!(p.status, 200, "{}", p.body);
    let p = json(&p);
    assert!(
        p["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("[[album:s02e01-out]]"))
    );
    let html = p["html"].as_str().expect("html");
    assert!(
        html.contains("data-slug=\"s02e01-out\"") && !html.contains("[[album:"),
        "{html}"
    );
    assert!(
        !p["excerpt"].as_str().expect("excerpt").contains("[["),
        "{p}"
    );
    assert_eq!(p["embeds"][0]["kind"], "album");
    assert_eq!(
        p["embeds"][0]["api_url"],
        format!("{BASE}/api/v1/albums/s02e01-out")
    );
    assert!(!p["categories"].as_array().expect("categories").is_empty());
    assert!(!p["tags"].as_array().expect("tags").is_empty());
    let photo = &p["featured_photo"];
    assert!(
        photo["sizes"].as_array().is_some_and(|s| !s.is_empty()),
        "{photo}"
    );
    assert!(
        photo["original"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{BASE}/media/")))
    );

    // Filters.
    let cat = p["categories"][0]["slug"]
        .as_str()
        .expect("slug")
        .to_string();
    let by_cat = json(&get(&app, &format!("/api/v1/posts?category={cat}")).await);
    assert!(
        by_cat["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["slug"] == "heartstopper-season-2-captures")
    );
    let tag = p["tags"][0]["slug"].as_str().expect("slug").to_string();
    assert!(
        json(&get(&app, &format!("/api/v1/posts?tag={tag}")).await)["total"].as_i64() >= Some(1)
    );
    let articles = json(&get(&app, "/api/v1/posts?kind=article&per_page=100").await);
    assert!(
        articles["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["kind"] == "article")
    );
    assert_eq!(
        json(&get(&app, "/api/v1/posts?from=2999-01-01").await)["total"],
        0
    );
    assert_eq!(
        json(&get(&app, "/api/v1/posts?to=1999-01-01").await)["total"],
        0
    );

    // Taxonomy with counts.
    let cats = json(&get(&app, "/api/v1/categories").await);
    assert!(
        cats.as_array()
            .expect("list")
            .iter()
            .any(|c| c["slug"] == cat.as_str() && c["post_count"].as_i64() >= Some(1))
    );
    let tags = json(&get(&app, "/api/v1/tags").await);
    assert!(
        tags.as_array()
            .expect("list")
            .iter()
            .any(|t| t["slug"] == tag.as_str())
    );

    // The gallery tree, with recursive counts, down to the episode albums.
    let tree = json(&get(&app, "/api/v1/gallery/categories").await);
    let tv = &tree[0];
    assert_eq!(tv["name"], "Television Productions");
    let mut node = tv;
    let mut depth = 0;
    while node["albums"].as_array().is_some_and(Vec::is_empty) {
        node = &node["children"][0];
        depth += 1;
        assert!(depth < 6, "{tree}");
    }
    assert_eq!(node["albums"].as_array().map(Vec::len), Some(8), "{node}");
    assert_eq!(tv["album_count"], node["album_count"]);
    assert_eq!(tv["photo_count"], node["photo_count"]);

    // An album, its photos (paginated), one photo.
    let a = json(&get(&app, "/api/v1/albums/s02e01-out").await);
    assert_eq!(a["status"], "published");
    assert_eq!(a["categories"].as_array().map(Vec::len), Some(depth + 1));
    let count = a["photo_count"].as_i64().expect("count");
    assert!(count >= 2, "{a}");
    let photos = get(&app, "/api/v1/albums/s02e01-out/photos?per_page=1").await;
    let pv = json(&photos);
    assert_eq!(pv["total"], count);
    assert_eq!(pv["items"][0]["position"], 1);
    assert!(
        photos
            .header("link")
            .is_some_and(|l| l.contains("rel=\"next\""))
    );
    let id = pv["items"][0]["id"].as_i64().expect("id");
    let one = json(&get(&app, &format!("/api/v1/photos/{id}")).await);
    assert_eq!(one["album"]["slug"], "s02e01-out");
    assert!(one["width"].as_i64() > Some(0) && one["height"].as_i64() > Some(0));
    for s in one["sizes"].as_array().expect("sizes") {
        assert!(
            s["width"].as_i64() > Some(0) && s["url"].as_str().is_some_and(|u| u.starts_with(BASE))
        );
    }

    // Videos with transcript cues.
    let vids = json(&get(&app, "/api/v1/videos").await);
    let slug = vids["items"][0]["slug"].as_str().expect("slug").to_string();
    let v = json(&get(&app, &format!("/api/v1/videos/{slug}")).await);
    assert_eq!(v["transcript"]["format"], "vtt");
    let cues = v["transcript"]["cues"].as_array().expect("cues");
    assert!(
        !cues.is_empty() && cues[0]["end_seconds"].as_f64() > cues[0]["start_seconds"].as_f64()
    );
    assert_eq!(v["embed"]["provider"], "youtube");

    // Search.
    let s = json(&get(&app, "/api/v1/search?q=heartstopper&per_page=5").await);
    assert!(s["total"].as_i64() > Some(0));
    assert!(
        s["items"][0]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(BASE))
    );
}

async fn drafts_need_a_token_that_may_read_them(backend: Backend) {
    let env = TestEnv::new(backend);
    let (draft, sched, archived) = env.write(|c| {
        let d = cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &PostInput::new("Secret draft", "Not yet."),
        )?;
        let mut s = PostInput::new("Secret scheduled", "Soon.");
        s.status = PostStatus::Scheduled;
        s.publish_at = Some(cms_core::models::now() + chrono::Duration::days(3));
        let s = cms_core::service::posts::create(c, &crate::common::cli(), &s)?;
        let mut a = PostInput::new("Secret archived", "Gone.");
        a.status = PostStatus::Archived;
        let a = cms_core::service::posts::create(c, &crate::common::cli(), &a)?;
        let mut p = PostInput::new("Public news", "Hello.");
        p.status = PostStatus::Published;
        cms_core::service::posts::create(c, &crate::common::cli(), &p)?;
        Ok((d, s, a))
    });
    env.write(|c| {
        cms_core::service::gallery::create_album(
            c,
            &crate::common::cli(),
            &NewAlbum {
                category_id: None,
                title: "Secret album",
                description: "",
                credit: "",
                status: AlbumStatus::Draft,
            },
        )?;
        cms_core::service::videos::create(
            c,
            &crate::common::cli(),
            &VideoInput {
                title: "Secret video".into(),
                ..VideoInput::default()
            },
        )
    });
    let app = env.app().await;
    let reader = token(&env, "reader", &["posts:write"]);
    let drafts = token(&env, "preview", &["drafts:read"]);

    for bearer in [None, Some(reader.as_str())] {
        let list = call(&app, "GET", "/api/v1/posts", bearer, None).await;
        assert_eq!(list.status, 200);
        assert!(!list.body.contains("Secret"), "{}", list.body);
        assert_eq!(json(&list)["total"], 1);
        for slug in [&draft.slug, &sched.slug, &archived.slug] {
            problem(
                &call(&app, "GET", &format!("/api/v1/posts/{slug}"), bearer, None).await,
                404,
            );
        }
        problem(
            &call(&app, "GET", "/api/v1/albums/secret-album", bearer, None).await,
            404,
        );
        problem(
            &call(&app, "GET", "/api/v1/videos/secret-video", bearer, None).await,
            404,
        );
        for path in [
            "/api/v1/gallery/categories",
            "/api/v1/videos",
            "/api/v1/search?q=secret",
        ] {
            let r = call(&app, "GET", path, bearer, None).await;
            assert_eq!(r.status, 200);
            assert!(!r.body.contains("Secret"), "{path}: {}", r.body);
        }
        let r = call(&app, "GET", "/api/v1/posts?status=draft", bearer, None).await;
        problem(&r, 403);
    }

    // With drafts:read everything is visible, and never cached by others.
    let list = call(&app, "GET", "/api/v1/posts", Some(&drafts), None).await;
    assert_eq!(json(&list)["total"], 4);
    assert_eq!(
        list.header("cache-control").as_deref(),
        Some("private, no-cache")
    );
    assert!(
        list.header("vary")
            .is_some_and(|v| v.contains("Authorization"))
    );
    let only = json(
        &call(
            &app,
            "GET",
            "/api/v1/posts?status=scheduled",
            Some(&drafts),
            None,
        )
        .await,
    );
    assert_eq!(only["total"], 1);
    assert_eq!(only["items"][0]["slug"], sched.slug.as_str());
    assert!(only["items"][0]["publish_at"].is_string());
    let one = call(
        &app,
        "GET",
        &format!("/api/v1/posts/{}", draft.slug),
        Some(&drafts),
        None,
    )
    .await;
    assert_eq!(json(&one)["status"], "draft");
    assert_eq!(
        json(
            &call(
                &app,
                "GET",
                "/api/v1/albums/secret-album",
                Some(&drafts),
                None
            )
            .await
        )["status"],
        "draft"
    );
    assert_eq!(
        json(
            &call(
                &app,
                "GET",
                "/api/v1/videos/secret-video",
                Some(&drafts),
                None
            )
            .await
        )["status"],
        "draft"
    );
    let tree = call(
        &app,
        "GET",
        "/api/v1/gallery/categories",
        Some(&drafts),
        None,
    )
    .await;
    assert_eq!(tree.status, 200);

    // A token that is wrong, revoked or malformed is refused, not ignored.
    problem(
        &call(
            &app,
            "GET",
            "/api/v1/posts",
            Some("ks_not-a-real-token"),
            None,
        )
        .await,
        401,
    );
    let bad_scheme = get_with(&app, "/api/v1/posts", &[("Authorization", "Basic eDp5")]).await;
    let p = problem(&bad_scheme, 401);
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("Bearer")));
    assert!(bad_scheme.header("www-authenticate").is_some());
    env.write(|c| {
        let t = cms_core::models::api_token::list(c)?;
        let id = t.iter().find(|t| t.name == "preview").expect("token").id;
        cms_core::models::api_token::revoke(c, id)
    });
    problem(
        &call(&app, "GET", "/api/v1/posts", Some(&drafts), None).await,
        401,
    );
    let used = env.write(|c| Ok(cms_core::models::api_token::list(c)?));
    assert!(
        used.iter()
            .find(|t| t.name == "preview")
            .is_some_and(|t| t.last_used_at.is_some())
    );
}

async fn bad_requests_are_problems(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    for (path, field) in [
        ("/api/v1/posts?page=0", "page"),
        ("/api/v1/posts?page=abc", "page"),
        ("/api/v1/posts?per_page=101", "per_page"),
        ("/api/v1/posts?per_page=0", "per_page"),
        ("/api/v1/posts?page=1&page=2", "page"),
        ("/api/v1/posts?sort=title", "sort"),
        ("/api/v1/posts?kind=essay", "kind"),
        ("/api/v1/posts?status=lost", "status"),
        ("/api/v1/posts?from=yesterday", "from"),
        ("/api/v1/posts?from=24-01-01", "from"),
        ("/api/v1/posts/some-slug?x=1", "x"),
        ("/api/v1/photos/abc", "id"),
        ("/api/v1/photos/-3", "id"),
        ("/api/v1/search", "q"),
        ("/api/v1/search?q=", "q"),
        ("/api/v1/videos?per_page=1000", "per_page"),
    ] {
        let p = problem(&get(&app, path).await, 400);
        assert_eq!(p["field"], field, "{path}: {p}");
    }
    // A filter naming a category or tag that does not exist: 404, naming the parameter.
    for (path, field) in [
        ("/api/v1/posts?category=nowhere", "category"),
        ("/api/v1/posts?tag=nothing", "tag"),
    ] {
        let p = problem(&get(&app, path).await, 404);
        assert_eq!(p["field"], field, "{path}: {p}");
    }
    for path in [
        "/api/v1/posts/nope",
        "/api/v1/albums/nope",
        "/api/v1/albums/nope/photos",
        "/api/v1/photos/999999",
        "/api/v1/videos/nope",
        "/api/v1/nothing/here",
        "/api/v2/posts",
    ] {
        problem(&get(&app, path).await, 404);
    }
    let wrong = call(&app, "PUT", "/api/v1/posts", None, None).await;
    problem(&wrong, 405);
    let allow = wrong.header("allow").expect("Allow");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    // A page past the end is an empty page, not an error.
    let past = json(&get(&app, "/api/v1/posts?page=50").await);
    assert_eq!(past["items"].as_array().map(Vec::len), Some(0));
}

async fn answers_carry_validators_and_cors(backend: Backend) {
    let env = TestEnv::new(backend);
    env.write(|c| {
        let mut p = PostInput::new("First", "Hello.");
        p.status = PostStatus::Published;
        cms_core::service::posts::create(c, &crate::common::cli(), &p)
    });
    let app = env.app().await;
    for path in [
        "/api/v1/posts",
        "/api/v1/posts/first",
        "/api/v1/categories",
        "/api/v1/tags",
        "/api/v1/gallery/categories",
        "/api/v1/videos",
        "/api/v1/search?q=hello",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, 200, "{path}");
        let etag = r.header("etag").expect("ETag");
        let again = get_with(&app, path, &[("If-None-Match", &etag)]).await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
    }
    let before = get(&app, "/api/v1/posts")
        .await
        .header("etag")
        .expect("etag");
    env.write(|c| {
        let mut p = PostInput::new("Second", "More.");
        p.status = PostStatus::Published;
        cms_core::service::posts::create(c, &crate::common::cli(), &p)
    });
    let after = get_with(&app, "/api/v1/posts", &[("If-None-Match", &before)]).await;
    assert_eq!(after.status, 200, "a publish changes the answer");
    assert_eq!(json(&after)["total"], 2);
    // Preflight for browser clients.
    let pre = call(&app, "OPTIONS", "/api/v1/posts", None, None).await;
    assert_eq!(pre.status, 204);
    assert_eq!(
        pre.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert!(
        pre.header("access-control-allow-headers")
            .is_some_and(|h| h.contains("Authorization"))
    );
}

/// Category and tag counts are the posts a reader can list there: no drafts, no pages, and
/// a post published afterwards is counted (the counts follow the content version).
async fn taxonomy_counts_are_what_readers_can_list(backend: Backend) {
    let env = TestEnv::new(backend);
    let cat = env.write(|c| {
        cms_core::service::taxonomy::ensure_category(
            c,
            &crate::common::cli(),
            "Stills & “Quotes” – 2024",
        )
    });
    let make = |title: &str, status: PostStatus, kind: post::PostKind| {
        let mut p = PostInput::new(title, "Body.");
        p.status = status;
        p.kind = kind;
        p.category_ids = vec![cat.id];
        p.tags = vec!["Heartstopper’s Set".into()];
        env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p));
    };
    make("One", PostStatus::Published, post::PostKind::News);
    make("Two", PostStatus::Published, post::PostKind::Article);
    make("Draft", PostStatus::Draft, post::PostKind::News);
    make("About", PostStatus::Published, post::PostKind::Page);
    let app = env.app().await;
    let count = |v: serde_json::Value, slug: &str| {
        v.as_array()
            .expect("list")
            .iter()
            .find(|x| x["slug"] == slug)
            .map(|x| x["post_count"].as_i64())
    };
    let tag_slug = cms_core::slug::slugify("Heartstopper’s Set");
    assert_eq!(
        count(json(&get(&app, "/api/v1/categories").await), &cat.slug),
        Some(Some(2))
    );
    assert_eq!(
        count(json(&get(&app, "/api/v1/tags").await), &tag_slug),
        Some(Some(2))
    );
    let page = get(&app, &format!("/category/{}", cat.slug)).await;
    assert_eq!(page.status, 200);
    let mut listed = page.texts("article.post-summary h2");
    listed.sort();
    assert_eq!(listed, ["One", "Two"], "the page lists what the API counts");
    make("Three", PostStatus::Published, post::PostKind::News);
    assert_eq!(
        count(json(&get(&app, "/api/v1/categories").await), &cat.slug),
        Some(Some(3))
    );
}

backend_tests!(
    every_read_route_answers_published_content,
    taxonomy_counts_are_what_readers_can_list,
    drafts_need_a_token_that_may_read_them,
    bad_requests_are_problems,
    answers_carry_validators_and_cors,
);

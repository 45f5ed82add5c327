//! `GET /api/v1/changes`: the change feed as a mirror or a bot reads it — in order, from a
//! cursor, never a draft, what was taken back without its data — fed by writes through the
//! API and the services alike.

use cms_core::models::change;
use cms_core::models::post::PostInput;

use super::{body, call, json, problem, token};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, cli, get};

const BASE: &str = "http://keepsake.test";

async fn feed<S, B>(app: &S, query: &str) -> serde_json::Value
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let page = get(app, &format!("/api/v1/changes{query}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    json(&page)
}

fn types(v: &serde_json::Value) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["type"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn the_feed_follows_the_site_in_order_and_never_shows_a_draft(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let empty = feed(&app, "").await;
    assert_eq!(empty["items"], serde_json::json!([]));
    assert_eq!(
        (&empty["next_cursor"], &empty["has_more"]),
        (&"0".into(), &false.into())
    );

    // Through the API: a draft (nothing), then published (one change, the token its actor).
    let t = token(&env, "bot", &["posts:write"]);
    let made = call(
        &app,
        "POST",
        "/api/v1/posts",
        Some(&t),
        body(serde_json::json!({"title": "Secret plans", "body": "Not yet."})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let slug = json(&made)["slug"].as_str().expect("slug").to_string();
    assert_eq!(feed(&app, "").await["items"], serde_json::json!([]));
    let published = call(
        &app,
        "POST",
        &format!("/api/v1/posts/{slug}/publish"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let events = change::after(&mut env.conn(), 0, 100).expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "token:bot");

    // And through the services: an album published, then photos added to it (two writes).
    env.album_with_photos(&["Films"], "Premiere", 3);
    let v = feed(&app, "").await;
    assert_eq!(
        types(&v),
        [
            "post.published",
            "gallery_category.created",
            "album.published",
            "photos.added"
        ]
    );
    let first = &v["items"][0];
    assert_eq!(first["item"]["type"], "post");
    assert_eq!(first["removal"], false);
    assert_eq!(first["data"]["title"], "Secret plans");
    assert_eq!(first["data"]["url"], format!("{BASE}/posts/{slug}"));
    assert!(first["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(
        first["data"]["published_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{first}"
    );
    assert_eq!(v["items"][3]["data"]["count"], 3);
    assert_eq!(v["items"][3]["data"]["photo_count"], 3);
    assert_eq!(v["items"][3]["item"]["type"], "album");

    // Pages: from a cursor, nothing twice, nothing missed.
    let p1 = feed(&app, "?limit=2").await;
    assert_eq!(p1["has_more"], true);
    assert_eq!(types(&p1).len(), 2);
    let cursor = p1["next_cursor"].as_str().expect("cursor").to_string();
    let p2 = feed(&app, &format!("?after={cursor}&limit=2")).await;
    assert_eq!(types(&p2), ["album.published", "photos.added"]);
    assert_eq!(p2["has_more"], false);
    let end = p2["next_cursor"].as_str().expect("cursor").to_string();
    let p3 = feed(&app, &format!("?after={end}")).await;
    assert_eq!(p3["items"], serde_json::json!([]));
    assert_eq!(
        p3["next_cursor"],
        end.as_str(),
        "an empty page keeps the cursor"
    );
    // A cursor from beyond the newest change (a site restored from an older backup) reads on
    // from the newest, so the changes to come are not skipped.
    let ahead = feed(&app, "?after=999999").await;
    assert_eq!(ahead["items"], serde_json::json!([]));
    assert_eq!(ahead["next_cursor"], end.as_str());

    // Taken back: the removal names the address that went, and the earlier change no longer
    // shows what it was.
    let back = call(
        &app,
        "POST",
        &format!("/api/v1/posts/{slug}/unpublish"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(back.status, 200, "{}", back.body);
    let v = feed(&app, "").await;
    assert_eq!(
        types(&v).last().map(String::as_str),
        Some("post.unpublished")
    );
    assert!(v["items"][0].get("data").is_none(), "{}", v["items"][0]);
    let removal = v["items"].as_array().and_then(|a| a.last()).expect("last");
    assert_eq!(removal["removal"], true);
    assert_eq!(removal["data"]["url"], format!("{BASE}/posts/{slug}"));
    assert!(removal["data"].get("title").is_none(), "{removal}");
    assert!(!v.to_string().contains("Secret plans"), "{v}");

    // A draft's life leaves no trace at all.
    env.write(|c| cms_core::service::posts::create(c, &cli(), &PostInput::new("Draft only", "x")));
    assert!(!feed(&app, "").await.to_string().contains("Draft only"));
}

async fn the_feed_refuses_what_it_cannot_read(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    for q in [
        "?after=-1",
        "?after=abc",
        "?limit=0",
        "?limit=201",
        "?after=1&after=2",
        "?since=3",
        "?after=99999999999999999999",
    ] {
        problem(&get(&app, &format!("/api/v1/changes{q}")).await, 400);
    }
    let bad = call(&app, "GET", "/api/v1/changes", Some("ks_nope"), None).await;
    problem(&bad, 401);
}

backend_tests!(
    the_feed_follows_the_site_in_order_and_never_shows_a_draft,
    the_feed_refuses_what_it_cannot_read,
);

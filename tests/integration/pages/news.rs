//! `/posts`, `/category/{slug}`, `/tag/{slug}`, `/archive/{yyyy}/{mm}`.

use cms_core::models::post::{self, PostInput, PostStatus};

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

fn publish(
    env: &TestEnv,
    title: &str,
    category_ids: Vec<i64>,
    tags: &[&str],
    days_ago: i64,
) -> post::Post {
    let mut p = PostInput::new(title, "Body.");
    p.status = PostStatus::Published;
    p.category_ids = category_ids;
    p.tags = tags.iter().map(|t| t.to_string()).collect();
    p.publish_at = Some(cms_core::models::now() - chrono::Duration::days(days_ago));
    env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p))
}

async fn news_paginates_twenty_at_a_time(backend: Backend) {
    let env = TestEnv::new(backend);
    for i in 0..25 {
        publish(&env, &format!("Post number {i}"), vec![], &[], i);
    }
    env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &PostInput::new("Hidden draft", "x"),
        )
    });
    let app = env.app().await;
    let first = get(&app, "/posts").await;
    assert_eq!(first.status, 200);
    let titles = first.texts(".post-summary h2");
    assert_eq!(titles.len(), 20);
    assert_eq!(titles[0], "Post number 0", "newest first");
    assert_eq!(first.attrs("a[rel=next]", "href"), ["/posts?page=2"]);
    let second = get(&app, "/posts?page=2").await;
    assert_eq!(second.texts(".post-summary h2").len(), 5);
    assert!(
        second
            .texts(".post-summary h2")
            .iter()
            .all(|t| t != "Hidden draft")
    );
    assert_eq!(get(&app, "/posts?page=3").await.status, 404);
    assert_eq!(get(&app, "/posts?page=abc").await.status, 400);
    assert_eq!(get(&app, "/posts?page=").await.status, 400);
}

async fn category_pages_include_subcategories(backend: Backend) {
    let env = TestEnv::new(backend);
    let parent = env.write(|c| {
        cms_core::service::taxonomy::create_category(
            c,
            &crate::common::cli(),
            None,
            "Projects",
            None,
            "Film and TV work",
        )
    });
    let child = env.write(|c| {
        cms_core::service::taxonomy::create_category(
            c,
            &crate::common::cli(),
            Some(parent.id),
            "Horror & Thrillers",
            None,
            "",
        )
    });
    publish(
        &env,
        "Kit Cast as Lead in Horror Film 'One of Us'",
        vec![child.id],
        &[],
        1,
    );
    publish(
        &env,
        "Netflix Unveils 'Heartstopper' Season Two Premiere Date",
        vec![parent.id],
        &[],
        2,
    );
    publish(&env, "Unrelated", vec![], &[], 3);
    let app = env.app().await;
    let page = get(&app, "/category/projects").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("main h1"), ["Projects"]);
    assert_eq!(
        page.texts(".post-summary h2"),
        [
            "Kit Cast as Lead in Horror Film 'One of Us'",
            "Netflix Unveils 'Heartstopper' Season Two Premiere Date"
        ]
    );
    let feeds = page.attrs("link[rel=alternate]", "href");
    assert!(
        feeds.contains(&"http://keepsake.test/category/projects/feed.atom".to_string()),
        "{feeds:?}"
    );
    let child_page = get(&app, &format!("/category/{}", child.slug)).await;
    assert_eq!(child.slug, "horror-thrillers");
    assert_eq!(child_page.texts(".post-summary h2").len(), 1);
    assert_eq!(get(&app, "/category/no-such-category").await.status, 404);
}

async fn tags_and_months_list_their_posts(backend: Backend) {
    let env = TestEnv::new(backend);
    let p = publish(&env, "Tagged one", vec![], &["Joe Locke"], 0);
    publish(&env, "Untagged", vec![], &[], 0);
    let app = env.app().await;
    let tag = get(&app, "/tag/joe-locke").await;
    assert_eq!(tag.status, 200);
    assert_eq!(tag.texts(".post-summary h2"), ["Tagged one"]);
    assert_eq!(get(&app, "/tag/nobody").await.status, 404);
    let published = p.published_at.expect("published");
    let month = published.format("/archive/%Y/%m").to_string();
    let page = get(&app, &month).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts(".post-summary h2").len(), 2);
    assert!(
        page.attrs(".archive a", "href").contains(&month),
        "the archive list links the month"
    );
    assert_eq!(get(&app, "/archive/1999/01").await.status, 404);
    for bad in [
        "/archive/2023/13",
        "/archive/2023/00",
        "/archive/23/08",
        "/archive/abcd/08",
        "/archive/2023/8",
    ] {
        assert_eq!(get(&app, bad).await.status, 400, "{bad}");
    }
}

backend_tests!(
    news_paginates_twenty_at_a_time,
    category_pages_include_subcategories,
    tags_and_months_list_their_posts
);

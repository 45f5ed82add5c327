//! `/posts/{slug}`: bodies, reposted sources, redirects, drafts.

use cms_core::models::post::{PostInput, PostKind, PostStatus};

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

fn article() -> PostInput {
    let mut p = PostInput::new(
        "Kit Connor Opens Up About Coming Out & Heartstopper Season 2",
        "He talks about \"the pressure\" & the support.\n\n<script>alert(1)</script>",
    );
    p.kind = PostKind::Article;
    p.status = PostStatus::Published;
    p.source_publication = Some("Rolling Stone UK".into());
    p.source_author = Some("Chris Godfrey".into());
    p.source_url = Some("https://www.rollingstone.co.uk/".into());
    p.source_date = chrono::NaiveDate::from_ymd_opt(2023, 7, 28);
    p.tags = vec!["Heartstopper".into()];
    p
}

async fn article_shows_its_source_and_escapes_everything(backend: Backend) {
    let env = TestEnv::new(backend);
    let p = env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &article()));
    let app = env.app().await;
    let page = get(&app, &format!("/posts/{}", p.slug)).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("article h1"),
        ["Kit Connor Opens Up About Coming Out & Heartstopper Season 2"]
    );
    assert_eq!(
        page.texts("title"),
        ["Kit Connor Opens Up About Coming Out & Heartstopper Season 2 – Keepsake"]
    );
    let source = page.texts(".source p");
    assert_eq!(source.len(), 1);
    assert!(
        source[0].contains("Rolling Stone UK")
            && source[0].contains("Chris Godfrey")
            && source[0].contains("28 July 2023"),
        "{source:?}"
    );
    assert_eq!(
        page.attrs(".source a", "href"),
        ["https://www.rollingstone.co.uk/"]
    );
    assert!(
        page.texts(".body script").is_empty(),
        "scripts are stripped"
    );
    assert_eq!(
        page.texts(".body p")[0],
        "He talks about \"the pressure\" & the support."
    );
    assert_eq!(page.attrs("a[rel=tag]", "href"), ["/tag/heartstopper"]);
}

async fn old_slugs_redirect_permanently(backend: Backend) {
    let env = TestEnv::new(backend);
    let p = env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &article()));
    let mut edit = article();
    edit.slug = Some("kit-opens-up".into());
    env.write(|c| cms_core::service::posts::update(c, &crate::common::cli(), p.id, &edit, None));
    let app = env.app().await;
    let page = get(&app, &format!("/posts/{}", p.slug)).await;
    assert_eq!(page.status, 301);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/posts/kit-opens-up")
    );
    assert_eq!(get(&app, "/posts/kit-opens-up").await.status, 200);
}

async fn drafts_scheduled_and_unknown_posts_are_404(backend: Backend) {
    let env = TestEnv::new(backend);
    let draft = env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &PostInput::new("Secret draft", "Not yet"),
        )
    });
    let mut sched = PostInput::new("Scheduled post", "Later");
    sched.status = PostStatus::Scheduled;
    sched.publish_at = Some(cms_core::models::now() + chrono::Duration::days(1));
    let sched = env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &sched));
    let app = env.app().await;
    for slug in [draft.slug.as_str(), sched.slug.as_str(), "no-such-post"] {
        let page = get(&app, &format!("/posts/{slug}")).await;
        assert_eq!(page.status, 404, "{slug}");
        assert_eq!(page.texts("h1"), ["Page not found"]);
    }
    let home = get(&app, "/").await;
    assert!(home.texts(".post-summary h2").is_empty());
}

backend_tests!(
    article_shows_its_source_and_escapes_everything,
    old_slugs_redirect_permanently,
    drafts_scheduled_and_unknown_posts_are_404,
);

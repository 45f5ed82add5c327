//! Posts: creation, validation, slugs and redirects, revisions, reader visibility.

use cms_core::models::post::{self, ListFilter, PostInput, PostKind, PostStatus};

use crate::backend_tests;
use crate::common::{Backend, TestEnv};

fn published(title: &str) -> PostInput {
    crate::common::published_post(title, "Body with *emphasis* & an ampersand.")
}

async fn slugs_are_unique_and_survive_punctuation(backend: Backend) {
    let env = TestEnv::new(backend);
    let title = "Kit Connor & Joe Locke Explain What Made Heartstopper's Milkshakes Disgusting";
    let a = env
        .write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &published(title)));
    let b = env
        .write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &published(title)));
    assert_eq!(
        a.slug,
        "kit-connor-joe-locke-explain-what-made-heartstoppers-milkshakes-disgusting"
    );
    assert_eq!(b.slug, format!("{}-2", a.slug));
    assert_eq!(a.title, title);
    assert!(
        a.body_html.contains("<em>emphasis</em> &amp; an ampersand"),
        "{}",
        a.body_html
    );
}

async fn invalid_input_lists_every_field(backend: Backend) {
    let env = TestEnv::new(backend);
    let mut p = PostInput::new("  ", "");
    p.status = PostStatus::Scheduled;
    p.slug = Some("Not A Slug".into());
    p.source_url = Some("javascript:alert(1)".into());
    let err = env
        .state
        .db
        .write_blocking(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p))
        .expect_err("invalid");
    let cms_core::Error::Fields(fields) = err else {
        panic!("expected field errors, got {err:?}")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.0).collect();
    assert_eq!(names, ["title", "slug", "publish_at", "source_url"]);
    assert_eq!(
        post::count(&mut env.conn()).expect("count"),
        0,
        "nothing was stored"
    );
}

async fn changed_slug_redirects_and_revisions_accumulate(backend: Backend) {
    let env = TestEnv::new(backend);
    let p = env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published("Netflix Unveils 'Heartstopper' Season Two Premiere Date"),
        )
    });
    let mut edit = published("Netflix Unveils the Season Two Date");
    edit.slug = Some("season-two-date".into());
    edit.body_markdown = "Premieres **3 August 2023**.".into();
    let updated = env
        .write(|c| cms_core::service::posts::update(c, &crate::common::cli(), p.id, &edit, None));
    assert_eq!(updated.slug, "season-two-date");
    assert_eq!(
        updated.published_at, p.published_at,
        "first publication date is kept"
    );
    let mut conn = env.conn();
    assert_eq!(
        post::redirect_for(&mut conn, &p.slug)
            .expect("q")
            .as_deref(),
        Some("season-two-date")
    );
    let revs = post::revisions(&mut conn, p.id).expect("revisions");
    assert_eq!(revs.len(), 2);
    drop(conn);
    // Restoring the first revision brings its title and body back as a new revision.
    let first = revs.last().expect("first").id;
    let restored = env.write(|c| {
        cms_core::service::posts::restore_revision(c, &crate::common::cli(), p.id, first, None)
    });
    assert_eq!(restored.title, p.title);
    assert_eq!(post::revisions(&mut env.conn(), p.id).expect("q").len(), 3);
    // The old slug cannot be taken by another post while it redirects.
    let other = env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published("Netflix Unveils 'Heartstopper' Season Two Premiere Date"),
        )
    });
    assert_ne!(other.slug, p.slug);
}

/// A post taken back to a draft has had its address out: retitling the draft keeps its slug,
/// and when the editor changes the slug, the old one redirects.
async fn an_unpublished_post_keeps_its_address(backend: Backend) {
    let env = TestEnv::new(backend);
    let p = env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published("Season Three Announced"),
        )
    });
    assert_eq!(p.first_published_at, p.published_at);
    let mut draft = published("Season Three Announced");
    draft.status = PostStatus::Draft;
    let d = env
        .write(|c| cms_core::service::posts::update(c, &crate::common::cli(), p.id, &draft, None));
    assert_eq!(d.published_at, None, "not published now");
    assert_eq!(d.first_published_at, p.published_at, "but it was");
    draft.title = "Season Three Confirmed for October".into();
    let retitled = env
        .write(|c| cms_core::service::posts::update(c, &crate::common::cli(), p.id, &draft, None));
    assert_eq!(retitled.slug, p.slug, "readers' links keep working");
    draft.slug = Some("season-three-october".into());
    let moved = env
        .write(|c| cms_core::service::posts::update(c, &crate::common::cli(), p.id, &draft, None));
    assert_eq!(moved.slug, "season-three-october");
    assert_eq!(
        post::redirect_for(&mut env.conn(), &p.slug).expect("q"),
        None,
        "a draft is not revealed by its old address"
    );
    env.write(|c| cms_core::service::posts::publish(c, &crate::common::cli(), p.id));
    assert_eq!(
        post::redirect_for(&mut env.conn(), &p.slug)
            .expect("q")
            .as_deref(),
        Some("season-three-october")
    );
    // A draft never published still follows its title.
    let mut fresh = published("Working Title");
    fresh.status = PostStatus::Draft;
    let f = env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &fresh));
    fresh.title = "Final Title".into();
    let f2 = env
        .write(|c| cms_core::service::posts::update(c, &crate::common::cli(), f.id, &fresh, None));
    assert_eq!(
        (f.slug.as_str(), f2.slug.as_str()),
        ("working-title", "final-title")
    );
    assert_eq!(f2.first_published_at, None);
    // Unpublished without an edit (the API's unpublish): the same as through the admin.
    let q = env.write(|c| {
        cms_core::service::posts::create(c, &crate::common::cli(), &published("Premiere Photos"))
    });
    let un = env.write(|c| {
        cms_core::service::posts::set_status(c, &crate::common::cli(), q.id, PostStatus::Draft)
    });
    assert_eq!(
        (un.published_at, un.first_published_at),
        (None, q.published_at)
    );
    let archived = env.write(|c| {
        cms_core::service::posts::set_status(c, &crate::common::cli(), p.id, PostStatus::Archived)
    });
    assert!(
        archived.published_at.is_some(),
        "an archived post keeps its date"
    );
}

async fn readers_see_published_posts_only(backend: Backend) {
    let env = TestEnv::new(backend);
    let cat = env.write(|c| {
        cms_core::service::taxonomy::create_category(
            c,
            &crate::common::cli(),
            None,
            "Interviews",
            None,
            "",
        )
    });
    for (title, status) in [
        ("Published one", PostStatus::Published),
        ("A draft", PostStatus::Draft),
        ("An archived one", PostStatus::Archived),
    ] {
        let mut p = published(title);
        p.status = status;
        p.category_ids = vec![cat.id];
        env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p));
    }
    let mut sched = published("Scheduled one");
    sched.status = PostStatus::Scheduled;
    sched.publish_at = Some(cms_core::models::now() + chrono::Duration::hours(1));
    env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &sched));
    let mut page = published("About the archive");
    page.kind = PostKind::Page;
    env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &page));

    let mut conn = env.conn();
    let (rows, total) =
        post::list_published(&mut conn, &ListFilter::default(), 0, 20).expect("list");
    assert_eq!(total, 1);
    assert_eq!(rows[0].title, "Published one");
    let by_cat = ListFilter {
        category_ids: Some(vec![cat.id]),
        ..ListFilter::default()
    };
    assert_eq!(
        post::list_published(&mut conn, &by_cat, 0, 20)
            .expect("list")
            .1,
        1
    );
    assert!(
        post::find_published_by_slug(&mut conn, "a-draft")
            .expect("q")
            .is_none()
    );
    assert!(
        post::find_published_by_slug(&mut conn, "scheduled-one")
            .expect("q")
            .is_none()
    );
    let due = post::due_scheduled(
        &mut conn,
        cms_core::models::now() + chrono::Duration::hours(2),
        10,
    )
    .expect("q");
    assert_eq!(due.len(), 1);
}

async fn tags_are_shared_by_slug(backend: Backend) {
    let env = TestEnv::new(backend);
    let mut a = published("One");
    a.tags = vec![
        "Joe Locke".into(),
        "joe locke".into(),
        "Heartstopper".into(),
    ];
    let a = env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &a));
    let tags = post::tags_of(&mut env.conn(), &[a.id])
        .expect("tags")
        .remove(&a.id)
        .expect("some");
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Heartstopper", "Joe Locke"]);
}

async fn stats_give_the_same_totals_and_pages_as_counting(backend: Backend) {
    let env = TestEnv::new(backend);
    let (news, other) = env.write(|c| {
        Ok((
            cms_core::service::taxonomy::ensure_category(c, &crate::common::cli(), "News")?,
            cms_core::service::taxonomy::ensure_category(c, &crate::common::cli(), "Other")?,
        ))
    });
    let t0 = chrono::NaiveDate::from_ymd_opt(2024, 1, 15)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    for i in 0..60i64 {
        let mut p = published(&format!("Post {i}"));
        p.publish_at = Some(t0 + chrono::Duration::days(i));
        // Every fifth post in News; one in three tagged; a few drafts and a page.
        p.category_ids = vec![if i % 5 == 0 { news.id } else { other.id }];
        if i % 3 == 0 {
            p.tags = vec!["Rare".into()];
        }
        if i % 11 == 0 {
            p.status = PostStatus::Draft;
            p.publish_at = None;
        }
        if i == 7 {
            p.kind = PostKind::Page;
        }
        env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &p));
    }
    let stats = post::stats(&mut env.conn()).expect("stats");
    let rare = env.write(|c| Ok(cms_core::models::tag::find_by_slug(c, "rare")?.expect("tag")));
    let feb =
        |d: u32| chrono::NaiveDate::from_ymd_opt(2024, d, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    let filters = [
        ListFilter::default(),
        ListFilter {
            category_ids: Some(vec![news.id]),
            ..ListFilter::default()
        },
        ListFilter {
            category_ids: Some(vec![other.id]),
            ..ListFilter::default()
        },
        ListFilter {
            tag_id: Some(rare.id),
            ..ListFilter::default()
        },
        ListFilter {
            published_from: feb(2),
            published_before: feb(3),
            ..ListFilter::default()
        },
    ];
    for f in &filters {
        let counted = post::count_listed(&mut env.conn(), f, None).expect("count");
        assert_eq!(stats.total_for(f), Some(counted), "{f:?}");
        // Both ways of querying a category or tag give the same pages.
        for offset in [0, 5, 30] {
            let plain = post::list_page(&mut env.conn(), f, offset, 5, None).expect("page");
            let tuned = post::list_page(&mut env.conn(), f, offset, 5, Some((&stats, counted)))
                .expect("page");
            let ids = |v: &[post::Post]| v.iter().map(|p| p.id).collect::<Vec<_>>();
            assert_eq!(ids(&plain), ids(&tuned), "{f:?} at {offset}");
            assert!(
                plain
                    .iter()
                    .all(|p| p.status == PostStatus::Published && p.kind != PostKind::Page)
            );
        }
    }
    // Filters the counts do not cover are counted.
    let two_months = ListFilter {
        published_from: feb(1),
        published_before: feb(3),
        ..ListFilter::default()
    };
    assert_eq!(stats.total_for(&two_months), None);
    let kind = ListFilter {
        kind: Some(PostKind::Page),
        ..ListFilter::default()
    };
    assert_eq!(stats.total_for(&kind), None);
    assert_eq!(
        stats.months.iter().map(|m| m.2).sum::<i64>(),
        stats.published
    );
}

backend_tests!(
    an_unpublished_post_keeps_its_address,
    stats_give_the_same_totals_and_pages_as_counting,
    slugs_are_unique_and_survive_punctuation,
    invalid_input_lists_every_field,
    changed_slug_redirects_and_revisions_accumulate,
    readers_see_published_posts_only,
    tags_are_shared_by_slug,
);

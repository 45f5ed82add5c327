//! `/search`: every kind of content, ranked, highlighted, never a draft.

use cms_core::models::album::AlbumStatus;
use cms_core::models::photo;
use cms_core::models::post::PostInput;
use cms_core::models::video::VideoInput;

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, published_post as published};

async fn search_finds_every_kind_and_no_drafts(backend: Backend) {
    let env = TestEnv::new(backend);
    env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published(
                "Milkshakes & <Mischief>",
                "The café scene needed many milkshakes.",
            ),
        )
    });
    env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &PostInput::new("Draft about milkshakes", "milkshakes milkshakes"),
        )
    });
    let a = env.album_with_photos(&["Events"], "Milkshake Premiere Party", 2);
    let pid = photo::page_in_album(&mut env.conn(), a.id, 0, 1).expect("q")[0].id;
    env.write(|c| {
        cms_core::service::gallery::update_photo(
            c,
            &crate::common::cli(),
            pid,
            "Kit holding a milkshake",
            "",
            "",
        )
    });
    env.write(|c| {
        cms_core::service::videos::create(
            c,
            &crate::common::cli(),
            &VideoInput {
                title: "Action Replay".into(),
                transcript:
                    "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nThat milkshake was disgusting.\n"
                        .into(),
                published: true,
                ..VideoInput::default()
            },
        )
    });
    let app = env.app().await;
    let page = get(&app, "/search?q=milkshake").await;
    assert_eq!(page.status, 200);
    let kinds = page.texts(".result .kind");
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["Album", "Photo", "Post", "Video"],
        "{:?}",
        page.texts(".result h2")
    );
    assert_eq!(page.texts(".result-count"), ["4 results for “milkshake”"]);
    assert!(!page.body.contains("Draft about"), "drafts are never found");
    // Titles and snippets are escaped, with matches marked.
    let post_title = page.html();
    let sel = scraper::Selector::parse(".result-post h2 a").expect("selector");
    let inner = post_title
        .select(&sel)
        .next()
        .expect("post hit")
        .inner_html();
    assert_eq!(inner, "<mark>Milkshakes</mark> &amp; &lt;Mischief&gt;");
    assert!(!page.texts(".result-video .snippet mark").is_empty());
    // The snippet marks the word as stemmed ("milkshakes" for "milkshake") on either backend.
    let sel = scraper::Selector::parse(".result-post .snippet").expect("selector");
    let snippet = post_title
        .select(&sel)
        .next()
        .expect("post snippet")
        .inner_html();
    assert!(
        snippet.contains("many <mark>milkshakes</mark>") && snippet.contains("café"),
        "{snippet}"
    );
    // Unpublishing removes from search at once.
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            a.id,
            AlbumStatus::Draft,
        )
        .map(drop)
    });
    let after = get(&app, "/search?q=milkshake").await;
    let kinds = after.texts(".result .kind");
    assert!(
        !kinds.contains(&"Album".to_string()) && !kinds.contains(&"Photo".to_string()),
        "{kinds:?}"
    );
}

async fn search_input_is_never_a_500(backend: Backend) {
    let env = TestEnv::new(backend);
    env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published("Truth / Dare", "Season two, episode six."),
        )
    });
    let app = env.app().await;
    for q in [
        "%22",
        "*",
        "NEAR(",
        "a%20OR%20b",
        "%27%3B%20DROP%20TABLE%20posts",
        "truth%2Fdare",
        "%E2%80%93",
        "",
    ] {
        let page = get(&app, &format!("/search?q={q}")).await;
        assert_eq!(page.status, 200, "q={q}");
    }
    // Only symbols: the reader is told why nothing was searched.
    for q in ["%22", "*", "%E2%80%93", "%21%21%21"] {
        let said = get(&app, &format!("/search?q={q}"))
            .await
            .texts(".result-count");
        assert!(
            said.join("").contains("has no letters or numbers"),
            "q={q}: {said:?}"
        );
    }
    assert!(
        get(&app, "/search").await.texts(".result-count").is_empty(),
        "no question, no remark"
    );
    assert_eq!(
        get(&app, "/search?q=truth%20dare")
            .await
            .texts(".result h2"),
        ["Truth / Dare"]
    );
    assert_eq!(
        get(&app, "/search?q=dar").await.texts(".result h2").len(),
        1,
        "the last word matches as a prefix"
    );
    let long = "a".repeat(201);
    assert_eq!(get(&app, &format!("/search?q={long}")).await.status, 400);
    assert_eq!(get(&app, "/search?q=x&page=zero").await.status, 400);
    assert_eq!(get(&app, "/search?q=truth&page=2").await.status, 404);
}

async fn search_paginates(backend: Backend) {
    let env = TestEnv::new(backend);
    for i in 0..23 {
        env.write(|c| {
            cms_core::service::posts::create(
                c,
                &crate::common::cli(),
                &published(&format!("Heartstopper note {i}"), "Heartstopper"),
            )
        });
    }
    let app = env.app().await;
    let first = get(&app, "/search?q=heartstopper").await;
    assert_eq!(first.texts(".result").len(), 20);
    assert_eq!(
        first.attrs("a[rel=next]", "href"),
        ["/search?q=heartstopper&page=2"]
    );
    let second = get(&app, "/search?q=heartstopper&page=2").await;
    assert_eq!(second.texts(".result").len(), 3);
}

/// Past `RANK_WINDOW` matches, the newest window is ranked and older matches follow, newest
/// first: every match still appears exactly once across the pages, and the total is exact.
async fn large_result_sets_rank_the_newest_window(backend: Backend) {
    use cms_core::search::{self, Document, Kind, RANK_WINDOW};
    let env = TestEnv::new(backend);
    let n = RANK_WINDOW + 130;
    env.write(|c| {
        for i in 1..=n {
            // Item 1 (the oldest) and item n - 5 have the word in their titles too.
            let title = if i == 1 || i == n - 5 {
                "Premiere night"
            } else {
                "Gallery update"
            };
            search::upsert(
                c,
                &Document {
                    kind: Kind::Post,
                    item_id: i,
                    slug: format!("post-{i}"),
                    title: title.into(),
                    body: format!("Photos from the premiere, set {i}."),
                },
            )?;
        }
        Ok(())
    });
    let first = search::search(&mut env.conn(), "premiere", 0, 20).expect("search");
    assert_eq!(first.total, n);
    assert_eq!(first.hits.len(), 20);
    assert_eq!(
        first.hits[0].item_id,
        n - 5,
        "a title match in the window ranks first"
    );
    let mut seen = std::collections::HashSet::new();
    let mut offset = 0;
    while offset < n {
        let page = search::search(&mut env.conn(), "premiere", offset, 50).expect("search");
        for h in &page.hits {
            assert!(
                seen.insert(h.item_id),
                "item {} twice (page at {offset})",
                h.item_id
            );
        }
        offset += 50;
    }
    assert_eq!(seen.len() as i64, n, "every match appears once");
    // The oldest item is outside the window: it comes last, after the newer older ones.
    let last = search::search(&mut env.conn(), "premiere", n - 1, 20).expect("search");
    assert_eq!(
        last.hits.iter().map(|h| h.item_id).collect::<Vec<_>>(),
        vec![1]
    );
}

/// PostgreSQL's matches are marked in the app with the same stemmer as its `english`
/// configuration: for each word PostgreSQL matched by its stem, the page marks the word as
/// written in the text (on SQLite FTS5 marks them itself).
async fn snippets_mark_what_postgres_matched(backend: Backend) {
    let env = TestEnv::new(backend);
    env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &published(
                "On set",
                "Kit studies the scripts. The cast were arguing about the captures, which \
                 the fans generously shared.",
            ),
        )
    });
    let app = env.app().await;
    // The stemmed word first (the last word of a search also matches as a prefix).
    for (q, marked) in [
        ("study kit", "studies"),
        ("argue kit", "arguing"),
        ("capture kit", "captures"),
        ("generous kit", "generously"),
    ] {
        let page = get(&app, &format!("/search?q={}", q.replace(' ', "%20"))).await;
        assert_eq!(page.texts(".result h2"), ["On set"], "q={q}");
        let marks = page.texts(".result-post .snippet mark");
        assert!(
            marks.iter().any(|m| m == marked) && marks.iter().any(|m| m == "Kit"),
            "q={q}: {marks:?}"
        );
    }
}

/// The characters the engines mark matches with, inside a caption and a transcript, stay out
/// of the index: every `<mark>` on the page is closed and marks a match.
async fn stray_match_markers_in_text_open_no_marks(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(&["Events"], "Panel", 1);
    let pid = photo::page_in_album(&mut env.conn(), a.id, 0, 1).expect("q")[0].id;
    env.write(|c| {
        cms_core::service::gallery::update_photo(
            c,
            &crate::common::cli(),
            pid,
            "Stray \u{3}markers\u{2} near the stage",
            "",
            "",
        )
    });
    env.write(|c| {
        cms_core::service::videos::create(
            c,
            &crate::common::cli(),
            &VideoInput {
                title: "Panel \u{2}talk".into(),
                transcript:
                    "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nThe stage \u{2}was\u{3} \u{3}lit.\n"
                        .into(),
                published: true,
                ..VideoInput::default()
            },
        )
    });
    let app = env.app().await;
    let page = get(&app, "/search?q=stage").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts(".result").len(), 2, "{}", page.body);
    assert_eq!(
        page.body.matches("<mark>").count(),
        page.body.matches("</mark>").count(),
        "{}",
        page.body
    );
    let marked = page.texts("mark");
    assert!(!marked.is_empty());
    for m in &marked {
        assert!(m.to_lowercase().starts_with("stage"), "{marked:?}");
    }
}

backend_tests!(
    search_finds_every_kind_and_no_drafts,
    stray_match_markers_in_text_open_no_marks,
    search_input_is_never_a_500,
    search_paginates,
    large_result_sets_rank_the_newest_window,
    snippets_mark_what_postgres_matched,
);

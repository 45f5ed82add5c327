//! `/albums/{slug}`: breadcrumb, thumbnails, pagination edges.

use cms_core::models::album::AlbumStatus;

use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

const PATH: &[&str] = &[
    "Television Productions",
    "Heartstopper",
    "Season 2",
    "Episode Captures",
];

async fn album_page_has_breadcrumb_and_sized_thumbnails(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E06 – Truth / Dare", 5);
    let app = env.app().await;
    let page = get(&app, &format!("/albums/{}", a.slug)).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts(".breadcrumb li"),
        [
            "Gallery",
            "Television Productions",
            "Heartstopper",
            "Season 2",
            "Episode Captures",
            "S02E06 – Truth / Dare (5)"
        ]
    );
    assert_eq!(
        page.attrs(".breadcrumb a", "href")[4],
        "/gallery/television-productions/heartstopper/season-2/episode-captures"
    );
    assert_eq!(page.texts("main h1"), ["S02E06 – Truth / Dare"]);
    let widths = page.attrs(".thumbs img", "width");
    let heights = page.attrs(".thumbs img", "height");
    assert_eq!(widths, vec!["240"; 5]);
    assert_eq!(heights, vec!["135"; 5]);
    for srcset in page.attrs(".thumbs img", "srcset") {
        assert!(
            srcset.contains(" 320w, ") && srcset.ends_with(" 1280w"),
            "{srcset}"
        );
    }
}

async fn album_pages_paginate_and_reject_bad_numbers(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E01 – Out", 61);
    let app = env.app().await;
    let first = get(&app, &format!("/albums/{}", a.slug)).await;
    assert_eq!(first.attrs(".thumbs img", "src").len(), 60);
    assert_eq!(
        first.attrs("a[rel=next]", "href"),
        [format!("/albums/{}?page=2", a.slug)]
    );
    assert_eq!(
        first.attrs(".thumbs img[loading=lazy]", "src").len(),
        48,
        "below the fold only"
    );
    let second = get(&app, &format!("/albums/{}?page=2", a.slug)).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.attrs(".thumbs img", "src").len(), 1);
    assert_eq!(
        second.attrs("a[rel=prev]", "href"),
        [format!("/albums/{}", a.slug)]
    );
    assert_eq!(
        get(&app, &format!("/albums/{}?page=3", a.slug))
            .await
            .status,
        404
    );
    for bad in ["abc", "0", "-1", "1.5", "99999999999999999999"] {
        let page = get(&app, &format!("/albums/{}?page={bad}", a.slug)).await;
        assert_eq!(page.status, 400, "page={bad}");
        // In the site's own layout, saying what is wrong with the address.
        assert_eq!(page.texts("h1"), ["That did not work"]);
        assert_eq!(page.texts(".site-title").len(), 1, "page={bad}");
        assert_eq!(page.attrs("meta[name=robots]", "content"), ["noindex"]);
        assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
        let says = page.texts(".error-message").join("");
        if bad == "99999999999999999999" {
            assert_eq!(says, "page must be from 1 to 1000000");
        } else {
            assert!(says.contains("page must be"), "{says}");
        }
    }
}

/// A long album (the 1,158-photo episode is 20 pages): numbered pages around the current one,
/// the first and last always, `rel` prev/next, and a jump to any page that works without script.
async fn long_albums_have_numbered_pages_and_a_jump(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E04 – Challenge", 1_158);
    let app = env.app().await;
    let base = format!("/albums/{}", a.slug);
    let page = get(&app, &format!("{base}?page=10")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts(".pager-status"), ["Page 10 of 20"]);
    assert_eq!(
        page.texts(".pager li"),
        [
            "← Previous",
            "1",
            "…",
            "8",
            "9",
            "10",
            "11",
            "12",
            "…",
            "20",
            "Next →"
        ]
    );
    assert_eq!(
        page.attrs(".pager a[aria-current=page]", "href"),
        [format!("{base}?page=10")]
    );
    assert_eq!(
        page.attrs("a[rel=prev]", "href"),
        [format!("{base}?page=9")]
    );
    assert_eq!(
        page.attrs("a[rel=next]", "href"),
        [format!("{base}?page=11")]
    );
    assert_eq!(
        page.attrs(".pager a[aria-label='Page 1']", "href"),
        [base.as_str()]
    );
    assert_eq!(
        page.attrs(".pager a[aria-label='Page 20']", "href"),
        [format!("{base}?page=20")]
    );
    assert_eq!(page.attrs(".pager-jump", "action"), [base.as_str()]);
    assert_eq!(page.attrs(".pager-jump input[name=page]", "max"), ["20"]);
    // The jump form sends ?page=N, which is the page itself.
    let jumped = get(&app, &format!("{base}?page=17")).await;
    assert_eq!(jumped.texts(".pager-status"), ["Page 17 of 20"]);
    let last = get(&app, &format!("{base}?page=20")).await;
    assert_eq!(last.attrs(".thumbs img", "src").len(), 1_158 - 19 * 60);
    assert!(last.attrs("a[rel=next]", "href").is_empty());
    // The album says how many photos it holds.
    assert_eq!(page.texts(".album-count"), ["1,158 photos"]);
}

async fn draft_albums_are_invisible(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E07 – Sorry", 2);
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            a.id,
            AlbumStatus::Draft,
        )
        .map(drop)
    });
    let app = env.app().await;
    assert_eq!(get(&app, &format!("/albums/{}", a.slug)).await.status, 404);
    assert!(get(&app, "/").await.texts(".latest-additions").is_empty());
}

backend_tests!(
    album_page_has_breadcrumb_and_sized_thumbnails,
    long_albums_have_numbered_pages_and_a_jump,
    album_pages_paginate_and_reject_bad_numbers,
    draft_albums_are_invisible,
);

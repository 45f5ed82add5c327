//! `/gallery`, nested category pages, `/gallery/latest`, `/photos/{id}`.

use cms_core::models::album::{AlbumStatus, NewAlbum};
use cms_core::models::photo;

use crate::backend_tests;
use crate::common::{Backend, TestEnv, fake_photos, get};

const PATH: &[&str] = &[
    "Television Productions",
    "Heartstopper",
    "Season 2",
    "Episode Captures",
];

async fn gallery_tree_shows_recursive_counts_and_hides_drafts(backend: Backend) {
    let env = TestEnv::new(backend);
    env.album_with_photos(PATH, "S02E01 – Out", 11);
    env.album_with_photos(PATH, "S02E06 – Truth / Dare", 4);
    env.write(|c| {
        let cat =
            cms_core::service::gallery::ensure_path(c, &crate::common::cli(), &["Unreleased"])?;
        let a = cms_core::service::gallery::create_album(
            c,
            &crate::common::cli(),
            &NewAlbum {
                category_id: cat,
                title: "Secret set",
                description: "",
                credit: "",
                status: AlbumStatus::Draft,
            },
        )?;
        cms_core::service::gallery::add_photos(
            c,
            &crate::common::cli(),
            a.id,
            &fake_photos("secret", 3),
        )?;
        Ok(())
    });
    let app = env.app().await;
    let page = get(&app, "/gallery").await;
    assert_eq!(page.status, 200);
    let lines = page.texts(".tree li");
    assert_eq!(
        lines,
        [
            "Television Productions (15)",
            "Heartstopper (15)",
            "Season 2 (15)",
            "Episode Captures (15)",
            "S02E01 – Out (11)",
            "S02E06 – Truth / Dare (4)",
        ]
    );
    assert!(!page.body.contains("Secret set") && !page.body.contains("Unreleased"));
    assert_eq!(
        get(&app, "/gallery/unreleased").await.status,
        404,
        "draft-only categories are hidden"
    );
    // Every gallery image has a srcset, sizes, width and height.
    for attr in ["srcset", "sizes", "width", "height"] {
        assert_eq!(
            page.attrs("main img", attr).len(),
            page.attrs("main img", "src").len(),
            "{attr}"
        );
    }
}

async fn category_pages_nest_with_breadcrumbs(backend: Backend) {
    let env = TestEnv::new(backend);
    env.album_with_photos(PATH, "S02E02 – Family", 2);
    env.album_with_photos(
        &["Television Productions", "Heartstopper", "Season 1"],
        "S01E01 – Meet",
        1,
    );
    let app = env.app().await;
    let top = get(&app, "/gallery/television-productions").await;
    assert_eq!(top.status, 200);
    assert_eq!(top.texts(".subcategories .card-title"), ["Heartstopper"]);
    assert_eq!(top.texts(".subcategories .count"), ["3 photos in 2 albums"]);
    // The card's cover is the cover of the album most recently added to beneath it.
    let cover = top.attrs(".subcategories img", "src");
    assert_eq!(cover.len(), 1, "{cover:?}");
    let season = get(
        &app,
        "/gallery/television-productions/heartstopper/season-2/episode-captures",
    )
    .await;
    assert_eq!(
        season.texts(".breadcrumb li"),
        [
            "Gallery",
            "Television Productions",
            "Heartstopper",
            "Season 2",
            "Episode Captures"
        ]
    );
    assert_eq!(season.texts(".card-title"), ["S02E02 – Family"]);
    assert_eq!(season.texts(".card .count"), ["2 photos"]);
    assert_eq!(
        get(&app, "/gallery/television-productions/nope")
            .await
            .status,
        404
    );
    assert_eq!(
        get(&app, "/gallery/television-productions?page=x")
            .await
            .status,
        400
    );
}

async fn latest_additions_group_by_album_and_day(backend: Backend) {
    let env = TestEnv::new(backend);
    env.album_with_photos(PATH, "S02E03 – Promise", 9);
    env.album_with_photos(PATH, "S02E04 – Challenge", 2);
    let app = env.app().await;
    let page = get(&app, "/gallery/latest").await;
    assert_eq!(page.status, 200);
    let groups = page.texts(".addition h2");
    assert_eq!(groups.len(), 2);
    assert!(groups.contains(&"S02E03 – Promise".to_string()));
    let metas = page.texts(".addition .meta");
    assert!(
        metas.iter().any(|m| m.contains("9 photos added on")),
        "{metas:?}"
    );
    assert_eq!(
        page.attrs(".addition img", "src").len(),
        8 + 2,
        "up to eight thumbnails a group"
    );
}

async fn photo_page_has_neighbours_original_and_breadcrumb(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E05 – Heat", 3);
    let ids: Vec<i64> = photo::page_in_album(&mut env.conn(), a.id, 0, 3)
        .expect("q")
        .iter()
        .map(|p| p.id)
        .collect();
    env.write(|c| {
        cms_core::service::gallery::update_photo(
            c,
            &crate::common::cli(),
            ids[1],
            "Nick & Charlie at the \"beach\"",
            "Netflix",
            "Episode 5",
        )
    });
    let app = env.app().await;
    let page = get(&app, &format!("/photos/{}", ids[1])).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("article h1"),
        ["Nick & Charlie at the \"beach\""]
    );
    assert_eq!(
        page.attrs("a[rel=prev]", "href"),
        [format!("/photos/{}", ids[0])]
    );
    assert_eq!(
        page.attrs("a[rel=next]", "href"),
        [format!("/photos/{}", ids[2])]
    );
    assert_eq!(page.texts(".photo-nav a:not([rel])"), ["Photo 2 of 3"]);
    let crumbs = page.texts(".breadcrumb li");
    assert_eq!(crumbs.last().map(String::as_str), Some("Photo 2"));
    assert!(crumbs.contains(&"S02E05 – Heat".to_string()));
    assert_eq!(page.texts(".photo-facts dd")[0], "Netflix");
    let original = page.attrs(".photo-facts a", "href").remove(0);
    assert!(
        original.starts_with("/media/photos/") && original.ends_with(".jpg"),
        "{original}"
    );
    let img = page.attrs("figure img", "width");
    assert_eq!(img, ["1280"]);
    // Every size is offered, the original last with its true size.
    let sizes = page.texts(".sizes li");
    assert_eq!(
        sizes,
        [
            "320 × 180",
            "1280 × 720",
            "Original, 1920 × 1080 (1000 bytes)"
        ]
    );
    assert_eq!(page.attrs(".sizes a", "href")[2], original);
    // The photo is an ImageObject for search engines, part of its album's gallery.
    let ld = page.texts("script[type='application/ld+json']");
    let json: serde_json::Value = serde_json::from_str(&ld[0]).expect("JSON-LD parses");
    assert_eq!(json["@type"], "ImageObject");
    assert_eq!(json["name"], "Nick & Charlie at the \"beach\"");
    assert_eq!(json["creditText"], "Netflix");
    assert_eq!(
        json["contentUrl"],
        format!("http://keepsake.test{original}")
    );
    assert_eq!(json["isPartOf"]["@type"], "ImageGallery");
    assert!(json["width"].as_i64().is_some_and(|w| w > 0));
    assert!(!ld[0].contains("null"), "{}", ld[0]);
    // Left and right keys and swipes come from the site's one small script.
    assert!(page.attrs("script[src]", "src")[0].starts_with("/static/site."));
    // First and last photos have one neighbour each; unknown ids and drafts are 404.
    assert!(
        get(&app, &format!("/photos/{}", ids[0]))
            .await
            .attrs("a[rel=prev]", "href")
            .is_empty()
    );
    assert_eq!(get(&app, "/photos/999999").await.status, 404);
    assert_eq!(get(&app, "/photos/abc").await.status, 404);
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            a.id,
            AlbumStatus::Draft,
        )
        .map(drop)
    });
    assert_eq!(get(&app, &format!("/photos/{}", ids[1])).await.status, 404);
}

async fn views_are_counted_and_most_viewed_shows_them(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E07 – Sorry", 3);
    let ids: Vec<i64> = photo::page_in_album(&mut env.conn(), a.id, 0, 3)
        .expect("q")
        .iter()
        .map(|p| p.id)
        .collect();
    let app = env.app().await;
    for _ in 0..3 {
        assert_eq!(get(&app, &format!("/photos/{}", ids[2])).await.status, 200);
    }
    get(&app, &format!("/photos/{}", ids[0])).await;
    cms_web::flush_views(&env.state).await;
    let p = photo::find(&mut env.conn(), ids[2])
        .expect("q")
        .expect("photo");
    assert_eq!(p.views, 3);
    let most = photo::most_viewed(&mut env.conn(), 10).expect("q");
    assert_eq!(
        most.iter().map(|(p, _)| p.id).collect::<Vec<_>>(),
        [ids[2], ids[0]]
    );
}

/// One photo is "1 photo", one album "1 album"; a small original's size is in bytes, not
/// "0.0 MB"; albums that share a title take their category's name into the slug, then its
/// parent's, before a number.
async fn counts_sizes_and_slugs_read_as_people_write_them(backend: Backend) {
    let env = TestEnv::new(backend);
    let red = env.album_with_photos(&["Films", "Premieres"], "Red carpet", 1);
    let s1 = env.album_with_photos(&["Shows", "Season 1"], "Episode 1", 2);
    let s2 = env.album_with_photos(&["Shows", "Season 2"], "Episode 1", 2);
    let other = env.album_with_photos(&["Other", "Season 2"], "Episode 1", 1);
    let again = env.album_with_photos(&["Other", "Season 2"], "Episode 1", 1);
    let titled = env.album_with_photos(&["Shows", "Season 2"], "Season 2 Episode 1", 1);
    env.album_with_photos(&["Shows", "Season 2"], "Season 20 Special", 1);
    let special = env.album_with_photos(&["Shows", "Season 2"], "Season 20 Special", 1);
    assert_eq!(
        special.slug, "season-2-season-20-special",
        "a whole-word prefix only"
    );
    assert_eq!(
        [&s1.slug, &s2.slug, &other.slug, &again.slug, &titled.slug],
        [
            "episode-1",
            "season-2-episode-1",
            "other-season-2-episode-1",
            "season-2-episode-1-2",
            "shows-season-2-episode-1"
        ]
    );
    let app = env.app().await;
    let films = get(&app, "/gallery/films").await;
    assert_eq!(films.texts(".subcategories .count"), ["1 photo in 1 album"]);
    let premieres = get(&app, "/gallery/films/premieres").await;
    assert_eq!(premieres.texts(".card .count"), ["1 photo"]);
    assert!(
        premieres.body.contains("content=\"1 photo in 1 album\""),
        "the description too"
    );
    let album = get(&app, &format!("/albums/{}", red.slug)).await;
    assert!(
        album.body.contains("content=\"1 photo in Red carpet\""),
        "{}",
        album.body
    );
    let id = photo::page_in_album(&mut env.conn(), red.id, 0, 1).expect("q")[0].id;
    let page = get(&app, &format!("/photos/{id}")).await;
    assert!(
        page.body.contains("1920 × 1080 px, 1000 bytes"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(" MB"), "no 0.0 MB");
}

backend_tests!(
    counts_sizes_and_slugs_read_as_people_write_them,
    gallery_tree_shows_recursive_counts_and_hides_drafts,
    category_pages_nest_with_breadcrumbs,
    latest_additions_group_by_album_and_day,
    photo_page_has_neighbours_original_and_breadcrumb,
    views_are_counted_and_most_viewed_shows_them,
);

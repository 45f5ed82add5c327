//! Gallery counts stay right through every insert, delete, move and publish.

use cms_core::models::album::{self, AlbumStatus, NewAlbum};
use cms_core::models::gallery_category as gc;
use cms_core::models::photo;

use crate::backend_tests;
use crate::common::{Backend, TestEnv, fake_photos};

const PATH: &[&str] = &[
    "Television Productions",
    "Heartstopper",
    "Season 2",
    "Episode Captures",
];

fn counts(env: &TestEnv, path: &str) -> (i64, i64) {
    let c = gc::find_by_path(&mut env.conn(), path)
        .expect("query")
        .expect("category");
    (c.album_count, c.photo_count)
}

fn assert_consistent(env: &TestEnv) {
    let problems = gc::verify_counts(&mut env.conn()).expect("verify");
    assert!(problems.is_empty(), "counts drifted: {problems:#?}");
}

async fn reference_path_counts_are_recursive(backend: Backend) {
    let env = TestEnv::new(backend);
    env.album_with_photos(PATH, "S02E01 – Out", 11);
    env.album_with_photos(PATH, "S02E06 – Truth / Dare", 7);
    env.album_with_photos(
        &["Television Productions", "Heartstopper", "Season 1"],
        "S01E01 – Meet",
        3,
    );
    assert_eq!(counts(&env, "television-productions"), (3, 21));
    assert_eq!(counts(&env, "television-productions/heartstopper"), (3, 21));
    assert_eq!(
        counts(&env, "television-productions/heartstopper/season-2"),
        (2, 18)
    );
    assert_eq!(
        counts(
            &env,
            "television-productions/heartstopper/season-2/episode-captures"
        ),
        (2, 18)
    );
    assert_eq!(
        counts(&env, "television-productions/heartstopper/season-1"),
        (1, 3)
    );
    let a = album::find_by_slug(&mut env.conn(), "s02e06-truth-dare")
        .expect("q")
        .expect("album");
    assert_eq!(a.title, "S02E06 – Truth / Dare");
    assert_eq!(a.photo_count, 7);
    assert_consistent(&env);
}

async fn photo_insert_delete_and_move_keep_counts(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E01 – Out", 10);
    let b = env.album_with_photos(&["Television Productions", "Other"], "Elsewhere", 2);
    // Delete three photos of A.
    let ids: Vec<i64> = photo::page_in_album(&mut env.conn(), a.id, 0, 3)
        .expect("q")
        .iter()
        .map(|p| p.id)
        .collect();
    env.write(|c| {
        cms_core::service::gallery::delete_photos(c, &crate::common::cli(), &ids).map(drop)
    });
    assert_eq!(
        album::find(&mut env.conn(), a.id)
            .expect("q")
            .expect("a")
            .photo_count,
        7
    );
    assert_eq!(counts(&env, "television-productions"), (2, 9));
    // Move two photos from A to B.
    let ids: Vec<i64> = photo::page_in_album(&mut env.conn(), a.id, 0, 2)
        .expect("q")
        .iter()
        .map(|p| p.id)
        .collect();
    let moved = env
        .write(|c| cms_core::service::gallery::move_photos(c, &crate::common::cli(), &ids, b.id));
    assert_eq!(moved, 2);
    assert_eq!(counts(&env, "television-productions/heartstopper"), (1, 5));
    assert_eq!(counts(&env, "television-productions/other"), (1, 4));
    assert_eq!(counts(&env, "television-productions"), (2, 9));
    // Moving a photo back onto identical content is refused and changes nothing.
    let dup = fake_photos("S02E01 – Out", 10).remove(5);
    env.write(|c| {
        cms_core::service::gallery::add_photos(c, &crate::common::cli(), b.id, &[dup]).map(drop)
    });
    let b_dup: i64 = photo::page_in_album(&mut env.conn(), b.id, 0, 10)
        .expect("q")
        .last()
        .expect("p")
        .id;
    let err = env.state.db.write_blocking(|c| {
        cms_core::service::gallery::move_photos(c, &crate::common::cli(), &[b_dup], a.id)
    });
    assert!(matches!(err, Err(cms_core::Error::Conflict(_))), "{err:?}");
    assert_consistent(&env);
}

async fn duplicates_in_an_album_are_skipped_and_reported(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E02 – Family", 4);
    let mut again = fake_photos("S02E02 – Family", 6);
    again.push(again[5].clone());
    let report = env
        .write(|c| cms_core::service::gallery::add_photos(c, &crate::common::cli(), a.id, &again));
    assert_eq!(report.inserted.len(), 2);
    assert_eq!(report.duplicates.len(), 5, "{:?}", report.duplicates);
    assert_eq!(
        album::find(&mut env.conn(), a.id)
            .expect("q")
            .expect("a")
            .photo_count,
        6
    );
    assert_consistent(&env);
}

async fn album_publish_move_and_delete_keep_counts(backend: Backend) {
    let env = TestEnv::new(backend);
    let draft = env.write(|c| {
        let cat = cms_core::service::gallery::ensure_path(c, &crate::common::cli(), PATH)?;
        let a = cms_core::service::gallery::create_album(
            c,
            &crate::common::cli(),
            &NewAlbum {
                category_id: cat,
                title: "S02E03 – Promise",
                description: "",
                credit: "",
                status: AlbumStatus::Draft,
            },
        )?;
        cms_core::service::gallery::add_photos(
            c,
            &crate::common::cli(),
            a.id,
            &fake_photos("promise", 5),
        )?;
        Ok(a)
    });
    // Drafts count on the album but not on readers' category counts.
    assert_eq!(counts(&env, "television-productions"), (0, 0));
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            draft.id,
            AlbumStatus::Published,
        )
        .map(drop)
    });
    assert_eq!(counts(&env, "television-productions"), (1, 5));
    // Move to another branch.
    let other = env.write(|c| {
        cms_core::service::gallery::ensure_path(c, &crate::common::cli(), &["Films", "One of Us"])
    });
    env.write(|c| {
        cms_core::service::gallery::move_album(c, &crate::common::cli(), draft.id, other)
    });
    assert_eq!(counts(&env, "television-productions"), (0, 0));
    assert_eq!(counts(&env, "films"), (1, 5));
    assert_eq!(counts(&env, "films/one-of-us"), (1, 5));
    // Unpublish, then delete.
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            draft.id,
            AlbumStatus::Draft,
        )
        .map(drop)
    });
    assert_eq!(counts(&env, "films"), (0, 0));
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            draft.id,
            AlbumStatus::Published,
        )
        .map(drop)
    });
    env.write(|c| {
        cms_core::service::gallery::delete_album(c, &crate::common::cli(), draft.id).map(drop)
    });
    assert_eq!(counts(&env, "films"), (0, 0));
    assert!(album::find(&mut env.conn(), draft.id).expect("q").is_none());
    assert_consistent(&env);
}

async fn category_moves_carry_counts_and_paths(backend: Backend) {
    let env = TestEnv::new(backend);
    env.album_with_photos(PATH, "S02E04 – Challenge", 6);
    env.album_with_photos(&["Films"], "Film stills", 2);
    let season = gc::find_by_path(
        &mut env.conn(),
        "television-productions/heartstopper/season-2",
    )
    .expect("q")
    .expect("c");
    let films = gc::find_by_path(&mut env.conn(), "films")
        .expect("q")
        .expect("c");
    env.write(|c| {
        cms_core::service::gallery::move_category(
            c,
            &crate::common::cli(),
            season.id,
            Some(films.id),
        )
    });
    assert_eq!(counts(&env, "films"), (2, 8));
    assert_eq!(counts(&env, "films/season-2"), (1, 6));
    assert_eq!(counts(&env, "films/season-2/episode-captures"), (1, 6));
    assert_eq!(counts(&env, "television-productions"), (0, 0));
    // A category cannot move under its own descendant.
    let captures = gc::find_by_path(&mut env.conn(), "films/season-2/episode-captures")
        .expect("q")
        .expect("c");
    let err = env.state.db.write_blocking(|c| {
        cms_core::service::gallery::move_category(
            c,
            &crate::common::cli(),
            season.id,
            Some(captures.id),
        )
    });
    assert!(
        matches!(err, Err(cms_core::Error::Invalid { .. })),
        "{err:?}"
    );
    // A category with content cannot be deleted; an empty one can.
    let err = env.state.db.write_blocking(|c| {
        cms_core::service::gallery::delete_category(c, &crate::common::cli(), films.id)
    });
    assert!(matches!(err, Err(cms_core::Error::Conflict(_))), "{err:?}");
    let hp = gc::find_by_path(&mut env.conn(), "television-productions/heartstopper")
        .expect("q")
        .expect("c");
    env.write(|c| cms_core::service::gallery::delete_category(c, &crate::common::cli(), hp.id));
    assert_consistent(&env);
}

async fn breadcrumb_runs_root_first(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E08 – Perfect", 1);
    let crumbs = gc::breadcrumb(&mut env.conn(), a.category_id.expect("category")).expect("crumbs");
    let names: Vec<&str> = crumbs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, PATH);
}

/// A photo's number and neighbours from the album order held per version match the
/// database's answer, through gaps left by deletes and a reorder.
async fn photo_places_from_the_held_order_match_the_database(backend: Backend) {
    let env = TestEnv::new(backend);
    let a = env.album_with_photos(PATH, "S02E01 – Out", 9);
    let all = photo::page_in_album(&mut env.conn(), a.id, 0, 100).expect("photos");
    env.write(|c| {
        cms_core::service::gallery::delete_photos(c, &crate::common::cli(), &[all[2].id, all[5].id])
            .map(|_| ())
    });
    let mut ids: Vec<i64> = photo::page_in_album(&mut env.conn(), a.id, 0, 100)
        .expect("photos")
        .iter()
        .map(|p| p.id)
        .collect();
    ids.reverse();
    env.write(|c| cms_core::service::gallery::reorder_photos(c, &crate::common::cli(), a.id, &ids));
    let version = cms_core::models::site::content_version(&mut env.conn()).expect("version");
    let snap = cms_core::snapshot::Snapshot::load(&mut env.conn(), version).expect("snapshot");
    let photos = photo::page_in_album(&mut env.conn(), a.id, 0, 100).expect("photos");
    assert_eq!(photos.len(), 7);
    for (i, p) in photos.iter().enumerate() {
        let held = snap.photo_place(&mut env.conn(), p, 7).expect("place");
        let counted = photo::place(&mut env.conn(), p).expect("place");
        assert_eq!(held, counted, "photo {i}");
        assert_eq!(held.index, i as i64);
        assert_eq!(held.prev, i.checked_sub(1).map(|j| photos[j].id));
        assert_eq!(held.next, photos.get(i + 1).map(|x| x.id));
    }
    // An album too large to hold is answered from the database, the same way.
    let p = &photos[3];
    assert_eq!(
        snap.photo_place(&mut env.conn(), p, i64::MAX)
            .expect("place"),
        photo::place(&mut env.conn(), p).expect("place")
    );
}

backend_tests!(
    photo_places_from_the_held_order_match_the_database,
    reference_path_counts_are_recursive,
    photo_insert_delete_and_move_keep_counts,
    duplicates_in_an_album_are_skipped_and_reported,
    album_publish_move_and_delete_keep_counts,
    category_moves_carry_counts_and_paths,
    breadcrumb_runs_root_first,
);

//! The service layer: every change readers can see appends exactly one event, in order, in
//! the transaction that makes it; a draft's changes append none; each service writes one
//! audit entry; an import's events are quiet and it audits its run, not each item.

use cms_core::models::album::{AlbumStatus, NewAlbum};
use cms_core::models::audit::Actor;
use cms_core::models::change::{self, ChangeEvent, EventKind};
use cms_core::models::post::{PostInput, PostStatus};
use cms_core::models::video::VideoInput;
use cms_core::models::{audit, job, post};
use cms_core::service::{gallery, posts, taxonomy, videos};

use crate::backend_tests;
use crate::common::{Backend, TestEnv, cli, fake_photos, published_post};

/// Where the stream is now.
fn mark(env: &TestEnv) -> i64 {
    change::last_id(&mut env.conn()).expect("last id")
}

/// The events since `from`, as (kind, item type, item id).
fn since(env: &TestEnv, from: i64) -> Vec<ChangeEvent> {
    change::after(&mut env.conn(), from, 10_000).expect("events")
}

fn kinds(events: &[ChangeEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// Runs `write` and returns the events and the number of audit entries it added.
fn changes<T>(
    env: &TestEnv,
    write: impl FnOnce(&mut cms_core::DbConn) -> cms_core::Result<T>,
) -> (T, Vec<ChangeEvent>, usize) {
    let from = mark(env);
    let audits = audit::recent(&mut env.conn(), 100_000, 0)
        .expect("audit")
        .len();
    let out = env.write(write);
    let after = audit::recent(&mut env.conn(), 100_000, 0)
        .expect("audit")
        .len();
    (out, since(env, from), after - audits)
}

async fn a_posts_life_appends_one_event_per_change_readers_see(backend: Backend) {
    let env = TestEnv::new(backend);
    // A draft, and edits of it: nobody outside sees them.
    let (draft, ev, audits) = changes(&env, |c| {
        posts::create(c, &cli(), &PostInput::new("Diary", "x"))
    });
    assert_eq!((kinds(&ev), audits), (vec![], 1));
    let mut input = post::input_of(&mut env.conn(), &draft).expect("input");
    input.body_markdown = "y".into();
    let (_, ev, _) = changes(&env, |c| posts::update(c, &cli(), draft.id, &input, None));
    assert!(ev.is_empty(), "{:?}", kinds(&ev));

    // Published: one event, with what a bot needs.
    let (p, ev, audits) = changes(&env, |c| posts::publish(c, &cli(), draft.id));
    assert_eq!((kinds(&ev), audits), (vec!["post.published"], 1));
    let e = &ev[0];
    assert_eq!((e.item_type.as_str(), e.item_id), ("post", p.id));
    assert_eq!(e.actor, "cli");
    assert!(!e.quiet);
    let payload = e.payload_json();
    assert_eq!(payload["title"], "Diary");
    assert_eq!(payload["path"], format!("/posts/{}", p.slug));

    // An edit of the published post, then taken back, then deleted while a draft (no one saw
    // the deletion) — and a published one deleted.
    let mut input = post::input_of(&mut env.conn(), &p).expect("input");
    input.title = "Diary, day two".into();
    let (_, ev, _) = changes(&env, |c| posts::update(c, &cli(), p.id, &input, None));
    assert_eq!(kinds(&ev), ["post.updated"]);
    let (_, ev, _) = changes(&env, |c| {
        posts::set_status(c, &cli(), p.id, PostStatus::Draft)
    });
    assert_eq!(kinds(&ev), ["post.unpublished"]);
    let (_, ev, audits) = changes(&env, |c| posts::delete(c, &cli(), p.id));
    assert_eq!((kinds(&ev), audits), (vec![], 1));
    let q = env.write(|c| posts::create(c, &cli(), &published_post("Out", "x")));
    let (_, ev, _) = changes(&env, |c| posts::delete(c, &cli(), q.id));
    assert_eq!(kinds(&ev), ["post.deleted"]);
    assert_eq!(
        ev[0].payload_json()["title"],
        "Out",
        "a removal names what went"
    );
    assert!(EventKind::PostDeleted.is_removal());
}

async fn the_scheduler_publishes_with_one_event_of_its_own(backend: Backend) {
    let env = TestEnv::new(backend);
    let mut input = PostInput::new("Later", "x");
    input.status = PostStatus::Scheduled;
    input.publish_at = Some(cms_core::models::now() + chrono::Duration::minutes(5));
    let p = env.write(|c| posts::create(c, &cli(), &input));
    let from = mark(&env);
    env.state.db.clock().advance(chrono::Duration::minutes(6));
    let pass = cms_core::publishing::run_due(&env.state.db, "test:1").expect("pass");
    assert_eq!(pass.published, [p.id]);
    // A second pass (another node, a retry) publishes nothing and appends nothing.
    cms_core::publishing::run_due(&env.state.db, "test:2").expect("pass");
    let ev = since(&env, from);
    assert_eq!(kinds(&ev), ["post.published"]);
    assert_eq!(ev[0].actor, "system:scheduler");
}

async fn the_gallery_appends_events_only_for_what_readers_see(backend: Backend) {
    let env = TestEnv::new(backend);
    // A category chain made on the way: one event per category made, none when it exists.
    let (cat, ev, _) = changes(&env, |c| {
        gallery::ensure_path(c, &cli(), &["Films", "2024"])
    });
    assert_eq!(
        kinds(&ev),
        ["gallery_category.created", "gallery_category.created"]
    );
    let (_, ev, _) = changes(&env, |c| {
        gallery::ensure_path(c, &cli(), &["Films", "2024"])
    });
    assert!(ev.is_empty());

    // A draft album filled with photos: nothing yet.
    let new = NewAlbum {
        category_id: cat,
        title: "Premiere",
        description: "",
        credit: "",
        status: AlbumStatus::Draft,
    };
    let (a, ev, _) = changes(&env, |c| {
        let a = gallery::create_album(c, &cli(), &new)?;
        gallery::add_photos(c, &cli(), a.id, &fake_photos("premiere", 5))?;
        Ok(a)
    });
    assert!(ev.is_empty(), "{:?}", kinds(&ev));

    // Published: one event; then photos added to it are one event per addition.
    let (_, ev, _) = changes(&env, |c| {
        gallery::set_album_status(c, &cli(), a.id, AlbumStatus::Published)
    });
    assert_eq!(kinds(&ev), ["album.published"]);
    assert_eq!(ev[0].payload_json()["photo_count"], 5);
    let (added, ev, audits) = changes(&env, |c| {
        gallery::add_photos(c, &cli(), a.id, &fake_photos("more", 3))
    });
    assert_eq!((kinds(&ev), audits), (vec!["photos.added"], 1));
    let payload = ev[0].payload_json();
    assert_eq!(payload["count"], 3);
    assert_eq!(payload["photo_ids"], serde_json::json!(added.inserted));
    // The same files again: nothing added, nothing appended.
    let (_, ev, _) = changes(&env, |c| {
        gallery::add_photos(c, &cli(), a.id, &fake_photos("more", 3))
    });
    assert!(ev.is_empty());

    // A photo's caption; photos moved to another published album (leaving one, arriving in
    // the other); photos removed.
    let b = env.album_with_photos(&["Films", "2024"], "After-party", 1);
    let (_, ev, _) = changes(&env, |c| {
        gallery::update_photo(c, &cli(), added.inserted[0], "On the carpet", "", "")
    });
    assert_eq!(kinds(&ev), ["photo.updated"]);
    let (_, ev, _) = changes(&env, |c| {
        gallery::move_photos(c, &cli(), &added.inserted[1..], b.id)
    });
    assert_eq!(kinds(&ev), ["photos.moved", "photos.added"]);
    assert_eq!((ev[0].item_id, ev[1].item_id), (a.id, b.id));
    assert_eq!(ev[0].payload_json()["to_album_id"], b.id);
    let (_, ev, _) = changes(&env, |c| {
        gallery::delete_photos(c, &cli(), &added.inserted[..1])
    });
    assert_eq!(kinds(&ev), ["photos.removed"]);

    // One edit that renames and unpublishes is one change: readers lose the album.
    let edit = gallery::AlbumEdit {
        title: Some("Premiere night"),
        status: Some(AlbumStatus::Draft),
        ..Default::default()
    };
    let (_, ev, audits) = changes(&env, |c| gallery::edit_album(c, &cli(), a.id, &edit));
    assert_eq!((kinds(&ev), audits), (vec!["album.unpublished"], 1));
    // A draft's edits, moves and deletion: nothing.
    let (_, ev, _) = changes(&env, |c| {
        gallery::move_album(c, &cli(), a.id, None)?;
        gallery::delete_album(c, &cli(), a.id)
    });
    assert!(ev.is_empty(), "{:?}", kinds(&ev));
    // A published album moved, then deleted.
    let (_, ev, _) = changes(&env, |c| gallery::move_album(c, &cli(), b.id, None));
    assert_eq!(kinds(&ev), ["album.moved"]);
    assert_eq!(ev[0].payload_json()["from_category_id"], cat.expect("cat"));
    let (_, ev, _) = changes(&env, |c| gallery::delete_album(c, &cli(), b.id));
    assert_eq!(kinds(&ev), ["album.deleted"]);

    // The tree: renamed, moved, reordered, deleted — one event each.
    let films = env
        .write(|c| gallery::ensure_path(c, &cli(), &["Films"]))
        .expect("id");
    let (_, ev, _) = changes(&env, |c| {
        let events = gallery::create_category(c, &cli(), None, "Events", "")?;
        gallery::update_category(c, &cli(), events.id, "Events & Appearances", "")?;
        gallery::move_category(c, &cli(), events.id, Some(films))?;
        gallery::move_category(c, &cli(), events.id, None)?;
        gallery::reorder_categories(c, &cli(), &[events.id, films])?;
        gallery::delete_category(c, &cli(), events.id)
    });
    assert_eq!(
        kinds(&ev),
        [
            "gallery_category.created",
            "gallery_category.updated",
            "gallery_category.moved",
            "gallery_category.moved",
            "gallery_categories.reordered",
            "gallery_category.deleted",
        ]
    );
    let errors = cms_core::models::gallery_category::verify_counts(&mut env.conn()).expect("v");
    assert!(errors.is_empty(), "{errors:?}");
}

async fn albums_published_together_are_one_event_each_and_one_email(backend: Backend) {
    let env = TestEnv::new(backend);
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            env.write(|c| {
                let title = format!("Episode {i}");
                let a = gallery::create_album(
                    c,
                    &cli(),
                    &NewAlbum {
                        category_id: None,
                        title: &title,
                        description: "",
                        credit: "",
                        status: AlbumStatus::Draft,
                    },
                )?;
                gallery::add_photos(c, &cli(), a.id, &fake_photos(&title, 2))?;
                Ok(a.id)
            })
        })
        .collect();
    let (newly, ev, _) = changes(&env, |c| gallery::publish_albums(c, &cli(), &ids));
    assert_eq!(newly, ids);
    assert_eq!(kinds(&ev), ["album.published"; 3]);
    let fanouts = job::recent(&mut env.conn(), cms_core::notify::FANOUT_JOB, 100).expect("n");
    assert_eq!(fanouts.len(), 1, "one update email about all three");
    // Again: nothing new.
    let (newly, ev, _) = changes(&env, |c| gallery::publish_albums(c, &cli(), &ids));
    assert!(newly.is_empty() && ev.is_empty());
}

async fn videos_and_categories_append_their_events(backend: Backend) {
    let env = TestEnv::new(backend);
    let input = VideoInput {
        title: "Interview".into(),
        embed_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
        published: true,
        ..VideoInput::default()
    };
    let (v, ev, _) = changes(&env, |c| videos::create(c, &cli(), &input));
    assert_eq!(kinds(&ev), ["video.published"]);
    assert_eq!(ev[0].payload_json()["path"], format!("/videos/{}", v.slug));
    let draft = VideoInput {
        published: false,
        ..cms_core::models::video::input_of(&v)
    };
    let (_, ev, _) = changes(&env, |c| {
        videos::update(c, &cli(), v.id, &input)?;
        videos::update(c, &cli(), v.id, &draft)?;
        videos::delete(c, &cli(), v.id)
    });
    assert_eq!(kinds(&ev), ["video.updated", "video.unpublished"]);

    let (_, ev, audits) = changes(&env, |c| {
        let cat = taxonomy::create_category(c, &cli(), None, "Interviews", None, "")?;
        taxonomy::ensure_category(c, &cli(), "Interviews")?;
        taxonomy::update_category(c, &cli(), cat.id, "Press", "")?;
        taxonomy::delete_category(c, &cli(), cat.id)?;
        let tag = taxonomy::create_tag(c, &cli(), "Premiere")?;
        taxonomy::delete_tag(c, &cli(), tag.id)
    });
    assert_eq!(
        kinds(&ev),
        [
            "category.created",
            "category.updated",
            "category.deleted",
            "tag.deleted"
        ]
    );
    assert_eq!(audits, 5, "one entry per write that changed something");
}

async fn an_import_is_quiet_and_audits_its_run(backend: Backend) {
    let env = TestEnv::new(backend);
    let importer = Actor::import("wordpress:example");
    let mut input = published_post("Old news", "x");
    input.notify_subscribers = true;
    let (p, ev, audits) = changes(&env, |c| posts::create(c, &importer, &input));
    assert_eq!(kinds(&ev), ["post.published"]);
    assert!(ev[0].quiet, "readers of the old site saw it already");
    assert_eq!(ev[0].actor, "import:wordpress:example");
    assert_eq!(audits, 0, "the import writes its own entry for the run");
    let input = post::input_of(&mut env.conn(), &p).expect("input");
    let (_, ev, _) = changes(&env, |c| posts::update(c, &importer, p.id, &input, None));
    assert!(ev[0].quiet);
    let fanouts = job::recent(&mut env.conn(), cms_core::notify::FANOUT_JOB, 100).expect("n");
    assert!(
        fanouts.is_empty(),
        "nobody is emailed about imported content"
    );
    // The same post published by an editor would be announced.
    let mut input = published_post("New news", "x");
    input.notify_subscribers = true;
    env.write(|c| posts::create(c, &cli(), &input));
    let fanouts = job::recent(&mut env.conn(), cms_core::notify::FANOUT_JOB, 100).expect("n");
    assert_eq!(fanouts.len(), 1);
}

async fn events_are_read_in_order_from_a_cursor(backend: Backend) {
    let env = TestEnv::new(backend);
    let start = mark(&env);
    for i in 0..7 {
        env.write(|c| posts::create(c, &cli(), &published_post(&format!("Post {i}"), "x")));
    }
    let first = change::after(&mut env.conn(), start, 3).expect("page");
    let rest = change::after(&mut env.conn(), first[2].id, 100).expect("page");
    let all: Vec<i64> = first.iter().chain(&rest).map(|e| e.id).collect();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    let titles: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|e| e.payload_json()["title"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(titles[0], "Post 0");
    assert_eq!(titles[6], "Post 6");
    // A write that fails appends nothing (the event is in its transaction).
    let before = mark(&env);
    let _ = env.state.db.write_blocking(|c| -> cms_core::Result<()> {
        posts::create(c, &cli(), &published_post("Rolled back", "x"))?;
        Err(cms_core::Error::Conflict("no".into()))
    });
    assert_eq!(mark(&env), before);
}

/// Thousands of events at once (a bulk load's albums): all appended, in order, past the number
/// of values SQLite binds in one statement.
async fn thousands_of_events_are_appended_at_once(backend: Backend) {
    let env = TestEnv::new(backend);
    let start = mark(&env);
    let events: Vec<change::NewEvent> = (1..=5_000)
        .map(|i| {
            change::NewEvent::new(
                EventKind::AlbumPublished,
                "album",
                i,
                serde_json::json!({"title": format!("Album {i}")}),
            )
        })
        .collect();
    env.write(|c| Ok(change::append(c, "generate", true, &events)?));
    let got = since(&env, start);
    assert_eq!(got.len(), 5_000);
    assert!(got.iter().all(|e| e.quiet));
    let ids: Vec<i64> = got.iter().map(|e| e.item_id).collect();
    assert_eq!(ids, (1..=5_000).collect::<Vec<i64>>());
}

backend_tests!(
    thousands_of_events_are_appended_at_once,
    a_posts_life_appends_one_event_per_change_readers_see,
    the_scheduler_publishes_with_one_event_of_its_own,
    the_gallery_appends_events_only_for_what_readers_see,
    albums_published_together_are_one_event_each_and_one_email,
    videos_and_categories_append_their_events,
    an_import_is_quiet_and_audits_its_run,
    events_are_read_in_order_from_a_cursor,
);

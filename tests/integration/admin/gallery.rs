//! The gallery admin over HTTP: the category tree, albums, uploads one file per request,
//! batch actions on the grid, ordering, and server-side imports.

use actix_web::test;
use cms_core::ingest;
use cms_core::models::album::{self, AlbumStatus};
use cms_core::models::user::Role;
use cms_core::models::{gallery_category as gc, photo};

use super::client::{Client, PASSWORD, csrf_of, make_user};
use crate::backend_tests;
use crate::common::{Backend, Page, TestEnv, get};
use crate::gallery::files;

pub(crate) fn upload_request(
    album: i64,
    token: &str,
    name: &str,
    bytes: &[u8],
) -> test::TestRequest {
    let boundary = "XgalleryX";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    test::TestRequest::post()
        .uri(&format!("/admin/albums/{album}/upload"))
        .insert_header(("X-CSRF-Token", token))
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(body)
}

async fn the_category_tree_is_managed(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    for name in ["Television Productions", "Films", "Events"] {
        assert_eq!(
            ed.post_form(
                &app,
                "/admin/gallery",
                "/admin/gallery/categories",
                &[("name", name), ("parent", "")]
            )
            .await
            .status,
            303
        );
    }
    let tv = gc::find_by_path(&mut env.conn(), "television-productions")
        .expect("q")
        .expect("tv");
    let films = gc::find_by_path(&mut env.conn(), "films")
        .expect("q")
        .expect("films");
    ed.post_form(
        &app,
        "/admin/gallery",
        "/admin/gallery/categories",
        &[("name", "Heartstopper"), ("parent", &tv.id.to_string())],
    )
    .await;
    let hs = gc::find_by_path(&mut env.conn(), "television-productions/heartstopper")
        .expect("q")
        .expect("hs");
    // Reorder: Films goes up above Television Productions.
    ed.post_form(
        &app,
        "/admin/gallery",
        &format!("/admin/gallery/categories/{}/up", films.id),
        &[],
    )
    .await;
    let top: Vec<String> = gc::children(&mut env.conn(), None)
        .expect("q")
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(top, ["Films", "Television Productions", "Events"]);
    // Rename keeps the URL; move carries the subtree.
    ed.post_form(
        &app,
        "/admin/gallery",
        &format!("/admin/gallery/categories/{}", hs.id),
        &[("name", "Heartstopper (Netflix)"), ("description", "")],
    )
    .await;
    assert_eq!(
        gc::find(&mut env.conn(), hs.id)
            .expect("q")
            .expect("hs")
            .name,
        "Heartstopper (Netflix)"
    );
    ed.post_form(
        &app,
        "/admin/gallery",
        &format!("/admin/gallery/categories/{}/move", tv.id),
        &[("parent", &films.id.to_string())],
    )
    .await;
    assert!(
        gc::find_by_path(&mut env.conn(), "films/television-productions/heartstopper")
            .expect("q")
            .is_some()
    );
    // Moving into its own subtree is refused with a message, and nothing changes.
    let refused = ed
        .post_form(
            &app,
            "/admin/gallery",
            &format!("/admin/gallery/categories/{}/move", films.id),
            &[("parent", &hs.id.to_string())],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .texts(".error li")
            .iter()
            .any(|e| e.contains("cannot move into itself"))
    );
    // Only empty categories can be deleted.
    let busy = ed
        .post_form(
            &app,
            "/admin/gallery",
            &format!("/admin/gallery/categories/{}/delete", films.id),
            &[],
        )
        .await;
    assert_eq!(busy.status, 422);
    let events = gc::find_by_path(&mut env.conn(), "events")
        .expect("q")
        .expect("events");
    assert_eq!(
        ed.post_form(
            &app,
            "/admin/gallery",
            &format!("/admin/gallery/categories/{}/delete", events.id),
            &[]
        )
        .await
        .status,
        303
    );
    assert!(gc::find(&mut env.conn(), events.id).expect("q").is_none());
}

async fn albums_fill_up_one_upload_at_a_time(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let cat = env.write(|c| {
        Ok(
            cms_core::service::gallery::ensure_path(c, &crate::common::cli(), &["Events"])?
                .expect("category"),
        )
    });
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let created = ed
        .post_form(
            &app,
            "/admin/gallery",
            "/admin/albums",
            &[
                ("title", "Tag Heuer – 60th Anniversary"),
                ("category", &cat.to_string()),
            ],
        )
        .await;
    assert_eq!(created.status, 303);
    let a = album::find_by_slug(&mut env.conn(), "tag-heuer-60th-anniversary")
        .expect("q")
        .expect("album");
    assert_eq!(a.status, AlbumStatus::Draft);
    let page = ed.get(&app, &format!("/admin/albums/{}", a.id)).await;
    let token = csrf_of(&page);
    // A queue of files: good ones, a bad one in the middle, a repeat; each answered on its own.
    let mut answers = Vec::new();
    for (name, bytes) in [
        ("party-2.jpg", files::jpeg(800, 600, 1)),
        ("notes.jpg", b"not a picture".to_vec()),
        ("party-10.jpg", files::jpeg(800, 600, 2)),
        ("party-1.png", files::png(300, 200, 3)),
        ("party-2-again.jpg", files::jpeg(800, 600, 1)),
    ] {
        let r = ed
            .send(&app, upload_request(a.id, &token, name, &bytes))
            .await;
        let json: serde_json::Value = serde_json::from_str(&r.body).expect("JSON answer");
        answers.push((r.status, json));
    }
    assert_eq!(answers[0].0, 200);
    assert_eq!(answers[1].0, 422);
    assert!(
        answers[1].1["error"]
            .as_str()
            .is_some_and(|e| e.contains("not an image")),
        "{:?}",
        answers[1]
    );
    assert_eq!(answers[4].1["duplicate"], true);
    let a = album::find(&mut env.conn(), a.id)
        .expect("q")
        .expect("album");
    assert_eq!(a.photo_count, 3);
    assert!(
        gc::verify_counts(&mut env.conn())
            .expect("verify")
            .is_empty()
    );
    // Sort by name, then publish with the details form.
    ed.post_form(
        &app,
        &format!("/admin/albums/{}", a.id),
        &format!("/admin/albums/{}/order", a.id),
        &[("by", "name")],
    )
    .await;
    let names: Vec<String> = photo::page_in_album(&mut env.conn(), a.id, 0, 10)
        .expect("q")
        .into_iter()
        .map(|p| p.original_filename)
        .collect();
    assert_eq!(names, ["party-1.png", "party-2.jpg", "party-10.jpg"]);
    ed.post_form(
        &app,
        &format!("/admin/albums/{}", a.id),
        &format!("/admin/albums/{}", a.id),
        &[
            ("title", "Tag Heuer – 60th Anniversary"),
            ("category", &cat.to_string()),
            ("credit", "Getty Images"),
            ("published", "on"),
        ],
    )
    .await;
    assert_eq!(
        gc::find(&mut env.conn(), cat)
            .expect("q")
            .expect("c")
            .photo_count,
        3
    );
    assert_eq!(
        get(&app, "/albums/tag-heuer-60th-anniversary")
            .await
            .attrs(".thumbs img", "src")
            .len(),
        3
    );
    // Batch actions on the grid: caption two, move one away, delete one (its files go too).
    let ids: Vec<String> = photo::page_in_album(&mut env.conn(), a.id, 0, 10)
        .expect("q")
        .into_iter()
        .map(|p| p.id.to_string())
        .collect();
    let grid = format!("/admin/albums/{}", a.id);
    let batch = format!("/admin/albums/{}/photos", a.id);
    // A photo of another album posted with them is left alone.
    let elsewhere = env.album_with_photos(&["Events"], "Elsewhere", 1);
    let foreign = photo::page_in_album(&mut env.conn(), elsewhere.id, 0, 1).expect("q")[0].id;
    ed.post_form(
        &app,
        &grid,
        &batch,
        &[
            ("action", "caption"),
            ("value", "Kit & Joe arrive"),
            ("ids", &ids[0]),
            ("ids", &foreign.to_string()),
            ("ids", &ids[1]),
            ("ids", &ids[0]),
        ],
    )
    .await;
    assert_eq!(
        photo::find(&mut env.conn(), foreign)
            .expect("q")
            .expect("photo")
            .caption,
        ""
    );
    let captions: Vec<String> = photo::page_in_album(&mut env.conn(), a.id, 0, 10)
        .expect("q")
        .into_iter()
        .map(|p| p.caption)
        .collect();
    assert_eq!(captions, ["Kit & Joe arrive", "Kit & Joe arrive", ""]);
    // One batch: one audit entry, and a change per photo for mirrors.
    {
        use cms_core::schema::audit_log;
        use diesel::prelude::*;
        let batch_audits: Vec<String> = audit_log::table
            .filter(audit_log::action.eq("photos.update"))
            .select(audit_log::detail)
            .load(&mut env.conn())
            .expect("audit");
        assert_eq!(batch_audits, ["caption of 2 photos"]);
        let updated: Vec<i64> = cms_core::models::change::after(&mut env.conn(), 0, 1000)
            .expect("events")
            .into_iter()
            .filter(|e| e.kind == "photo.updated")
            .map(|e| e.item_id)
            .collect();
        assert_eq!(updated.len(), 2, "{updated:?}");
    }
    let other = env.album_with_photos(&["Events"], "Other party", 0);
    ed.post_form(
        &app,
        &grid,
        &batch,
        &[
            ("action", "move"),
            ("target", &other.id.to_string()),
            ("ids", &ids[2]),
        ],
    )
    .await;
    let doomed = photo::find(&mut env.conn(), ids[1].parse().expect("id"))
        .expect("q")
        .expect("photo");
    let key = photo::file_keys(&doomed).remove(0);
    assert!(env.state.media.exists(&key));
    ed.post_form(
        &app,
        &grid,
        &batch,
        &[("action", "delete"), ("ids", &ids[1])],
    )
    .await;
    assert!(
        !env.state.media.exists(&key),
        "unused files are removed after the rows"
    );
    assert_eq!(
        album::find(&mut env.conn(), a.id)
            .expect("q")
            .expect("a")
            .photo_count,
        1
    );
    assert_eq!(
        album::find(&mut env.conn(), other.id)
            .expect("q")
            .expect("a")
            .photo_count,
        1
    );
    assert!(
        gc::verify_counts(&mut env.conn())
            .expect("verify")
            .is_empty()
    );
    // Posted ids of another album's photos are ignored.
    let foreign = photo::page_in_album(&mut env.conn(), other.id, 0, 1).expect("q")[0]
        .id
        .to_string();
    ed.post_form(
        &app,
        &grid,
        &batch,
        &[("action", "delete"), ("ids", &foreign)],
    )
    .await;
    assert_eq!(
        album::find(&mut env.conn(), other.id)
            .expect("q")
            .expect("a")
            .photo_count,
        1
    );
}

async fn server_side_imports_run_as_jobs(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let dropbox = env.state.config.storage.import_dir.clone();
    for i in 0..4u8 {
        let p = dropbox.join(format!("Season 2/S02E0{} – Ep/{i}.jpg", i % 2 + 1));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, files::jpeg(640, 360, i)).expect("write");
    }
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let form = ed.get(&app, "/admin/gallery/import").await;
    assert_eq!(
        form.attrs("select[name=path] option", "value"),
        ["Season 2"]
    );
    for bad in ["../", "/etc", "Season 2/../../"] {
        let r = ed
            .post_form(
                &app,
                "/admin/gallery/import",
                "/admin/gallery/import",
                &[("path", bad), ("into", "")],
            )
            .await;
        assert_eq!(r.status, 422, "{bad}");
    }
    let started = ed
        .post_form(
            &app,
            "/admin/gallery/import",
            "/admin/gallery/import",
            &[
                ("path", "Season 2"),
                ("into", "Television Productions/Heartstopper"),
            ],
        )
        .await;
    assert_eq!(started.status, 303);
    let id: i64 = started
        .header("location")
        .expect("location")
        .rsplit("import-")
        .next()
        .expect("id")
        .parse()
        .expect("number");
    let before = ed.get(&app, &format!("/admin/gallery/imports/{id}")).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&before.body).expect("json")["status"],
        "queued"
    );
    // The worker's turn (cms serve runs this every two seconds).
    let ran = ingest::job::run_next(
        &env.state.db,
        env.state.media.as_ref(),
        &dropbox,
        &env.state.config.images,
        "test-node",
    )
    .expect("run");
    assert!(ran);
    let after: serde_json::Value = serde_json::from_str(
        &ed.get(&app, &format!("/admin/gallery/imports/{id}"))
            .await
            .body,
    )
    .expect("json");
    assert_eq!(after["status"], "done");
    assert_eq!(after["progress"]["imported"], 4);
    assert_eq!(after["progress"]["finished"], true);
    let season = gc::find_by_path(
        &mut env.conn(),
        "television-productions/heartstopper/season-2",
    )
    .expect("q")
    .expect("season");
    assert_eq!((season.album_count, season.photo_count), (2, 4));
}

/// The photo picker behind "Choose from the gallery": albums by title or category path (drafts
/// marked), newest additions first, then an album's photos page by page.
async fn photos_are_picked_from_the_gallery(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let path = ["Television Productions", "Heartstopper", "Season 2"];
    let out = env.album_with_photos(&path, "S02E01 – Out", 50);
    let draft = env.album_with_photos(&["Events"], "BAFTA", 2);
    env.write(|c| {
        cms_core::service::gallery::set_album_status(
            c,
            &crate::common::cli(),
            draft.id,
            AlbumStatus::Draft,
        )
        .map(drop)
    });
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let json = |p: &Page| -> serde_json::Value { serde_json::from_str(&p.body).expect("JSON") };
    let all = ed.get(&app, "/admin/photos/pick").await;
    assert_eq!(all.status, 200);
    let albums = json(&all)["albums"].as_array().cloned().expect("albums");
    let titles: Vec<&str> = albums.iter().filter_map(|a| a["title"].as_str()).collect();
    assert_eq!(titles, ["BAFTA", "S02E01 – Out"], "newest additions first");
    assert_eq!(albums[0]["draft"], true);
    assert_eq!(
        albums[1]["path"],
        "Television Productions › Heartstopper › Season 2"
    );
    assert_eq!(albums[1]["count"], "50 photos");
    let by_path = json(&ed.get(&app, "/admin/photos/pick?q=heartstopper").await);
    assert_eq!(by_path["albums"].as_array().map(Vec::len), Some(1));
    let first = json(
        &ed.get(&app, &format!("/admin/photos/pick?album={}", out.id))
            .await,
    );
    assert_eq!(first["album"], "S02E01 – Out");
    assert_eq!(first["photos"].as_array().map(Vec::len), Some(48));
    assert_eq!(first["more"], true);
    assert!(
        first["photos"][0]["thumb"]
            .as_str()
            .is_some_and(|t| t.starts_with("/media/photos/"))
    );
    let second = json(
        &ed.get(&app, &format!("/admin/photos/pick?album={}&page=2", out.id))
            .await,
    );
    assert_eq!(second["photos"].as_array().map(Vec::len), Some(2));
    assert_eq!(second["more"], false);
    // Problems come back as JSON the dialog can show.
    for (bad, status, says) in [
        ("album=abc", 400, "album must be a number from 1"),
        ("album=0", 400, "album must be a number from 1"),
        ("page=-1", 400, "page must be a number from 1"),
        ("album=999999", 404, "There is no such album."),
    ] {
        let r = ed.get(&app, &format!("/admin/photos/pick?{bad}")).await;
        assert_eq!(r.status, status, "{bad}");
        assert_eq!(json(&r)["error"], says, "{bad}");
    }
    // The editor offers it next to the featured photo's number.
    let editor = ed.get(&app, "/admin/posts/new").await;
    assert_eq!(
        editor.attrs("input[data-photo-picker]", "name"),
        ["featured_photo_id"]
    );
}

backend_tests!(
    photos_are_picked_from_the_gallery,
    the_category_tree_is_managed,
    albums_fill_up_one_upload_at_a_time,
    server_side_imports_run_as_jobs
);

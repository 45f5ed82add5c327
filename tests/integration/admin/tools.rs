//! Admin tools over HTTP: a WordPress export uploaded, checked and imported as a background job
//! with its report; redirects listed, added and removed.

use actix_web::test;
use cms_core::import::job as site_job;
use cms_core::models::user::Role;

use super::client::{Client, PASSWORD, csrf_of, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

fn fixture() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/wordpress/fan-site.xml"),
    )
    .expect("fixture")
}

fn upload_request(token: &str, name: &str, bytes: &[u8]) -> test::TestRequest {
    let boundary = "XexportX";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/xml\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    test::TestRequest::post()
        .uri("/admin/import/upload")
        .insert_header(("X-CSRF-Token", token))
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(body)
}

fn job_id(location: &str) -> i64 {
    location
        .rsplit("import-")
        .next()
        .expect("id")
        .parse()
        .expect("number")
}

async fn a_wordpress_site_is_imported_from_the_admin(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "admin@example.org", Role::Admin);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    // Editors may not import a site (it creates accounts).
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    assert_eq!(ed.get(&app, "/admin/import").await.status, 403);
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let page = admin.get(&app, "/admin/import").await;
    assert_eq!(page.status, 200);
    let token = csrf_of(&page);
    // Upload: not XML is refused; the export is kept under a safe name.
    let refused = admin
        .send(
            &app,
            upload_request(&token, "photo.jpg", b"\xff\xd8\xff\xe0 not xml"),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let kept = admin
        .send(
            &app,
            upload_request(&token, "../../fan site.xml", &fixture()),
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    let name = serde_json::from_str::<serde_json::Value>(&kept.body).expect("json")["name"]
        .as_str()
        .expect("name")
        .to_string();
    assert_eq!(name, "fan-site.xml");
    let dropbox = env.state.config.storage.import_dir.clone();
    assert!(dropbox.join(&name).is_file());
    let form = admin.get(&app, "/admin/import").await;
    assert_eq!(
        form.attrs("select[name=file] option", "value"),
        vec![name.clone()]
    );
    // A path outside the import folder is refused.
    for bad in ["../cms.db", "/etc/passwd", ""] {
        let r = admin
            .post_form(
                &app,
                "/admin/import",
                "/admin/import",
                &[("file", bad), ("action", "check")],
            )
            .await;
        assert_eq!(r.status, 422, "{bad}");
    }
    // Check first: the worker runs it; nothing is written, the report says what would be.
    let check = admin
        .post_form(
            &app,
            "/admin/import",
            "/admin/import",
            &[("file", &name), ("action", "check")],
        )
        .await;
    assert_eq!(check.status, 303);
    let id = job_id(&check.header("location").expect("location"));
    let run = || {
        site_job::run_next(
            &env.state.db,
            env.state.media.as_ref(),
            &dropbox,
            &env.state.config.images,
            "test-node",
        )
        .expect("run")
    };
    assert!(run());
    let checked: serde_json::Value =
        serde_json::from_str(&admin.get(&app, &format!("/admin/import/{id}")).await.body)
            .expect("json");
    assert_eq!(checked["status"], "done", "{checked}");
    assert_eq!(checked["progress"]["dry_run"], true);
    let lines = checked["progress"]["lines"].to_string();
    assert!(lines.contains("posts: 12 to import"), "{lines}");
    assert_eq!(get(&app, "/posts/premiere-night").await.status, 404);
    // Then import: posts are there, the page lists the report.
    let started = admin
        .post_form(
            &app,
            "/admin/import",
            "/admin/import",
            &[("file", &name), ("action", "import")],
        )
        .await;
    let id = job_id(&started.header("location").expect("location"));
    assert!(run());
    assert!(!run(), "one job each");
    let done: serde_json::Value =
        serde_json::from_str(&admin.get(&app, &format!("/admin/import/{id}")).await.body)
            .expect("json");
    assert_eq!(done["status"], "done", "{done}");
    assert!(
        done["progress"]["summary"]
            .as_str()
            .expect("summary")
            .contains("12 posts")
    );
    assert_eq!(get(&app, "/posts/premiere-night").await.status, 200);
    let listed = admin.get(&app, "/admin/import").await;
    assert!(
        listed
            .texts(".report li")
            .iter()
            .any(|l| l.starts_with("posts: 12 imported, 2 skipped")),
        "{}",
        listed.body
    );
    // Someone else's job id, or another kind's, is not found.
    assert_eq!(admin.get(&app, "/admin/import/999999").await.status, 404);
}

async fn redirects_are_listed_added_and_removed(backend: Backend) {
    let env = TestEnv::new(backend);
    env.demo();
    make_user(&env, "admin@example.org", Role::Admin);
    let app = env.app().await;
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let added = admin
        .post_form(
            &app,
            "/admin/redirects",
            "/admin/redirects",
            &[
                ("old_path", "https://old.example/news.php?id=7"),
                ("target", "/posts"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let moved = get(&app, "/news.php?id=7").await;
    assert_eq!(moved.status, 301);
    assert_eq!(moved.header("location").as_deref(), Some("/posts"));
    // Bad input is a form error, not a 500: a target off the site, a loop, nothing.
    for (old, target) in [
        ("/a", "https://evil.example/"),
        ("/a", "//evil.example/"),
        ("/same/", "/same"),
        ("", "/posts"),
        ("/a%00b", "/posts"),
    ] {
        let r = admin
            .post_form(
                &app,
                "/admin/redirects",
                "/admin/redirects",
                &[("old_path", old), ("target", target)],
            )
            .await;
        assert_eq!(r.status, 422, "{old} → {target}: {}", r.body);
    }
    let list = admin.get(&app, "/admin/redirects?q=news").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.texts("td code"), ["/news.php?id=7"]);
    let action = list
        .attrs("form[action$='/delete']", "action")
        .into_iter()
        .next()
        .expect("remove form");
    let removed = admin
        .post_form(&app, "/admin/redirects", &action, &[])
        .await;
    assert_eq!(removed.status, 303);
    assert_eq!(get(&app, "/news.php?id=7").await.status, 404);
    assert_eq!(admin.get(&app, "/admin/redirects?page=0").await.status, 400);
}

backend_tests!(
    a_wordpress_site_is_imported_from_the_admin,
    redirects_are_listed_added_and_removed
);

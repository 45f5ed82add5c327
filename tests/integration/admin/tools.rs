//! Admin tools over HTTP: a WordPress export uploaded, checked and imported as a background job
//! with its report; a Coppermine gallery imported by its database address, the password not
//! kept; redirects listed, added and removed.

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

async fn a_gallery_is_imported_from_the_admin(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "admin@example.org", Role::Admin);
    let app = env.app().await;
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let dropbox = env.state.config.storage.import_dir.clone();
    std::fs::create_dir_all(&dropbox).expect("import folder");
    let (mut db, _albums) = crate::import::coppermine::fixture(&dropbox);
    // A read-only account whose password needs escaping in an address.
    let password = "p@ss/w:rd ü#1";
    let user = db.reader(password);
    let server = url::Url::parse(&crate::import::mysql::admin_url()).expect("url");
    let host = server.host_str().expect("host").to_string();
    let port = server.port().unwrap_or(3306).to_string();
    let page = admin.get(&app, "/admin/import").await;
    assert_eq!(page.status, 200);
    assert!(
        page.attrs("form select[name=media] option", "value")
            .contains(&"albums".to_string())
    );
    let form = |action: &'static str, pw: &'static str| {
        vec![
            ("source", "coppermine".to_string()),
            ("host", host.clone()),
            ("port", port.clone()),
            ("database", db.name.clone()),
            ("user", user.clone()),
            ("password", pw.to_string()),
            ("prefix", "cpg_".to_string()),
            ("media", "albums".to_string()),
            ("action", action.to_string()),
        ]
    };
    // Bad input: a clear 422 each, the form kept without its password, nothing queued.
    let bad: [(&str, &str); 5] = [
        ("database", ""),
        ("port", "99999"),
        ("media", ""),
        ("media", "../"),
        ("prefix", "cpg_; DROP"),
    ];
    for (field, value) in bad {
        let mut fields = form("check", password);
        for f in fields.iter_mut().filter(|f| f.0 == field) {
            f.1 = value.to_string();
        }
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = admin
            .post_form(&app, "/admin/import", "/admin/import", &borrowed)
            .await;
        assert_eq!(r.status, 422, "{field}={value}: {}", r.body);
        assert!(!r.body.contains(password), "the password is not sent back");
        assert_eq!(r.attrs("input[name=user]", "value"), vec![user.clone()]);
    }
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
    assert!(!run(), "nothing was queued by bad input");
    let send = async |admin: &mut Client, fields: Vec<(&'static str, String)>| {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = admin
            .post_form(&app, "/admin/import", "/admin/import", &borrowed)
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        job_id(&r.header("location").expect("location"))
    };
    let progress = async |admin: &mut Client, id: i64| -> serde_json::Value {
        serde_json::from_str(&admin.get(&app, &format!("/admin/import/{id}")).await.body)
            .expect("json")
    };
    // A wrong password: the job fails with a readable line and keeps no password.
    let id = send(&mut admin, form("check", "not-the-password")).await;
    assert!(run());
    let failed = progress(&mut admin, id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["progress"]["error"].as_str().expect("error");
    assert!(error.contains("cannot connect"), "{error}");
    assert!(!error.contains("not-the-password"), "{error}");
    // Check, then import: the report, the gallery public, the old addresses redirected.
    let id = send(&mut admin, form("check", password)).await;
    assert!(run());
    let checked = progress(&mut admin, id).await;
    assert_eq!(checked["status"], "done", "{checked}");
    assert_eq!(checked["progress"]["dry_run"], true);
    let lines = checked["progress"]["lines"].to_string();
    assert!(lines.contains("pictures: 90 to import"), "{lines}");
    let id = send(&mut admin, form("import", password)).await;
    assert!(run());
    let done = progress(&mut admin, id).await;
    assert_eq!(done["status"], "done", "{done}");
    let lines = done["progress"]["lines"].to_string();
    assert!(lines.contains("pictures: 89 imported"), "{lines}");
    assert!(lines.contains("albums: 6 imported"), "{lines}");
    let old = get(&app, "/gallery/index.php?cat=2").await;
    assert_eq!(old.status, 301, "{}", old.body);
    // The password is kept nowhere once the jobs have ended: not in the job rows, not on the
    // page, not in the audit log; the page names the source without it.
    {
        let mut conn = env.conn();
        for j in
            cms_core::models::job::recent(&mut conn, site_job::SITE_IMPORT_JOB, 10).expect("jobs")
        {
            assert!(!j.payload.contains("w:rd"), "{}", j.payload);
            assert!(!j.payload.contains("p%40ss"), "{}", j.payload);
            assert!(j.payload.contains(&user), "{}", j.payload);
        }
    }
    let listed = admin.get(&app, "/admin/import").await;
    assert!(!listed.body.contains("p%40ss"), "no password on the page");
    assert!(
        listed
            .texts(".imports > li > strong")
            .iter()
            .any(|t| t.starts_with("Coppermine mysql://") && t.contains(&db.name)),
        "{}",
        listed.body
    );
    let audit = admin.get(&app, "/admin/audit").await;
    assert!(!audit.body.contains("p%40ss") && !audit.body.contains("w:rd"));
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
    a_gallery_is_imported_from_the_admin,
    redirects_are_listed_added_and_removed
);

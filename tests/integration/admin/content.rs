//! Writing and publishing: the post editor, schedules, revisions, deletion, the video vault.

use actix_web::test;
use cms_core::models::post::{self, PostStatus};
use cms_core::models::user::Role;
use cms_core::models::{job, video};
use cms_core::publishing;

use super::client::{Client, PASSWORD, csrf_of, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, multipart};

fn post_id_from(location: &str) -> i64 {
    location
        .trim_start_matches("/admin/posts/")
        .split('/')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("post id in location")
}

async fn editor_writes_and_publishes_a_post(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
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
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let cat_id = cat.id.to_string();
    // A form with mistakes comes back with everything typed, and the errors by the fields.
    let bad = ed
        .post_form(
            &app,
            "/admin/posts/new",
            "/admin/posts",
            &[
                ("title", "Kit Connor & Joe Locke – \"Milkshakes\""),
                ("body", "Draft *body*"),
                ("kind", "article"),
                ("status", "scheduled"),
                ("publish_at", "not a date"),
                ("source_url", "ftp://x"),
                ("categories", &cat_id),
                ("tags", "Heartstopper, Joe Locke"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.attrs("input[name=title]", "value"),
        ["Kit Connor & Joe Locke – \"Milkshakes\""]
    );
    assert_eq!(bad.texts("textarea[name=body]"), ["Draft *body*"]);
    assert_eq!(
        bad.attrs("input[name=categories][checked]", "value"),
        vec![cat_id.clone()]
    );
    assert_eq!(
        bad.attrs("input[name=tags]", "value"),
        ["Heartstopper, Joe Locke"]
    );
    assert!(!bad.texts(".field-error").is_empty());
    assert_eq!(
        post::count(&mut env.conn()).expect("count"),
        0,
        "nothing saved"
    );
    // Fixed: saved as a draft, with categories and tags.
    let ok = ed
        .post_form(
            &app,
            "/admin/posts/new",
            "/admin/posts",
            &[
                ("title", "Kit Connor & Joe Locke – \"Milkshakes\""),
                ("body", "Draft *body*"),
                ("kind", "article"),
                ("status", "draft"),
                ("source_publication", "Entertainment Weekly"),
                ("source_url", "https://ew.com/"),
                ("categories", &cat_id),
                ("tags", "Heartstopper, Joe Locke"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    let id = post_id_from(&ok.header("location").expect("location"));
    let p = post::find(&mut env.conn(), id).expect("q").expect("post");
    assert_eq!(
        (p.status, p.kind.as_str(), p.slug.as_str()),
        (
            PostStatus::Draft,
            "article",
            "kit-connor-joe-locke-milkshakes"
        )
    );
    assert_eq!(
        get(&app, "/posts/kit-connor-joe-locke-milkshakes")
            .await
            .status,
        404,
        "drafts stay hidden"
    );
    // Publish, with a new slug: the old one redirects.
    let edit = format!("/admin/posts/{id}/edit");
    let published = ed
        .post_form(
            &app,
            &edit,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "Kit Connor & Joe Locke – \"Milkshakes\""),
                ("slug", "milkshakes"),
                ("body", "Final *body*"),
                ("kind", "article"),
                ("status", "published"),
                ("categories", &cat_id),
            ],
        )
        .await;
    assert_eq!(
        published.header("location"),
        Some(format!("/admin/posts/{id}/edit?notice=published"))
    );
    assert_eq!(get(&app, "/posts/milkshakes").await.status, 200);
    // The title is edited by someone else later: a revision, a diff, and a restore.
    let revisions = ed.get(&app, &format!("/admin/posts/{id}/revisions")).await;
    assert_eq!(revisions.texts(".revision").len(), 2);
    // One line per line: the diff's lines are blocks, with nothing between them in the <pre>.
    assert!(
        !revisions.body.contains("</span>\n<span"),
        "a diff without double spacing"
    );
    assert!(
        revisions
            .texts(".diff .add")
            .iter()
            .any(|l| l.contains("Final *body*")),
        "{:?}",
        revisions.texts(".diff .add")
    );
    let first_rev = post::revisions(&mut env.conn(), id)
        .expect("q")
        .last()
        .expect("first")
        .id;
    let restored = ed
        .post_form(
            &app,
            &format!("/admin/posts/{id}/revisions"),
            &format!("/admin/posts/{id}/revisions/{first_rev}/restore"),
            &[],
        )
        .await;
    assert_eq!(restored.status, 303);
    assert_eq!(
        post::find(&mut env.conn(), id)
            .expect("q")
            .expect("p")
            .body_markdown,
        "Draft *body*"
    );
    // Delete after confirming.
    let confirm = ed.get(&app, &format!("/admin/posts/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    let token = csrf_of(&confirm);
    let gone = ed
        .post(
            &app,
            &format!("/admin/posts/{id}/delete"),
            &[("_csrf", &token)],
        )
        .await;
    assert_eq!(gone.status, 303);
    assert!(post::find(&mut env.conn(), id).expect("q").is_none());
    assert_eq!(get(&app, "/posts/milkshakes").await.status, 404);
}

/// Until it is published a post's slug follows its title; the editor previews it as readers will
/// see it — embeds drawn by the public renderer, in the editor and through a signed link that
/// shows the draft in the site's layout and expires.
async fn drafts_follow_their_title_and_preview_as_readers_see_them(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let album = env.album_with_photos(
        &["Television Productions", "Heartstopper"],
        "S02E01 – Out",
        3,
    );
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let body = format!("Every episode, in HD.\n\n[[album:{}]]\n", album.slug);
    let fields = |title: &'static str, slug: &str, status: &'static str| {
        vec![
            ("title", title.to_string()),
            ("slug", slug.to_string()),
            ("body", body.clone()),
            ("kind", "news".to_string()),
            ("status", status.to_string()),
        ]
    };
    let created = {
        let f = fields("Heartstopper S2 Captures", "", "draft");
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ed.post_form(&app, "/admin/posts/new", "/admin/posts", &refs)
            .await
    };
    assert_eq!(created.status, 303);
    let id = post_id_from(&created.header("location").expect("location"));
    let slug_of = || {
        post::find(&mut env.conn(), id)
            .expect("q")
            .expect("post")
            .slug
    };
    assert_eq!(slug_of(), "heartstopper-s2-captures");
    let edit = format!("/admin/posts/{id}/edit");
    let save = |title: &'static str, slug: String, status: &'static str| {
        let f = fields(title, &slug, status);
        (edit.clone(), format!("/admin/posts/{id}"), f)
    };
    // The editor retitles the draft, the form sending the slug back as it was: it follows.
    let (page, action, f) = save("Heartstopper Season 2 Captures", slug_of(), "draft");
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ed.post_form(&app, &page, &action, &refs).await.status, 303);
    assert_eq!(slug_of(), "heartstopper-season-2-captures");

    // The editor's live preview draws the album as the public page does.
    let form = ed.get(&app, &edit).await;
    let token = csrf_of(&form);
    let preview = ed
        .post(
            &app,
            "/admin/preview",
            &[("_csrf", &token), ("body", &body)],
        )
        .await;
    assert_eq!(preview.status, 200);
    assert_eq!(
        preview.texts(".embed-album figcaption"),
        ["Television Productions › Heartstopper › S02E01 – Out (3 photos)"]
    );
    assert_eq!(preview.attrs(".embed-album img", "src").len(), 3);

    // "Preview as a reader": the draft in the site's layout, for whoever has the link.
    let link = form.attrs("a.reader-preview", "href").remove(0);
    assert!(link.starts_with("/preview/"), "{link}");
    let reader = get(&app, &link).await;
    assert_eq!(reader.status, 200);
    assert_eq!(
        reader.texts("article h1"),
        ["Heartstopper Season 2 Captures"]
    );
    assert_eq!(reader.texts(".preview-notice").len(), 1);
    assert_eq!(reader.texts(".embed-album figcaption").len(), 1);
    assert_eq!(reader.texts(".site-title").len(), 1, "in the site's layout");
    assert_eq!(reader.attrs("meta[name=robots]", "content"), ["noindex"]);
    assert_eq!(reader.header("cache-control").as_deref(), Some("no-store"));
    assert!(
        reader.attrs("link[rel=canonical]", "href").is_empty()
            && reader
                .attrs("meta[property='og:url']", "content")
                .is_empty(),
        "a draft has no canonical address yet"
    );
    let ld = reader.texts("script[type='application/ld+json']").join("");
    assert!(
        !ld.contains("mainEntityOfPage") && !ld.contains("datePublished"),
        "nor an address or a publication date in its structured data: {ld}"
    );
    assert_eq!(
        get(&app, "/posts/heartstopper-season-2-captures")
            .await
            .status,
        404,
        "readers still cannot see the draft"
    );
    // An altered link shows nothing; an old one says it has expired.
    let (_, rest) = link
        .trim_start_matches("/preview/")
        .split_once('.')
        .expect("id");
    assert_eq!(
        get(&app, &format!("/preview/{}.{rest}", id + 1))
            .await
            .status,
        404
    );
    let old = cms_core::preview::token(
        &env.state.config.secret,
        id,
        cms_core::models::now() - chrono::Duration::hours(cms_core::preview::LIFETIME_HOURS + 1),
    );
    let expired = get(&app, &format!("/preview/{old}")).await;
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("expired"), "{}", expired.body);

    // A slug the editor chose is kept; once published, a new title leaves the address alone.
    let (page, action, f) = save(
        "Heartstopper Season 2 Captures",
        "s2-captures".into(),
        "draft",
    );
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ed.post_form(&app, &page, &action, &refs).await.status, 303);
    let (page, action, f) = save("Season 2 Captures", slug_of(), "draft");
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ed.post_form(&app, &page, &action, &refs).await.status, 303);
    assert_eq!(slug_of(), "s2-captures");
    let (page, action, f) = save("Heartstopper Season 2 Captures", "".into(), "published");
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ed.post_form(&app, &page, &action, &refs).await.status, 303);
    assert_eq!(slug_of(), "s2-captures");
    let (page, action, f) = save("Heartstopper: Season 2 Captures", slug_of(), "published");
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ed.post_form(&app, &page, &action, &refs).await.status, 303);
    assert_eq!(slug_of(), "s2-captures");
    assert_eq!(get(&app, "/posts/s2-captures").await.status, 200);
    assert_eq!(
        get(&app, "/posts/heartstopper-s2-captures").await.status,
        404,
        "a draft's slug was never given out, so nothing redirects from it"
    );
}

async fn list_filters_and_searches(backend: Backend) {
    let env = TestEnv::new(backend);
    let editor = make_user(&env, "editor@example.org", Role::Editor);
    for (title, status) in [
        ("Heartstopper news", PostStatus::Published),
        ("Secret draft", PostStatus::Draft),
        ("HEARTSTOPPER second", PostStatus::Draft),
    ] {
        let mut i = post::PostInput::new(title, "x");
        i.status = status;
        i.author_id = Some(editor);
        env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &i));
    }
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    assert_eq!(
        ed.get(&app, "/admin/posts")
            .await
            .texts("table.list tbody tr")
            .len(),
        3
    );
    assert_eq!(
        ed.get(&app, "/admin/posts?status=draft")
            .await
            .texts("table.list tbody tr")
            .len(),
        2
    );
    assert_eq!(
        ed.get(&app, "/admin/posts?q=heartstopper")
            .await
            .texts("table.list tbody tr")
            .len(),
        2,
        "case-insensitive"
    );
    assert_eq!(
        ed.get(
            &app,
            &format!("/admin/posts?author={editor}&status=published")
        )
        .await
        .texts("table.list tbody tr")
        .len(),
        1
    );
    assert_eq!(ed.get(&app, "/admin/posts?status=bogus").await.status, 400);
}

async fn scheduled_posts_publish_once_on_time(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    // Schedule two seconds ahead, in the site's time zone (UTC in tests).
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let resp = ed
        .post_form(
            &app,
            "/admin/posts/new",
            "/admin/posts",
            &[
                ("title", "On time"),
                ("body", "x"),
                ("kind", "news"),
                ("status", "scheduled"),
                ("publish_at", &at),
            ],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let id = post_id_from(&resp.header("location").expect("location"));
    let key = format!("publish:post:{id}");
    let j = job::find_by_key(&mut env.conn(), &key)
        .expect("q")
        .expect("a durable job");
    assert_eq!(j.status, job::JobStatus::Queued);
    // Not yet due: nothing happens.
    assert!(
        publishing::run_due(&env.state.db, "node-a")
            .expect("pass")
            .published
            .is_empty()
    );
    // Time passes (the clock of this world moves; nobody sleeps).
    env.state.db.clock().advance(chrono::Duration::seconds(3));
    // A node claims the job and dies before finishing (its lease runs out)…
    let t = env.state.db.now();
    env.write(|c| {
        Ok(job::claim_at(
            c,
            "dead-node",
            &[publishing::PUBLISH_JOB],
            chrono::Duration::seconds(-1),
            t,
        )?)
    });
    // …then two nodes run at once: the post is published exactly once.
    let (db1, db2) = (env.state.db.clone(), env.state.db.clone());
    let a = std::thread::spawn(move || {
        publishing::run_due(&db1, "node-a")
            .expect("pass a")
            .published
    });
    let b = std::thread::spawn(move || {
        publishing::run_due(&db2, "node-b")
            .expect("pass b")
            .published
    });
    let (a, b) = (a.join().expect("a"), b.join().expect("b"));
    assert_eq!(a.len() + b.len(), 1, "a={a:?} b={b:?}");
    let p = post::find(&mut env.conn(), id).expect("q").expect("post");
    assert_eq!(p.status, PostStatus::Published);
    assert_eq!(
        p.published_at, p.publish_at,
        "published at its scheduled time"
    );
    assert_eq!(
        job::find_by_key(&mut env.conn(), &key)
            .expect("q")
            .expect("job")
            .status,
        job::JobStatus::Done
    );
    assert_eq!(get(&app, "/posts/on-time").await.status, 200);
    assert!(
        publishing::run_due(&env.state.db, "node-c")
            .expect("pass")
            .published
            .is_empty(),
        "never twice"
    );
    // Unscheduling removes the job; rescheduling moves it.
    let mut later = post::PostInput::new("Later", "x");
    later.status = PostStatus::Scheduled;
    later.publish_at = Some(cms_core::models::now() + chrono::Duration::days(1));
    let l = env.write(|c| cms_core::service::posts::create(c, &crate::common::cli(), &later));
    later.status = PostStatus::Draft;
    env.write(|c| cms_core::service::posts::update(c, &crate::common::cli(), l.id, &later, None));
    assert!(
        job::find_by_key(&mut env.conn(), &format!("publish:post:{}", l.id))
            .expect("q")
            .is_none()
    );
}

async fn video_vault_entries_are_edited_with_uploads(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let token = csrf_of(&ed.get(&app, "/admin/videos/new").await);
    let boundary = "XkeepsakeX";
    let srt = b"1\r\n00:00:01,000 --> 00:00:03,000\r\nHello there\r\n\r\n2\r\n00:00:04,000 --> 00:00:06,500\r\nThe rain scene\r\n";
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend_from_slice(&[0; 64]);
    let send = |fields: Vec<(&'static str, &'static str)>,
                files: Vec<(&'static str, &'static str, Vec<u8>)>| {
        let files_ref: Vec<(&str, &str, &[u8])> = files
            .iter()
            .map(|(a, b, c)| (*a, *b, c.as_slice()))
            .collect();
        // The form's hidden CSRF field comes first, as the page sends it.
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend(fields.iter().copied());
        test::TestRequest::post()
            .uri("/admin/videos")
            .insert_header((
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .set_payload(multipart(boundary, &all, &files_ref))
    };
    let bad = ed
        .send(
            &app,
            send(
                vec![
                    ("title", "GQ Action Replay"),
                    ("embed_url", "https://evil.example/v/1"),
                    ("duration", "12:99"),
                ],
                vec![("poster", "poster.png", b"not an image".to_vec())],
            ),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.attrs("input[name=title]", "value"),
        ["GQ Action Replay"]
    );
    assert!(
        bad.texts(".field-error").len() >= 2,
        "{:?}",
        bad.texts(".field-error")
    );
    let ok = ed
        .send(
            &app,
            send(
                vec![
                    ("title", "Kit Connor & Joe Locke React"),
                    ("embed_url", "https://youtu.be/dQw4w9WgXcQ"),
                    ("duration", "12:34"),
                    ("published", "on"),
                    ("series", "GQ Action Replay"),
                ],
                vec![
                    ("transcript_file", "captions.srt", srt.to_vec()),
                    ("poster", "poster.png", png),
                ],
            ),
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let v = video::find_published_by_slug(&mut env.conn(), "kit-connor-joe-locke-react")
        .expect("q")
        .expect("published");
    assert_eq!(
        v.transcript_format,
        video::TranscriptFormat::Vtt,
        "SubRip became WebVTT"
    );
    assert_eq!(v.cues().len(), 2);
    assert_eq!(v.duration_seconds, Some(754));
    let poster = v.poster_key.expect("poster stored");
    assert!(poster.starts_with("posters/") && poster.ends_with(".png"));
    assert_eq!(get(&app, &format!("/media/{poster}")).await.status, 200);
    let page = get(&app, "/videos/kit-connor-joe-locke-react").await;
    assert_eq!(page.texts(".cues time"), ["0:01", "0:04"]);

    // Embedded without a poster: the provider's thumbnail is fetched as one, or the editor is
    // told it could not be (this machine may not reach YouTube); the video is saved either way.
    let bare = ed
        .send(
            &app,
            send(
                vec![
                    ("title", "Heartstopper Season 2 Teaser"),
                    ("embed_url", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
                    ("published", "on"),
                ],
                vec![],
            ),
        )
        .await;
    assert_eq!(bare.status, 303, "{}", bare.body);
    let location = bare.header("location").expect("location");
    let teaser = video::find_published_by_slug(&mut env.conn(), "heartstopper-season-2-teaser")
        .expect("q")
        .expect("saved");
    match teaser.poster_key {
        Some(k) => assert!(k.starts_with("posters/"), "{k}"),
        None => {
            assert!(location.ends_with("notice=saved-no-poster"), "{location}");
            let said = ed.get(&app, &location).await;
            assert!(
                said.body.contains("thumbnail could not be fetched"),
                "the editor is told"
            );
        }
    }
}

backend_tests!(
    drafts_follow_their_title_and_preview_as_readers_see_them,
    editor_writes_and_publishes_a_post,
    list_filters_and_searches,
    scheduled_posts_publish_once_on_time,
    video_vault_entries_are_edited_with_uploads,
);

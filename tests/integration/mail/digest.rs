//! Update digests against a real SMTP server on loopback: a day with 1,000 photos added, two
//! posts and a video becomes one grouped email per subscriber with only their topics (parsed
//! from what the server received), exactly once per period whoever runs the jobs, nothing for
//! an empty period; choices made on the subscribe and preferences pages; the admin's preview
//! (CSV files: `admin::subscribers`).

use chrono::{Datelike, Duration};
use cms_core::digest;
use cms_core::models::post::{PostInput, PostStatus};
use cms_core::models::subscriber::{self, Cadence, Choice, Topic};
use cms_core::models::video::VideoInput;
use cms_core::service::{gallery, posts, videos};
use cms_worker::mail::deliver::{Deliverer, drain};

use super::sink::{Received, Sink};
use crate::admin::client::{Client, PASSWORD, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, cli, fake_photos, get};
use cms_core::models::user::Role;

const TZ: &str = "Europe/London";

/// A world whose digests go out at 09:00 London time, weekly on the weekday of `day` (10:00
/// UTC is the same day in London whatever the season).
fn world(backend: Backend, sink: &Sink, day: chrono::NaiveDateTime) -> TestEnv {
    let weekday = day.weekday();
    let env = TestEnv::with(
        backend,
        &[
            ("smtp_url", &sink.url()),
            ("timezone", TZ),
            ("digest_hour", "9"),
            ("digest_day", &weekday.to_string()),
        ],
    );
    env.write(|c| {
        Ok(cms_core::models::site::set_setting(
            c,
            "site_title",
            "Kit Connor Archives",
        )?)
    });
    env
}

/// 10:00 UTC the day after `now`: after 09:00 in London whatever the season.
fn tomorrow_at_ten(now: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    (now + Duration::days(1))
        .date()
        .and_hms_opt(10, 0, 0)
        .expect("time")
}

fn choose(env: &TestEnv, email: &str, choices: &[(Topic, Cadence)]) -> i64 {
    let choices: Vec<Choice> = choices.iter().map(|(t, c)| Choice::new(*t, *c)).collect();
    env.write(|c| subscriber::import_confirmed_for(c, email, &choices, "test"))
}

/// Closes the periods due at `at`, runs their fan-outs (and any single updates), and delivers.
async fn send_digests(env: &TestEnv, at: chrono::NaiveDateTime, node: &str) -> usize {
    digest::schedule_at(&env.state.db, &env.state.config, at).expect("schedule");
    while cms_core::notify::run_next(&env.state.db, node, "keepsake.test")
        .expect("fan-out")
        .is_some()
    {}
    while digest::run_next(&env.state.db, node, "keepsake.test")
        .expect("digest fan-out")
        .is_some()
    {}
    let d = Deliverer::new(env.state.clone(), format!("{node}-mailer")).expect("deliverer");
    let n = drain(&d).await.expect("deliver");
    d.shutdown().await;
    n
}

/// Runs the digests due at `at` and returns the emails that sent.
async fn sent_at(env: &TestEnv, sink: &Sink, at: chrono::NaiveDateTime) -> Vec<Received> {
    let before = sink.messages().len();
    send_digests(env, at, "node-a").await;
    sink.messages().into_iter().skip(before).collect()
}

/// Runs the digests due at `at` and returns the one email that sent (failing if not one).
async fn the_one_sent(env: &TestEnv, sink: &Sink, at: chrono::NaiveDateTime) -> Received {
    let mut mail = sent_at(env, sink, at).await;
    assert_eq!(
        mail.len(),
        1,
        "{:?}",
        mail.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );
    mail.remove(0)
}

/// Whether an HTML email reads `text` (escaped as it must be to read so).
fn reads(html: &str, text: &str) -> bool {
    scraper::Html::parse_document(html)
        .root_element()
        .text()
        .collect::<String>()
        .contains(text)
}

fn to(mail: &[Received], who: &str) -> Vec<Received> {
    mail.iter()
        .filter(|m| m.to.contains(who))
        .cloned()
        .collect()
}

async fn a_day_becomes_one_grouped_digest_per_subscriber(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(dir.path());
    // Tomorrow, 10:00 UTC: after 09:00 in London whatever the season.
    let now = chrono::Utc::now().naive_utc();
    let tomorrow = tomorrow_at_ten(now);
    let env = world(backend, &sink, tomorrow);
    // An album published before: photos added to it later are "new photos in" it.
    let older = env.album_with_photos(
        &["Television Productions", "Heartstopper", "Season 2"],
        "S02E01 – Out",
        5,
    );
    // Today's periods close before anyone subscribed: nobody gets them, and what came
    // before them is not in tomorrow's digests.
    assert_eq!(send_digests(&env, now, "node-a").await, 0);
    let daily = [
        (Topic::News, Cadence::Daily),
        (Topic::Gallery, Cadence::Daily),
        (Topic::Videos, Cadence::Daily),
    ];
    choose(&env, "all-daily@example.org", &daily);
    choose(
        &env,
        "gallery-weekly@example.org",
        &[(Topic::Gallery, Cadence::Weekly)],
    );
    choose(
        &env,
        "news-daily@example.org",
        &[
            (Topic::News, Cadence::Daily),
            (Topic::Videos, Cadence::Immediate),
        ],
    );
    choose(
        &env,
        "instant@example.org",
        &[(Topic::News, Cadence::Immediate)],
    );
    let gone = choose(&env, "gone@example.org", &daily);
    env.write(|c| Ok(subscriber::unsubscribe(c, gone)?));
    let before = sink.messages().len();

    // The day: 1,000 photos in a new album, 158 more in the older one, two posts (one
    // announced at once to those who chose it), a video; a draft, and a post published and
    // taken back, that nobody must see.
    let big = env.album_with_photos(
        &[
            "Television Productions",
            "Heartstopper",
            "Season 2",
            "Episode Captures",
        ],
        "S02E02 – Duh",
        1000,
    );
    env.write(|c| gallery::add_photos(c, &cli(), older.id, &fake_photos("more", 158)).map(drop));
    let mut first = PostInput::new(
        "Kit wins a BAFTA",
        "Kit won the award for best supporting actor.",
    );
    first.status = PostStatus::Published;
    first.notify_subscribers = true;
    env.write(|c| posts::create(c, &cli(), &first));
    let mut second = PostInput::new("Season 3 dates", "Filming starts in spring.");
    second.status = PostStatus::Published;
    env.write(|c| posts::create(c, &cli(), &second));
    let mut draft = PostInput::new("Secret draft", "Not yet.");
    draft.status = PostStatus::Draft;
    env.write(|c| posts::create(c, &cli(), &draft));
    let mut oops = PostInput::new("Published by mistake", "Oops.");
    oops.status = PostStatus::Published;
    let oops = env.write(|c| posts::create(c, &cli(), &oops));
    let mut back = cms_core::models::post::input_of(&mut env.conn(), &oops).expect("input");
    back.status = PostStatus::Draft;
    env.write(|c| posts::update(c, &cli(), oops.id, &back, None));
    env.write(|c| {
        videos::create(
            c,
            &cli(),
            &VideoInput {
                title: "GQ Action Replay".into(),
                embed_url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into()),
                poster_key: Some("posters/ab/gq.jpg".into()),
                published: true,
                ..Default::default()
            },
        )
    });
    // The admin's preview shows what tomorrow's digest will say.
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let preview = ed
        .get(&app, "/admin/subscribers/digest?cadence=daily")
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let said = preview.texts("main").join(" ");
    for want in [
        "1,000 new photos",
        "158 new photos",
        "S02E02 – Duh",
        "Television Productions › Heartstopper › Season 2 › Episode Captures",
        "Kit wins a BAFTA",
        "Season 3 dates",
        "GQ Action Replay",
        "1,158 new photos, 2 posts, 1 video",
        "to 2 subscribers",
    ] {
        assert!(said.contains(want), "preview lacks {want:?}: {said}");
    }
    assert!(!said.contains("Secret draft") && !said.contains("Published by mistake"));
    assert_eq!(
        ed.get(&app, "/admin/subscribers/digest?cadence=hourly")
            .await
            .status,
        400
    );

    // Tomorrow at ten: the daily and (on its day) the weekly digests.
    send_digests(&env, tomorrow, "node-a").await;
    let mail: Vec<Received> = sink.messages().into_iter().skip(before).collect();
    let digests: Vec<&Received> = mail
        .iter()
        .filter(|m| m.subject.contains(" at Kit Connor Archives"))
        .collect();
    assert_eq!(
        digests.len(),
        3,
        "{:?}",
        mail.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );

    let all = to(&mail, "all-daily@");
    assert_eq!(all.len(), 1, "one email, not one per change");
    let d = &all[0];
    assert_eq!(
        d.subject,
        "Today at Kit Connor Archives: 1,158 new photos, 2 posts and 1 video"
    );
    for want in [
        "1,000 new photos</strong> in",
        "S02E02 – Duh",
        "Television Productions › Heartstopper › Season 2 › Episode Captures",
        "158 new photos</strong> in",
        "Kit wins a BAFTA",
        "Kit won the award for best supporting actor.",
        "Season 3 dates",
        "GQ Action Replay",
        "http://keepsake.test/media/posters/ab/gq.jpg",
        &format!("http://keepsake.test/albums/{}", big.slug),
    ] {
        assert!(
            d.html.contains(want),
            "the HTML lacks {want:?}:\n{}",
            d.html
        );
    }
    for gone in ["Secret draft", "Published by mistake"] {
        assert!(!d.html.contains(gone) && !d.text.contains(gone), "{gone}");
    }
    // Grouped: a row of thumbnails per album, never a line per photo.
    let thumbs = d.html.matches("/media/").count();
    assert!(
        (10..=20).contains(&thumbs),
        "{thumbs} images: a row per album, not 1,158"
    );
    assert!(
        d.text.contains("1,000 new photos in S02E02 – Duh"),
        "{}",
        d.text
    );
    assert!(d.text.lines().count() < 60, "{}", d.text);
    // The 158 new ones are shown, not the album's first photos.
    let older_first = cms_core::models::photo::strips(
        &mut env.conn(),
        &[cms_core::models::photo::StripOf::first(older.id)],
        1,
        false,
    )
    .expect("strip")
    .remove(0)
    .photos
    .remove(0);
    assert!(!d.html.contains(&older_first.content_hash));
    // The usual one-click unsubscribe, personal, in both parts.
    let manage = d
        .header("List-Unsubscribe")
        .expect("List-Unsubscribe")
        .trim_matches(['<', '>'])
        .to_string();
    assert!(
        manage.starts_with("http://keepsake.test/unsubscribe/"),
        "{manage}"
    );
    assert!(d.text.contains(&manage) && d.html.contains(&manage));
    assert_eq!(
        d.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );

    // Only their topics.
    let weekly = to(&mail, "gallery-weekly@");
    assert_eq!(weekly.len(), 1);
    assert_eq!(
        weekly[0].subject,
        "This week at Kit Connor Archives: 1,158 new photos"
    );
    assert!(!weekly[0].html.contains("Kit wins a BAFTA"));
    assert!(!weekly[0].html.contains(&manage), "each their own link");
    let news = to(&mail, "news-daily@");
    let news_digest: Vec<&Received> = news
        .iter()
        .filter(|m| m.subject.starts_with("Today at"))
        .collect();
    assert_eq!(news_digest.len(), 1);
    assert_eq!(
        news_digest[0].subject,
        "Today at Kit Connor Archives: 2 posts"
    );
    assert!(!news_digest[0].html.contains("S02E02"));
    // Their videos come as they happen, not in the digest.
    assert!(news.iter().any(|m| m.subject.contains("GQ Action Replay")));
    // As it happens: the announced post alone, no digest.
    let instant = to(&mail, "instant@");
    assert_eq!(
        instant
            .iter()
            .map(|m| m.subject.as_str())
            .collect::<Vec<_>>(),
        ["Kit wins a BAFTA"]
    );
    assert!(to(&mail, "gone@").is_empty());

    // Exactly once: the same moment again, on another node, after a restart of the mailer.
    let count = sink.messages().len();
    send_digests(&env, tomorrow, "node-b").await;
    send_digests(&env, tomorrow + Duration::hours(3), "node-b").await;
    assert_eq!(
        sink.messages().len(),
        count,
        "no second digest for a period"
    );
    // The next day saw nothing: no digest at all.
    send_digests(&env, tomorrow + Duration::days(1), "node-a").await;
    assert_eq!(
        sink.messages().len(),
        count,
        "an empty period sends nothing"
    );
}

async fn readers_choose_how_often_on_the_pages(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let form = get(&app, "/subscribe").await;
    assert_eq!(form.status, 200);
    assert_eq!(
        form.attrs("select", "name"),
        ["cadence-news", "cadence-gallery", "cadence-videos"]
    );
    assert_eq!(
        form.texts("select[name=cadence-gallery] option"),
        ["As it happens", "Daily digest", "Weekly digest"]
    );
    let post = |body: &'static str| {
        let app = &app;
        async move {
            let req = actix_web::test::TestRequest::post()
                .uri("/subscribe")
                .peer_addr("10.7.0.1:1".parse().expect("addr"))
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload(body)
                .to_request();
            actix_web::test::call_service(app, req)
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post("email=fan%40example.org&topics=news&topics=gallery&cadence-news=immediate&cadence-gallery=weekly&cadence-videos=daily").await,
        200
    );
    let s = subscriber::find_by_email(&mut env.conn(), "fan@example.org")
        .expect("q")
        .expect("pending");
    assert_eq!(
        subscriber::choices_of(&mut env.conn(), s.id).expect("choices"),
        [
            Choice::new(Topic::News, Cadence::Immediate),
            Choice::new(Topic::Gallery, Cadence::Weekly)
        ],
        "a cadence for a topic not ticked is not a choice"
    );
    assert_eq!(
        post("email=other%40example.org&topics=news&cadence-news=hourly").await,
        400
    );
    // The preferences page shows and changes them.
    let token = subscriber::manage_token(&env.state.config.secret, &s);
    let page = get(&app, &format!("/unsubscribe/{token}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.attrs("select[name=cadence-gallery] option[selected]", "value"),
        ["weekly"]
    );
    assert_eq!(
        page.attrs("select[name=cadence-news] option[selected]", "value"),
        ["immediate"]
    );
    let req = actix_web::test::TestRequest::post()
        .uri(&format!("/unsubscribe/{token}"))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(
            "action=topics&topics=news&topics=videos&cadence-news=daily&cadence-videos=weekly",
        )
        .to_request();
    assert_eq!(
        actix_web::test::call_service(&app, req)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        subscriber::choices_of(&mut env.conn(), s.id).expect("choices"),
        [
            Choice::new(Topic::News, Cadence::Daily),
            Choice::new(Topic::Videos, Cadence::Weekly)
        ]
    );
}

/// `subscribers:write`: add (pending with a confirmation, or confirmed with a source), list,
/// change topics and cadences, delete; bad bodies are problems, someone who left stays out.
async fn tokens_manage_subscribers_and_their_cadences(backend: Backend) {
    use crate::api::{body, call, json, problem, token};
    let env = TestEnv::new(backend);
    let app = env.app().await;
    let t = token(&env, "crm", &["subscribers:write"]);
    let add = call(
        &app,
        "POST",
        "/api/v1/subscribers",
        Some(&t),
        body(serde_json::json!({
            "email": "Fan@Example.org",
            "topics": [{"topic": "news"}, {"topic": "gallery", "cadence": "weekly"}],
        })),
    )
    .await;
    assert_eq!(add.status, 201, "{}", add.body);
    let a = json(&add);
    assert_eq!(a["email"], "fan@example.org");
    assert_eq!(
        a["status"], "pending",
        "double opt-in: a confirmation is queued"
    );
    assert_eq!(
        a["topics"],
        serde_json::json!([
            {"topic": "news", "cadence": "immediate"},
            {"topic": "gallery", "cadence": "weekly"}
        ])
    );
    let id = a["id"].as_i64().expect("id");
    let confirmed = call(
        &app,
        "POST",
        "/api/v1/subscribers",
        Some(&t),
        body(serde_json::json!({
            "email": "old@example.org",
            "topics": [{"topic": "videos", "cadence": "daily"}],
            "confirmed": true,
            "source": "the old list, 2023",
        })),
    )
    .await;
    assert_eq!(confirmed.status, 201, "{}", confirmed.body);
    assert_eq!(json(&confirmed)["status"], "confirmed");
    for bad in [
        serde_json::json!({"email": "x@example.org", "topics": []}),
        serde_json::json!({"email": "x@example.org", "topics": [{"topic": "news", "cadence": "hourly"}]}),
        serde_json::json!({"email": "not an address", "topics": [{"topic": "news"}]}),
        serde_json::json!({"email": "x@example.org", "topics": [{"topic": "news"}], "confirmed": true}),
    ] {
        let p = call(
            &app,
            "POST",
            "/api/v1/subscribers",
            Some(&t),
            body(bad.clone()),
        )
        .await;
        assert!(
            [400, 422].contains(&p.status),
            "{bad}: {} {}",
            p.status,
            p.body
        );
        problem(&p, p.status);
    }
    let put = call(
        &app,
        "PUT",
        &format!("/api/v1/subscribers/{id}/topics"),
        Some(&t),
        body(serde_json::json!({"topics": [{"topic": "news", "cadence": "daily"}]})),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        subscriber::choices_of(&mut env.conn(), id).expect("choices"),
        [Choice::new(Topic::News, Cadence::Daily)]
    );
    let list = call(
        &app,
        "GET",
        "/api/v1/subscribers?status=confirmed",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let l = json(&list);
    assert_eq!(l["total"], 1);
    assert_eq!(l["subscribers"][0]["email"], "old@example.org");
    problem(
        &call(
            &app,
            "GET",
            "/api/v1/subscribers?status=maybe",
            Some(&t),
            None,
        )
        .await,
        400,
    );
    // Someone who left is not signed up again through the API.
    env.write(|c| Ok(subscriber::unsubscribe(c, id)?));
    problem(
        &call(
            &app,
            "POST",
            "/api/v1/subscribers",
            Some(&t),
            body(serde_json::json!({"email": "fan@example.org", "topics": [{"topic": "news"}]})),
        )
        .await,
        409,
    );
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/subscribers/{id}"),
            Some(&t),
            None
        )
        .await
        .status,
        204
    );
    problem(
        &call(
            &app,
            "DELETE",
            &format!("/api/v1/subscribers/{id}"),
            Some(&t),
            None,
        )
        .await,
        404,
    );
}

/// The editor `ed` (signed in) asks for an email of the next weekly digest's preview, which
/// is queued.
async fn ask_for_the_weekly_preview<S, B>(app: &S, ed: &mut Client)
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let asked = ed
        .post_form(
            app,
            "/admin/subscribers/digest?cadence=weekly",
            "/admin/subscribers/digest/test",
            &[("cadence", "weekly")],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    assert_eq!(
        asked.header("location").as_deref(),
        Some("/admin/subscribers/digest?cadence=weekly&notice=preview-queued")
    );
}

/// Between a digest's fan-out and its sending a subscriber drops one topic and moves another
/// to a daily digest: the dropped one is left out, the moved one told of once (in this digest,
/// not again the next day). Titles with markup, quotes and ampersands are escaped in the HTML
/// and kept as written in the subject and the text part.
async fn a_digest_follows_later_choices_and_escapes_titles(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(dir.path());
    let now = chrono::Utc::now().naive_utc();
    let tomorrow = tomorrow_at_ten(now);
    let env = world(backend, &sink, tomorrow);
    assert_eq!(send_digests(&env, now, "node-a").await, 0);
    let mover = choose(
        &env,
        "mover@example.org",
        &[
            (Topic::News, Cadence::Weekly),
            (Topic::Gallery, Cadence::Weekly),
        ],
    );
    let instant = choose(&env, "asap@example.org", &[(Topic::News, Cadence::Weekly)]);
    let album = env.album_with_photos(
        &["Television Productions", "Heartstopper"],
        "Rugby & <i>Kiss</i> \"Behind\" the scenes",
        12,
    );
    let mut p = PostInput::new(
        "Tom & Kit: \"Heartstopper\" <b>wins</b>",
        "Fish & chips <script>alert(1)</script> after the show.",
    );
    p.status = PostStatus::Published;
    env.write(|c| posts::create(c, &cli(), &p));

    // An editor emails themselves the preview: every topic, marked as a preview, escaped.
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    ask_for_the_weekly_preview(&app, &mut ed).await;
    let bad = ed
        .post_form(
            &app,
            "/admin/subscribers/digest?cadence=weekly",
            "/admin/subscribers/digest/test",
            &[("cadence", "hourly")],
        )
        .await;
    assert_eq!(bad.status, 400);
    let no_csrf = ed
        .post(
            &app,
            "/admin/subscribers/digest/test",
            &[("cadence", "weekly")],
        )
        .await;
    assert!(
        no_csrf.status == 403 || no_csrf.status == 400,
        "{}",
        no_csrf.status
    );
    let preview = &the_one_sent(&env, &sink, now).await;
    assert!(preview.to.contains("editor@example.org"), "{}", preview.to);
    assert_eq!(
        preview.subject,
        "[Preview] This week at Kit Connor Archives: 12 new photos and 1 post"
    );
    assert!(
        reads(&preview.html, "Tom & Kit: \"Heartstopper\" <b>wins</b>"),
        "{}",
        preview.html
    );
    assert!(!preview.html.contains("<b>wins") && !preview.html.contains("<i>Kiss"));
    assert!(preview.header("List-Unsubscribe").is_none());
    assert!(preview.html.contains("http://keepsake.test/subscribe"));
    // Fanned out, not yet sent; then the choices change.
    digest::schedule_at(&env.state.db, &env.state.config, tomorrow).expect("schedule");
    while digest::run_next(&env.state.db, "node-a", "keepsake.test")
        .expect("digest fan-out")
        .is_some()
    {}
    env.write(|c| {
        Ok(subscriber::set_choices(
            c,
            mover,
            &[Choice::new(Topic::Gallery, Cadence::Daily)],
        )?)
    });
    env.write(|c| {
        Ok(subscriber::set_choices(
            c,
            instant,
            &[Choice::new(Topic::News, Cadence::Immediate)],
        )?)
    });
    let mail = sent_at(&env, &sink, tomorrow).await;
    assert_eq!(
        mail.len(),
        2,
        "{:?}",
        mail.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    // Moved to "as it happens" after the fan-out: this week's post is still told, once.
    let moved = to(&mail, "asap@");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].subject, "This week at Kit Connor Archives: 1 post");
    let d = &to(&mail, "mover@example.org")[0];
    assert_eq!(d.subject, "This week at Kit Connor Archives: 12 new photos");
    assert!(!d.html.contains("Heartstopper\" <b>") && !d.text.contains("Tom & Kit"));
    assert!(
        reads(&d.html, "Rugby & <i>Kiss</i> \"Behind\" the scenes"),
        "{}",
        d.html
    );
    assert!(!d.html.contains("<i>Kiss"), "{}", d.html);
    assert!(
        d.text.contains("Rugby & <i>Kiss</i> \"Behind\" the scenes"),
        "{}",
        d.text
    );
    assert!(d.html.contains(&format!("/albums/{}", album.slug)));
    // The next day's daily digest does not tell of those photos again.
    let before = sink.messages().len();
    send_digests(&env, tomorrow + Duration::days(1), "node-a").await;
    assert_eq!(sink.messages().len(), before, "told once");

    // A post's title and excerpt in a digest of news.
    choose(&env, "reader@example.org", &[(Topic::News, Cadence::Daily)]);
    env.write(|c| posts::create(c, &cli(), &p));
    let d = &the_one_sent(&env, &sink, tomorrow + Duration::days(2)).await;
    assert_eq!(d.subject, "Today at Kit Connor Archives: 1 post");
    assert!(
        d.text.contains("Tom & Kit: \"Heartstopper\" <b>wins</b>"),
        "{}",
        d.text
    );
    assert!(
        !d.html.contains("<b>wins") && !d.html.contains("<script>"),
        "{}",
        d.html
    );
    assert!(
        reads(&d.html, "Tom & Kit: \"Heartstopper\" <b>wins</b>"),
        "{}",
        d.html
    );
}

/// An editor asks for a preview of a digest that holds one post, and the post is taken back
/// before the mail worker composes it: nothing is sent, and the preview is not dropped without
/// a word (the editor was told it was queued): the mail page lists it among the failures with
/// the reason.
async fn a_preview_of_what_was_taken_back_says_why_it_was_not_sent(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(dir.path());
    let now = chrono::Utc::now().naive_utc();
    let tomorrow = tomorrow_at_ten(now);
    let env = world(backend, &sink, tomorrow);
    let mut p = PostInput::new("Soon withdrawn", "Said too early.");
    p.status = PostStatus::Published;
    let post = env.write(|c| posts::create(c, &cli(), &p));
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    ask_for_the_weekly_preview(&app, &mut ed).await;
    env.write(|c| posts::set_status(c, &cli(), post.id, PostStatus::Draft));
    assert!(sent_at(&env, &sink, now).await.is_empty());
    let mail = ed.get(&app, "/admin/mail").await;
    assert_eq!(mail.status, 200);
    let failures = mail.texts("table.list tbody tr");
    assert!(
        failures.iter().any(|row| row.contains("editor@example.org")
            && row.contains("nothing left to preview")
            && row.contains("weekly digest")),
        "{failures:?}"
    );
}

backend_tests!(
    a_day_becomes_one_grouped_digest_per_subscriber,
    a_preview_of_what_was_taken_back_says_why_it_was_not_sent,
    readers_choose_how_often_on_the_pages,
    tokens_manage_subscribers_and_their_cadences,
    a_digest_follows_later_choices_and_escapes_titles,
);

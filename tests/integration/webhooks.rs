//! Webhooks to a real receiver on loopback: Standard Webhooks signatures checked with an
//! independent HMAC, order per item, retries (500 then 200) with the same `webhook-id`,
//! disabling after a day of failures, event filters, imports not sent, and the guards against
//! request forgery (private addresses, schemes, credentials, redirects, long answers).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cms_core::models::audit::Actor;
use cms_core::models::post::{self, PostStatus};
use cms_core::models::webhook;
use cms_core::service::posts;
use cms_core::webhooks::{self, Sent};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::backend_tests;
use crate::common::{Backend, TestEnv, cli, published_post};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    headers: Vec<(String, String)>,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// A scripted answer: status, extra headers, body, and the event type it is for (any when
/// `None`: deliveries go out several at once, so their order across items is not fixed).
type Answer = (u16, String, String, Option<String>);

/// A receiver on loopback that answers each request with the first scripted answer meant for
/// it, 200 when there is none, and keeps what it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Mutex<VecDeque<Answer>>> = Arc::default();
        let (g, sc) = (got.clone(), script.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut headers = Vec::new();
                let mut line = String::new();
                let _ = reader.read_line(&mut line); // request line
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                let got = Got {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let kind = serde_json::from_str::<serde_json::Value>(&got.body)
                    .ok()
                    .and_then(|v| v["type"].as_str().map(str::to_string));
                g.lock().expect("lock").push(got);
                let (status, extra, answer) = {
                    let mut script = sc.lock().expect("lock");
                    let at = script.iter().position(|a| a.3.is_none() || a.3 == kind);
                    at.and_then(|i| script.remove(i))
                        .map(|a| (a.0, a.1, a.2))
                        .unwrap_or((200, String::new(), "ok".into()))
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
                    answer.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Receiver { url, got, script }
    }

    fn answer(&self, status: u16, extra_headers: &str, body: &str) {
        self.script.lock().expect("lock").push_back((
            status,
            extra_headers.into(),
            body.into(),
            None,
        ));
    }

    /// The answer to the next delivery of type `kind`.
    fn answer_for(&self, kind: &str, status: u16, body: &str) {
        self.script.lock().expect("lock").push_back((
            status,
            String::new(),
            body.into(),
            Some(kind.into()),
        ));
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }
}

/// Checks a request's signature with an HMAC of our own, as a receiver would.
fn verify(secret: &str, g: &Got) {
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("whsec_"))
        .expect("base64");
    let signed = format!(
        "{}.{}.{}",
        g.header("webhook-id"),
        g.header("webhook-timestamp"),
        g.body
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(signed.as_bytes());
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    assert_eq!(g.header("webhook-signature"), expected, "{g:?}");
    let ts: i64 = g.header("webhook-timestamp").parse().expect("timestamp");
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
}

fn add(env: &TestEnv, url: &str, events: &[&str]) -> (webhook::Webhook, String) {
    let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let key = env.state.config.secret.clone();
    env.write(|c| webhooks::add(c, &key, url, &events, "test"))
}

/// One pass of the worker: plan, then send what is due.
fn pass(env: &TestEnv, allow_private: bool) -> Sent {
    let s = &env.state;
    webhooks::plan(&s.db, &s.config.server.base_url).expect("plan");
    let fetcher = webhooks::fetcher(allow_private);
    webhooks::deliver_due(&s.db, &fetcher, &s.config.secret, "test:1").expect("deliver")
}

fn allowed(backend: Backend) -> TestEnv {
    TestEnv::with(backend, &[("webhook_allow_private", "true")])
}

async fn deliveries_are_signed_in_order_per_item_and_retried(backend: Backend) {
    let env = allowed(backend);
    let r = Receiver::start();
    // History before the hook is not sent.
    env.write(|c| posts::create(c, &cli(), &published_post("Before", "x")));
    let (hook, secret) = add(&env, &r.url, &[]);
    let p = env.write(|c| posts::create(c, &cli(), &published_post("Premiere", "x")));
    let mut input = post::input_of(&mut env.conn(), &p).expect("input");
    input.title = "Premiere night".into();
    env.write(|c| posts::update(c, &cli(), p.id, &input, None));
    env.album_with_photos(&["Films"], "Red carpet", 2);

    // The post's first delivery (post.published) is refused with a 500: its item's next
    // change waits; the other items' changes go on.
    r.answer_for("post.published", 500, "try later");
    let sent = pass(&env, true);
    assert_eq!((sent.delivered, sent.retrying), (3, 1), "{sent:?}");
    let mut types: Vec<String> = r
        .got()
        .iter()
        .map(|g| g.json()["type"].as_str().unwrap_or("").to_string())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "album.published",
            "gallery_category.created",
            "photos.added",
            "post.published",
        ]
    );
    let first = r
        .got()
        .into_iter()
        .find(|g| g.json()["type"] == "post.published")
        .expect("the refused one");
    // Not yet due: nothing. Five seconds on: the retry, then the post's update after it.
    assert_eq!(pass(&env, true), Sent::default());
    env.state.db.clock().advance(chrono::Duration::seconds(6));
    let sent = pass(&env, true);
    assert_eq!(sent.delivered, 2, "{sent:?}");
    let got = r.got();
    assert_eq!(got.len(), 6);
    for g in &got {
        verify(&secret, g);
        assert_eq!(g.header("content-type"), "application/json");
    }
    assert_eq!(got[4].header("webhook-id"), first.header("webhook-id"));
    assert_eq!(got[4].body, first.body, "a retry is the same message");
    let last = got[5].json();
    assert_eq!(last["type"], "post.updated");
    assert_eq!(last["data"]["title"], "Premiere night");
    assert_eq!(last["data"]["item"]["id"], p.id);
    assert_eq!(
        last["data"]["url"],
        format!("http://keepsake.test/posts/{}", p.slug)
    );
    assert!(last["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    // Every change once, nothing queued; the log has what happened.
    assert_eq!(pass(&env, true), Sent::default());
    let log = webhook::recent(&mut env.conn(), hook.id, 100).expect("log");
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|d| d.status == "delivered"), "{log:?}");
    let retried = log
        .iter()
        .find(|d| d.attempts == 2)
        .expect("the retried one");
    assert_eq!(retried.kind, "post.published");
    // "Send again" sends the same message once more.
    env.write(|c| Ok(webhook::resend(c, retried.id)?));
    assert_eq!(pass(&env, true).delivered, 1);
    assert_eq!(
        r.got().last().map(|g| g.header("webhook-id")),
        Some(first.header("webhook-id"))
    );
}

async fn a_hook_gets_only_what_it_asked_for_and_never_an_import(backend: Backend) {
    let env = allowed(backend);
    let r = Receiver::start();
    add(&env, &r.url, &["post.unpublished", "video.published"]);
    let p = env.write(|c| posts::create(c, &cli(), &published_post("Out", "x")));
    env.write(|c| posts::set_status(c, &cli(), p.id, PostStatus::Draft));
    env.write(|c| {
        posts::create(
            c,
            &Actor::import("wordpress:old"),
            &published_post("Old news", "x"),
        )
    });
    pass(&env, true);
    // A ping reaches it whatever it asked for.
    let h = webhook::all(&mut env.conn()).expect("hooks").remove(0);
    env.write(|c| webhooks::ping(c, &h, "http://keepsake.test"));
    pass(&env, true);
    let types: Vec<String> = r
        .got()
        .iter()
        .map(|g| g.json()["type"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(types, ["post.unpublished", "webhook.ping"]);
    let removal = r.got()[0].json();
    assert!(
        removal["data"].get("title").is_some(),
        "a webhook is sent the change as it was"
    );
}

async fn a_hook_failing_for_a_day_is_disabled_with_the_reason(backend: Backend) {
    let env = allowed(backend);
    let r = Receiver::start();
    let (hook, _) = add(&env, &r.url, &[]);
    for _ in 0..3 {
        r.answer(503, "", "down for maintenance");
    }
    env.write(|c| posts::create(c, &cli(), &published_post("One", "x")));
    pass(&env, true);
    env.state.db.clock().advance(chrono::Duration::hours(12));
    pass(&env, true);
    let h = webhook::find(&mut env.conn(), hook.id)
        .expect("find")
        .expect("hook");
    assert!(h.enabled && h.failing_since.is_some(), "{h:?}");
    env.state.db.clock().advance(chrono::Duration::hours(13));
    let sent = pass(&env, true);
    assert_eq!(sent.failed, 1, "{sent:?}");
    let h = webhook::find(&mut env.conn(), hook.id)
        .expect("find")
        .expect("hook");
    assert!(!h.enabled);
    let why = h.disabled_reason.unwrap_or_default();
    assert!(
        why.contains("failed for 24 hours") && why.contains("503") && why.contains("maintenance"),
        "{why}"
    );
    // Disabled: later changes are neither planned nor sent.
    env.write(|c| posts::create(c, &cli(), &published_post("Two", "x")));
    let before = r.got().len();
    pass(&env, true);
    assert_eq!(r.got().len(), before);

    // Where an admin looks, the reason is said: the panel, the API and `cms webhook list`.
    use crate::admin::client::{Client, PASSWORD, make_user};
    use crate::api::{call, json, token};
    make_user(
        &env,
        "admin@example.org",
        cms_core::models::user::Role::Admin,
    );
    let app = env.app().await;
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let path = format!("/admin/webhooks/{}", hook.id);
    let page = admin.get(&app, &path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("failed for 24 hours") && page.body.contains("maintenance"),
        "{}",
        page.body
    );
    let t = token(&env, "ops", &["webhooks:write"]);
    let listed = json(&call(&app, "GET", "/api/v1/webhooks", Some(&t), None).await);
    let said = listed[0]["disabled_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(said.contains("failed for 24 hours"), "{listed}");
    let out = env.cms(&["webhook", "list"]).output().expect("cms");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("disabled: ") && list.contains("failed for 24 hours"),
        "{list}"
    );

    // Turned on again in the panel, it goes on from where it stopped.
    let on = admin
        .post_form(&app, &path, &format!("{path}/enable"), &[])
        .await;
    assert_eq!(on.status, 303);
    let h = webhook::find(&mut env.conn(), hook.id)
        .expect("find")
        .expect("hook");
    assert!(h.enabled && h.disabled_reason.is_none(), "{h:?}");
    pass(&env, true);
    assert_eq!(r.got().len(), before + 1);
}

async fn requests_cannot_be_forged_through_a_hook(backend: Backend) {
    // Private addresses: refused unless allowed, and the receiver never hears a thing.
    let env = TestEnv::new(backend);
    let r = Receiver::start();
    let (hook, _) = add(&env, &r.url, &[]);
    env.write(|c| posts::create(c, &cli(), &published_post("One", "x")));
    let sent = pass(&env, false);
    assert_eq!(sent.retrying, 1);
    assert!(r.got().is_empty());
    let d = webhook::recent(&mut env.conn(), hook.id, 1)
        .expect("log")
        .remove(0);
    let why = d.last_error.unwrap_or_default();
    assert!(
        why.contains("127.0.0.1 is a private or reserved address")
            && why.contains("CMS_WEBHOOK_ALLOW_PRIVATE"),
        "{why}"
    );
    // Addresses that are not http(s), or carry credentials, or name no event type we know:
    // refused when added.
    let key = env.state.config.secret.clone();
    for (url, events) in [
        ("file:///etc/passwd", vec![]),
        ("gopher://example.org/", vec![]),
        ("http://user:pw@example.org/", vec![]),
        ("not an address", vec![]),
        (
            "https://example.org/hook",
            vec!["post.exploded".to_string()],
        ),
    ] {
        let err = env
            .state
            .db
            .write_blocking(|c| webhooks::add(c, &key, url, &events, ""))
            .expect_err(url);
        assert!(
            matches!(err, cms_core::Error::Invalid { .. }),
            "{url}: {err:?}"
        );
    }

    // Redirects are answers, not followed; a long answer is read no further than a few KB.
    let env = allowed(backend);
    let r = Receiver::start();
    let elsewhere = Receiver::start();
    add(&env, &r.url, &[]);
    r.answer(302, &format!("location: {}\r\n", elsewhere.url), "");
    r.answer(200, "", &"x".repeat(5_000_000));
    env.write(|c| posts::create(c, &cli(), &published_post("One", "x")));
    env.write(|c| posts::create(c, &cli(), &published_post("Two", "x")));
    let sent = pass(&env, true);
    assert_eq!((sent.retrying, sent.delivered), (1, 1), "{sent:?}");
    assert!(elsewhere.got().is_empty(), "the redirect was not followed");
}

/// The admin's page: add (secret once), bad input re-shown, the delivery log, "send again",
/// a test delivery, remove; editors kept out.
async fn admins_manage_webhooks_in_the_panel(backend: Backend) {
    use crate::admin::client::{Client, PASSWORD, make_user};
    use cms_core::models::user::Role;
    let env = allowed(backend);
    make_user(&env, "admin@example.org", Role::Admin);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    assert_eq!(ed.get(&app, "/admin/webhooks").await.status, 403);
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let bad = admin
        .post_form(
            &app,
            "/admin/webhooks",
            "/admin/webhooks",
            &[("url", "ftp://example.org/x"), ("events", "post.published")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("only http and https"), "{}", bad.body);
    let r = Receiver::start();
    let made = admin
        .post_form(
            &app,
            "/admin/webhooks",
            "/admin/webhooks",
            &[
                ("url", r.url.as_str()),
                ("description", "Discord <bot>"),
                ("events", "post.published"),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let secret = made.texts("code.secret").remove(0);
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(
        made.body.contains("Discord &#60;bot&#62;") && !made.body.contains("<bot>"),
        "escaped: {}",
        made.body
    );
    let hook = webhook::all(&mut env.conn()).expect("hooks").remove(0);
    assert_eq!(hook.events, "post.published");
    env.write(|c| posts::create(c, &cli(), &published_post("News", "x")));
    r.answer(500, "", "<script>alert(1)</script>");
    pass(&env, true);
    let page = admin
        .get(&app, &format!("/admin/webhooks/{}", hook.id))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("post.published") && page.body.contains("retrying at"));
    assert!(
        !page.body.contains("<script>alert"),
        "the receiver's answer is escaped"
    );
    // A test delivery, then "send again" of the delivered one.
    let path = format!("/admin/webhooks/{}", hook.id);
    let pinged = admin
        .post_form(&app, &path, &format!("{path}/ping"), &[])
        .await;
    assert_eq!(pinged.status, 303);
    env.state.db.clock().advance(chrono::Duration::seconds(6));
    pass(&env, true);
    let got = r.got();
    assert_eq!(got.len(), 3, "the failed try, the ping and the retry");
    for g in &got {
        verify(&secret, g);
    }
    let delivered = webhook::recent(&mut env.conn(), hook.id, 10)
        .expect("log")
        .into_iter()
        .find(|d| d.kind == "post.published")
        .expect("delivery");
    let again = admin
        .post_form(
            &app,
            &path,
            &format!("{path}/deliveries/{}/resend", delivered.id),
            &[],
        )
        .await;
    assert_eq!(again.status, 303);
    pass(&env, true);
    assert_eq!(r.got().len(), 4);
    let gone = admin
        .post_form(&app, "/admin/webhooks", &format!("{path}/remove"), &[])
        .await;
    assert_eq!(gone.status, 303);
    assert!(webhook::all(&mut env.conn()).expect("hooks").is_empty());
}

/// The API: `webhooks:write` lists, adds (secret in the answer), pings and removes.
async fn tokens_manage_webhooks_through_the_api(backend: Backend) {
    use crate::api::{body, call, json, problem, token};
    let env = allowed(backend);
    let app = env.app().await;
    let t = token(&env, "ops", &["webhooks:write"]);
    let other = token(&env, "writer", &["posts:write"]);
    problem(
        &call(&app, "GET", "/api/v1/webhooks", Some(&other), None).await,
        403,
    );
    problem(
        &call(&app, "GET", "/api/v1/webhooks", None, None).await,
        401,
    );
    let r = Receiver::start();
    let made = call(
        &app,
        "POST",
        "/api/v1/webhooks",
        Some(&t),
        body(serde_json::json!({"url": r.url, "events": ["album.published"]})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let v = json(&made);
    assert!(
        v["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    assert_eq!(v["events"], serde_json::json!(["album.published"]));
    let id = v["id"].as_i64().expect("id");
    let bad = call(
        &app,
        "POST",
        "/api/v1/webhooks",
        Some(&t),
        body(serde_json::json!({"url": "https://example.org/h", "events": ["nope"]})),
    )
    .await;
    assert_eq!(problem(&bad, 422)["field"], "events");
    // A description past the published maxLength is refused, not cut short.
    let long = call(
        &app,
        "POST",
        "/api/v1/webhooks",
        Some(&t),
        body(serde_json::json!({"url": "https://example.org/h", "events": ["album.published"], "description": "–".repeat(201)})),
    )
    .await;
    assert_eq!(problem(&long, 422)["field"], "description");
    let list = json(&call(&app, "GET", "/api/v1/webhooks", Some(&t), None).await);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert!(list[0].get("secret").is_none(), "the secret is shown once");
    let ping = call(
        &app,
        "POST",
        &format!("/api/v1/webhooks/{id}/ping"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(ping.status, 202, "{}", ping.body);
    pass(&env, true);
    assert_eq!(r.got()[0].json()["type"], "webhook.ping");
    let del = call(
        &app,
        "DELETE",
        &format!("/api/v1/webhooks/{id}"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(del.status, 204);
    problem(
        &call(
            &app,
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            Some(&t),
            None,
        )
        .await,
        404,
    );
}

/// `cms webhook add|list|ping|remove` with the release binary, and its one-line errors.
async fn the_command_line_manages_webhooks(backend: Backend) {
    let env = allowed(backend);
    let run = |args: &[&str]| {
        let out = env.cms(args).output().expect("cms");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let r = Receiver::start();
    let (ok, secret, said) = run(&[
        "webhook",
        "add",
        "--url",
        &r.url,
        "--event",
        "album.published",
        "--description",
        "sister site",
    ]);
    assert!(ok, "{said}");
    assert!(secret.trim().starts_with("whsec_"), "{secret}");
    assert!(said.contains("album.published"), "{said}");
    let (ok, list, _) = run(&["webhook", "list"]);
    assert!(
        ok && list.contains(&r.url) && list.contains("enabled"),
        "{list}"
    );
    let id = webhook::all(&mut env.conn()).expect("hooks")[0]
        .id
        .to_string();
    assert!(run(&["webhook", "ping", &id]).0);
    pass(&env, true);
    let got = r.got();
    assert_eq!(got.len(), 1);
    verify(secret.trim(), &got[0]);
    assert!(run(&["webhook", "remove", &id]).0);
    for args in [
        vec!["webhook", "remove", id.as_str()],
        vec!["webhook", "add", "--url", "ftp://example.org/"],
        vec![
            "webhook",
            "add",
            "--url",
            "https://example.org/",
            "--event",
            "nope",
        ],
    ] {
        let (ok, _, said) = run(&args);
        assert!(!ok, "{args:?}");
        assert_eq!(said.trim().lines().count(), 1, "{args:?}: {said}");
    }
}

/// Every node plans the change stream into deliveries; nodes planning at the same moment
/// plan each change once per hook (the cursor moves only from where it was read).
async fn nodes_planning_at_once_plan_each_change_once(backend: Backend) {
    let env = allowed(backend);
    let r = Receiver::start();
    let (one, _) = add(&env, &r.url, &[]);
    let (two, _) = add(&env, &r.url, &["post.published"]);
    for i in 0..20 {
        env.write(|c| posts::create(c, &cli(), &published_post(&format!("News {i}"), "x")));
    }
    let (db, base) = (&env.state.db, env.state.config.server.base_url.as_str());
    let planned: usize = std::thread::scope(|s| {
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(move || {
                    (0..5)
                        .map(|_| webhooks::plan(db, base).expect("plan"))
                        .sum::<usize>()
                })
            })
            .collect();
        nodes.into_iter().map(|n| n.join().expect("node")).sum()
    });
    assert_eq!(planned, 40, "20 changes for each of two hooks, once");
    for hook in [one.id, two.id] {
        let mut events: Vec<i64> = webhook::recent(&mut env.conn(), hook, 100)
            .expect("log")
            .into_iter()
            .map(|d| d.event_id)
            .collect();
        events.sort_unstable();
        events.dedup();
        assert_eq!(events.len(), 20, "hook {hook}");
    }
}

/// A node with hooks and nothing new only reads: no write transaction twice a second per node
/// (which would also make every node's page cache look again at the content version).
async fn an_idle_node_only_reads(backend: Backend) {
    let env = allowed(backend);
    let r = Receiver::start();
    add(&env, &r.url, &[]);
    add(&env, &r.url, &["post.published"]);
    pass(&env, true);
    let before = env.state.db.statements();
    for _ in 0..10 {
        assert_eq!(pass(&env, true), Sent::default());
    }
    let per_pass = (env.state.db.statements() - before) / 10;
    assert!(
        per_pass <= 3,
        "{per_pass} statements per idle pass: three reads at most, no transaction"
    );
    env.write(|c| posts::create(c, &cli(), &published_post("Wake up", "x")));
    assert_eq!(pass(&env, true).delivered, 2);
    assert_eq!(r.got().len(), 2);
}

/// A receiver that answers each request on its own thread: the first after `stall` (a
/// delivery in flight when the sender is killed), the others after `delay`; it keeps the
/// `webhook-id` of every request it got, answered or not.
struct SlowReceiver {
    url: String,
    ids: Arc<Mutex<Vec<String>>>,
}

impl SlowReceiver {
    fn start(stall: std::time::Duration, delay: std::time::Duration) -> SlowReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let ids: Arc<Mutex<Vec<String>>> = Arc::default();
        let got = ids.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let got = got.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let (mut line, mut id, mut len) = (String::new(), String::new(), 0usize);
                    let _ = reader.read_line(&mut line);
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.trim_end().split_once(':') {
                            if k.eq_ignore_ascii_case("webhook-id") {
                                id = v.trim().to_string();
                            } else if k.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; len];
                    // A request cut off by the kill is not a request.
                    if id.is_empty() || reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    got.lock().expect("lock").push(id);
                    std::thread::sleep(if n == 0 { stall } else { delay });
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                });
            }
        });
        SlowReceiver { url, ids }
    }

    fn ids(&self) -> Vec<String> {
        self.ids.lock().expect("lock").clone()
    }
}

/// kill -9 of a real `cms serve` with a delivery in flight, and again in the middle of a run
/// of deliveries: started again, every delivery is made, with the same `webhook-id` when it
/// is sent twice (receivers drop the repeat), and none is lost.
async fn killed_mid_delivery_nothing_is_lost(backend: Backend) {
    use cms_core::schema::webhook_deliveries;
    use diesel::prelude::*;
    const POSTS: usize = 30;
    let env = allowed(backend);
    let r = SlowReceiver::start(
        std::time::Duration::from_secs(20),
        std::time::Duration::from_millis(40),
    );
    add(&env, &r.url, &[]);
    for i in 0..POSTS {
        env.write(|c| posts::create(c, &cli(), &published_post(&format!("News {i}"), "x")));
    }
    let serve = || {
        env.cms(&["serve", "--bind", "127.0.0.1:0"])
            .env("CMS_WEBHOOK_ALLOW_PRIVATE", "true")
            .env("CMS_BASE_URL", "http://keepsake.test")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("cms serve")
    };
    let wait_until = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let delivered = || -> i64 {
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq("delivered"))
            .count()
            .get_result(&mut env.conn())
            .expect("count")
    };
    // The first request hangs at the receiver: killed with it (and others) in flight.
    let mut node = serve();
    wait_until("a delivery in flight", &|| !r.ids().is_empty());
    std::thread::sleep(std::time::Duration::from_millis(100));
    node.kill().expect("kill -9");
    node.wait().expect("wait");
    let held: i64 = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("queued"))
        .filter(webhook_deliveries::lease_owner.is_not_null())
        .count()
        .get_result(&mut env.conn())
        .expect("count");
    assert!(held >= 1, "the killed node held deliveries");
    // Again, in the middle of the run.
    let mut node = serve();
    let target = r.ids().len() + 5;
    wait_until("more deliveries", &|| r.ids().len() >= target);
    node.kill().expect("kill -9");
    node.wait().expect("wait");
    assert!(delivered() < POSTS as i64, "killed before the end");
    // Started again: what the dead processes held is sent at once, not when leases run out.
    let mut node = serve();
    wait_until("every delivery", &|| delivered() == POSTS as i64);
    let _ = node.kill();
    let _ = node.wait();
    let ids = r.ids();
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        POSTS,
        "every change reached the receiver: {ids:?}"
    );
    assert!(
        ids.len() - POSTS <= 2 * webhooks::SENDERS,
        "{} repeats: at most what was in flight at each kill",
        ids.len() - POSTS
    );
}

backend_tests!(
    an_idle_node_only_reads,
    nodes_planning_at_once_plan_each_change_once,
    killed_mid_delivery_nothing_is_lost,
    the_command_line_manages_webhooks,
    admins_manage_webhooks_in_the_panel,
    tokens_manage_webhooks_through_the_api,
    deliveries_are_signed_in_order_per_item_and_retried,
    a_hook_gets_only_what_it_asked_for_and_never_an_import,
    a_hook_failing_for_a_day_is_disabled_with_the_reason,
    requests_cannot_be_forged_through_a_hook,
);

/// A receiver on loopback that reads each request's head and then does `then` with the
/// connection (answers part of something, or nothing at all).
fn raw_receiver(then: fn(std::net::TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    line.clear();
                }
                then(stream);
            });
        }
    });
    url
}

/// The two guards a receiver could otherwise hold a sender with: an answer that never ends
/// is read no further than `MAX_ANSWER` bytes, and silence ends the exchange after `TIMEOUT`.
#[test]
fn a_receiver_cannot_hold_the_sender() {
    let fetcher = webhooks::fetcher(true);
    // "200, here come 100 MB", 8 KB of them, then nothing more: the sender has what it reads
    // of an answer at once, and reads 4 KB of it.
    let endless = raw_receiver(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n");
        let _ = s.write_all(&[b'x'; 8192]);
        std::thread::sleep(std::time::Duration::from_secs(60));
    });
    let answer = fetcher.post_json(&endless, &[], "{}").expect("an answer");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.len() as u64, webhooks::MAX_ANSWER);

    // A receiver that takes the request and never answers: an error that says so, after the
    // timeout (the receiver would hold the connection for a minute).
    assert!(webhooks::TIMEOUT <= std::time::Duration::from_secs(10));
    let silent = raw_receiver(|_s| std::thread::sleep(std::time::Duration::from_secs(60)));
    let started = std::time::Instant::now();
    let why = fetcher
        .post_json(&silent, &[], "{}")
        .expect_err("no answer is an error");
    assert!(
        why.to_lowercase().contains("timeout") || why.contains("timed out"),
        "{why}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(50),
        "{why}"
    );
}

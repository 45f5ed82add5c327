//! Double opt-in by POST only, same answers whatever the address's state, header tricks refused,
//! rate limits, and one-click unsubscribe.

use actix_web::test;
use cms_core::models::subscriber::{self, SubscriberStatus, Topic};

use super::fan_out_and_deliver;
use super::sink::Sink;
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

async fn post_form<S, B>(app: &S, path: &str, body: &str, peer: &str) -> crate::common::Page
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let req = test::TestRequest::post()
        .uri(path)
        .peer_addr(peer.parse().expect("addr"))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(body.to_string())
        .to_request();
    let resp = test::call_service(app, req).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = test::read_body(resp).await;
    crate::common::Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn link_in(text: &str, prefix: &str) -> String {
    let start = text.find(prefix).expect("a link in the email");
    text[start..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_string()
}

async fn opt_in_is_double_and_confirms_by_post_only(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(dir.path());
    let env = TestEnv::with(backend, &[("smtp_url", &sink.url())]);
    let app = env.app().await;
    let first = post_form(
        &app,
        "/subscribe",
        "email=Fan%40Example.org&topics=news&topics=gallery",
        "10.1.0.1:1",
    )
    .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.texts("main h1"), ["Check your inbox"]);
    let s = subscriber::find_by_email(&mut env.conn(), "fan@example.org")
        .expect("q")
        .expect("pending");
    assert_eq!(s.status, SubscriberStatus::Pending);
    fan_out_and_deliver(&env).await;
    let mail = sink.messages();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].to.contains("fan@example.org"));
    let link = link_in(&mail[0].text, "http://keepsake.test/subscribe/confirm/");
    let path = link.trim_start_matches("http://keepsake.test");
    // A link scanner that GETs the link subscribes nobody.
    let page = get(&app, path).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.attrs("form[method=post]", "action"),
        [path.to_string()]
    );
    assert_eq!(
        subscriber::find(&mut env.conn(), s.id)
            .expect("q")
            .expect("s")
            .status,
        SubscriberStatus::Pending
    );
    let confirmed = post_form(&app, path, "", "10.1.0.1:1").await;
    assert_eq!(confirmed.status, 200);
    assert_eq!(
        subscriber::find(&mut env.conn(), s.id)
            .expect("q")
            .expect("s")
            .status,
        SubscriberStatus::Confirmed
    );
    // The link is spent.
    assert_eq!(post_form(&app, path, "", "10.1.0.1:1").await.status, 404);
    // Signing up again (confirmed) sends nothing and answers the same page as a new address.
    let again = post_form(
        &app,
        "/subscribe",
        "email=fan%40example.org&topics=videos",
        "10.1.0.2:1",
    )
    .await;
    let fresh = post_form(
        &app,
        "/subscribe",
        "email=new%40example.org&topics=videos",
        "10.1.0.3:1",
    )
    .await;
    assert_eq!(
        again.texts("main"),
        fresh.texts("main"),
        "no hint whether an address exists"
    );
    fan_out_and_deliver(&env).await;
    let tos: Vec<String> = sink.messages().into_iter().map(|m| m.to).collect();
    assert_eq!(tos.len(), 2, "{tos:?}");
    assert!(tos.iter().any(|t| t.contains("new@example.org")), "{tos:?}");
    // A pending address asking again within the interval gets no second email.
    post_form(
        &app,
        "/subscribe",
        "email=new%40example.org&topics=news",
        "10.1.0.4:1",
    )
    .await;
    fan_out_and_deliver(&env).await;
    assert_eq!(sink.messages().len(), 2);
}

async fn bad_addresses_and_floods_are_refused(backend: Backend) {
    let env = TestEnv::new(backend);
    let app = env.app().await;
    // A topic given twice (a hand-made form) is one topic, not a server error.
    let twice = post_form(
        &app,
        "/subscribe",
        "email=twice%40example.org&topics=news&topics=news",
        "10.2.9.1:1",
    )
    .await;
    assert_eq!(twice.status, 200, "{}", twice.body);
    let s = subscriber::find_by_email(&mut env.conn(), "twice@example.org")
        .expect("q")
        .expect("signed up");
    assert_eq!(
        subscriber::topics_of(&mut env.conn(), s.id).expect("topics"),
        [Topic::News]
    );
    for bad in [
        "a%40b.org%0D%0ABcc%3A+victim%40example.org",
        "Name+%3Ca%40b.org%3E",
        "a%40b.org%2C+c%40d.org",
        "no-at-sign",
        "",
    ] {
        let r = post_form(
            &app,
            "/subscribe",
            &format!("email={bad}&topics=news"),
            "10.2.0.1:1",
        )
        .await;
        assert_eq!(r.status, 422, "{bad}");
        assert!(!r.texts(".form-error").is_empty());
        // Screen readers are told which field is wrong and why.
        assert_eq!(r.attrs("#email", "aria-invalid"), ["true"], "{bad}");
        assert_eq!(
            r.attrs("#email", "aria-describedby"),
            r.attrs(".form-error", "id"),
            "{bad}"
        );
        // The form comes back with the reader's own choice of topics, not all of them.
        assert_eq!(
            r.attrs("input[name=topics][checked]", "value"),
            ["news"],
            "{bad}"
        );
    }
    assert_eq!(
        post_form(
            &app,
            "/subscribe",
            "email=a%40b.org&topics=spam",
            "10.2.0.2:1"
        )
        .await
        .status,
        400
    );
    let none = post_form(&app, "/subscribe", "email=a%40b.org", "10.2.0.2:1").await;
    assert_eq!(none.status, 422, "no topic");
    assert!(
        none.attrs("input[name=topics][checked]", "value")
            .is_empty(),
        "nothing ticked, as sent"
    );
    let (_, total) = subscriber::list(&mut env.conn(), None, None, 0, 10).expect("q");
    assert_eq!(total, 1, "only twice@example.org, none of the refused");
    // A bot filling the hidden field gets the normal answer and nothing happens.
    let bot = post_form(
        &app,
        "/subscribe",
        "email=bot%40example.org&topics=news&website=http%3A%2F%2Fspam",
        "10.2.0.3:1",
    )
    .await;
    assert_eq!(bot.status, 200);
    assert!(
        subscriber::find_by_email(&mut env.conn(), "bot@example.org")
            .expect("q")
            .is_none()
    );
    // Per-address rate limit.
    for i in 0..9 {
        assert_eq!(
            post_form(
                &app,
                "/subscribe",
                &format!("email=x{i}%40example.org&topics=news"),
                "10.2.0.3:1"
            )
            .await
            .status,
            200
        );
    }
    let limited = post_form(
        &app,
        "/subscribe",
        "email=y%40example.org&topics=news",
        "10.2.0.3:1",
    )
    .await;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
}

async fn one_click_unsubscribe_and_topic_changes(backend: Backend) {
    let env = TestEnv::new(backend);
    let id = env.write(|c| {
        subscriber::import_confirmed(
            c,
            "reader@example.org",
            &[subscriber::Topic::News, subscriber::Topic::Gallery],
            "test",
        )
    });
    let s = subscriber::find(&mut env.conn(), id)
        .expect("q")
        .expect("s");
    let token = subscriber::manage_token(&env.state.config.secret, &s);
    let app = env.app().await;
    let page = get(&app, &format!("/unsubscribe/{token}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.attrs("input[name=topics][checked]", "value"),
        ["news", "gallery"]
    );
    let changed = post_form(
        &app,
        &format!("/unsubscribe/{token}"),
        "action=topics&topics=videos",
        "10.3.0.1:1",
    )
    .await;
    assert_eq!(changed.status, 200);
    assert_eq!(
        subscriber::topics_of(&mut env.conn(), id).expect("q"),
        [subscriber::Topic::Videos]
    );
    let forged = format!("{}0", &token[..token.len() - 1]);
    assert_eq!(
        post_form(
            &app,
            &format!("/unsubscribe/{forged}"),
            "List-Unsubscribe=One-Click",
            "10.3.0.1:1"
        )
        .await
        .status,
        404
    );
    let one_click = post_form(
        &app,
        &format!("/unsubscribe/{token}"),
        "List-Unsubscribe=One-Click",
        "10.3.0.1:1",
    )
    .await;
    assert_eq!(one_click.status, 200);
    assert_eq!(
        subscriber::find(&mut env.conn(), id)
            .expect("q")
            .expect("s")
            .status,
        SubscriberStatus::Unsubscribed
    );
}

backend_tests!(
    opt_in_is_double_and_confirms_by_post_only,
    bad_addresses_and_floods_are_refused,
    one_click_unsubscribe_and_topic_changes
);

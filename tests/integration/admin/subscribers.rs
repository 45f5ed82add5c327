//! Subscribers in the admin: list and search, CSV import (pending with confirmation, or
//! confirmed with a stated source), export, deletion with their mail, the email status page.

use actix_web::test;
use cms_core::models::outbox;
use cms_core::models::subscriber::{self, SubscriberStatus, Topic};
use cms_core::models::user::Role;

use super::client::{Client, PASSWORD, csrf_of, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv};

fn csv_upload(token: &str, csv: &str, confirmed: bool, source: &str) -> test::TestRequest {
    let b = "XcsvX";
    // The form's hidden CSRF field comes first, as the page sends it.
    let mut body =
        format!("--{b}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n");
    body.push_str(&format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n"));
    if confirmed {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"confirmed\"\r\n\r\non\r\n"
        ));
    }
    body.push_str(&format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\n{source}\r\n--{b}--\r\n"
    ));
    test::TestRequest::post()
        .uri("/admin/subscribers/import")
        .insert_header(("Content-Type", format!("multipart/form-data; boundary={b}")))
        .set_payload(body)
}

async fn subscribers_are_imported_exported_and_deleted(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let token = csrf_of(&ed.get(&app, "/admin/subscribers").await);
    // Pending: each gets a confirmation email.
    let page = ed.send(&app, csv_upload(&token, "email,topics\nOne@Example.org,news gallery\nnot an address,news\ntwo@example.org,\n", false, "")).await;
    assert_eq!(page.status, 200);
    let notice = page.texts(".notice").join(" ");
    assert!(
        notice.contains("2 addresses imported; 2 confirmation emails queued")
            && notice.contains("1 lines skipped"),
        "{notice}"
    );
    let one = subscriber::find_by_email(&mut env.conn(), "one@example.org")
        .expect("q")
        .expect("one");
    assert_eq!(one.status, SubscriberStatus::Pending);
    assert_eq!(
        subscriber::topics_of(&mut env.conn(), one.id).expect("q"),
        [Topic::News, Topic::Gallery]
    );
    assert_eq!(
        outbox::status_counts(&mut env.conn()).expect("q"),
        vec![(outbox::OutboxStatus::Queued, 2)]
    );
    // Confirmed needs a stated source.
    let refused = ed
        .send(
            &app,
            csv_upload(&token, "email\nthree@example.org\n", true, ""),
        )
        .await;
    assert_eq!(refused.status, 422);
    ed.send(
        &app,
        csv_upload(
            &token,
            "email\nthree@example.org\n",
            true,
            "old mailing list, 2023",
        ),
    )
    .await;
    let three = subscriber::find_by_email(&mut env.conn(), "three@example.org")
        .expect("q")
        .expect("three");
    assert_eq!(three.status, SubscriberStatus::Confirmed);
    assert!(three.source.contains("old mailing list, 2023"));
    assert_eq!(
        outbox::status_counts(&mut env.conn()).expect("q"),
        vec![(outbox::OutboxStatus::Queued, 2)],
        "no email for them"
    );
    // Search and status filters.
    assert_eq!(
        ed.get(&app, "/admin/subscribers?q=ONE")
            .await
            .texts("table.list tbody tr")
            .len(),
        1
    );
    assert_eq!(
        ed.get(&app, "/admin/subscribers?status=confirmed")
            .await
            .texts("table.list tbody tr")
            .len(),
        1
    );
    // Export.
    let csv = ed.get(&app, "/admin/subscribers/export.csv").await;
    assert_eq!(
        csv.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "email,status,topics,source,created_at,confirmed_at"
    );
    assert_eq!(lines.len(), 4);
    // Deleting removes the person and their queued mail.
    let del = ed
        .post(
            &app,
            &format!("/admin/subscribers/{}/delete", one.id),
            &[("_csrf", &token)],
        )
        .await;
    assert_eq!(del.status, 303);
    assert!(
        subscriber::find(&mut env.conn(), one.id)
            .expect("q")
            .is_none()
    );
    assert_eq!(
        outbox::status_counts(&mut env.conn()).expect("q"),
        vec![(outbox::OutboxStatus::Queued, 1)]
    );
    // The email page shows the queue and queues a test.
    let mail = ed.get(&app, "/admin/mail").await;
    assert_eq!(mail.status, 200);
    let test = ed
        .post(
            &app,
            "/admin/mail/test",
            &[("_csrf", &token), ("email", "me@example.org")],
        )
        .await;
    assert_eq!(test.status, 303);
    assert_eq!(
        outbox::status_counts(&mut env.conn()).expect("q"),
        vec![(outbox::OutboxStatus::Queued, 2)]
    );
}

/// Consent survives a list's import: someone who left is never signed up again, a list's own
/// opt-outs are honoured (our `status` column, Ghost's `subscribed_to_emails`), topics may be
/// written with spaces or commas, and an address counts once whatever its case.
async fn nobody_who_left_is_signed_up_again(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let left_id = env.write(|c| {
        let id = subscriber::import_confirmed(c, "left@example.org", &[Topic::News], "old list")?;
        subscriber::unsubscribe(c, id)?;
        Ok(id)
    });
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let token = csrf_of(&ed.get(&app, "/admin/subscribers").await);
    let csv = "email,topics,status\n\
               left@example.org,news,subscribed\n\
               New@Example.org,\"news,gallery\",subscribed\n\
               new@example.org,news,subscribed\n\
               gone@example.org,news,unsubscribed\n\
               pend@example.org,news gallery,pending\n\
               odd@example.org,news,maybe\n";
    let page = ed.send(&app, csv_upload(&token, csv, false, "")).await;
    assert_eq!(page.status, 200);
    let notice = page.texts(".notice").join(" ");
    for said in [
        "2 addresses imported; 2 confirmation emails queued.",
        "1 marked as unsubscribed, as the list says.",
        "1 had unsubscribed before and were not signed up again.",
        "1 repeated addresses counted once.",
        "line 7: unknown status",
    ] {
        assert!(notice.contains(said), "{said} in {notice}");
    }
    let status = |email: &str| {
        subscriber::find_by_email(&mut env.conn(), email)
            .expect("q")
            .map(|s| s.status)
    };
    assert_eq!(
        status("left@example.org"),
        Some(SubscriberStatus::Unsubscribed)
    );
    assert_eq!(
        status("gone@example.org"),
        Some(SubscriberStatus::Unsubscribed)
    );
    assert_eq!(status("new@example.org"), Some(SubscriberStatus::Pending));
    assert_eq!(status("pend@example.org"), Some(SubscriberStatus::Pending));
    let new_id = subscriber::find_by_email(&mut env.conn(), "new@example.org")
        .expect("q")
        .expect("new")
        .id;
    assert_eq!(
        subscriber::topics_of(&mut env.conn(), new_id).expect("q"),
        [Topic::News, Topic::Gallery]
    );
    // Nobody who left got an email.
    let mailed: Vec<Option<i64>> = {
        use diesel::prelude::*;
        cms_core::schema::email_outbox::table
            .select(cms_core::schema::email_outbox::subscriber_id)
            .load(&mut *env.conn())
            .expect("outbox")
    };
    assert_eq!(mailed.len(), 2);
    assert!(!mailed.contains(&Some(left_id)));
    // A Ghost export, consent stated elsewhere: its opt-outs are honoured too.
    let token = csrf_of(&ed.get(&app, "/admin/subscribers").await);
    let ghost = "email,subscribed_to_emails\n\
                 ghost1@example.org,true\n\
                 ghost2@example.org,false\n\
                 LEFT@example.org,true\n";
    let page = ed
        .send(&app, csv_upload(&token, ghost, true, "Ghost export, 2025"))
        .await;
    let notice = page.texts(".notice").join(" ");
    assert!(
        notice.contains("1 addresses imported; 0 confirmation emails queued."),
        "{notice}"
    );
    assert_eq!(
        status("ghost1@example.org"),
        Some(SubscriberStatus::Confirmed)
    );
    assert_eq!(
        status("ghost2@example.org"),
        Some(SubscriberStatus::Unsubscribed)
    );
    assert_eq!(
        status("left@example.org"),
        Some(SubscriberStatus::Unsubscribed)
    );
}

/// `topics` in CSV files carry cadences (`gallery:weekly`), both ways.
async fn csv_files_carry_the_cadences(backend: Backend) {
    use cms_core::models::subscriber::{Cadence, Choice};
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let token = csrf_of(&ed.get(&app, "/admin/subscribers").await);
    let csv = "email,topics\nweekly@example.org,news gallery:weekly\ndaily@example.org,videos:daily\nplain@example.org,news\nodd@example.org,gallery:hourly\n";
    let page = ed
        .send(&app, csv_upload(&token, csv, true, "the old list"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let choices = |email: &str| {
        let s = subscriber::find_by_email(&mut env.conn(), email)
            .expect("q")
            .expect("imported");
        subscriber::choices_of(&mut env.conn(), s.id).expect("choices")
    };
    assert_eq!(
        choices("weekly@example.org"),
        [
            Choice::new(Topic::News, Cadence::Immediate),
            Choice::new(Topic::Gallery, Cadence::Weekly)
        ]
    );
    assert_eq!(
        choices("daily@example.org"),
        [Choice::new(Topic::Videos, Cadence::Daily)]
    );
    assert!(
        subscriber::find_by_email(&mut env.conn(), "odd@example.org")
            .expect("q")
            .is_none(),
        "no known topic: skipped"
    );
    let export = ed.get(&app, "/admin/subscribers/export.csv").await;
    assert_eq!(export.status, 200);
    for line in [
        "weekly@example.org,confirmed,news gallery:weekly,",
        "daily@example.org,confirmed,videos:daily,",
        "plain@example.org,confirmed,news,",
    ] {
        assert!(export.body.contains(line), "{line}: {}", export.body);
    }
    // The list shows them too.
    let list = ed.get(&app, "/admin/subscribers").await;
    assert!(
        list.texts("td")
            .iter()
            .any(|t| t == "news, gallery (weekly)"),
        "{:?}",
        list.texts("td")
    );
}

backend_tests!(
    csv_files_carry_the_cadences,
    subscribers_are_imported_exported_and_deleted,
    nobody_who_left_is_signed_up_again
);

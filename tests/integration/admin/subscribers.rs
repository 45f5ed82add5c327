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

backend_tests!(subscribers_are_imported_exported_and_deleted);

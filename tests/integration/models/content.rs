//! Videos, subscribers, the content version and the audit log.

use cms_core::models::audit::{self, Actor};
use cms_core::models::subscriber::{self, SignUp, SubscriberStatus, Topic};
use cms_core::models::video::{self, TranscriptFormat, VideoInput};
use cms_core::models::{post, site};

use crate::backend_tests;
use crate::common::{Backend, TestEnv};

async fn every_reader_visible_write_bumps_the_content_version(backend: Backend) {
    let env = TestEnv::new(backend);
    let v0 = site::content_version(&mut env.conn()).expect("version");
    env.write(|c| {
        cms_core::service::posts::create(
            c,
            &crate::common::cli(),
            &post::PostInput::new("Hello", "World"),
        )
    });
    let v1 = site::content_version(&mut env.conn()).expect("version");
    assert!(v1 > v0);
    env.album_with_photos(&["Films"], "Stills", 2);
    let v2 = site::content_version(&mut env.conn()).expect("version");
    assert!(v2 > v1);
    // A failed write rolls its bump back with it.
    let _ = env.state.db.write_blocking(|c| -> cms_core::Result<()> {
        site::bump_content_version(c)?;
        Err(cms_core::Error::Conflict("rolled back".into()))
    });
    assert_eq!(site::content_version(&mut env.conn()).expect("version"), v2);
}

async fn videos_validate_embeds_and_transcripts(backend: Backend) {
    let env = TestEnv::new(backend);
    let good = VideoInput {
        title: "Kit Connor & Joe Locke React To Heartstopper Scenes".into(),
        series: "GQ Action Replay".into(),
        embed_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
        transcript: "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHi\n".into(),
        published: true,
        ..VideoInput::default()
    };
    let v = env.write(|c| cms_core::service::videos::create(c, &crate::common::cli(), &good));
    assert_eq!(v.slug, "kit-connor-joe-locke-react-to-heartstopper-scenes");
    assert_eq!(v.transcript_format, TranscriptFormat::Vtt);
    assert_eq!(v.cues().len(), 1);
    assert!(v.embed().is_some());
    let bad = VideoInput {
        title: "Bad".into(),
        embed_url: Some("https://evil.example/watch?v=dQw4w9WgXcQ".into()),
        transcript: "WEBVTT\n\nnot a timing\ntext".into(),
        transcript_format: Some(TranscriptFormat::Vtt),
        ..VideoInput::default()
    };
    let err = env
        .state
        .db
        .write_blocking(|c| cms_core::service::videos::create(c, &crate::common::cli(), &bad))
        .expect_err("invalid");
    let cms_core::Error::Fields(fields) = err else {
        panic!("{err:?}")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.0).collect();
    assert_eq!(names, ["embed_url", "transcript"]);
    let draft = env.write(|c| {
        cms_core::service::videos::create(
            c,
            &crate::common::cli(),
            &VideoInput {
                title: "Draft".into(),
                ..VideoInput::default()
            },
        )
    });
    let (list, total) = video::list_published(&mut env.conn(), 0, 10).expect("list");
    assert_eq!(total, 1);
    assert!(list.iter().all(|x| x.id != draft.id));
}

async fn subscriber_opt_in_is_double_and_tokens_are_bound(backend: Backend) {
    let env = TestEnv::new(backend);
    let first = env.write(|c| subscriber::sign_up(c, "fan@example.org", &[Topic::Gallery], "form"));
    let SignUp::SendConfirmation {
        subscriber_id,
        token,
    } = first
    else {
        panic!("{first:?}")
    };
    // Signing up again at once sends nothing new.
    let again = env.write(|c| subscriber::sign_up(c, "fan@example.org", &[Topic::News], "form"));
    assert_eq!(again, SignUp::RecentlySent);
    // A wrong token confirms nothing; the right one does, once.
    assert!(
        env.state
            .db
            .write_blocking(|c| subscriber::confirm(c, "forged"))
            .is_err()
    );
    let s = env.write(|c| subscriber::confirm(c, &token));
    assert_eq!(s.status, SubscriberStatus::Confirmed);
    assert!(
        env.state
            .db
            .write_blocking(|c| subscriber::confirm(c, &token))
            .is_err()
    );
    let topics = subscriber::topics_of(&mut env.conn(), subscriber_id).expect("topics");
    assert_eq!(topics, [Topic::News, Topic::Gallery]);
    // Confirmed: a new sign-up sends nothing.
    let third = env.write(|c| subscriber::sign_up(c, "fan@example.org", &[Topic::Videos], "form"));
    assert_eq!(third, SignUp::AlreadyConfirmed);
    // Manage tokens are signed and bound to one subscriber.
    let key = &env.state.config.secret;
    let manage = subscriber::manage_token(key, &s);
    let mut conn = env.conn();
    assert_eq!(
        subscriber::find_by_manage_token(&mut conn, key, &manage)
            .expect("q")
            .map(|x| x.id),
        Some(s.id)
    );
    let forged = manage.replacen(&format!("{}.", s.id), &format!("{}.", s.id + 1), 1);
    assert!(
        subscriber::find_by_manage_token(&mut conn, key, &forged)
            .expect("q")
            .is_none()
    );
    let cutoff = cms_core::models::now();
    let batch =
        subscriber::confirmed_for_topic(&mut conn, Topic::Gallery, cutoff, 0, 100).expect("q");
    assert_eq!(batch.len(), 1);
    drop(conn);
    env.write(|c| Ok(subscriber::unsubscribe(c, s.id)?));
    let batch = subscriber::confirmed_for_topic(&mut env.conn(), Topic::Gallery, cutoff, 0, 100)
        .expect("q");
    assert!(batch.is_empty());
}

async fn audit_log_records_actor_and_target(backend: Backend) {
    let env = TestEnv::new(backend);
    env.write(|c| {
        Ok(audit::record(
            c,
            &Actor::cli(),
            "user.create",
            Some(("user", 7)),
            "a@example.org",
        )?)
    });
    let entries = audit::recent(&mut env.conn(), 10, 0).expect("q");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "cli");
    assert_eq!(entries[0].target_id, Some(7));
}

backend_tests!(
    every_reader_visible_write_bumps_the_content_version,
    videos_validate_embeds_and_transcripts,
    subscriber_opt_in_is_double_and_tokens_are_bound,
    audit_log_records_actor_and_target,
);

//! Users, sessions, API tokens and the rate limiter.

use chrono::Duration;
use cms_core::models::user::{self, NewUser, Role};
use cms_core::models::{api_token, rate_limit, session};

use crate::backend_tests;
use crate::common::{Backend, TestEnv};

fn new_user<'a>(email: &'a str, hash: &'a str) -> NewUser<'a> {
    NewUser {
        email,
        name: "Editor",
        role: Role::Editor,
        password_hash: hash,
        must_change_password: false,
    }
}

async fn duplicate_emails_are_refused_in_any_case(backend: Backend) {
    let env = TestEnv::new(backend);
    env.write(|c| user::create(c, &new_user("Editor@Example.org", "x")));
    let err = env
        .state
        .db
        .write_blocking(|c| user::create(c, &new_user("editor@example.ORG", "y")));
    assert!(matches!(err, Err(cms_core::Error::Conflict(_))), "{err:?}");
    let u = user::find_by_email(&mut env.conn(), "EDITOR@example.org")
        .expect("q")
        .expect("found");
    assert_eq!(u.email, "editor@example.org");
    assert_eq!(u.role, Role::Editor);
    let err = env
        .state
        .db
        .write_blocking(|c| user::create(c, &new_user("not-an-email", "y")));
    assert!(
        matches!(err, Err(cms_core::Error::Invalid { field: "email", .. })),
        "{err:?}"
    );
}

async fn sessions_expire_and_die_with_logout(backend: Backend) {
    let env = TestEnv::new(backend);
    let u = env.write(|c| user::create(c, &new_user("a@example.org", "x")));
    let s1 = env.write(|c| {
        Ok(session::create(
            c,
            u.id,
            Duration::hours(12),
            Some("127.0.0.1"),
            None,
        )?)
    });
    let s2 = env.write(|c| Ok(session::create(c, u.id, Duration::hours(12), None, None)?));
    assert_ne!(s1.cookie_value, s2.cookie_value);
    assert_ne!(
        s1.session.id_hash, s1.cookie_value,
        "only the hash is stored"
    );
    let mut conn = env.conn();
    assert!(
        session::find_live(&mut conn, &s1.cookie_value, Duration::minutes(30))
            .expect("q")
            .is_some()
    );
    assert!(
        session::find_live(&mut conn, "forged", Duration::minutes(30))
            .expect("q")
            .is_none()
    );
    // Idle expiry: a zero idle window means it is stale.
    assert!(
        session::find_live(&mut conn, &s1.cookie_value, Duration::zero())
            .expect("q")
            .is_none()
    );
    drop(conn);
    env.write(|c| {
        Ok(session::delete_for_user(
            c,
            u.id,
            Some(&s2.session.id_hash),
        )?)
    });
    let mut conn = env.conn();
    assert!(
        session::find_live(&mut conn, &s1.cookie_value, Duration::minutes(30))
            .expect("q")
            .is_none()
    );
    assert!(
        session::find_live(&mut conn, &s2.cookie_value, Duration::minutes(30))
            .expect("q")
            .is_some()
    );
}

async fn api_tokens_are_hashed_scoped_and_revocable(backend: Backend) {
    let env = TestEnv::new(backend);
    let (t, secret) = env.write(|c| {
        api_token::create(
            c,
            "mobile app",
            &["posts:write".into(), "drafts:read".into()],
            None,
        )
    });
    assert!(secret.starts_with("ks_"));
    assert_ne!(t.token_hash, secret);
    let mut conn = env.conn();
    let found = api_token::authenticate(&mut conn, &secret)
        .expect("q")
        .expect("valid");
    assert!(found.has_scope("posts:write") && !found.has_scope("gallery:write"));
    assert!(
        api_token::authenticate(&mut conn, "ks_nope")
            .expect("q")
            .is_none()
    );
    drop(conn);
    env.write(|c| api_token::revoke(c, t.id));
    assert!(
        api_token::authenticate(&mut env.conn(), &secret)
            .expect("q")
            .is_none()
    );
    let err = env
        .state
        .db
        .write_blocking(|c| api_token::create(c, "x", &["root".into()], None));
    assert!(
        matches!(err, Err(cms_core::Error::Invalid { field: "scope", .. })),
        "{err:?}"
    );
}

async fn rate_limit_counts_a_window(backend: Backend) {
    let env = TestEnv::new(backend);
    for _ in 0..3 {
        env.write(|c| Ok(rate_limit::record(c, "login-ip", "10.0.0.1")?));
    }
    env.write(|c| Ok(rate_limit::record(c, "login-ip", "10.0.0.2")?));
    let mut conn = env.conn();
    let (n, retry) =
        rate_limit::count(&mut conn, "login-ip", "10.0.0.1", Duration::minutes(15)).expect("q");
    assert_eq!(n, 3);
    assert!(retry.is_some_and(|t| t > cms_core::models::now()));
    drop(conn);
    env.write(|c| Ok(rate_limit::clear(c, "login-ip", "10.0.0.1")?));
    assert_eq!(
        rate_limit::count(
            &mut env.conn(),
            "login-ip",
            "10.0.0.1",
            Duration::minutes(15)
        )
        .expect("q")
        .0,
        0
    );
}

backend_tests!(
    duplicate_emails_are_refused_in_any_case,
    sessions_expire_and_die_with_logout,
    api_tokens_are_hashed_scoped_and_revocable,
    rate_limit_counts_a_window,
);

//! Login, sessions, throttling, logout and password changes.

use cms_core::models::user::Role;

use super::client::{Client, PASSWORD, csrf_of, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv};

async fn login_rotates_the_session_and_sets_safe_cookies(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut browser = Client::new();
    // A planted session id (fixation) is not adopted: it is not a session at all.
    browser
        .cookies
        .insert("ks_session".into(), "attacker-chosen".into());
    let page = browser.get(&app, "/admin/login").await;
    assert_eq!(page.status, 200);
    let set = page
        .header("set-cookie")
        .expect("a pre-session CSRF cookie");
    assert!(
        set.starts_with("ks_csrf=") && set.contains("HttpOnly"),
        "{set}"
    );
    let resp = browser
        .post_form(
            &app,
            "/admin/login",
            "/admin/login",
            &[
                ("email", "Editor@Example.org"),
                ("password", PASSWORD),
                ("next", "/admin/posts"),
            ],
        )
        .await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("location").as_deref(), Some("/admin/posts"));
    let cookie = resp
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ks_session="))
        .expect("session cookie")
        .to_string();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/admin"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http base URL");
    let first = browser.cookies.get("ks_session").cloned().expect("kept");
    assert_ne!(first, "attacker-chosen");
    assert!(first.len() >= 32, "at least 128 bits");
    assert_eq!(browser.get(&app, "/admin/posts").await.status, 200);
    // Logging in again from the same browser gives a new id and ends the old session.
    let token = csrf_of(&browser.get(&app, "/admin").await);
    let relogin = browser
        .post(
            &app,
            "/admin/login",
            &[
                ("_csrf", &token),
                ("email", "editor@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(relogin.status, 303);
    let second = browser
        .cookies
        .get("ks_session")
        .cloned()
        .expect("new session");
    assert_ne!(first, second);
    let mut old = Client::new();
    old.cookies.insert("ks_session".into(), first);
    assert_eq!(
        old.get(&app, "/admin/posts").await.status,
        303,
        "the old id is dead"
    );
    assert_eq!(browser.get(&app, "/admin/posts").await.status, 200);
}

async fn wrong_password_and_unknown_email_look_alike(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut a = Client::new();
    let wrong = a
        .login(&app, "editor@example.org", "not the password")
        .await;
    let mut b = Client::new();
    b.peer = "10.0.0.2:40000".into();
    let unknown = b
        .login(&app, "nobody@example.org", "not the password")
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(
        wrong.texts(".error"),
        ["The email or password is incorrect."]
    );
    assert_eq!(unknown.texts(".error"), wrong.texts(".error"));
    assert!(!a.cookies.contains_key("ks_session") && !b.cookies.contains_key("ks_session"));
}

async fn failed_logins_are_throttled_by_address_and_account(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    make_user(&env, "other@example.org", Role::Editor);
    let app = env.app().await;
    let mut attacker = Client::new();
    for _ in 0..5 {
        assert_eq!(
            attacker
                .login(&app, "editor@example.org", "guess")
                .await
                .status,
            401
        );
    }
    let blocked = attacker.login(&app, "editor@example.org", PASSWORD).await;
    assert_eq!(
        blocked.status, 429,
        "even the right password is not checked once blocked"
    );
    let retry: i64 = blocked
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry > 0 && retry <= 15 * 60);
    // The same address is blocked for other accounts too.
    assert_eq!(
        attacker
            .login(&app, "other@example.org", PASSWORD)
            .await
            .status,
        429
    );
    // Another address is blocked for this account (the account bucket)...
    let mut elsewhere = Client::new();
    elsewhere.peer = "192.0.2.7:5000".into();
    assert_eq!(
        elsewhere
            .login(&app, "editor@example.org", PASSWORD)
            .await
            .status,
        429
    );
    // ...but not for other accounts. Headers such as X-Forwarded-For change nothing.
    assert_eq!(
        elsewhere
            .login(&app, "other@example.org", PASSWORD)
            .await
            .status,
        303
    );
}

async fn attackers_cannot_lock_the_owner_out(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "owner@example.org", Role::Admin);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    // The owner has logged in from this browser before: it keeps a device cookie.
    let mut owner = Client::new();
    owner.peer = "198.51.100.20:4000".into();
    assert_eq!(
        owner
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        303
    );
    assert!(owner.cookies.contains_key("ks_device"));
    owner.cookies.remove("ks_session");
    let guess_five = async |attacker: &mut Client| {
        for _ in 0..5 {
            assert_eq!(
                attacker
                    .login(&app, "owner@example.org", "guess")
                    .await
                    .status,
                401
            );
        }
    };
    // Someone elsewhere guesses until the account is throttled for every other browser.
    let mut attacker = Client::new();
    guess_five(&mut attacker).await;
    assert_eq!(
        attacker
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        429
    );
    let mut new_browser = Client::new();
    new_browser.peer = "198.51.100.99:4000".into();
    assert_eq!(
        new_browser
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        429,
        "a browser the account never used is throttled with the account"
    );
    // A device cookie is for its own account only.
    let mut borrowed = Client::new();
    borrowed.peer = "198.51.100.77:4000".into();
    borrowed.cookies.insert(
        "ks_device".into(),
        device_of(&app, "editor@example.org").await,
    );
    assert_eq!(
        borrowed
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        429,
        "another account's device cookie does not lift this account's throttle"
    );
    // `cms user unlock` lifts the account's throttle at once.
    let unlock = |email: &str| {
        env.cms(&["user", "unlock", "--email", email])
            .output()
            .expect("cms user unlock")
    };
    let out = unlock("Owner@Example.org");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("unlocked owner@example.org"));
    assert_eq!(
        new_browser
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(unlock("nobody@example.org").status.code(), Some(1));
    // Guessing again from elsewhere: the owner's known browser still gets in.
    let mut another = Client::new();
    another.peer = "192.0.2.200:4000".into();
    guess_five(&mut another).await;
    assert_eq!(
        owner
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        303
    );
    owner.cookies.remove("ks_session");
    // A stolen device cookie does not mean unlimited guesses: the device has its own limit.
    guess_five(&mut owner).await;
    assert_eq!(
        owner
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        429
    );
}

/// The device cookie a fresh browser gets by logging in to `email`.
async fn device_of<S, B>(app: &S, email: &str) -> String
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let mut c = Client::new();
    c.peer = "203.0.113.50:1000".into();
    assert_eq!(c.login(app, email, PASSWORD).await.status, 303);
    c.cookies.get("ks_device").cloned().expect("device cookie")
}

async fn behind_a_trusted_proxy_each_client_is_itself(backend: Backend) {
    let env = TestEnv::with(backend, &[("trusted_proxies", "10.0.0.0/8, ::1")]);
    make_user(&env, "editor@example.org", Role::Editor);
    make_user(&env, "other@example.org", Role::Editor);
    let app = env.app().await;
    // Every request comes from the proxy (10.0.0.1); the clients differ in X-Forwarded-For.
    let via_proxy = |client: &str| {
        let mut c = Client::new();
        c.peer = "10.0.0.1:40000".into();
        c.headers = vec![("X-Forwarded-For".into(), client.into())];
        c
    };
    let mut attacker = via_proxy("203.0.113.7");
    for _ in 0..5 {
        assert_eq!(
            attacker
                .login(&app, "editor@example.org", "guess")
                .await
                .status,
            401
        );
    }
    // The attacker's address is throttled, for any account...
    assert_eq!(
        attacker
            .login(&app, "other@example.org", PASSWORD)
            .await
            .status,
        429
    );
    // ...even when it writes its own X-Forwarded-For in front: the proxy appends the real one.
    let mut forging = via_proxy("192.0.2.1, 203.0.113.7");
    assert_eq!(
        forging
            .login(&app, "other@example.org", PASSWORD)
            .await
            .status,
        429
    );
    // Another reader behind the same proxy is not.
    let mut reader = via_proxy("198.51.100.23");
    assert_eq!(
        reader
            .login(&app, "other@example.org", PASSWORD)
            .await
            .status,
        303
    );
    // The audit log records the client, not the proxy.
    let ips: Vec<Option<String>> = {
        use diesel::prelude::*;
        cms_core::schema::audit_log::table
            .filter(cms_core::schema::audit_log::action.eq("login"))
            .select(cms_core::schema::audit_log::ip)
            .load(&mut *env.conn())
            .expect("audit")
    };
    assert_eq!(ips, [Some("198.51.100.23".to_string())]);
    // Not from a trusted proxy: the header is the client's word and is ignored.
    let mut direct = Client::new();
    direct.peer = "198.51.100.50:4000".into();
    direct.headers = vec![("X-Forwarded-For".into(), "203.0.113.7".into())];
    assert_eq!(
        direct
            .login(&app, "other@example.org", PASSWORD)
            .await
            .status,
        303
    );
}

async fn next_only_goes_to_admin_paths(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    for next in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/admin\\..\\x",
        "javascript:alert(1)",
    ] {
        let mut c = Client::new();
        let resp = c
            .post_form(
                &app,
                "/admin/login",
                "/admin/login",
                &[
                    ("email", "editor@example.org"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(resp.header("location").as_deref(), Some("/admin"), "{next}");
    }
    // Visiting a page logged out comes back to it after login.
    let mut c = Client::new();
    let redirect = c.get(&app, "/admin/posts?status=draft").await;
    assert_eq!(redirect.status, 303);
    assert_eq!(
        redirect.header("location").as_deref(),
        Some("/admin/login?next=%2Fadmin%2Fposts%3Fstatus%3Ddraft")
    );
}

async fn logout_ends_the_session_on_the_server(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut c = Client::new();
    c.login(&app, "editor@example.org", PASSWORD).await;
    let stolen = c.cookies.get("ks_session").cloned().expect("session");
    let page = c.get(&app, "/admin").await;
    let token = csrf_of(&page);
    let out = c.post(&app, "/admin/logout", &[("_csrf", &token)]).await;
    assert_eq!(out.status, 303);
    assert!(
        !c.cookies.contains_key("ks_session"),
        "the browser forgets it"
    );
    let mut replay = Client::new();
    replay.cookies.insert("ks_session".into(), stolen);
    assert_eq!(
        replay.get(&app, "/admin").await.status,
        303,
        "a replayed cookie is dead"
    );
}

async fn password_change_ends_every_session(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut laptop = Client::new();
    laptop.login(&app, "editor@example.org", PASSWORD).await;
    let mut phone = Client::new();
    phone.peer = "10.0.0.9:1".into();
    phone.login(&app, "editor@example.org", PASSWORD).await;
    let bad = laptop
        .post_form(
            &app,
            "/admin/account",
            "/admin/account",
            &[("current", "wrong"), ("new", "short"), ("confirm", "other")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.texts(".field-error").len(), 3);
    let ok = laptop
        .post_form(
            &app,
            "/admin/account",
            "/admin/account",
            &[
                ("current", PASSWORD),
                ("new", "a brand new passphrase"),
                ("confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!(
        phone.get(&app, "/admin").await.status,
        303,
        "other sessions end"
    );
    assert_eq!(laptop.get(&app, "/admin").await.status, 303, "this one too");
    let mut again = Client::new();
    assert_eq!(
        again
            .login(&app, "editor@example.org", "a brand new passphrase")
            .await
            .status,
        303
    );
    assert_eq!(
        Client::new()
            .login(&app, "editor@example.org", PASSWORD)
            .await
            .status,
        401
    );
}

async fn invited_users_must_choose_a_password(backend: Backend) {
    let env = TestEnv::new(backend);
    make_user(&env, "admin@example.org", Role::Admin);
    let app = env.app().await;
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let created = admin
        .post_form(
            &app,
            "/admin/users",
            "/admin/users",
            &[
                ("name", "New Editor"),
                ("email", "new@example.org"),
                ("role", "editor"),
            ],
        )
        .await;
    assert_eq!(created.status, 200);
    let temp = created
        .texts("code.secret")
        .pop()
        .expect("the temporary password is shown once");
    let mut newbie = Client::new();
    newbie.peer = "10.0.0.3:1".into();
    let login = newbie.login(&app, "new@example.org", &temp).await;
    assert_eq!(login.header("location").as_deref(), Some("/admin/account"));
    assert_eq!(
        newbie
            .get(&app, "/admin/posts")
            .await
            .header("location")
            .as_deref(),
        Some("/admin/account"),
        "nothing else until it is changed"
    );
    let audit = admin.get(&app, "/admin/audit").await;
    assert!(audit.texts("td").iter().any(|t| t == "user.create"));
}

backend_tests!(
    login_rotates_the_session_and_sets_safe_cookies,
    wrong_password_and_unknown_email_look_alike,
    failed_logins_are_throttled_by_address_and_account,
    attackers_cannot_lock_the_owner_out,
    behind_a_trusted_proxy_each_client_is_itself,
    next_only_goes_to_admin_paths,
    logout_ends_the_session_on_the_server,
    password_change_ends_every_session,
    invited_users_must_choose_a_password,
);

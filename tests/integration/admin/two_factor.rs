//! Two-step verification (TOTP, RFC 6238) as an admin uses it: set up from the account page
//! with an authenticator app (played here by `totp-rs`, reading the key the page shows), the
//! second step at login, codes used once, recovery codes, throttling, the site-wide
//! requirement, and the resets by another admin and by `cms user reset-2fa`.

use cms_core::models::user::Role;
use totp_rs::{Algorithm, Secret, TOTP};

use super::client::{Client, PASSWORD, csrf_of, make_user};
use crate::backend_tests;
use crate::common::{Backend, Page, TestEnv};

/// The authenticator app: the key the setup page shows, read as a person would type it.
struct App(TOTP);

impl App {
    fn from_page(page: &Page) -> App {
        let shown = page
            .texts("figure.qr code.secret")
            .into_iter()
            .next()
            .expect("the key under the QR code");
        let bytes = Secret::Encoded(shown.replace(' ', ""))
            .to_bytes()
            .expect("a base32 key");
        App(
            TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new())
                .expect("a valid TOTP key"),
        )
    }

    /// The code the app shows `offset` seconds from now.
    fn code(&self, offset: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        self.0.generate((now + offset) as u64)
    }
}

/// A code that is not `code` (each digit moved on by five).
fn wrong(code: &str) -> String {
    code.bytes()
        .map(|b| (b'0' + (b - b'0' + 5) % 10) as char)
        .collect()
}

/// The audit actions recorded for user `uid`, oldest first, with their details.
fn audit_of(env: &TestEnv, uid: i64) -> Vec<(String, String)> {
    use cms_core::schema::audit_log as a;
    use diesel::prelude::*;
    a::table
        .filter(a::target_type.eq("user"))
        .filter(a::target_id.eq(uid))
        .order(a::id.asc())
        .select((a::action, a::detail))
        .load(&mut *env.conn())
        .expect("audit")
}

/// Sets two-step verification up for the logged-in `browser`; returns the app and the codes.
async fn set_up<S, B>(app: &S, browser: &mut Client) -> (App, Vec<String>)
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let setup = browser
        .post_form(
            app,
            "/admin/account",
            "/admin/account/2fa/setup",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let phone = App::from_page(&setup);
    let token = csrf_of(&setup);
    let done = browser
        .post(
            app,
            "/admin/account/2fa/enable",
            &[("_csrf", token.as_str()), ("code", &phone.code(0))],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let codes = done.texts("ol.recovery-codes code");
    (phone, codes)
}

async fn two_step_login_with_codes_and_recovery_codes(backend: Backend) {
    let env = TestEnv::new(backend);
    let uid = make_user(&env, "owner@example.org", Role::Admin);
    let app = env.app().await;
    let mut owner = Client::new();
    owner.peer = "198.51.100.20:4000".into();
    assert_eq!(
        owner
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        303
    );
    let account = owner.get(&app, "/admin/account").await;
    assert!(account.body.contains("Off."), "{}", account.body);
    // Setting up asks for the password again.
    let refused = owner
        .post_form(
            &app,
            "/admin/account",
            "/admin/account/2fa/setup",
            &[("password", "not it")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("not your current password"));
    let setup = owner
        .post_form(
            &app,
            "/admin/account",
            "/admin/account/2fa/setup",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(setup.status, 200);
    assert!(
        setup
            .html()
            .select(&scraper::Selector::parse("figure.qr svg[role=img]").expect("sel"))
            .next()
            .is_some(),
        "a QR code"
    );
    let uri = setup
        .attrs("figure.qr a", "href")
        .into_iter()
        .next()
        .expect("otpauth link");
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains("owner%40example.org"),
        "{uri}"
    );
    let phone = App::from_page(&setup);
    // Not on until a code from the app confirms the key.
    let token = csrf_of(&setup);
    let bad = owner
        .post(
            &app,
            "/admin/account/2fa/enable",
            &[("_csrf", token.as_str()), ("code", &wrong(&phone.code(0)))],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("<svg"), "the QR code again");
    let (stored_secret, enabled) = {
        use cms_core::schema::users as u;
        use diesel::prelude::*;
        u::table
            .find(uid)
            .select((u::totp_pending_secret, u::totp_secret))
            .first::<(Option<String>, Option<String>)>(&mut *env.conn())
            .expect("user")
    };
    assert!(enabled.is_none());
    let sealed = stored_secret.expect("pending secret");
    let shown = setup.texts("figure.qr code.secret")[0].replace(' ', "");
    assert!(
        sealed.starts_with("v1:") && !sealed.contains(&shown),
        "the database holds the key sealed, not as shown"
    );
    let confirmed = owner
        .post(
            &app,
            "/admin/account/2fa/enable",
            &[("_csrf", token.as_str()), ("code", &phone.code(0))],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let codes = confirmed.texts("ol.recovery-codes code");
    assert_eq!(codes.len(), 10, "{}", confirmed.body);
    let again = owner.get(&app, "/admin/account").await;
    assert!(
        again.body.contains("10 recovery codes left"),
        "{}",
        again.body
    );
    assert!(
        !again.body.contains(&codes[0]),
        "recovery codes are shown once"
    );

    // A right password now opens no session: the second step does.
    let mut laptop = Client::new();
    laptop.peer = "198.51.100.30:4000".into();
    let first = laptop.login(&app, "owner@example.org", PASSWORD).await;
    assert_eq!(first.status, 303);
    assert_eq!(
        first.header("location").as_deref(),
        Some("/admin/login/verify?next=%2Fadmin")
    );
    assert!(!laptop.cookies.contains_key("ks_session"));
    let pending = first
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ks_2fa="))
        .expect("pending cookie")
        .to_string();
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin/login",
        "Max-Age=300",
    ] {
        assert!(pending.contains(attr), "{attr} in {pending}");
    }
    let gate = laptop.get(&app, "/admin").await;
    assert_eq!(gate.status, 303, "half a login is no login");
    assert!(
        gate.header("location")
            .unwrap_or_default()
            .starts_with("/admin/login")
    );
    let form = laptop.get(&app, "/admin/login/verify?next=%2Fadmin").await;
    assert_eq!(form.status, 200);
    let token = csrf_of(&form);
    // The code that confirmed the setup cannot be used again.
    let replay = laptop
        .post(
            &app,
            "/admin/login/verify",
            &[
                ("_csrf", token.as_str()),
                ("code", &phone.code(0)),
                ("next", "/admin"),
            ],
        )
        .await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(!laptop.cookies.contains_key("ks_session"));
    // The app's next code (a step ahead is within the window) logs in.
    let pending_value = laptop.cookies.get("ks_2fa").cloned().expect("pending");
    let next_code = phone.code(30);
    let spaced = format!("{} {}", &next_code[..3], &next_code[3..]);
    let ok = laptop
        .post(
            &app,
            "/admin/login/verify",
            &[
                ("_csrf", token.as_str()),
                ("code", &spaced),
                ("next", "/admin"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location").as_deref(), Some("/admin"));
    assert!(laptop.cookies.contains_key("ks_session"));
    assert!(
        !laptop.cookies.contains_key("ks_2fa"),
        "the pending cookie is removed"
    );
    assert_eq!(laptop.get(&app, "/admin").await.status, 200);
    // The pending cookie opened one session; a copy of it opens none.
    let mut copier = Client::new();
    copier.peer = "203.0.113.67:4000".into();
    copier.cookies.insert("ks_2fa".into(), pending_value);
    let again = copier.get(&app, "/admin/login/verify").await;
    assert_eq!(
        again.header("location").as_deref(),
        Some("/admin/login?notice=start-again"),
        "a used half-login is over"
    );

    // Someone who saw that code and knows the password gets nowhere with it.
    let mut thief = Client::new();
    thief.peer = "203.0.113.66:4000".into();
    assert_eq!(
        thief
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        303
    );
    let t = csrf_of(&thief.get(&app, "/admin/login/verify").await);
    let stolen = thief
        .post(
            &app,
            "/admin/login/verify",
            &[("_csrf", t.as_str()), ("code", &next_code)],
        )
        .await;
    assert_eq!(stolen.status, 401);
    // A forged pending cookie is not a login half-way.
    let mut forger = Client::new();
    forger
        .cookies
        .insert("ks_2fa".into(), format!("{uid}.99999999999.00ff"));
    let f = forger.get(&app, "/admin/login/verify").await;
    assert_eq!(f.status, 303);
    assert_eq!(
        f.header("location").as_deref(),
        Some("/admin/login?notice=start-again")
    );

    // Codes guessed from a browser the account does not know are throttled like passwords.
    for _ in 0..4 {
        let r = thief
            .post(
                &app,
                "/admin/login/verify",
                &[("_csrf", t.as_str()), ("code", "123456")],
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let blocked = thief
        .post(
            &app,
            "/admin/login/verify",
            &[("_csrf", t.as_str()), ("code", &codes[5])],
        )
        .await;
    assert_eq!(
        blocked.status, 429,
        "past five failures even a right code waits"
    );
    assert!(blocked.header("retry-after").is_some());
    let mut elsewhere = Client::new();
    elsewhere.peer = "192.0.2.8:4000".into();
    assert_eq!(
        elsewhere
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        303
    );
    let e = csrf_of(&elsewhere.get(&app, "/admin/login/verify").await);
    assert_eq!(
        elsewhere
            .post(
                &app,
                "/admin/login/verify",
                &[("_csrf", e.as_str()), ("code", &codes[5])]
            )
            .await
            .status,
        429,
        "the account is throttled for browsers it does not know"
    );
    // The owner's own browser (a device that logged in before) is not locked out: a recovery
    // code, typed loosely, gets in once.
    owner.cookies.remove("ks_session");
    assert_eq!(
        owner
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        303
    );
    let o = csrf_of(&owner.get(&app, "/admin/login/verify").await);
    let loose = codes[0].to_uppercase().replace('-', " ");
    let rec = owner
        .post(
            &app,
            "/admin/login/verify",
            &[("_csrf", o.as_str()), ("code", &loose)],
        )
        .await;
    assert_eq!(rec.status, 303, "{}", rec.body);
    assert_eq!(
        rec.header("location").as_deref(),
        Some("/admin/account?notice=recovery-used")
    );
    let acct = owner.get(&app, "/admin/account?notice=recovery-used").await;
    assert!(acct.body.contains("9 recovery codes left"), "{}", acct.body);
    assert!(acct.body.contains("now used up"));
    owner.cookies.remove("ks_session");
    assert_eq!(
        owner
            .login(&app, "owner@example.org", PASSWORD)
            .await
            .status,
        303
    );
    let o = csrf_of(&owner.get(&app, "/admin/login/verify").await);
    let reused = owner
        .post(
            &app,
            "/admin/login/verify",
            &[("_csrf", o.as_str()), ("code", &codes[0])],
        )
        .await;
    assert_eq!(reused.status, 401, "a recovery code works once");
    let second = owner
        .post(
            &app,
            "/admin/login/verify",
            &[("_csrf", o.as_str()), ("code", &codes[1])],
        )
        .await;
    assert_eq!(second.status, 303);

    // New recovery codes void the old ones; turning it off needs the password.
    let fresh = owner
        .post_form(
            &app,
            "/admin/account",
            "/admin/account/2fa/recovery",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(fresh.status, 200);
    let new_codes = fresh.texts("ol.recovery-codes code");
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !codes.contains(c)));
    let off = owner
        .post_form(
            &app,
            "/admin/account",
            "/admin/account/2fa/disable",
            &[("password", "wrong")],
        )
        .await;
    assert_eq!(off.status, 422);
    let off = owner
        .post_form(
            &app,
            "/admin/account",
            "/admin/account/2fa/disable",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(off.status, 303);
    let mut plain = Client::new();
    plain.peer = "198.51.100.31:4000".into();
    let direct = plain.login(&app, "owner@example.org", PASSWORD).await;
    assert_eq!(direct.header("location").as_deref(), Some("/admin"));

    // Wrong passwords on the account page are throttled (two were typed above); `cms user
    // unlock` lifts that too.
    let mut refused = 0;
    loop {
        let r = plain
            .post_form(
                &app,
                "/admin/account",
                "/admin/account/2fa/setup",
                &[("password", "wrong")],
            )
            .await;
        if r.status == 429 {
            break;
        }
        assert_eq!(r.status, 422);
        refused += 1;
        assert!(refused <= 5, "wrong passwords are throttled");
    }
    let blocked = plain
        .post_form(
            &app,
            "/admin/account",
            "/admin/account/2fa/setup",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(blocked.status, 429, "even the right one waits");
    let out = env
        .cms(&["user", "unlock", "--email", "owner@example.org"])
        .output()
        .expect("cms user unlock");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let freed = plain
        .post_form(
            &app,
            "/admin/account",
            "/admin/account/2fa/setup",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(freed.status, 200);

    let actions: Vec<String> = audit_of(&env, uid).into_iter().map(|(a, _)| a).collect();
    for expected in ["2fa.enable", "2fa.recovery-codes", "2fa.disable"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    let how: Vec<String> = audit_of(&env, uid)
        .into_iter()
        .filter(|(a, _)| a == "login")
        .map(|(_, d)| d)
        .collect();
    assert!(how.iter().any(|d| d == "two-step code"), "{how:?}");
    assert!(how.iter().any(|d| d == "recovery code"), "{how:?}");
}

async fn the_site_can_require_two_step_for_everyone(backend: Backend) {
    let env = TestEnv::with(backend, &[("require_2fa", "true")]);
    make_user(&env, "admin@example.org", Role::Admin);
    let editor_id = make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut editor = Client::new();
    let login = editor.login(&app, "editor@example.org", PASSWORD).await;
    assert_eq!(login.status, 303);
    assert_eq!(login.header("location").as_deref(), Some("/admin/account"));
    // Until it is set up, every other page leads to the account page, writes included.
    for path in ["/admin", "/admin/posts", "/admin/gallery"] {
        let r = editor.get(&app, path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(
            r.header("location").as_deref(),
            Some("/admin/account"),
            "{path}"
        );
    }
    let write = editor
        .post_form(&app, "/admin/account", "/admin/tags/1/delete", &[])
        .await;
    assert_eq!(write.status, 303);
    assert_eq!(write.header("location").as_deref(), Some("/admin/account"));
    let page = editor.get(&app, "/admin/account").await;
    assert!(
        page.body
            .contains("This site requires two-step verification")
    );
    let (phone, _codes) = set_up(&app, &mut editor).await;
    assert_eq!(editor.get(&app, "/admin/posts").await.status, 200);
    // It cannot be turned off while the site requires it.
    let off = editor
        .post_form(
            &app,
            "/admin/account",
            "/admin/account/2fa/disable",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(off.status, 422);
    assert!(
        off.body
            .contains("cannot be turned off: this site requires it")
    );
    // A lost phone: an admin resets it, which also ends the editor's sessions.
    let mut admin = Client::new();
    admin.peer = "10.0.0.9:1000".into();
    assert_eq!(
        admin
            .login(&app, "admin@example.org", PASSWORD)
            .await
            .status,
        303
    );
    let (_admin_phone, _) = set_up(&app, &mut admin).await;
    let users = admin.get(&app, "/admin/users").await;
    assert!(
        users
            .body
            .contains(&format!("/admin/users/{editor_id}/2fa/reset"))
    );
    let reset = admin
        .post_form(
            &app,
            "/admin/users",
            &format!("/admin/users/{editor_id}/2fa/reset"),
            &[],
        )
        .await;
    assert_eq!(reset.status, 303);
    assert_eq!(
        reset.header("location").as_deref(),
        Some("/admin/users?notice=2fa-reset")
    );
    let gone = editor.get(&app, "/admin/posts").await;
    assert_eq!(gone.status, 303);
    assert!(
        gone.header("location")
            .unwrap_or_default()
            .starts_with("/admin/login")
    );
    // The editor logs in with the password alone, straight to setting it up again; the old
    // phone's codes mean nothing now.
    editor.cookies.remove("ks_session");
    let back = editor.login(&app, "editor@example.org", PASSWORD).await;
    assert_eq!(back.header("location").as_deref(), Some("/admin/account"));
    let (phone2, _) = set_up(&app, &mut editor).await;
    assert_ne!(phone.code(0), phone2.code(0));

    // `cms user reset-2fa` does the same from the server, for the last admin too.
    let out = env
        .cms(&["user", "reset-2fa", "--email", "Admin@Example.org"])
        .output()
        .expect("cms user reset-2fa");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("two-step verification is off for admin@example.org"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let ended = admin.get(&app, "/admin/users").await;
    assert_eq!(ended.status, 303, "the admin's sessions are ended");
    let mut again = Client::new();
    let r = again.login(&app, "admin@example.org", PASSWORD).await;
    assert_eq!(r.header("location").as_deref(), Some("/admin/account"));
    let bad = env
        .cms(&["user", "reset-2fa", "--email", "nobody@example.org"])
        .output()
        .expect("cms user reset-2fa");
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}

backend_tests!(
    two_step_login_with_codes_and_recovery_codes,
    the_site_can_require_two_step_for_everyone
);

//! Who may do what: the logged-in extractors (`Editor`, `AdminOnly`), login, logout and the
//! password change.
//!
//! Login verifies with argon2id on a blocking thread; an unknown email spends the same time on
//! a dummy hash, and both failures answer with the same page. Failed attempts are counted per
//! peer address and per account (5 in 15 minutes), in the database so every node agrees; past
//! that the answer is 429 with `Retry-After`, before any password is checked. The session id is
//! new at every login.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Duration;
use cms_core::models::audit::{self, Actor};
use cms_core::models::user::{self, Role, User};
use cms_core::models::{rate_limit, session as session_model};
use cms_core::password::{self, Verdict};
use cms_core::{AppState, models};

use crate::csrf;
use crate::error::AdminError;
use crate::forms::{self, Form};
use crate::layout::{Chrome, Section};
use crate::session::{self, Current};

/// Failed logins allowed per window, per peer address and per account (and per known device).
pub const MAX_FAILURES: i64 = 5;

/// The cookie that marks a browser an account has logged in from (`nonce.signature`, the
/// signature over the account and the nonce). Failures from elsewhere never lock such a
/// device out: it is throttled on its own (OWASP's "device cookies"), so an attacker guessing
/// passwords cannot keep the owner out of their archive.
pub const DEVICE_COOKIE: &str = "ks_device";

/// How long a browser stays known.
const DEVICE_DAYS: i64 = 365;

fn device_message(account: &str, nonce: &str) -> String {
    format!("login-device:{account}:{nonce}")
}

/// A new device cookie for `account`.
fn device_cookie(state: &AppState, account: &str) -> actix_web::cookie::Cookie<'static> {
    let nonce = cms_core::tokens::random_token()[..32].to_string();
    let sig = cms_core::tokens::sign(&state.config.secret, &device_message(account, &nonce));
    actix_web::cookie::Cookie::build(DEVICE_COOKIE, format!("{nonce}.{sig}"))
        .path("/admin")
        .http_only(true)
        .secure(state.config.server.https)
        .same_site(actix_web::cookie::SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::days(DEVICE_DAYS))
        .finish()
}

/// The nonce of this browser's device cookie when it was given to `account`.
fn known_device(state: &AppState, req: &HttpRequest, account: &str) -> Option<String> {
    let c = req.cookie(DEVICE_COOKIE)?;
    let (nonce, sig) = c.value().split_once('.')?;
    cms_core::tokens::verify(&state.config.secret, &device_message(account, nonce), sig)
        .then(|| nonce.to_string())
}
/// The window failed logins are counted in.
pub const WINDOW: Duration = Duration::minutes(15);

/// Any logged-in user (admin or editor) whose password needs no change.
#[derive(Debug, Clone)]
pub struct Editor(pub Current);

/// A logged-in admin.
#[derive(Debug, Clone)]
pub struct AdminOnly(pub Current);

fn current_of(req: &HttpRequest, allow_password_change: bool) -> Result<Current, AdminError> {
    let Some(c) = req.extensions().get::<Current>().cloned() else {
        let next = if req.method() == actix_web::http::Method::GET {
            match req.query_string() {
                "" => req.path().to_string(),
                q => format!("{}?{q}", req.path()),
            }
        } else {
            "/admin".to_string()
        };
        return Err(AdminError::LoginRequired { next });
    };
    if c.user.must_change_password && !allow_password_change {
        return Err(AdminError::PasswordChangeRequired);
    }
    Ok(c)
}

impl FromRequest for Editor {
    type Error = AdminError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(current_of(req, false).map(Editor))
    }
}

impl FromRequest for AdminOnly {
    type Error = AdminError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(current_of(req, false).and_then(|c| {
            if c.user.role == Role::Admin {
                Ok(AdminOnly(c))
            } else {
                Err(AdminError::Forbidden("Only admins can do this.".into()))
            }
        }))
    }
}

/// The logged-in user even if they must change their password first (the account page).
#[derive(Debug, Clone)]
pub struct AnyUser(pub Current);

impl FromRequest for AnyUser {
    type Error = AdminError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(current_of(req, true).map(AnyUser))
    }
}

/// The audit actor for a request by `user`.
pub fn actor(user: &User, req: &HttpRequest) -> Actor {
    Actor {
        user_id: Some(user.id),
        label: user.email.clone(),
        ip: client_ip(req).map(|a| a.to_string()),
    }
}

/// The client's address: the peer, or what a trusted proxy says it is (`cms_core::net`).
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let proxies = req.app_data::<web::Data<AppState>>();
    cms_core::net::client_of(
        proxies.map(|s| &s.config.server.trusted_proxies),
        req.peer_addr().map(|a| a.ip()),
        |name| req.headers().get(name).and_then(|v| v.to_str().ok()),
    )
}

/// Only same-site admin paths are followed after login.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with("/admin")
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.contains("://")
        && next.chars().all(|c| !c.is_control());
    if ok { next } else { "/admin" }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    css_href: &'static str,
    csrf: String,
    next: String,
    email: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

fn login_page(
    state: &AppState,
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    email: String,
    next: String,
    error: Option<&'static str>,
) -> Result<HttpResponse, AdminError> {
    let (token, fresh) = match csrf::anonymous_from_cookie(&state.config.secret, req) {
        Some(t) => (t, false),
        None => (csrf::new_anonymous(&state.config.secret), true),
    };
    let notice = match forms::query_value(req, "notice").as_deref() {
        Some("logged-out") => Some("You are logged out."),
        Some("password-changed") => Some("Your password was changed. Please log in again."),
        _ => None,
    };
    let body = LoginPage {
        css_href: crate::layout::css_href(),
        csrf: token.clone(),
        next,
        email,
        error,
        notice,
    }
    .render()
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    let mut resp = HttpResponse::build(status);
    if fresh {
        resp.cookie(csrf::cookie(token, state.config.server.https));
    }
    Ok(resp.content_type("text/html; charset=utf-8").body(body))
}

/// `GET /admin/login`
pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    if req.extensions().get::<Current>().is_some() {
        return Ok(forms::see_other("/admin"));
    }
    let next = safe_next(&forms::query_value(&req, "next").unwrap_or_default()).to_string();
    login_page(
        &state,
        &req,
        actix_web::http::StatusCode::OK,
        String::new(),
        next,
        None,
    )
}

/// The login form.
#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn peer(req: &HttpRequest) -> String {
    client_ip(req).map_or_else(|| "unknown".into(), |a| a.to_string())
}

/// `POST /admin/login`
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form<LoginForm>,
) -> Result<HttpResponse, AdminError> {
    let LoginForm {
        email,
        password,
        next,
    } = form.into_inner();
    let next = safe_next(&next).to_string();
    let ip = peer(&req);
    let account = user::normalize_email(&email);
    if email.len() > 254 || password.len() > 1024 {
        return Err(AdminError::BadRequest(
            "That email or password is too long.".into(),
        ));
    }
    // Throttle first: a blocked client learns nothing about the password. A browser this
    // account logged in from before counts only its own failures.
    let device = known_device(&state, &req, &account);
    let (ip_key, acct_key, device_key) = (ip.clone(), account.clone(), device.clone());
    let retry = state
        .db
        .run(move |conn| {
            if let Some(d) = device_key {
                let (n, until) = rate_limit::count(conn, "login-device", &d, WINDOW)?;
                return Ok::<_, cms_core::Error>(if n >= MAX_FAILURES { until } else { None });
            }
            let (n_ip, until_ip) = rate_limit::count(conn, "login-ip", &ip_key, WINDOW)?;
            let (n_acct, until_acct) = rate_limit::count(conn, "login-account", &acct_key, WINDOW)?;
            let mut until = None;
            if n_ip >= MAX_FAILURES {
                until = until_ip;
            }
            if n_acct >= MAX_FAILURES {
                until = until.max(until_acct);
            }
            Ok::<_, cms_core::Error>(until)
        })
        .await?;
    if let Some(until) = retry {
        let secs = (until - models::now()).num_seconds().max(1);
        return Err(AdminError::TooManyRequests {
            retry_after_secs: secs,
        });
    }
    let lookup = account.clone();
    let found = state
        .db
        .run(move |conn| Ok::<_, cms_core::Error>(user::find_by_email(conn, &lookup)?))
        .await?;
    let candidate = found.clone();
    let pw = password.clone();
    let verdict = web::block(move || match candidate {
        Some(u) if !u.disabled => password::verify(&pw, &u.password_hash),
        Some(u) => {
            let _ = password::verify(&pw, &u.password_hash);
            Verdict::Mismatch
        }
        None => {
            password::dummy_verify(&pw);
            Verdict::Mismatch
        }
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    let user = match (verdict, found) {
        (Verdict::Match | Verdict::MatchNeedsRehash, Some(u)) => u,
        _ => {
            let (ip_key, acct_key, device_key) = (ip.clone(), account.clone(), device.clone());
            state
                .db
                .write(move |conn| {
                    match device_key {
                        Some(d) => rate_limit::record(conn, "login-device", &d)?,
                        None => {
                            rate_limit::record(conn, "login-ip", &ip_key)?;
                            rate_limit::record(conn, "login-account", &acct_key)?;
                        }
                    }
                    Ok::<_, cms_core::Error>(())
                })
                .await?;
            return login_page(
                &state,
                &req,
                actix_web::http::StatusCode::UNAUTHORIZED,
                email,
                next,
                Some("The email or password is incorrect."),
            );
        }
    };
    let rehash = if verdict == Verdict::MatchNeedsRehash {
        let pw = password.clone();
        Some(
            web::block(move || password::hash(&pw))
                .await
                .map_err(|e| AdminError::Internal(e.to_string()))??,
        )
    } else {
        None
    };
    let old_cookie = req.cookie(session::COOKIE).map(|c| c.value().to_string());
    let agent = req
        .headers()
        .get("User-Agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let act = actor(&user, &req);
    let (uid, acct_key, ip_for_session) = (user.id, account.clone(), ip.clone());
    let device_done = device.clone();
    let created = state
        .db
        .write(move |conn| {
            if let Some(old) = old_cookie {
                session_model::delete(conn, &cms_core::tokens::hash_token(&old))?;
            }
            if let Some(h) = rehash {
                user::set_password_hash(conn, uid, &h)?;
            }
            rate_limit::clear(conn, "login-account", &acct_key)?;
            if let Some(d) = &device_done {
                rate_limit::clear(conn, "login-device", d)?;
            }
            user::touch_login(conn, uid)?;
            let s = session_model::create(
                conn,
                uid,
                session::ABSOLUTE,
                Some(&ip_for_session),
                agent.as_deref(),
            )?;
            audit::record(conn, &act, "login", Some(("user", uid)), "")?;
            Ok::<_, cms_core::Error>(s)
        })
        .await?;
    let target = if user.must_change_password {
        "/admin/account"
    } else {
        next.as_str()
    };
    let mut removal = csrf::cookie(String::new(), state.config.server.https);
    removal.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(&state, created.cookie_value))
        .cookie(removal)
        .cookie(device_cookie(&state, &account))
        .insert_header(("Location", target))
        .finish())
}

/// `POST /admin/logout`: ends the session on the server, not just in the browser.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AnyUser,
) -> Result<HttpResponse, AdminError> {
    let current = user.0;
    let act = actor(&current.user, &req);
    let id_hash = current.session.id_hash.clone();
    state
        .db
        .write(move |conn| {
            session_model::delete(conn, &id_hash)?;
            audit::record(conn, &act, "logout", Some(("user", current.user.id)), "")?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::removal(&state))
        .insert_header(("Location", "/admin/login?notice=logged-out"))
        .finish())
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    c: Chrome,
    must_change: bool,
    errors: forms::Errors,
}

/// `GET /admin/account`
pub async fn account_form(req: HttpRequest, user: AnyUser) -> Result<HttpResponse, AdminError> {
    let c = Chrome::new(&req, &user.0, "Your account", Section::Account);
    forms::render(&AccountPage {
        c,
        must_change: user.0.user.must_change_password,
        errors: forms::Errors::default(),
    })
}

/// The password change form.
#[derive(Debug, serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /admin/account`: changes the password and ends every session of the user, this one
/// included; the user logs in again with the new password.
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AnyUser,
    form: Form<PasswordForm>,
) -> Result<HttpResponse, AdminError> {
    let current = user.0;
    let PasswordForm {
        current: old,
        new,
        confirm,
    } = form.into_inner();
    let mut errors = forms::Errors::default();
    if let Err(cms_core::Error::Invalid { message, .. }) = password::validate_new(&new) {
        errors.add("new", message);
    }
    if new != confirm {
        errors.add("confirm", "does not match the new password");
    }
    let stored = current.user.password_hash.clone();
    let old_ok = web::block(move || password::verify(&old, &stored) != Verdict::Mismatch)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    if !old_ok {
        errors.add("current", "is not your current password");
    }
    if !errors.is_empty() {
        let c = Chrome::new(&req, &current, "Your account", Section::Account);
        return forms::render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &AccountPage {
                c,
                must_change: current.user.must_change_password,
                errors,
            },
        );
    }
    let hash = web::block(move || password::hash(&new))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))??;
    let act = actor(&current.user, &req);
    let uid = current.user.id;
    state
        .db
        .write(move |conn| {
            user::set_password_hash(conn, uid, &hash)?;
            session_model::delete_for_user(conn, uid, None)?;
            audit::record(conn, &act, "password.change", Some(("user", uid)), "")?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::removal(&state))
        .insert_header(("Location", "/admin/login?notice=password-changed"))
        .finish())
}

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
pub(crate) fn known_device(state: &AppState, req: &HttpRequest, account: &str) -> Option<String> {
    let c = req.cookie(DEVICE_COOKIE)?;
    let (nonce, sig) = c.value().split_once('.')?;
    cms_core::tokens::verify(&state.config.secret, &device_message(account, nonce), sig)
        .then(|| nonce.to_string())
}
/// Forgets an account's failed attempts everywhere they are counted: passwords and two-step
/// codes at login (per account), passwords typed on the account page (per user). What
/// `cms user unlock` runs. Returns how many were forgotten.
pub fn unlock(conn: &mut cms_core::DbConn, account: &str, user_id: i64) -> cms_core::Result<usize> {
    let mut n = 0;
    for bucket in ["login-account", crate::two_factor::ACCOUNT_BUCKET] {
        n += rate_limit::clear(conn, bucket, account)?;
    }
    n += rate_limit::clear(conn, crate::account::REAUTH_BUCKET, &user_id.to_string())?;
    Ok(n)
}

/// The window failed logins are counted in.
pub const WINDOW: Duration = Duration::minutes(15);

/// Any logged-in user (admin or editor) whose password needs no change.
#[derive(Debug, Clone)]
pub struct Editor(pub Current);

/// A logged-in admin.
#[derive(Debug, Clone)]
pub struct AdminOnly(pub Current);

fn current_of(req: &HttpRequest, account_page: bool) -> Result<Current, AdminError> {
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
    if account_page {
        return Ok(c);
    }
    let two_factor_missing = !c.user.has_two_factor()
        && req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.config.require_2fa);
    if c.user.must_change_password || two_factor_missing {
        return Err(AdminError::AccountSetupRequired);
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

/// The logged-in user even if they must change their password or set up two-step verification
/// first (the account page).
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
        importing: false,
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

pub(crate) fn login_page(
    state: &AppState,
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    email: String,
    next: String,
    error: Option<&'static str>,
) -> Result<HttpResponse, AdminError> {
    let notice = match forms::query_value(req, "notice").as_deref() {
        Some("logged-out") => Some("You are logged out."),
        Some("password-changed") => Some("Your password was changed. Please log in again."),
        Some("start-again") => Some("Your login took too long to finish. Please log in again."),
        _ => None,
    };
    csrf::pre_session_page(state, req, status, |csrf| {
        LoginPage {
            css_href: crate::layout::css_href(),
            csrf,
            next,
            email,
            error,
            notice,
        }
        .render()
    })
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

pub(crate) fn peer(req: &HttpRequest) -> String {
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
    if user.has_two_factor() {
        // The password was right: the second step comes next, and only it opens a session.
        if let Some(h) = rehash {
            let uid = user.id;
            state
                .db
                .write(move |conn| {
                    Ok::<_, cms_core::Error>(user::set_password_hash(conn, uid, &h)?)
                })
                .await?;
        }
        return Ok(crate::two_factor::second_step(&state, &user, &next));
    }
    finish_login(&state, &req, &user, device, rehash, &next, "").await
}

/// Opens a session for `user` whose credentials are all checked: forgets the account's (or
/// this device's) failures, rotates the session, records the login and marks the browser as
/// a known device. `how` is the audit detail ("" for a password alone).
pub(crate) async fn finish_login(
    state: &AppState,
    req: &HttpRequest,
    user: &User,
    device: Option<String>,
    rehash: Option<String>,
    next: &str,
    how: &'static str,
) -> Result<HttpResponse, AdminError> {
    let account = user::normalize_email(&user.email);
    let ip = peer(req);
    let old_cookie = req.cookie(session::COOKIE).map(|c| c.value().to_string());
    let agent = req
        .headers()
        .get("User-Agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let act = actor(user, req);
    let (uid, acct_key, ip_for_session) = (user.id, account.clone(), ip);
    let created = state
        .db
        .write(move |conn| {
            if let Some(old) = old_cookie {
                session_model::delete(conn, &cms_core::tokens::hash_token(&old))?;
            }
            if let Some(h) = rehash {
                user::set_password_hash(conn, uid, &h)?;
            }
            for bucket in ["login-account", crate::two_factor::ACCOUNT_BUCKET] {
                rate_limit::clear(conn, bucket, &acct_key)?;
            }
            if let Some(d) = &device {
                for bucket in ["login-device", crate::two_factor::DEVICE_BUCKET] {
                    rate_limit::clear(conn, bucket, d)?;
                }
            }
            user::touch_login(conn, uid)?;
            let s = session_model::create(
                conn,
                uid,
                session::ABSOLUTE,
                Some(&ip_for_session),
                agent.as_deref(),
            )?;
            audit::record(conn, &act, "login", Some(("user", uid)), how)?;
            Ok::<_, cms_core::Error>(s)
        })
        .await?;
    let needs_setup =
        user.must_change_password || (state.config.require_2fa && !user.has_two_factor());
    let target = if needs_setup { "/admin/account" } else { next };
    let mut removal = csrf::cookie(String::new(), state.config.server.https);
    removal.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(state, created.cookie_value))
        .cookie(removal)
        .cookie(crate::two_factor::pending_removal(state))
        .cookie(device_cookie(state, &account))
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

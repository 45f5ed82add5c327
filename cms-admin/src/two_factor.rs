//! The second step of logging in, for accounts with two-step verification.
//!
//! A right password for such an account opens no session: it sets a short-lived signed cookie
//! (`ks_2fa`, five minutes, scoped to `/admin/login`) naming the account, and the browser is
//! sent to `/admin/login/verify` for a code from the authenticator app or a recovery code. The
//! cookie's signature covers a fingerprint of the password hash and the two-step secret, so a
//! password change or a reset voids it. Wrong codes are throttled like passwords (5 in 15
//! minutes, per account, or per device for a browser the account has logged in from before);
//! a code is accepted once only (its time step must be later than the last one used), and a
//! recovery code is used up.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::models::rate_limit;
use cms_core::models::user::{self, User};
use cms_core::{AppState, models, two_factor};

use crate::auth::{self, MAX_FAILURES, WINDOW};
use crate::csrf;
use crate::error::AdminError;
use crate::forms::{self, Form};

/// Failed codes per account (from browsers the account does not know).
pub const ACCOUNT_BUCKET: &str = "2fa-account";
/// Failed codes per known device.
pub const DEVICE_BUCKET: &str = "2fa-device";
/// The cookie of a login waiting for its second step.
pub const PENDING_COOKIE: &str = "ks_2fa";
/// How long the second step may take.
const PENDING_SECS: i64 = 300;

/// What a pending login is bound to: the password, the two-step secret and the last login,
/// so a password change, a reset or the login it leads to (which moves the last login) voids
/// it: a pending cookie opens one session at most.
fn fingerprint(u: &User) -> String {
    let both = format!(
        "{}\n{}\n{}",
        u.password_hash,
        u.totp_secret.as_deref().unwrap_or_default(),
        u.last_login_at
            .map(|t| t.and_utc().timestamp_micros())
            .unwrap_or_default()
    );
    cms_core::tokens::hash_token(&both)[..16].to_string()
}

fn message(uid: i64, expires: i64, fp: &str) -> String {
    format!("login-2fa:{uid}:{expires}:{fp}")
}

fn pending_cookie(state: &AppState, value: String, max_age: i64) -> Cookie<'static> {
    Cookie::build(PENDING_COOKIE, value)
        .path("/admin/login")
        .http_only(true)
        .secure(state.config.server.https)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// A cookie that removes the pending-login cookie.
pub fn pending_removal(state: &AppState) -> Cookie<'static> {
    let mut c = pending_cookie(state, String::new(), 0);
    c.make_removal();
    c
}

/// After a right password for `user`: the pending cookie and the way to the second step.
pub fn second_step(state: &AppState, user: &User, next: &str) -> HttpResponse {
    let expires = models::now().and_utc().timestamp() + PENDING_SECS;
    let sig = cms_core::tokens::sign(
        &state.config.secret,
        &message(user.id, expires, &fingerprint(user)),
    );
    let location = format!(
        "/admin/login/verify?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    HttpResponse::SeeOther()
        .cookie(pending_cookie(
            state,
            format!("{}.{expires}.{sig}", user.id),
            PENDING_SECS,
        ))
        .insert_header(("Location", location))
        .finish()
}

/// The account this browser is half-way through logging in to, if its cookie is genuine,
/// unexpired and still matches the account.
async fn pending_user(state: &AppState, req: &HttpRequest) -> Result<Option<User>, AdminError> {
    let Some(c) = req.cookie(PENDING_COOKIE) else {
        return Ok(None);
    };
    let mut parts = c.value().splitn(3, '.');
    let (Some(uid), Some(expires), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (Ok(uid), Ok(expires)) = (uid.parse::<i64>(), expires.parse::<i64>()) else {
        return Ok(None);
    };
    if expires < models::now().and_utc().timestamp() {
        return Ok(None);
    }
    let found = state
        .db
        .run(move |conn| Ok::<_, cms_core::Error>(user::find(conn, uid)?))
        .await?;
    Ok(found.filter(|u| {
        !u.disabled
            && u.has_two_factor()
            && cms_core::tokens::verify(
                &state.config.secret,
                &message(u.id, expires, &fingerprint(u)),
                sig,
            )
    }))
}

#[derive(Template)]
#[template(path = "login_verify.html")]
struct VerifyPage {
    css_href: &'static str,
    csrf: String,
    next: String,
    error: Option<&'static str>,
}

fn verify_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    next: &str,
    error: Option<&'static str>,
) -> Result<HttpResponse, AdminError> {
    csrf::pre_session_page(state, req, status, |csrf| {
        VerifyPage {
            css_href: crate::layout::css_href(),
            csrf,
            next: next.to_string(),
            error,
        }
        .render()
    })
}

fn start_again(state: &AppState) -> HttpResponse {
    HttpResponse::SeeOther()
        .cookie(pending_removal(state))
        .insert_header(("Location", "/admin/login?notice=start-again"))
        .finish()
}

/// `GET /admin/login/verify`
pub async fn verify_form(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    if pending_user(&state, &req).await?.is_none() {
        return Ok(start_again(&state));
    }
    let next = auth::safe_next(&forms::query_value(&req, "next").unwrap_or_default()).to_string();
    verify_page(&state, &req, StatusCode::OK, &next, None)
}

/// The second-step form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    next: String,
}

/// How a code was accepted.
enum Accepted {
    Code,
    Recovery,
}

/// `POST /admin/login/verify`
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form<CodeForm>,
) -> Result<HttpResponse, AdminError> {
    let CodeForm { code, next } = form.into_inner();
    let next = auth::safe_next(&next).to_string();
    let Some(user) = pending_user(&state, &req).await? else {
        return Ok(start_again(&state));
    };
    if code.len() > 64 {
        return Err(AdminError::BadRequest("That code is too long.".into()));
    }
    let account = user::normalize_email(&user.email);
    let device = auth::known_device(&state, &req, &account);
    let (bucket, key) = match &device {
        Some(d) => (DEVICE_BUCKET, d.clone()),
        None => (ACCOUNT_BUCKET, account.clone()),
    };
    let (b, k) = (bucket, key.clone());
    let (failures, until) = state
        .db
        .run(move |conn| Ok::<_, cms_core::Error>(rate_limit::count(conn, b, &k, WINDOW)?))
        .await?;
    if failures >= MAX_FAILURES
        && let Some(until) = until
    {
        return Err(AdminError::TooManyRequests {
            retry_after_secs: (until - models::now()).num_seconds().max(1),
        });
    }
    let sealed = user.totp_secret.clone().unwrap_or_default();
    let secret = two_factor::open(&state.config.secret, &sealed)?;
    let step = two_factor::check(&secret, &code, two_factor::unix_now());
    let recovery = two_factor::recovery_hash(&code);
    let uid = user.id;
    let accepted = state
        .db
        .write(move |conn| {
            let ok = if let Some(step) = step {
                user::claim_totp_step(conn, uid, step)?.then_some(Accepted::Code)
            } else if let Some(h) = &recovery {
                user::use_recovery_code(conn, uid, h)?.then_some(Accepted::Recovery)
            } else {
                None
            };
            if ok.is_none() {
                rate_limit::record(conn, bucket, &key)?;
            }
            Ok::<_, cms_core::Error>(ok)
        })
        .await?;
    match accepted {
        None => verify_page(
            &state,
            &req,
            StatusCode::UNAUTHORIZED,
            &next,
            Some(
                "That code is not right, or was already used. Try the newest code your app shows.",
            ),
        ),
        Some(Accepted::Code) => {
            auth::finish_login(&state, &req, &user, device, None, &next, "two-step code").await
        }
        Some(Accepted::Recovery) => {
            auth::finish_login(
                &state,
                &req,
                &user,
                device,
                None,
                "/admin/account?notice=recovery-used",
                "recovery code",
            )
            .await
        }
    }
}

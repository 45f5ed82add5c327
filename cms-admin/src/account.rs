//! The user's own account page: the password change and two-step verification (set up with a
//! QR code, recovery codes shown once, turned off or new codes made with the password).
//!
//! Every action here asks for the current password again, checked on a blocking thread and
//! throttled like logins (5 wrong in 15 minutes per account), so a session left open on a
//! shared computer cannot change the password, replace the authenticator or read new recovery
//! codes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::models::audit;
use cms_core::models::user::{self};
use cms_core::models::{rate_limit, session as session_model, site};
use cms_core::password::{self, Verdict};
use cms_core::two_factor::{self, Enrolment};
use cms_core::{AppState, models};

use crate::auth::{AnyUser, MAX_FAILURES, WINDOW, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, Form};
use crate::layout::{Chrome, Section};
use crate::session::{self, Current};

/// What a wrong password here is told.
const WRONG: &str = "That is not your current password.";

/// Wrong passwords typed on this page, per account.
pub(crate) const REAUTH_BUCKET: &str = "account-password";

/// What the page says about two-step verification.
#[derive(Debug, Clone, Default)]
pub struct TwoFactorView {
    pub enabled: bool,
    pub since: String,
    pub codes_left: i64,
    pub required: bool,
    /// Set-up in progress: the QR code and the secret to confirm with a code.
    pub setup: Option<Enrolment>,
    /// Recovery codes just made, shown this once.
    pub new_codes: Option<Vec<String>>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    c: Chrome,
    must_change: bool,
    errors: Errors,
    tf: TwoFactorView,
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    current: &Current,
    status: StatusCode,
    errors: Errors,
    setup: Option<Enrolment>,
    new_codes: Option<Vec<String>>,
) -> Result<HttpResponse, AdminError> {
    let uid = current.user.id;
    // Read again: an action on this request may have just changed it.
    let (u, codes_left) = state
        .db
        .run(move |conn| {
            let u = user::find(conn, uid)?.ok_or(cms_core::Error::NotFound("user"))?;
            let left = user::recovery_codes_left(conn, uid)?;
            Ok::<_, cms_core::Error>((u, left))
        })
        .await?;
    let tf = TwoFactorView {
        enabled: u.has_two_factor(),
        since: u
            .totp_enabled_at
            .map(|t| crate::time::display(t, state.config.timezone))
            .unwrap_or_default(),
        codes_left,
        required: state.config.require_2fa,
        setup,
        new_codes,
    };
    forms::render_status(
        status,
        &AccountPage {
            c: Chrome::new(req, current, "Your account", Section::Account),
            must_change: u.must_change_password,
            errors,
            tf,
        },
    )
}

/// The page again with one error by a field (422).
async fn refuse(
    state: &AppState,
    req: &HttpRequest,
    current: &Current,
    field: &str,
    message: &str,
) -> Result<HttpResponse, AdminError> {
    let mut errors = Errors::default();
    errors.add(field, message);
    page(
        state,
        req,
        current,
        StatusCode::UNPROCESSABLE_ENTITY,
        errors,
        None,
        None,
    )
    .await
}

/// `GET /admin/account`
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AnyUser,
) -> Result<HttpResponse, AdminError> {
    page(
        &state,
        &req,
        &user.0,
        StatusCode::OK,
        Errors::default(),
        None,
        None,
    )
    .await
}

/// Checks the user's current password, throttled: `Ok(false)` for a wrong one (counted).
async fn password_ok(
    state: &AppState,
    current: &Current,
    typed: String,
) -> Result<bool, AdminError> {
    let key = current.user.id.to_string();
    let k = key.clone();
    let (failures, until) = state
        .db
        .run(move |conn| {
            Ok::<_, cms_core::Error>(rate_limit::count(conn, REAUTH_BUCKET, &k, WINDOW)?)
        })
        .await?;
    if failures >= MAX_FAILURES
        && let Some(until) = until
    {
        return Err(AdminError::TooManyRequests {
            retry_after_secs: (until - models::now()).num_seconds().max(1),
        });
    }
    if typed.len() > 1024 {
        return Ok(false);
    }
    let stored = current.user.password_hash.clone();
    let ok = web::block(move || password::verify(&typed, &stored) != Verdict::Mismatch)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    if !ok {
        state
            .db
            .write(move |conn| {
                Ok::<_, cms_core::Error>(rate_limit::record(conn, REAUTH_BUCKET, &key)?)
            })
            .await?;
    }
    Ok(ok)
}

/// The password change form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    new: String,
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
    let mut errors = Errors::default();
    if let Err(cms_core::Error::Invalid { message, .. }) = password::validate_new(&new) {
        errors.add("new", message);
    }
    if new != confirm {
        errors.add("confirm", "does not match the new password");
    }
    if !password_ok(&state, &current, old).await? {
        errors.add("current", "is not your current password");
    }
    if !errors.is_empty() {
        return page(
            &state,
            &req,
            &current,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            None,
            None,
        )
        .await;
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

/// A form that only carries the current password.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ReauthForm {
    password: String,
}

/// New recovery codes and their hashes.
fn fresh_codes() -> (Vec<String>, Vec<String>) {
    let codes = two_factor::new_recovery_codes();
    let hashes = codes
        .iter()
        .filter_map(|c| two_factor::recovery_hash(c))
        .collect();
    (codes, hashes)
}

/// The page with recovery codes just made, shown this once.
async fn show_codes(
    state: &AppState,
    req: &HttpRequest,
    current: &Current,
    codes: Vec<String>,
) -> Result<HttpResponse, AdminError> {
    page(
        state,
        req,
        current,
        StatusCode::OK,
        Errors::default(),
        None,
        Some(codes),
    )
    .await
}

/// The enrolment of a sealed pending secret for this user.
async fn enrolment_of(
    state: &AppState,
    current: &Current,
    sealed: &str,
) -> Result<Enrolment, AdminError> {
    let secret = two_factor::open(&state.config.secret, sealed)?;
    let title = state
        .db
        .run(|conn| Ok::<_, cms_core::Error>(site::setting(conn, "site_title")?))
        .await?
        .unwrap_or_else(|| "Keepsake".into());
    Ok(two_factor::enrolment(&secret, &title, &current.user.email)?)
}

/// `POST /admin/account/2fa/setup`: a new secret (kept pending until confirmed) and the page
/// with its QR code. Setting up again while it is on replaces the authenticator once confirmed.
pub async fn start_two_factor(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AnyUser,
    form: Form<ReauthForm>,
) -> Result<HttpResponse, AdminError> {
    let current = user.0;
    if !password_ok(&state, &current, form.into_inner().password).await? {
        return refuse(&state, &req, &current, "setup_password", WRONG).await;
    }
    let sealed = two_factor::seal(&state.config.secret, &two_factor::new_secret());
    let uid = current.user.id;
    let s2 = sealed.clone();
    state
        .db
        .write(move |conn| Ok::<_, cms_core::Error>(user::set_pending_totp(conn, uid, &s2)?))
        .await?;
    let setup = enrolment_of(&state, &current, &sealed).await?;
    page(
        &state,
        &req,
        &current,
        StatusCode::OK,
        Errors::default(),
        Some(setup),
        None,
    )
    .await
}

/// The confirmation form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    code: String,
}

/// `POST /admin/account/2fa/enable`: a right code from the app turns two-step verification on
/// with the pending secret, makes ten recovery codes (shown once) and ends the user's other
/// sessions.
pub async fn enable_two_factor(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AnyUser,
    form: Form<ConfirmForm>,
) -> Result<HttpResponse, AdminError> {
    let current = user.0;
    let Some(sealed) = current.user.totp_pending_secret.clone() else {
        return Ok(forms::see_other("/admin/account"));
    };
    let code = form.into_inner().code;
    let secret = two_factor::open(&state.config.secret, &sealed)?;
    let Some(step) = two_factor::check(&secret, &code, two_factor::unix_now()) else {
        let mut errors = Errors::default();
        errors.add(
            "code",
            "is not the code your app shows now; check the phone's clock and try the newest one",
        );
        let setup = enrolment_of(&state, &current, &sealed).await?;
        return page(
            &state,
            &req,
            &current,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            Some(setup),
            None,
        )
        .await;
    };
    let (codes, hashes) = fresh_codes();
    let act = actor(&current.user, &req);
    let (uid, keep) = (current.user.id, current.session.id_hash.clone());
    let replaced = current.user.has_two_factor();
    state
        .db
        .write(move |conn| {
            user::enable_totp(conn, uid, &sealed, step, &hashes)?;
            session_model::delete_for_user(conn, uid, Some(&keep))?;
            let action = if replaced {
                "2fa.replace"
            } else {
                "2fa.enable"
            };
            audit::record(conn, &act, action, Some(("user", uid)), "")?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    show_codes(&state, &req, &current, codes).await
}

/// `POST /admin/account/2fa/disable`: turns two-step verification off (not when the site
/// requires it).
pub async fn disable_two_factor(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AnyUser,
    form: Form<ReauthForm>,
) -> Result<HttpResponse, AdminError> {
    let current = user.0;
    if state.config.require_2fa {
        return refuse(
            &state,
            &req,
            &current,
            "disable_password",
            "Two-step verification cannot be turned off: this site requires it (move it to a new phone instead).",
        )
        .await;
    }
    if !password_ok(&state, &current, form.into_inner().password).await? {
        return refuse(&state, &req, &current, "disable_password", WRONG).await;
    }
    let act = actor(&current.user, &req);
    let uid = current.user.id;
    state
        .db
        .write(move |conn| {
            user::disable_totp(conn, uid)?;
            audit::record(conn, &act, "2fa.disable", Some(("user", uid)), "")?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(forms::see_other("/admin/account?notice=2fa-off"))
}

/// `POST /admin/account/2fa/recovery`: ten new recovery codes, the old ones void.
pub async fn new_recovery_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AnyUser,
    form: Form<ReauthForm>,
) -> Result<HttpResponse, AdminError> {
    let current = user.0;
    if !current.user.has_two_factor() {
        return Ok(forms::see_other("/admin/account"));
    }
    if !password_ok(&state, &current, form.into_inner().password).await? {
        return refuse(&state, &req, &current, "codes_password", WRONG).await;
    }
    let (codes, hashes) = fresh_codes();
    let act = actor(&current.user, &req);
    let uid = current.user.id;
    state
        .db
        .write(move |conn| {
            user::replace_recovery_codes(conn, uid, &hashes)?;
            audit::record(conn, &act, "2fa.recovery-codes", Some(("user", uid)), "")?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    show_codes(&state, &req, &current, codes).await
}

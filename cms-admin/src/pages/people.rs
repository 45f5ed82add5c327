//! Admin-only screens: users (invite with a temporary password, change role, disable), API
//! tokens (create with scopes, shown once; revoke) and the audit log.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::api_token::{self, SCOPES};
use cms_core::models::audit::{self, AuditEntry};
use cms_core::models::session as session_model;
use cms_core::models::user::{self, NewUser, Role, User};
use cms_core::password;

use crate::auth::{AdminOnly, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, Form, see_other};
use crate::layout::{Chrome, Section};
use crate::time;

/// A user line.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub last_login: String,
    pub is_self: bool,
    pub two_factor: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    c: Chrome,
    rows: Vec<UserRow>,
    errors: Errors,
    created: Option<(String, String)>,
}

async fn users_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &AdminOnly,
    errors: Errors,
    created: Option<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let me = admin.0.user.id;
    let tz = state.config.timezone;
    let rows = state
        .db
        .run(move |conn| {
            Ok::<_, cms_core::Error>(
                user::list(conn)?
                    .into_iter()
                    .map(|u: User| UserRow {
                        id: u.id,
                        last_login: u
                            .last_login_at
                            .map(|t| time::display(t, tz))
                            .unwrap_or_else(|| "never".into()),
                        is_self: u.id == me,
                        two_factor: u.has_two_factor(),
                        name: u.name,
                        email: u.email,
                        role: u.role,
                        disabled: u.disabled,
                    })
                    .collect(),
            )
        })
        .await?;
    let status = errors.status();
    forms::render_status(
        status,
        &UsersPage {
            c: Chrome::new(req, &admin.0, "Users", Section::Users),
            rows,
            errors,
            created,
        },
    )
}

/// `GET /admin/users`
pub async fn users(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
) -> Result<HttpResponse, AdminError> {
    users_page(&state, &req, &admin, Errors::default(), None).await
}

/// The invitation form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct InviteForm {
    email: String,
    name: String,
    role: String,
}

/// `POST /admin/users`: creates a user with a temporary password, shown once here.
pub async fn invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    form: Form<InviteForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let role: Role = match f.role.parse() {
        Ok(r) => r,
        Err(e) => {
            let mut errors = Errors::default();
            errors.add("role", e);
            return users_page(&state, &req, &admin, errors, None).await;
        }
    };
    let temp = cms_core::tokens::random_token()[..20].to_string();
    let t2 = temp.clone();
    let hash = web::block(move || password::hash(&t2))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))??;
    let act = actor(&admin.0.user, &req);
    let (email, name) = (f.email.clone(), f.name.clone());
    let result = state
        .db
        .write(move |conn| {
            let u = user::create(
                conn,
                &NewUser {
                    email: &email,
                    name: &name,
                    role,
                    password_hash: &hash,
                    must_change_password: true,
                },
            )?;
            audit::record(
                conn,
                &act,
                "user.create",
                Some(("user", u.id)),
                &format!("{} ({})", u.email, u.role),
            )?;
            Ok::<_, cms_core::Error>(u)
        })
        .await;
    match result {
        Ok(u) => {
            users_page(
                &state,
                &req,
                &admin,
                Errors::default(),
                Some((u.email, temp)),
            )
            .await
        }
        Err(e) => users_page(&state, &req, &admin, Errors::from_core(e)?, None).await,
    }
}

/// The role and status form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct UserUpdateForm {
    role: String,
    disabled: Option<String>,
}

/// `POST /admin/users/{id}`: changes role and disabled; disabling ends the user's sessions. The
/// last active admin cannot be demoted or disabled.
pub async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    id: web::Path<i64>,
    form: Form<UserUpdateForm>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let f = form.into_inner();
    let role: Role = f.role.parse().map_err(AdminError::BadRequest)?;
    let disabled = f.disabled.is_some();
    let act = actor(&admin.0.user, &req);
    let result = state
        .db
        .write(move |conn| {
            let target = user::find(conn, id)?.ok_or(cms_core::Error::NotFound("user"))?;
            let active_admins = user::list(conn)?
                .iter()
                .filter(|u| u.role == Role::Admin && !u.disabled)
                .count();
            let loses_admin =
                target.role == Role::Admin && !target.disabled && (role != Role::Admin || disabled);
            if loses_admin && active_admins <= 1 {
                return Err(cms_core::Error::Conflict(
                    "The site needs at least one active admin.".into(),
                ));
            }
            user::set_role_and_disabled(conn, id, role, disabled)?;
            if disabled {
                session_model::delete_for_user(conn, id, None)?;
            }
            audit::record(
                conn,
                &act,
                "user.update",
                Some(("user", id)),
                &format!("role={role} disabled={disabled}"),
            )?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(see_other("/admin/users?notice=saved")),
        Err(cms_core::Error::NotFound(_)) => Err(AdminError::NotFound),
        Err(e) => users_page(&state, &req, &admin, Errors::from_core(e)?, None).await,
    }
}

/// `POST /admin/users/{id}/2fa/reset`: turns another user's two-step verification off (a lost
/// phone and no recovery code) and ends their sessions; they log in with the password alone
/// and set it up again (at once, when the site requires it).
pub async fn reset_two_factor(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    if id == admin.0.user.id {
        return Err(AdminError::BadRequest(
            "Change your own two-step verification on your account page.".into(),
        ));
    }
    let act = actor(&admin.0.user, &req);
    state
        .db
        .write(move |conn| {
            let target = user::find(conn, id)?.ok_or(cms_core::Error::NotFound("user"))?;
            user::disable_totp(conn, id)?;
            session_model::delete_for_user(conn, id, None)?;
            audit::record(conn, &act, "2fa.reset", Some(("user", id)), &target.email)?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(see_other("/admin/users?notice=2fa-reset"))
}

/// A token line.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    c: Chrome,
    rows: Vec<TokenRow>,
    scopes: &'static [&'static str],
    errors: Errors,
    created: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &AdminOnly,
    errors: Errors,
    created: Option<String>,
) -> Result<HttpResponse, AdminError> {
    let tz = state.config.timezone;
    let rows = state
        .db
        .run(move |conn| {
            Ok::<_, cms_core::Error>(
                api_token::list(conn)?
                    .into_iter()
                    .map(|t| TokenRow {
                        id: t.id,
                        name: t.name,
                        prefix: t.token_prefix,
                        scopes: t.scopes,
                        created: time::display(t.created_at, tz),
                        last_used: t
                            .last_used_at
                            .map(|x| time::display(x, tz))
                            .unwrap_or_else(|| "never".into()),
                        revoked: t.revoked_at.is_some(),
                    })
                    .collect(),
            )
        })
        .await?;
    let status = errors.status();
    forms::render_status(
        status,
        &TokensPage {
            c: Chrome::new(req, &admin.0, "API tokens", Section::Tokens),
            rows,
            scopes: SCOPES,
            errors,
            created,
        },
    )
}

/// `GET /admin/tokens`
pub async fn tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
) -> Result<HttpResponse, AdminError> {
    tokens_page(&state, &req, &admin, Errors::default(), None).await
}

/// The token form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TokenForm {
    name: String,
    scopes: Vec<String>,
}

/// `POST /admin/tokens`: the secret is shown on this response only.
pub async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    form: Form<TokenForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let act = actor(&admin.0.user, &req);
    let uid = admin.0.user.id;
    let result = state
        .db
        .write(move |conn| {
            let (t, secret) = api_token::create(conn, &f.name, &f.scopes, Some(uid))?;
            audit::record(
                conn,
                &act,
                "token.create",
                Some(("api_token", t.id)),
                &format!("{} [{}]", t.name, t.scopes),
            )?;
            Ok::<_, cms_core::Error>(secret)
        })
        .await;
    match result {
        Ok(secret) => tokens_page(&state, &req, &admin, Errors::default(), Some(secret)).await,
        Err(e) => tokens_page(&state, &req, &admin, Errors::from_core(e)?, None).await,
    }
}

/// `POST /admin/tokens/{id}/revoke`
pub async fn revoke_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&admin.0.user, &req);
    state
        .db
        .write(move |conn| {
            api_token::revoke(conn, id)?;
            audit::record(conn, &act, "token.revoke", Some(("api_token", id)), "")?;
            Ok::<_, cms_core::Error>(())
        })
        .await?;
    Ok(see_other("/admin/tokens?notice=revoked"))
}

/// An audit line.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditRow>,
    next: Option<String>,
    prev: Option<String>,
}

/// `GET /admin/audit?page=N`
pub async fn audit_log(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminOnly,
) -> Result<HttpResponse, AdminError> {
    let page: i64 = match forms::query_value(&req, "page") {
        None => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| AdminError::BadRequest("page must be a number from 1".into()))?,
    };
    let tz = state.config.timezone;
    let entries: Vec<AuditEntry> = state
        .db
        .run(move |conn| Ok::<_, cms_core::Error>(audit::recent(conn, 51, (page - 1) * 50)?))
        .await?;
    let more = entries.len() > 50;
    let rows = entries
        .into_iter()
        .take(50)
        .map(|e| AuditRow {
            when: time::display(e.created_at, tz),
            actor: e.actor,
            action: e.action,
            target: match (e.target_type, e.target_id) {
                (Some(t), Some(id)) => format!("{t} {id}"),
                _ => String::new(),
            },
            detail: e.detail,
            ip: e.ip.unwrap_or_default(),
        })
        .collect();
    forms::render(&AuditPage {
        c: Chrome::new(&req, &admin.0, "Audit log", Section::Audit),
        rows,
        next: more.then(|| format!("/admin/audit?page={}", page + 1)),
        prev: (page > 1).then(|| format!("/admin/audit?page={}", page - 1)),
    })
}

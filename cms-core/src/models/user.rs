//! Users of the admin panel and their roles.

use diesel::prelude::*;

use super::{now, text_enum};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::users;

text_enum! {
    /// What a user may do. Admins do everything; editors do content, gallery, videos and
    /// subscribers, but not users, tokens or settings.
    pub enum Role {
        Admin = "admin",
        Editor = "editor",
    }
}

/// A stored user.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    pub last_login_at: Option<chrono::NaiveDateTime>,
    /// The two-step verification secret, encrypted (`crate::two_factor`); `None`: not set up.
    pub totp_secret: Option<String>,
    /// A secret being set up, not yet confirmed with a code.
    pub totp_pending_secret: Option<String>,
    /// The last time step a code was accepted for: no code is accepted twice.
    pub totp_last_step: Option<i64>,
    pub totp_enabled_at: Option<chrono::NaiveDateTime>,
}

impl User {
    /// True when logging in takes a code as well as the password.
    pub fn has_two_factor(&self) -> bool {
        self.totp_secret.is_some()
    }
}

/// What it takes to create a user; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub must_change_password: bool,
}

/// Normalises an email for storage and lookup: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks the shape of an email address well enough for an account name.
pub fn validate_email(email: &str) -> Result<()> {
    let e = email.trim();
    let valid = e.len() <= 254
        && !e.contains(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(
            "email",
            format!("'{e}' is not an email address"),
        ))
    }
}

/// Creates a user. A duplicate email (in any letter case) is a conflict.
pub fn create(conn: &mut DbConn, new: &NewUser<'_>) -> Result<User> {
    validate_email(new.email)?;
    let name = new.name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    let email = normalize_email(new.email);
    let t = now();
    let result = diesel::insert_into(users::table)
        .values((
            users::email.eq(&email),
            users::name.eq(name),
            users::role.eq(new.role),
            users::password_hash.eq(new.password_hash),
            users::must_change_password.eq(new.must_change_password),
            users::created_at.eq(t),
            users::updated_at.eq(t),
        ))
        .returning(users::all_columns)
        .get_result(conn);
    match result {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(Error::Conflict(format!(
            "a user with the email {email} already exists"
        ))),
        other => Ok(other?),
    }
}

/// Finds a user by email, in any letter case.
pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(normalize_email(email)))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Finds a user by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// All users, by name.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<User>> {
    users::table
        .order((users::name.asc(), users::id.asc()))
        .select(User::as_select())
        .load(conn)
}

/// How many users exist (the demo loads only into an empty database).
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// Replaces the password hash (on change, or to upgrade old parameters at login).
pub fn set_password_hash(conn: &mut DbConn, id: i64, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::must_change_password.eq(false),
            users::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(drop)
}

/// Records a successful login.
pub fn touch_login(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(now()))
        .execute(conn)
        .map(drop)
}

/// Changes role and the disabled flag.
pub fn set_role_and_disabled(
    conn: &mut DbConn,
    id: i64,
    role: Role,
    disabled: bool,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::role.eq(role),
            users::disabled.eq(disabled),
            users::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(drop)
}

/// Display names of the users in `ids` (authors of a list of posts, in one query).
pub fn names(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Keeps a new two-step secret (already encrypted) until a code confirms it.
pub fn set_pending_totp(conn: &mut DbConn, id: i64, sealed: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::totp_pending_secret.eq(sealed))
        .execute(conn)
        .map(drop)
}

/// Turns two-step verification on with the confirmed pending secret, remembering the time step
/// its code was for, and replaces the recovery codes with `recovery_hashes`.
pub fn enable_totp(
    conn: &mut DbConn,
    id: i64,
    sealed: &str,
    step: i64,
    recovery_hashes: &[String],
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::totp_secret.eq(sealed),
            users::totp_pending_secret.eq(None::<String>),
            users::totp_last_step.eq(step),
            users::totp_enabled_at.eq(now()),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
    replace_recovery_codes(conn, id, recovery_hashes)
}

/// Turns two-step verification off and forgets the recovery codes.
pub fn disable_totp(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    use crate::schema::recovery_codes as rc;
    diesel::update(users::table.find(id))
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_pending_secret.eq(None::<String>),
            users::totp_last_step.eq(None::<i64>),
            users::totp_enabled_at.eq(None::<chrono::NaiveDateTime>),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
    diesel::delete(rc::table.filter(rc::user_id.eq(id))).execute(conn)?;
    Ok(())
}

/// Claims time step `step` for the user's next code: true when it is later than every step
/// accepted before (one statement, so two nodes cannot both accept the same code).
pub fn claim_totp_step(conn: &mut DbConn, id: i64, step: i64) -> QueryResult<bool> {
    let n = diesel::update(
        users::table.find(id).filter(
            users::totp_secret.is_not_null().and(
                users::totp_last_step
                    .is_null()
                    .or(users::totp_last_step.lt(step)),
            ),
        ),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(n == 1)
}

/// Replaces a user's recovery codes (their hashes).
pub fn replace_recovery_codes(conn: &mut DbConn, id: i64, hashes: &[String]) -> QueryResult<()> {
    use crate::schema::recovery_codes as rc;
    diesel::delete(rc::table.filter(rc::user_id.eq(id))).execute(conn)?;
    // One statement per code: the multi-backend connection has no batch insert (ten rows).
    for h in hashes {
        diesel::insert_into(rc::table)
            .values((rc::user_id.eq(id), rc::code_hash.eq(h)))
            .execute(conn)?;
    }
    Ok(())
}

/// Uses up the recovery code with this hash: true when it was the user's and unused.
pub fn use_recovery_code(conn: &mut DbConn, id: i64, hash: &str) -> QueryResult<bool> {
    use crate::schema::recovery_codes as rc;
    let n = diesel::update(
        rc::table
            .filter(rc::user_id.eq(id))
            .filter(rc::code_hash.eq(hash))
            .filter(rc::used_at.is_null()),
    )
    .set(rc::used_at.eq(now()))
    .execute(conn)?;
    Ok(n == 1)
}

/// How many unused recovery codes the user has left.
pub fn recovery_codes_left(conn: &mut DbConn, id: i64) -> QueryResult<i64> {
    use crate::schema::recovery_codes as rc;
    rc::table
        .filter(rc::user_id.eq(id))
        .filter(rc::used_at.is_null())
        .count()
        .get_result(conn)
}

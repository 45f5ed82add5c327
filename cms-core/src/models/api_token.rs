//! API tokens for the write API: shown once, stored as a SHA-256, scoped, revocable.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::api_tokens;
use crate::tokens::{hash_token, random_token};

/// Every scope a token may carry.
pub const SCOPES: &[&str] = &[
    "posts:write",
    "gallery:write",
    "videos:write",
    "subscribers:write",
    "webhooks:write",
    "drafts:read",
];

/// Prefix of every token, so leaked tokens are recognisable (secret scanners, logs).
pub const PREFIX: &str = "ks_";

/// A stored token (without the secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub token_hash: String,
    pub token_prefix: String,
    pub scopes: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiToken {
    /// Does the token carry `scope`?
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.split_whitespace().any(|s| s == scope)
    }
}

/// Creates a token; the returned string is the only time the secret exists in clear.
pub fn create(
    conn: &mut DbConn,
    name: &str,
    scopes: &[String],
    created_by: Option<i64>,
) -> Result<(ApiToken, String)> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if scopes.is_empty() {
        return Err(Error::invalid(
            "scope",
            format!("give at least one of: {}", SCOPES.join(", ")),
        ));
    }
    for s in scopes {
        if !SCOPES.contains(&s.as_str()) {
            return Err(Error::invalid(
                "scope",
                format!("'{s}' is not a scope; known scopes: {}", SCOPES.join(", ")),
            ));
        }
    }
    let mut sorted = scopes.to_vec();
    sorted.sort();
    sorted.dedup();
    let secret = format!("{PREFIX}{}", random_token());
    let row = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::name.eq(name),
            api_tokens::token_hash.eq(hash_token(&secret)),
            api_tokens::token_prefix.eq(&secret[..PREFIX.len() + 6]),
            api_tokens::scopes.eq(sorted.join(" ")),
            api_tokens::created_by.eq(created_by),
            api_tokens::created_at.eq(now()),
        ))
        .returning(api_tokens::all_columns)
        .get_result::<ApiToken>(conn)?;
    Ok((row, secret))
}

/// The live (not revoked, not expired) token for a presented secret.
pub fn authenticate(conn: &mut DbConn, secret: &str) -> QueryResult<Option<ApiToken>> {
    let t = now();
    api_tokens::table
        .filter(api_tokens::token_hash.eq(hash_token(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(t)),
        )
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

/// Records a use (at most about once a minute per token matters; callers may throttle).
pub fn touch(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(now()))
        .execute(conn)
        .map(drop)
}

/// Revokes a token.
pub fn revoke(conn: &mut DbConn, id: i64) -> Result<()> {
    let n = diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now()))
    .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("live token"));
    }
    Ok(())
}

/// Every token, newest first.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .order(api_tokens::id.desc())
        .select(ApiToken::as_select())
        .load(conn)
}

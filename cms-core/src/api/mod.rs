//! What the JSON API shares between the read routes (`cms-web`) and the write routes
//! (`cms-admin`): the JSON shapes and their builders, problem details, strict query parsing,
//! bearer-token authentication and the per-token rate limit. No HTTP types here.

pub mod paging;
pub mod problem;
pub mod spec;
pub mod views;

use chrono::Duration;

use crate::db::DbConn;
use crate::models::api_token::{self, ApiToken};
use crate::models::now;

pub use paging::{Paging, Params};
pub use problem::{FieldError, Problem};
pub use views::{Audience, Urls};

/// The largest id a path may name (2^53 - 1, the largest integer every JSON client reads
/// exactly); larger numbers are a 400, not a lookup.
pub const MAX_ID: i64 = 9_007_199_254_740_991;

/// How often a token's `last_used_at` is written at most.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// Reads `Authorization: Bearer <token>`; `Ok(None)` when the header is absent.
pub fn bearer(header: Option<&[u8]>) -> Result<Option<String>, Problem> {
    let Some(raw) = header else {
        return Ok(None);
    };
    let value = std::str::from_utf8(raw)
        .map_err(|_| Problem::unauthorized("the Authorization header is not valid text"))?;
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default().trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(Problem::unauthorized(
            "use 'Authorization: Bearer <token>' with a token from the admin panel or 'cms token create'",
        ));
    }
    Ok(Some(token.to_string()))
}

/// The live token for a presented secret, noting its use (at most once a minute).
pub fn authenticate(conn: &mut DbConn, secret: &str) -> Result<ApiToken, Problem> {
    if !secret.starts_with(api_token::PREFIX) || secret.len() > 200 {
        return Err(Problem::unauthorized("this token is not valid"));
    }
    let token = api_token::authenticate(conn, secret)?
        .ok_or_else(|| Problem::unauthorized("this token is not valid, revoked or expired"))?;
    if token.last_used_at.is_none_or(|t| t < now() - TOUCH_EVERY) {
        api_token::touch(conn, token.id)?;
    }
    Ok(token)
}

/// Requests per minute per token, counted in the database so that every node counts the same
/// requests (GCRA: a steady rate with a burst of a tenth of a minute's allowance). One
/// statement per request: the token's row moves its theoretical arrival time on, or is left
/// as it is when the request is over the limit.
#[derive(Debug, Clone, Copy)]
pub struct TokenLimiter {
    per_minute: u32,
}

#[derive(diesel::QueryableByName)]
struct Granted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    #[allow(dead_code)]
    tat: i64,
}

/// `$1` token, `$2` now, `$3` the interval between requests, `$4` the burst's allowance (all
/// in microseconds). A row comes back when the request is allowed.
const GCRA_PG: &str = "INSERT INTO api_rate (token_id, tat) VALUES ($1, $2 + $3) \
    ON CONFLICT (token_id) DO UPDATE SET tat = GREATEST(api_rate.tat, $2) + $3 \
    WHERE GREATEST(api_rate.tat, $2) + $3 - $2 <= $4 RETURNING tat";
const GCRA_SQLITE: &str = "INSERT INTO api_rate (token_id, tat) VALUES (?1, ?2 + ?3) \
    ON CONFLICT (token_id) DO UPDATE SET tat = MAX(api_rate.tat, ?2) + ?3 \
    WHERE MAX(api_rate.tat, ?2) + ?3 - ?2 <= ?4 RETURNING tat";

impl TokenLimiter {
    /// A limiter allowing `per_minute` requests per token; 0 turns it off.
    pub fn new(per_minute: u32) -> TokenLimiter {
        TokenLimiter { per_minute }
    }

    /// Counts one request of `token_id` now; a 429 problem with the wait when over the limit.
    pub fn check(&self, conn: &mut DbConn, token_id: i64) -> Result<(), Problem> {
        self.check_at(conn, token_id, now().and_utc().timestamp_micros())
    }

    /// [`TokenLimiter::check`] at `now` (microseconds since 1970).
    pub fn check_at(&self, conn: &mut DbConn, token_id: i64, now: i64) -> Result<(), Problem> {
        use diesel::prelude::*;
        use diesel::sql_types::BigInt;
        if self.per_minute == 0 {
            return Ok(());
        }
        let interval = 60_000_000 / i64::from(self.per_minute);
        let allowance = interval * i64::from((self.per_minute / 10).max(1));
        let sql = match conn {
            DbConn::Pg(_) => GCRA_PG,
            DbConn::Sqlite(_) => GCRA_SQLITE,
        };
        let granted = crate::per_backend!(conn, |c| diesel::sql_query(sql)
            .bind::<BigInt, _>(token_id)
            .bind::<BigInt, _>(now)
            .bind::<BigInt, _>(interval)
            .bind::<BigInt, _>(allowance)
            .get_result::<Granted>(c)
            .optional())?;
        if granted.is_some() {
            return Ok(());
        }
        let tat: i64 = crate::schema::api_rate::table
            .find(token_id)
            .select(crate::schema::api_rate::tat)
            .first(conn)?;
        // The next request fits when the arrival time it would set is within the allowance.
        let wait = tat.max(now) + interval - allowance - now;
        let secs = (wait.max(0) + 999_999) / 1_000_000;
        Err(Problem::too_many(
            u32::try_from(secs.max(1)).unwrap_or(u32::MAX),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer(None).expect("none"), None);
        assert_eq!(
            bearer(Some(b"Bearer ks_abc")).expect("ok").as_deref(),
            Some("ks_abc")
        );
        assert_eq!(
            bearer(Some(b"bearer   ks_abc ")).expect("ok").as_deref(),
            Some("ks_abc")
        );
        for bad in [
            &b"Basic dXNlcjpwYXNz"[..],
            b"Bearer",
            b"Bearer ",
            b"\xff\xfe",
        ] {
            assert_eq!(bearer(Some(bad)).expect_err("bad").status, 401);
        }
    }
}

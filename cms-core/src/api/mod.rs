//! What the JSON API shares between the read routes (`cms-web`) and the write routes
//! (`cms-admin`): the JSON shapes and their builders, problem details, strict query parsing,
//! bearer-token authentication and the per-token rate limit. No HTTP types here.

pub mod changes;
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

/// Requests per minute per token (GCRA: a steady rate with a burst of a tenth of a minute's
/// allowance). On PostgreSQL — the backend of several nodes — it is counted in the database, so
/// every node counts the same requests: one upsert per request moves the token's theoretical
/// arrival time on, or leaves it as it is when the request is over the limit. On SQLite (one
/// node) it is counted in memory, so reading the API with a token writes nothing.
#[derive(Debug)]
pub struct TokenLimiter {
    per_minute: u32,
    /// SQLite: each token's theoretical arrival time (microseconds since 1970).
    local: std::sync::Mutex<std::collections::HashMap<i64, i64>>,
}

#[derive(diesel::QueryableByName)]
struct Granted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    #[allow(dead_code)]
    tat: i64,
}

/// `$1` token, `$2` now, `$3` the interval between requests, `$4` the burst's allowance (all
/// in microseconds). A row comes back when the request is allowed. An arrival time further
/// ahead than a whole burst can only come from a clock that stepped back (or a node whose
/// clock is behind): it starts afresh instead of refusing the token until the clock catches
/// up.
const GCRA_PG: &str = "INSERT INTO api_rate (token_id, tat) VALUES ($1, $2 + $3) \
    ON CONFLICT (token_id) DO UPDATE \
    SET tat = (CASE WHEN api_rate.tat > $2 + $4 THEN $2 ELSE GREATEST(api_rate.tat, $2) END) + $3 \
    WHERE (CASE WHEN api_rate.tat > $2 + $4 THEN $2 ELSE GREATEST(api_rate.tat, $2) END) + $3 - $2 <= $4 \
    RETURNING tat";

/// One step of the GCRA for a token whose arrival time is `tat`: the new arrival time when the
/// request is allowed, else how long to wait (microseconds). The same rule as [`GCRA_PG`].
fn gcra(tat: Option<i64>, now: i64, interval: i64, allowance: i64) -> Result<i64, i64> {
    let base = match tat {
        Some(t) if t > now + allowance => now,
        Some(t) => t.max(now),
        None => now,
    };
    if base + interval - now <= allowance {
        Ok(base + interval)
    } else {
        Err(base + interval - allowance - now)
    }
}

impl TokenLimiter {
    /// A limiter allowing `per_minute` requests per token; 0 turns it off.
    pub fn new(per_minute: u32) -> TokenLimiter {
        TokenLimiter {
            per_minute,
            local: Default::default(),
        }
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
        let wait = match conn {
            DbConn::Pg(c) => {
                let granted = diesel::sql_query(GCRA_PG)
                    .bind::<BigInt, _>(token_id)
                    .bind::<BigInt, _>(now)
                    .bind::<BigInt, _>(interval)
                    .bind::<BigInt, _>(allowance)
                    .get_result::<Granted>(c)
                    .optional()?;
                if granted.is_some() {
                    return Ok(());
                }
                // Refused: how long until the next request fits (a token deleted meanwhile: a
                // second).
                let tat: Option<i64> = crate::schema::api_rate::table
                    .find(token_id)
                    .select(crate::schema::api_rate::tat)
                    .first(c)
                    .optional()?;
                gcra(tat, now, interval, allowance).err().unwrap_or(1)
            }
            DbConn::Sqlite(_) => {
                let mut tats = self.local.lock().unwrap_or_else(|p| p.into_inner());
                match gcra(tats.get(&token_id).copied(), now, interval, allowance) {
                    Ok(tat) => {
                        tats.insert(token_id, tat);
                        return Ok(());
                    }
                    Err(wait) => wait,
                }
            }
        };
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

    #[test]
    fn gcra_allows_a_burst_then_the_rate_and_forgives_a_clock_step() {
        let (sec, interval, allowance) = (1_000_000, 1_000_000, 6_000_000);
        let mut tat = None;
        for _ in 0..6 {
            tat = Some(gcra(tat, 0, interval, allowance).expect("burst"));
        }
        assert_eq!(gcra(tat, 0, interval, allowance), Err(sec));
        assert_eq!(gcra(tat, sec, interval, allowance), Ok(7 * sec));
        // The clock stepped back an hour: a fresh start, not an hour refused.
        assert_eq!(gcra(Some(3600 * sec), 0, interval, allowance), Ok(sec));
    }
}

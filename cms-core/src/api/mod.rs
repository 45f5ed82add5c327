//! What the JSON API shares between the read routes (`cms-web`) and the write routes
//! (`cms-admin`): the JSON shapes and their builders, problem details, strict query parsing,
//! bearer-token authentication and the per-token rate limit. No HTTP types here.

pub mod paging;
pub mod problem;
pub mod spec;
pub mod views;

use std::num::NonZeroU32;

use chrono::Duration;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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

/// Requests per minute per token, counted on this node (GCRA: a steady rate with a burst of a
/// tenth of a minute's allowance).
#[derive(Debug)]
pub struct TokenLimiter {
    limiter: Option<DefaultKeyedRateLimiter<i64>>,
}

impl TokenLimiter {
    /// A limiter allowing `per_minute` requests per token; 0 turns it off.
    pub fn new(per_minute: u32) -> TokenLimiter {
        let limiter = NonZeroU32::new(per_minute).map(|n| {
            let burst = NonZeroU32::new((per_minute / 10).max(1)).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_minute(n).allow_burst(burst))
        });
        TokenLimiter { limiter }
    }

    /// Counts one request of `token_id`; a 429 problem with the wait when over the limit.
    pub fn check(&self, token_id: i64) -> Result<(), Problem> {
        let Some(l) = &self.limiter else {
            return Ok(());
        };
        match l.check_key(&token_id) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                Err(Problem::too_many(
                    u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX),
                ))
            }
        }
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
    fn limiter_counts_per_token() {
        let l = TokenLimiter::new(60);
        for _ in 0..6 {
            assert!(l.check(1).is_ok());
        }
        let p = l.check(1).expect_err("over the burst");
        assert_eq!(p.status, 429);
        assert!(p.retry_after.is_some_and(|s| s >= 1));
        assert!(l.check(2).is_ok(), "another token has its own allowance");
        assert!(TokenLimiter::new(0).check(1).is_ok());
    }
}

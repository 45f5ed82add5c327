//! "Preview as a reader": a link that shows a post — draft, scheduled or published — in the
//! public site's own layout to whoever holds it, until it expires. The link carries the post's
//! id, its expiry and an HMAC of both under the site's secret key, so nothing is stored and a
//! link cannot be altered to show another post or to last longer. The access log shows such
//! paths as `/preview/[token]`.

use chrono::NaiveDateTime;

use crate::config::SecretKey;
use crate::tokens;

/// How long a preview link works.
pub const LIFETIME_HOURS: i64 = 48;

/// Why a preview link does not show anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a link this site made (or altered).
    Invalid,
    /// Made here, but past its time.
    Expired,
}

fn message(post_id: i64, expires: i64) -> String {
    format!("preview:{post_id}:{expires}")
}

/// The token of a preview link to `post_id` made at `now`: `{id}.{expires}.{signature}`.
pub fn token(key: &SecretKey, post_id: i64, now: NaiveDateTime) -> String {
    let expires = (now + chrono::Duration::hours(LIFETIME_HOURS))
        .and_utc()
        .timestamp();
    format!(
        "{post_id}.{expires}.{}",
        tokens::sign(key, &message(post_id, expires))
    )
}

/// The post a preview token shows, if it is genuine and has not expired at `now`.
pub fn check(key: &SecretKey, token: &str, now: NaiveDateTime) -> Result<i64, Refused> {
    let mut parts = token.splitn(3, '.');
    let (Some(id), Some(expires), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Refused::Invalid);
    };
    let (Ok(id), Ok(expires)) = (id.parse::<i64>(), expires.parse::<i64>()) else {
        return Err(Refused::Invalid);
    };
    if !tokens::verify(key, &message(id, expires), sig) {
        return Err(Refused::Invalid);
    }
    if now.and_utc().timestamp() > expires {
        return Err(Refused::Expired);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_show_their_post_until_they_expire_and_cannot_be_altered() {
        let key = SecretKey::from_passphrase("a passphrase of at least thirty-two characters");
        let other = SecretKey::from_passphrase("another passphrase of thirty-two characters");
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("a time");
        let t = token(&key, 42, now);
        assert_eq!(check(&key, &t, now), Ok(42));
        let later = now + chrono::Duration::hours(LIFETIME_HOURS - 1);
        assert_eq!(check(&key, &t, later), Ok(42));
        let after = now + chrono::Duration::hours(LIFETIME_HOURS + 1);
        assert_eq!(check(&key, &t, after), Err(Refused::Expired));
        assert_eq!(
            check(&other, &t, now),
            Err(Refused::Invalid),
            "another site's key"
        );
        // Another post, or a longer life, breaks the signature.
        let (_, rest) = t.split_once('.').expect("id");
        assert_eq!(
            check(&key, &format!("43.{rest}"), now),
            Err(Refused::Invalid)
        );
        let parts: Vec<&str> = t.split('.').collect();
        let longer = format!(
            "42.{}.{}",
            parts[1].parse::<i64>().expect("n") + 3600,
            parts[2]
        );
        assert_eq!(check(&key, &longer, now), Err(Refused::Invalid));
        for junk in ["", "42", "42.1", "x.y.z", "42.1.zz", "..", "42.1.00"] {
            assert_eq!(check(&key, junk, now), Err(Refused::Invalid), "{junk}");
        }
    }
}

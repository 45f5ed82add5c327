//! Admin sessions: the cookie, the lifetimes, and the logged-in user loaded once per request
//! by the guard middleware.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use chrono::Duration;
use cms_core::models::session::{self, Session};
use cms_core::models::user::{self, User};
use cms_core::{AppState, DbConn};

/// The session cookie. Scoped to `/admin`: public pages never see it.
pub const COOKIE: &str = "ks_session";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::hours(12);
/// A session ends this long after login, used or not.
pub const ABSOLUTE: Duration = Duration::days(7);
/// `last_seen_at` is written at most this often (not on every request).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The logged-in user of this request, with their session.
#[derive(Debug, Clone)]
pub struct Current {
    pub user: User,
    pub session: Session,
}

/// Loads the live session for a cookie value, and its user unless disabled; refreshes the idle
/// clock now and then.
pub fn load(conn: &mut DbConn, cookie_value: &str) -> cms_core::Result<Option<Current>> {
    let Some(s) = session::find_live(conn, cookie_value, IDLE)? else {
        return Ok(None);
    };
    let Some(u) = user::find(conn, s.user_id)? else {
        return Ok(None);
    };
    if u.disabled {
        return Ok(None);
    }
    if cms_core::models::now() - s.last_seen_at > TOUCH_EVERY {
        session::touch(conn, &s.id_hash)?;
    }
    Ok(Some(Current {
        user: u,
        session: s,
    }))
}

/// The cookie that carries a new session.
pub fn cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/admin")
        .http_only(true)
        .secure(state.config.server.https)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(ABSOLUTE.num_seconds()))
        .finish()
}

/// A cookie that removes the session cookie.
pub fn removal(state: &AppState) -> Cookie<'static> {
    let mut c = Cookie::build(COOKIE, "")
        .path("/admin")
        .http_only(true)
        .secure(state.config.server.https)
        .same_site(SameSite::Lax)
        .finish();
    c.make_removal();
    c
}

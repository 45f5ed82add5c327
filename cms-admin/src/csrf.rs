//! CSRF tokens. A logged-in form carries its session's token. The login form, before there is
//! a session, carries a signed token that is also set as a cookie (a signed double submit): an
//! attacker's page can neither read our cookie nor forge a signature.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use cms_core::config::SecretKey;
use cms_core::tokens::{random_token, sign, verify};

/// The pre-session token cookie.
pub const COOKIE: &str = "ks_csrf";
/// The form field that carries the token.
pub const FIELD: &str = "_csrf";
/// The header that carries the token for scripts and uploads.
pub const HEADER: &str = "X-CSRF-Token";

/// A new pre-session token: random, with its signature.
pub fn new_anonymous(key: &SecretKey) -> String {
    let nonce = random_token();
    let sig = sign(key, &format!("csrf:{nonce}"));
    format!("{nonce}.{sig}")
}

/// True when `token` is one we signed.
pub fn anonymous_is_genuine(key: &SecretKey, token: &str) -> bool {
    token
        .split_once('.')
        .is_some_and(|(nonce, sig)| verify(key, &format!("csrf:{nonce}"), sig))
}

/// The pre-session token of this request's cookie, if genuine.
pub fn anonymous_from_cookie(key: &SecretKey, req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| anonymous_is_genuine(key, t))
}

/// A page shown before login, whose form carries a pre-session token: `render` gets the token
/// (this browser's, or a new one whose cookie the answer then sets).
pub fn pre_session_page(
    state: &cms_core::AppState,
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    render: impl FnOnce(String) -> askama::Result<String>,
) -> Result<actix_web::HttpResponse, crate::error::AdminError> {
    let key = &state.config.secret;
    let (token, fresh) = match anonymous_from_cookie(key, req) {
        Some(t) => (t, false),
        None => (new_anonymous(key), true),
    };
    let body =
        render(token.clone()).map_err(|e| crate::error::AdminError::Internal(e.to_string()))?;
    let mut resp = actix_web::HttpResponse::build(status);
    if fresh {
        resp.cookie(cookie(token, state.config.server.https));
    }
    Ok(resp.content_type("text/html; charset=utf-8").body(body))
}

/// The cookie for a pre-session token.
pub fn cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/admin")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

/// Compares two tokens in constant time.
pub fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_tokens_are_signed() {
        let key = SecretKey::from_passphrase("a passphrase of at least 32 characters");
        let t = new_anonymous(&key);
        assert!(anonymous_is_genuine(&key, &t));
        assert!(!anonymous_is_genuine(&key, "abc.def"));
        let other = SecretKey::from_passphrase("another passphrase of 32 characters!");
        assert!(!anonymous_is_genuine(&other, &t));
        assert!(equal(&t, &t.clone()) && !equal(&t, "x"));
    }
}

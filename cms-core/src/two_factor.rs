//! Two-step verification for admin accounts: time-based one-time codes (TOTP, RFC 6238: SHA-1,
//! six digits, 30-second steps, what every authenticator app reads from a QR code) and one-time
//! recovery codes for a lost phone.
//!
//! The shared secret is stored sealed with AES-256-GCM under a key derived from the site's
//! secret key, so a copy of the database alone does not give it away. A code is accepted for
//! its own time step and the one on either side (clocks drift), and the step it matched is
//! returned so the caller can refuse any step not later than the last one used: a code seen
//! over someone's shoulder is worthless once used. Recovery codes carry 80 random bits each and
//! only their SHA-256 is stored.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::{Rng, RngCore};
use totp_rs::{Algorithm, TOTP};

use crate::config::SecretKey;
use crate::error::{Error, Result};

/// Seconds per time step.
pub const STEP: u64 = 30;
/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;
/// Digits in a code.
const DIGITS: usize = 6;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;
/// The alphabet of recovery codes: lower-case letters and digits without 0/o, 1/l/i.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh random secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

fn cipher(key: &SecretKey) -> Aes256Gcm {
    let derived = crate::tokens::sign(key, "keepsake two-step secrets v1");
    let bytes = hex::decode(derived).expect("a signature is hex");
    Aes256Gcm::new_from_slice(&bytes).expect("32 bytes make an AES-256 key")
}

/// Seals a secret for storage: `v1:` and the hex of a random nonce and the ciphertext.
pub fn seal(key: &SecretKey, secret: &[u8]) -> String {
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher(key)
        .encrypt(Nonce::from_slice(&nonce), secret)
        .expect("encrypting a short secret cannot fail");
    format!("v1:{}{}", hex::encode(nonce), hex::encode(sealed))
}

/// Opens a sealed secret; fails when it was sealed under another secret key.
pub fn open(key: &SecretKey, sealed: &str) -> Result<Vec<u8>> {
    let broken = || {
        Error::Internal(
            "a two-step secret cannot be read with this secret key (was CMS_SECRET_KEY changed?); \
             `cms user reset-2fa` turns two-step verification off for the account"
                .into(),
        )
    };
    let bytes = sealed
        .strip_prefix("v1:")
        .and_then(|h| hex::decode(h).ok())
        .filter(|b| b.len() > 12)
        .ok_or_else(broken)?;
    let (nonce, body) = bytes.split_at(12);
    cipher(key)
        .decrypt(Nonce::from_slice(nonce), body)
        .map_err(|_| broken())
}

fn totp(secret: &[u8], issuer: Option<String>, account: String) -> Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP,
        secret.to_vec(),
        issuer,
        account,
    )
    .map_err(|e| Error::Internal(format!("two-step secret: {e:?}")))
}

/// What the setup page shows: the secret for typing in, the `otpauth://` address and its QR code.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32, in groups of four for reading aloud.
    pub secret_text: String,
    /// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…`
    pub uri: String,
    /// The QR code of `uri` as an inline `<svg>` element.
    pub qr_svg: String,
}

/// The enrolment of `secret` for `account` of the site named `issuer`.
pub fn enrolment(secret: &[u8], issuer: &str, account: &str) -> Result<Enrolment> {
    // The otpauth label is `issuer:account`: neither may carry a colon.
    let clean = |s: &str| s.replace(':', " ").trim().to_string();
    let issuer = Some(clean(issuer)).filter(|s| !s.is_empty());
    let t = totp(secret, issuer, clean(account))?;
    let uri = t.get_url();
    let base32 = t.get_secret_base32();
    let secret_text = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // An element for the page, not a document: no XML declaration.
    let qr_svg = match svg.find("<svg") {
        Some(i) => svg[i..].replacen(
            "<svg ",
            "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" ",
            1,
        ),
        None => svg,
    };
    Ok(Enrolment {
        secret_text,
        uri,
        qr_svg,
    })
}

/// The time step a code is valid for at `unix_time` (its own, or one either side), or `None`.
/// Spaces and dashes a user types are ignored.
pub fn check(secret: &[u8], code: &str, unix_time: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, None, String::new()).ok()?;
    let now = unix_time / STEP;
    // Every candidate is compared (in constant time), so timing does not tell which matched.
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        if t.check(&code, step * STEP) && found.is_none() {
            found = i64::try_from(step).ok();
        }
    }
    found
}

/// The code of `secret` at `unix_time` (what an authenticator app shows; for tests and tools).
pub fn code_at(secret: &[u8], unix_time: u64) -> Result<String> {
    Ok(totp(secret, None, String::new())?.generate(unix_time))
}

/// Seconds since the Unix epoch now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// New recovery codes, written `xxxx-xxxx-xxxx-xxxx` (16 characters of a 31-letter alphabet).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<char> = (0..16)
                .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The stored hash of a recovery code, however it was typed (case, spaces, dashes), or `None`
/// when the text cannot be one.
pub fn recovery_hash(code: &str) -> Option<String> {
    let clean: String = code
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let ok = clean.len() == 16 && clean.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
    ok.then(|| crate::tokens::hash_token(&clean))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors() {
        // RFC 6238, appendix B (SHA-1, the 20-byte ASCII secret), last six digits.
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(secret, t).expect("code"), code);
            assert_eq!(check(secret, code, t), Some((t / STEP) as i64));
        }
    }

    #[test]
    fn a_code_holds_one_step_either_side_and_no_more() {
        let s = new_secret();
        let t = 1_800_000_000;
        let code = code_at(&s, t).expect("code");
        assert_eq!(check(&s, &code, t - 30), Some((t / STEP) as i64));
        assert_eq!(check(&s, &code, t + 30), Some((t / STEP) as i64));
        assert_eq!(check(&s, &code, t + 90), None);
        assert_eq!(check(&s, "12345", t), None);
        assert_eq!(check(&s, "abcdef", t), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(check(&s, &spaced, t).is_some());
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = SecretKey::from_passphrase("a passphrase of at least 32 characters");
        let s = new_secret();
        let sealed = seal(&key, &s);
        assert_ne!(seal(&key, &s), sealed, "a fresh nonce every time");
        assert_eq!(open(&key, &sealed).expect("opens"), s);
        let other = SecretKey::from_passphrase("another passphrase of 32 characters!");
        assert!(open(&other, &sealed).is_err());
        assert!(open(&key, "v1:00").is_err());
        assert!(open(&key, "plain").is_err());
    }

    #[test]
    fn enrolment_carries_a_label_apps_read() {
        let e = enrolment(&new_secret(), "Kit: Archive", "ed@example.org").expect("enrolment");
        assert!(e.uri.starts_with("otpauth://totp/"), "{}", e.uri);
        assert!(e.uri.contains("issuer=Kit%20%20Archive") || e.uri.contains("issuer=Kit"));
        assert!(
            e.qr_svg.starts_with("<svg role=\"img\""),
            "{}",
            &e.qr_svg[..60]
        );
        assert_eq!(e.secret_text.replace(' ', "").len(), 32);
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), RECOVERY_CODES);
        let c = &codes[0];
        assert_eq!(c.len(), 19);
        let typed = c.to_uppercase().replace('-', " ");
        assert_eq!(recovery_hash(&typed), recovery_hash(c));
        assert!(recovery_hash("123456").is_none());
        assert!(recovery_hash("0000-0000-0000-0000").is_none());
    }
}

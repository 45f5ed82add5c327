//! Password hashing with argon2id at OWASP's minimum parameters (m = 19 MiB, t = 2, p = 1).
//! Hashing is slow on purpose: call these on a blocking thread, never on the async executor.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

/// Memory cost in KiB (19 MiB).
const M_COST: u32 = 19 * 1024;
/// Iterations.
const T_COST: u32 = 2;
/// Parallelism.
const P_COST: u32 = 1;

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 10;

fn argon2() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, P_COST, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the policy: long enough, not absurdly long.
pub fn validate_new(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Err(Error::invalid(
            "password",
            format!("must be at least {MIN_LENGTH} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(Error::invalid("password", "must be at most 1024 bytes"));
    }
    Ok(())
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wrong password (or an unreadable hash).
    Mismatch,
    /// Right password, hash current.
    Match,
    /// Right password, but the hash uses other parameters: store a fresh [`hash`].
    MatchNeedsRehash,
}

/// Verifies `password` against a stored PHC hash.
pub fn verify(password: &str, stored: &str) -> Verdict {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Mismatch;
    };
    // Verify with the parameters recorded in the hash, then compare them to ours.
    if Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verdict::Mismatch;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed)
            .is_ok_and(|p| p.m_cost() == M_COST && p.t_cost() == T_COST && p.p_cost() == P_COST);
    if current {
        Verdict::Match
    } else {
        Verdict::MatchNeedsRehash
    }
}

/// Spends the same time as a real verification, for unknown accounts, so a login with an
/// unknown email cannot be told from a wrong password by its timing.
pub fn dummy_verify(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("dummy password for timing").unwrap_or_default());
    let _ = verify(password, stored);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let h = hash("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(verify("correct horse battery", &h), Verdict::Match);
        assert_eq!(verify("wrong horse battery", &h), Verdict::Mismatch);
        assert_eq!(verify("x", "not a hash"), Verdict::Mismatch);
    }

    #[test]
    fn weaker_hashes_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).expect("params"),
        );
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let h = weak
            .hash_password(b"correct horse battery", &salt)
            .expect("hash")
            .to_string();
        assert_eq!(
            verify("correct horse battery", &h),
            Verdict::MatchNeedsRehash
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(validate_new("short").is_err());
        assert!(validate_new("long enough password").is_ok());
    }
}

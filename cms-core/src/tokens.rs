//! Random tokens, their stored hashes, and HMAC signatures with the site's secret key.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::SecretKey;

/// A fresh random token of 32 bytes (256 bits), hex-encoded: session ids, API tokens,
/// confirmation links.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A request's id: 64 random bits, 16 hex digits (names a request in logs; not a secret).
pub fn request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The SHA-256 of a token, hex-encoded: what the database stores in place of the token, so a
/// leaked table does not leak live credentials.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An HMAC-SHA-256 of `message` under the secret key, hex-encoded.
pub fn sign(key: &SecretKey, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key size");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a signature made by [`sign`] in constant time.
pub fn verify(key: &SecretKey, message: &str, signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key size");
    mac.update(message.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_resist_tampering() {
        let key = SecretKey::from_passphrase("a passphrase of at least 32 characters");
        let sig = sign(&key, "subscriber:7:1");
        assert!(verify(&key, "subscriber:7:1", &sig));
        assert!(!verify(&key, "subscriber:8:1", &sig));
        assert!(!verify(&key, "subscriber:7:1", "zz"));
        let other = SecretKey::from_passphrase("another passphrase of 32 characters!");
        assert!(!verify(&other, "subscriber:7:1", &sig));
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), a);
    }
}

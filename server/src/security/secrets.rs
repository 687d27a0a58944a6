//! The secrets Tether never reads back: API secrets, session tokens and passwords, kept only as hashes.
//!
//! API secrets and session tokens are 256 random bits, so a fast SHA-256 digest is enough to look them up.
//! Passwords are chosen by people and get argon2.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The shortest password the console accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A new high-entropy secret: 32 random bytes, URL-safe base64.
pub fn generate_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// A new random password for a user who did not choose one: 18 random bytes, 24 characters.
pub fn generate_password() -> SecretString {
    let mut bytes = [0u8; 18];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// The lookup digest stored for a high-entropy secret.
pub fn digest(secret: &SecretString) -> String {
    hex::encode(Sha256::digest(secret.expose_secret().as_bytes()))
}

pub fn hash_password(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("hashing a password failed: {error}"))
}

/// Checks a password against a stored argon2 hash; a malformed hash never matches.
pub fn verify_password(password: &SecretString, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|hash| Argon2::default().verify_password(password.expose_secret().as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so both cases take the same time.
pub fn decoy_password_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&generate_password()).expect("hashing a random password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = generate_secret();
        let b = generate_secret();
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(generate_password().expose_secret().len(), 24);
    }

    #[test]
    fn digest_is_stable_and_hides_the_secret() {
        let secret = SecretString::from("abc".to_owned());
        assert_eq!(digest(&secret), digest(&SecretString::from("abc".to_owned())));
        assert_eq!(digest(&secret).len(), 64);
        assert!(!digest(&secret).contains("abc"));
    }

    #[test]
    fn passwords_verify_only_when_equal() {
        let password = SecretString::from("correct horse battery".to_owned());
        let hash = hash_password(&password).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&password, &hash));
        assert!(!verify_password(&SecretString::from("wrong".to_owned()), &hash));
        assert!(!verify_password(&password, "not a hash"));
    }
}

//! Admin passwords: argon2id hashing (for `loginguard admin --hash-password`)
//! and verification against `admin_password_hash`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::AdminError;

/// Hashes `password` with argon2id and the OWASP parameters
/// (m = 19456 KiB, t = 2, p = 1), returning the PHC string to put in
/// `admin_password_hash`.
///
/// ```
/// let hash = loginguard_admin::hash_password("correct horse").unwrap();
/// assert!(hash.starts_with("$argon2id$"));
/// ```
pub fn hash_password(password: &str) -> Result<String, AdminError> {
    if password.is_empty() {
        return Err(AdminError::EmptyPassword);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Hash(e.to_string()))
}

/// Checks that `hash` is an argon2 PHC string this crate can verify against.
pub(crate) fn check_hash(hash: &str) -> Result<(), AdminError> {
    let parsed = PasswordHash::new(hash).map_err(|e| AdminError::BadPasswordHash(e.to_string()))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(AdminError::BadPasswordHash(format!(
            "algorithm {} is not argon2",
            parsed.algorithm
        )));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(AdminError::BadPasswordHash(
            "it has no salt or no hash value".to_owned(),
        ));
    }
    argon2::Params::try_from(&parsed).map_err(|e| AdminError::BadPasswordHash(e.to_string()))?;
    Ok(())
}

/// Whether `password` matches `hash`. Slow on purpose (argon2): call it
/// from a blocking thread.
pub(crate) fn verify(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("s3cret pass").unwrap();
        check_hash(&hash).unwrap();
        assert!(verify(&hash, "s3cret pass"));
        assert!(!verify(&hash, "s3cret pas"));
        assert!(!verify(&hash, ""));
    }

    #[test]
    fn malformed_hashes_are_refused_without_echo() {
        let err = check_hash("$argon2id$nonsense").unwrap_err().to_string();
        assert!(err.contains("loginguard admin --hash-password"), "{err}");
        assert!(check_hash("plain-text").is_err());
    }

    #[test]
    fn empty_password_is_refused() {
        assert!(matches!(hash_password(""), Err(AdminError::EmptyPassword)));
    }
}

//! The demo's users: argon2id password hashes, checked off the async
//! runtime, with the same hashing cost for usernames that do not exist.

use std::collections::HashMap;
use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::DemoError;

/// Argon2id cost: OWASP's recommended minimum by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory in KiB (default 19456, i.e. 19 MiB).
    pub memory_kib: u32,
    /// Iterations (default 2).
    pub iterations: u32,
}

impl Default for Argon2Cost {
    fn default() -> Self {
        Argon2Cost {
            memory_kib: 19_456,
            iterations: 2,
        }
    }
}

impl Argon2Cost {
    fn hasher(self) -> Result<Argon2<'static>, DemoError> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None).map_err(|e| {
            DemoError::Argon2(format!(
                "argon2 memory {} KiB / {} iterations refused: {e} (memory must be at least 8 KiB, iterations at least 1)",
                self.memory_kib, self.iterations
            ))
        })?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Usernames and their PHC hash strings, plus a dummy hash for unknown
/// names.
#[derive(Debug)]
pub(crate) struct Users {
    hashes: HashMap<String, String>,
    dummy: String,
    hasher: Argon2<'static>,
}

impl Users {
    /// Hashes every password (slow by design: run it off the runtime).
    pub(crate) fn hash_all(
        users: &[(String, String)],
        cost: Argon2Cost,
    ) -> Result<Users, DemoError> {
        let hasher = cost.hasher()?;
        let hash = |password: &[u8]| -> Result<String, DemoError> {
            let mut salt = [0u8; 16];
            OsRng.fill_bytes(&mut salt);
            let salt =
                SaltString::encode_b64(&salt).map_err(|e| DemoError::Argon2(e.to_string()))?;
            let phc = hasher
                .hash_password(password, &salt)
                .map_err(|e| DemoError::Argon2(e.to_string()))?;
            Ok(phc.to_string())
        };
        let mut hashes = HashMap::with_capacity(users.len());
        for (name, password) in users {
            hashes.insert(name.clone(), hash(password.as_bytes())?);
        }
        let mut random = [0u8; 32];
        OsRng.fill_bytes(&mut random);
        let dummy = hash(&random)?;
        Ok(Users {
            hashes,
            dummy,
            hasher,
        })
    }

    /// Whether `password` is `username`'s. An unknown username is checked
    /// against the dummy hash, so it costs the same time.
    pub(crate) fn verify(&self, username: &str, password: &str) -> bool {
        let (phc, known) = match self.hashes.get(username) {
            Some(phc) => (phc.as_str(), true),
            None => (self.dummy.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let matches = self
            .hasher
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        matches && known
    }

    /// [`Users::verify`] on a blocking thread.
    pub(crate) async fn verify_blocking(
        self: &Arc<Self>,
        username: String,
        password: String,
    ) -> bool {
        let users = self.clone();
        tokio::task::spawn_blocking(move || users.verify(&username, &password))
            .await
            .unwrap_or(false)
    }

    /// The names, sorted.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.hashes.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Cost = Argon2Cost {
        memory_kib: 64,
        iterations: 1,
    };

    #[test]
    fn passwords_are_hashed_with_argon2id_and_checked() {
        let users = Users::hash_all(&[("alice".into(), "wonderland".into())], CHEAP).unwrap();
        assert!(users.hashes["alice"].starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(users.verify("alice", "wonderland"));
        assert!(!users.verify("alice", "Wonderland"));
        assert!(!users.verify("bob", "wonderland"));
    }

    #[test]
    fn the_default_cost_is_owasps() {
        let users = Users::hash_all(&[("a".into(), "b".into())], Argon2Cost::default()).unwrap();
        assert!(users.hashes["a"].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(users.dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn a_bad_cost_is_a_clear_error() {
        let err = Users::hash_all(
            &[],
            Argon2Cost {
                memory_kib: 1,
                iterations: 1,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("at least 8 KiB"), "{err}");
    }
}

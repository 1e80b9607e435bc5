//! The secret that keys every hash loginguard keeps of a password or an
//! account, and signs device cookies.
//!
//! Nothing derived here can be checked against a guess without the secret:
//! a store, a log or a stolen backup holds truncated HMAC-SHA256 values
//! only, never a password or an unkeyed hash of one. Each use has its own
//! label, so a value of one kind never matches another.
//!
//! ```
//! use loginguard_core::Secret;
//!
//! let secret = Secret::new("0123456789abcdef0123456789abcdef")?;
//! let a = secret.password_tag("login", "alice", b"hunter2");
//! assert_eq!(a, secret.password_tag("login", "alice", b"hunter2"));
//! assert_ne!(a, secret.password_tag("login", "bob", b"hunter2"));
//! # Ok::<(), loginguard_core::SecretError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::record::Tag;

/// Bytes as lower-case hex digits.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The fewest bytes a secret may have.
pub const MIN_SECRET_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// A secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Fewer than [`MIN_SECRET_BYTES`] bytes.
    #[error(
        "the secret has {0} bytes; it needs at least 32 random bytes (e.g. `openssl rand -hex 32`)"
    )]
    TooShort(usize),
}

/// At least 32 secret bytes, shared by every server of an app. `Debug` and
/// `Serialize` never show it. Only the keyed HMAC state is kept (the raw
/// bytes are wiped once it is derived), so each hash costs no key setup.
#[derive(Clone)]
pub struct Secret {
    mac: Arc<HmacSha256>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(set)")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("(set)")
    }
}

impl Secret {
    /// A secret from its bytes (text is taken as its UTF-8 bytes, so a
    /// 64-digit hex string is 64 bytes).
    pub fn new(bytes: impl AsRef<[u8]>) -> Result<Secret, SecretError> {
        let bytes = bytes.as_ref();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(bytes.len()));
        }
        let mac =
            HmacSha256::new_from_slice(bytes).map_err(|_| SecretError::TooShort(bytes.len()))?;
        Ok(Secret { mac: Arc::new(mac) })
    }

    /// A new random secret: 32 bytes from the operating system, as 64 hex
    /// digits (what the demo writes to its secret file).
    pub fn generate_hex() -> Zeroizing<String> {
        use rand::RngCore;
        let mut raw = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(raw.as_mut());
        Zeroizing::new(hex(raw.as_ref()))
    }

    /// HMAC-SHA256 over a label and length-prefixed parts.
    fn mac(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = HmacSha256::clone(&self.mac);
        for part in std::iter::once(label.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn tag(&self, label: &str, parts: &[&[u8]]) -> Tag {
        let mac = self.mac(label, parts);
        let mut first = [0u8; 8];
        first.copy_from_slice(&mac[..8]);
        Tag::from_be_bytes(first)
    }

    /// The tag of a submitted password for one account in one scope: what
    /// a key remembers of a wrong password (`ignore_repeated_password`).
    pub fn password_tag(&self, scope: &str, username: &str, password: &[u8]) -> Tag {
        self.tag(
            "loginguard password v1",
            &[scope.as_bytes(), username.as_bytes(), password],
        )
    }

    /// The id of a password's spray key in one scope: 16 hex digits of a
    /// keyed hash, the same for every account it is tried on.
    pub fn spray_id(&self, scope: &str, password: &[u8]) -> String {
        format!(
            "{:016x}",
            self.tag("loginguard spray v1", &[scope.as_bytes(), password])
        )
    }

    /// The tag of an account on a spray key, so the same account failing
    /// the same password again counts once.
    pub fn account_tag(&self, scope: &str, username: &str) -> Tag {
        self.tag(
            "loginguard account v1",
            &[scope.as_bytes(), username.as_bytes()],
        )
    }

    /// The signature of a device cookie's fields (16 bytes of the HMAC).
    pub(crate) fn device_mac(
        &self,
        scope: &str,
        username: &str,
        issued: &str,
        nonce: &str,
    ) -> [u8; 16] {
        let mac = self.mac(
            "loginguard device v1",
            &[
                scope.as_bytes(),
                username.as_bytes(),
                issued.as_bytes(),
                nonce.as_bytes(),
            ],
        );
        let mut out = [0u8; 16];
        out.copy_from_slice(&mac[..16]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(c: char) -> Secret {
        Secret::new(c.to_string().repeat(32)).unwrap()
    }

    #[test]
    fn short_secrets_are_refused_and_secrets_never_show() {
        assert_eq!(
            Secret::new("x".repeat(31)).unwrap_err(),
            SecretError::TooShort(31)
        );
        let s = secret('a');
        assert_eq!(format!("{s:?}"), "Secret(set)");
        assert!(!format!("{s:?}").contains("aaaa"));
        assert_eq!(Secret::generate_hex().len(), 64);
        assert_ne!(*Secret::generate_hex(), *Secret::generate_hex());
    }

    #[test]
    fn each_use_and_each_secret_gives_its_own_value() {
        let (a, b) = (secret('a'), secret('b'));
        let tag = a.password_tag("login", "alice", b"pw");
        assert_ne!(tag, b.password_tag("login", "alice", b"pw"));
        assert_ne!(tag, a.password_tag("otp", "alice", b"pw"));
        assert_ne!(tag, a.password_tag("login", "alice", b"pw2"));
        // Length prefixes: moving a byte between parts changes the value.
        assert_ne!(
            a.password_tag("login", "alicep", b"w"),
            a.password_tag("login", "alice", b"pw")
        );
        assert_eq!(a.spray_id("login", b"pw"), a.spray_id("login", b"pw"));
        assert_eq!(a.spray_id("login", b"pw").len(), 16);
        assert_ne!(a.spray_id("login", b"pw"), b.spray_id("login", b"pw"));
        assert_ne!(
            a.account_tag("login", "alice"),
            a.account_tag("login", "bob")
        );
    }
}

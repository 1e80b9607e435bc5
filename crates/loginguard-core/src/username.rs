//! Normalising usernames and IPs into key values.
//!
//! ```
//! use loginguard_core::Policy;
//!
//! let policy = Policy::builder().username_case_insensitive(true).build()?;
//! assert_eq!(policy.normalize_username("  Alice ").unwrap(), "alice");
//! assert!(policy.normalize_username(&"a".repeat(10_000)).is_err());
//! # Ok::<(), loginguard_core::PolicyError>(())
//! ```

use std::net::IpAddr;

use ipnet::IpNet;

use crate::policy::Policy;

/// Why a username was refused; the client deserves a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsernameError {
    /// Longer than `username_max_length`.
    #[error("username is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Contains control characters.
    #[error("username contains control characters")]
    Malformed,
}

impl Policy {
    /// Trims `raw`, case-folds it when `username_case_insensitive`, and
    /// refuses it when over `username_max_length` or holding control
    /// characters. An empty result is allowed (and counted like any other).
    pub fn normalize_username(&self, raw: &str) -> Result<String, UsernameError> {
        let max = self.username_max_length;
        // Refuse early on byte length so a huge input is never scanned twice.
        if raw.len() > max.saturating_mul(4).saturating_add(64) {
            return Err(UsernameError::TooLong { max });
        }
        let trimmed = raw.trim();
        if trimmed.chars().count() > max {
            return Err(UsernameError::TooLong { max });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(UsernameError::Malformed);
        }
        Ok(if self.username_case_insensitive {
            trimmed.to_lowercase()
        } else {
            trimmed.to_owned()
        })
    }
}

/// The key value for an IP: IPv4-mapped IPv6 addresses become IPv4, and
/// IPv6 addresses are grouped by `ipv6_prefix` (`2001:db8::/64`).
pub fn ip_key(ip: IpAddr, ipv6_prefix: u8) -> String {
    match ip {
        IpAddr::V4(v4) => ipv4_text(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return ipv4_text(v4);
            }
            if ipv6_prefix >= 128 {
                return v6.to_string();
            }
            match IpNet::new(IpAddr::V6(v6), ipv6_prefix) {
                Ok(net) => net.trunc().to_string(),
                Err(_) => v6.to_string(),
            }
        }
    }
}

/// `a.b.c.d`, as `Ipv4Addr`'s `Display` writes it, without the formatting
/// machinery: this runs for every attempt.
fn ipv4_text(ip: std::net::Ipv4Addr) -> String {
    let mut out = String::with_capacity(15);
    crate::client_ip::push_ip(&mut out, IpAddr::V4(ip));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_text_matches_display() {
        for ip in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 0, 9, 100],
            [192, 168, 99, 101],
            [1, 20, 200, 9],
        ] {
            let ip = std::net::Ipv4Addr::from(ip);
            assert_eq!(ip_key(IpAddr::V4(ip), 64), ip.to_string());
        }
    }

    #[test]
    fn ipv6_is_grouped_by_prefix() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        assert_eq!(ip_key(a, 64), ip_key(b, 64));
        assert_eq!(ip_key(a, 64), "2001:db8::/64");
        assert_ne!(ip_key(a, 128), ip_key(b, 128));
        assert_eq!(ip_key("::ffff:10.0.0.1".parse().unwrap(), 64), "10.0.0.1");
    }

    #[test]
    fn usernames_are_trimmed_and_checked() {
        let p = Policy::default();
        assert_eq!(p.normalize_username(" Bob ").unwrap(), "Bob");
        assert_eq!(
            p.normalize_username(&"x".repeat(257)),
            Err(UsernameError::TooLong { max: 256 })
        );
        assert_eq!(
            p.normalize_username("a\u{0}b"),
            Err(UsernameError::Malformed)
        );
        assert_eq!(
            p.normalize_username(&"é".repeat(256))
                .unwrap()
                .chars()
                .count(),
            256
        );
    }
}

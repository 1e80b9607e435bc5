//! Client IP resolution: the socket peer, unless it is a trusted proxy.
//!
//! With `trusted_proxies` empty (the default) the peer address is the client
//! and every forwarding header is ignored. Otherwise, when the peer is a
//! trusted proxy, the `Forwarded` (RFC 7239) header — or, if absent,
//! `X-Forwarded-For`, then `X-Real-IP` — is walked from the right, skipping
//! trusted proxies; the first untrusted address is the client. Left of it,
//! values are whatever the client chose to send, so they are never read.
//!
//! ```
//! use loginguard_core::client_ip::{ClientIpResolver, ForwardingHeaders};
//!
//! let resolver = ClientIpResolver::new(vec!["10.0.0.0/8".parse().unwrap()]);
//! let headers = ForwardingHeaders {
//!     x_forwarded_for: vec!["6.6.6.6, 198.51.100.7, 10.0.0.2"],
//!     ..Default::default()
//! };
//! // The peer is a trusted proxy: walk from the right past 10.0.0.2.
//! assert_eq!(resolver.resolve("10.0.0.1".parse().unwrap(), &headers).to_string(), "198.51.100.7");
//! // An untrusted peer's headers are ignored.
//! assert_eq!(resolver.resolve("203.0.113.1".parse().unwrap(), &headers).to_string(), "203.0.113.1");
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The raw values of the forwarding headers of one request, in order of
/// appearance (a header may be sent several times).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardingHeaders<'a> {
    /// `Forwarded` header values.
    pub forwarded: Vec<&'a str>,
    /// `X-Forwarded-For` header values.
    pub x_forwarded_for: Vec<&'a str>,
    /// `X-Real-IP` header values.
    pub x_real_ip: Vec<&'a str>,
}

/// Resolves the client IP from the peer address and forwarding headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientIpResolver {
    trusted: Vec<IpNet>,
}

impl ClientIpResolver {
    /// A resolver believing headers only from `trusted_proxies`.
    pub fn new(trusted_proxies: Vec<IpNet>) -> ClientIpResolver {
        ClientIpResolver {
            trusted: trusted_proxies,
        }
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client IP of a request from `peer` carrying `headers`.
    pub fn resolve(&self, peer: IpAddr, headers: &ForwardingHeaders<'_>) -> IpAddr {
        let peer = canonical(peer);
        if self.trusted.is_empty() || !self.is_trusted(peer) {
            return peer;
        }
        let chain: Vec<Option<IpAddr>> = if !headers.forwarded.is_empty() {
            headers
                .forwarded
                .iter()
                .flat_map(|v| v.split(','))
                .map(forwarded_for)
                .collect()
        } else if !headers.x_forwarded_for.is_empty() {
            headers
                .x_forwarded_for
                .iter()
                .flat_map(|v| v.split(','))
                .map(parse_node)
                .collect()
        } else if let Some(last) = headers.x_real_ip.last() {
            vec![parse_node(last)]
        } else {
            Vec::new()
        };
        let mut client = peer;
        for hop in chain.into_iter().rev() {
            match hop {
                // A value the trusted proxy could not have written: stop at
                // the last address we can vouch for.
                None => return client,
                Some(ip) => {
                    client = canonical(ip);
                    if !self.is_trusted(client) {
                        return client;
                    }
                }
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses become IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The `for=` node of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("for") {
            parse_node(value)
        } else {
            None
        }
    })
}

/// Parses `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`,
/// optionally quoted. Anything else (`unknown`, `_hidden`, garbage) is `None`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"').trim();
    if s.len() > 64 {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inner, _) = rest.split_once(']')?;
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver() -> ClientIpResolver {
        ClientIpResolver::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ])
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn no_trusted_proxies_means_the_peer() {
        let r = ClientIpResolver::default();
        let h = ForwardingHeaders {
            x_forwarded_for: vec!["1.1.1.1"],
            ..Default::default()
        };
        assert_eq!(r.resolve(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for() {
        let h = ForwardingHeaders {
            forwarded: vec![
                "for=192.0.2.60;proto=http;by=203.0.113.43",
                "for=\"[2001:db8:cafe::17]:4711\", for=10.0.0.5",
            ],
            x_forwarded_for: vec!["9.9.9.9"],
            ..Default::default()
        };
        assert_eq!(
            resolver().resolve(ip("10.0.0.1"), &h),
            ip("2001:db8:cafe::17")
        );
    }

    #[test]
    fn spoofed_left_entries_are_ignored() {
        let h = ForwardingHeaders {
            x_forwarded_for: vec!["1.2.3.4", "5.6.7.8:999, 10.1.1.1"],
            ..Default::default()
        };
        assert_eq!(resolver().resolve(ip("10.0.0.1"), &h), ip("5.6.7.8"));
    }

    #[test]
    fn malformed_values_never_crash_or_help() {
        for bad in [
            "",
            "garbage",
            "unknown",
            "999.1.1.1",
            "[::1",
            "a:b:c",
            "for=",
            &"9".repeat(10_000),
        ] {
            let h = ForwardingHeaders {
                x_forwarded_for: vec![bad],
                forwarded: vec![bad],
                x_real_ip: vec![bad],
            };
            // Falls back to the last trusted hop: the peer.
            assert_eq!(
                resolver().resolve(ip("10.0.0.1"), &h),
                ip("10.0.0.1"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn x_real_ip_is_used_last() {
        let h = ForwardingHeaders {
            x_real_ip: vec!["198.51.100.1"],
            ..Default::default()
        };
        assert_eq!(
            resolver().resolve(ip("::ffff:10.0.0.1"), &h),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn all_trusted_chain_gives_the_leftmost() {
        let h = ForwardingHeaders {
            x_forwarded_for: vec!["10.0.0.9, 10.0.0.8"],
            ..Default::default()
        };
        assert_eq!(resolver().resolve(ip("10.0.0.1"), &h), ip("10.0.0.9"));
    }
}

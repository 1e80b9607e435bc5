//! Client IP resolution: the socket peer, unless it is a trusted proxy, and
//! then the one header that proxy writes, read from the right.
//!
//! With `trusted_proxies` empty (the default) the peer address is the client
//! and every forwarding header is ignored. Otherwise, when the peer is a
//! trusted proxy, only `client_ip_header` is read (default
//! `x-forwarded-for`): its addresses are walked from the right, skipping
//! trusted proxies, and the first untrusted address is the client. Left of
//! it, values are whatever the client chose to send, so they are never read;
//! every other forwarding header (`Forwarded`, `X-Real-IP`, …) is ignored,
//! since the proxy passes a client's own copy through untouched.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a `[::]` listener
//! sees of an IPv4 client) are IPv4 everywhere: [`canonical_ip`].
//!
//! ```
//! use loginguard_core::client_ip::ClientIpResolver;
//!
//! let resolver = ClientIpResolver::new(vec!["10.0.0.0/8".parse().unwrap()], "x-forwarded-for");
//! let header: &[&[u8]] = &[b"6.6.6.6, 198.51.100.7, 10.0.0.2"];
//! // The peer is a trusted proxy: walk from the right past 10.0.0.2.
//! assert_eq!(resolver.resolve("10.0.0.1".parse().unwrap(), header.iter().copied()).to_string(), "198.51.100.7");
//! // An untrusted peer's headers are ignored.
//! assert_eq!(resolver.resolve("203.0.113.1".parse().unwrap(), header.iter().copied()).to_string(), "203.0.113.1");
//! ```

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::policy::Policy;

/// The header read when none is named: what nginx, HAProxy and AWS ALB
/// append to.
pub const DEFAULT_CLIENT_IP_HEADER: &str = "x-forwarded-for";

/// Longest single address value considered; longer ones are garbage.
const MAX_NODE_LEN: usize = 64;

/// How the named header lists addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// RFC 7239 `Forwarded`: `for=` parameters of comma-separated elements.
    Forwarded,
    /// Comma-separated addresses (`X-Forwarded-For`), or one address
    /// (`X-Real-IP`, `CF-Connecting-IP`, …), which is a list of one.
    List,
}

/// Resolves the client IP from the peer address and the trusted proxy's
/// header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIpResolver {
    trusted: Vec<IpNet>,
    header: String,
    format: Format,
}

impl Default for ClientIpResolver {
    /// No trusted proxy: the peer is always the client.
    fn default() -> ClientIpResolver {
        ClientIpResolver::new(Vec::new(), DEFAULT_CLIENT_IP_HEADER)
    }
}

impl ClientIpResolver {
    /// A resolver believing `header` (any case) only from `trusted_proxies`.
    pub fn new(trusted_proxies: Vec<IpNet>, header: &str) -> ClientIpResolver {
        let header = header.trim().to_ascii_lowercase();
        let format = if header == "forwarded" {
            Format::Forwarded
        } else {
            Format::List
        };
        ClientIpResolver {
            trusted: trusted_proxies,
            header,
            format,
        }
    }

    /// The resolver of a policy: its `trusted_proxies` and
    /// `client_ip_header`.
    pub fn from_policy(policy: &Policy) -> ClientIpResolver {
        ClientIpResolver::new(policy.trusted_proxies.clone(), &policy.client_ip_header)
    }

    /// The lower-case name of the one header read.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// Whether any proxy is trusted (otherwise no header is ever read).
    pub fn trusts_any(&self) -> bool {
        !self.trusted.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client IP of a request from `peer` whose [`header`](Self::header)
    /// has `values` (every occurrence, in order; raw bytes, since a client
    /// may put anything on the left). Never fails: values the trusted proxy
    /// could not have written stop the walk at the last address vouched for.
    pub fn resolve<'a>(&self, peer: IpAddr, values: impl IntoIterator<Item = &'a [u8]>) -> IpAddr {
        let peer = canonical_ip(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        // Lossy, not strict: a garbage byte an attacker put on the left of
        // a header must not hide the proxy's entries on the right.
        let values: Vec<Cow<'a, str>> = values.into_iter().map(String::from_utf8_lossy).collect();
        let hops = values.iter().flat_map(|v| v.split(','));
        let mut client = peer;
        for hop in hops.rev() {
            let node = match self.format {
                Format::Forwarded => forwarded_for(hop),
                Format::List => parse_node(hop),
            };
            match node {
                None => return client,
                Some(ip) => {
                    client = canonical_ip(ip);
                    if !self.is_trusted(client) {
                        return client;
                    }
                }
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) become IPv4; every other
/// address is unchanged.
///
/// ```
/// use loginguard_core::client_ip::canonical_ip;
///
/// assert_eq!(canonical_ip("::ffff:192.0.2.1".parse().unwrap()).to_string(), "192.0.2.1");
/// assert_eq!(canonical_ip("2001:db8::1".parse().unwrap()).to_string(), "2001:db8::1");
/// ```
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Appends `ip` as its `Display` form writes it, without the formatting
/// machinery for IPv4 (this runs for every attempt and every proxied
/// request).
///
/// ```
/// let mut out = String::new();
/// loginguard_core::client_ip::push_ip(&mut out, "10.20.3.40".parse().unwrap());
/// assert_eq!(out, "10.20.3.40");
/// ```
pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + (octet / 10) % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{v6}");
        }
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
    if s.len() > MAX_NODE_LEN {
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

    fn resolver(header: &str) -> ClientIpResolver {
        ClientIpResolver::new(
            vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            header,
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn resolve(r: &ClientIpResolver, peer: &str, values: &[&str]) -> IpAddr {
        r.resolve(ip(peer), values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn no_trusted_proxies_means_the_peer() {
        let r = ClientIpResolver::default();
        assert_eq!(resolve(&r, "10.0.0.1", &["1.1.1.1"]), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_is_read_only_when_named() {
        let values = [
            "for=192.0.2.60;proto=http;by=203.0.113.43",
            "for=\"[2001:db8:cafe::17]:4711\", for=10.0.0.5",
        ];
        assert_eq!(
            resolve(&resolver("forwarded"), "10.0.0.1", &values),
            ip("2001:db8:cafe::17")
        );
        // The same values under the default header are not addresses: the
        // walk stops at the peer.
        assert_eq!(
            resolve(&resolver("x-forwarded-for"), "10.0.0.1", &values),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn spoofed_left_entries_are_ignored() {
        let r = resolver("x-forwarded-for");
        assert_eq!(
            resolve(&r, "10.0.0.1", &["1.2.3.4", "5.6.7.8:999, 10.1.1.1"]),
            ip("5.6.7.8")
        );
    }

    #[test]
    fn single_address_headers_are_a_list_of_one() {
        let r = resolver("cf-connecting-ip");
        assert_eq!(
            resolve(&r, "10.0.0.1", &["198.51.100.1"]),
            ip("198.51.100.1")
        );
        // Header names are matched in any case.
        assert_eq!(
            ClientIpResolver::new(vec![], "X-Real-IP").header(),
            "x-real-ip"
        );
    }

    #[test]
    fn malformed_values_never_crash_or_help() {
        for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
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
                // Falls back to the last trusted hop: the peer.
                assert_eq!(
                    resolve(&resolver(header), "10.0.0.1", &[bad]),
                    ip("10.0.0.1"),
                    "{header}: {bad:?}"
                );
            }
        }
    }

    #[test]
    fn non_utf8_garbage_on_the_left_does_not_hide_the_right() {
        let r = resolver("x-forwarded-for");
        let values: [&[u8]; 1] = [b"\xff\xfe, 198.51.100.7"];
        assert_eq!(r.resolve(ip("10.0.0.1"), values), ip("198.51.100.7"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let r = resolver("x-forwarded-for");
        // A mapped trusted peer is trusted; a mapped client is IPv4.
        assert_eq!(
            resolve(&r, "::ffff:10.0.0.1", &["::ffff:198.51.100.1"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            ClientIpResolver::default().resolve(ip("::ffff:203.0.113.9"), []),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn all_trusted_chain_gives_the_leftmost() {
        assert_eq!(
            resolve(
                &resolver("x-forwarded-for"),
                "10.0.0.1",
                &["10.0.0.9, 10.0.0.8"]
            ),
            ip("10.0.0.9")
        );
    }
}

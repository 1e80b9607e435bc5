//! From a request's peer address and headers to the engine's [`Attempt`]:
//! the client IP by the client-IP rules, the user agent cut to length, the
//! method and the path. Every integration builds its attempts here.

use std::net::IpAddr;

use loginguard_core::client_ip::canonical_ip;
use loginguard_core::{Attempt, ClientIpResolver};

/// Longest user agent kept, in characters; the rest is cut off.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// Read access to a request's headers, whatever the framework's header map.
///
/// Implemented for [`http::HeaderMap`]; a framework on other types
/// implements it on a wrapper of its own map.
pub trait HeaderLookup {
    /// Every value of the header `name` (lower-case), in order of appearance.
    fn values(&self, name: &str) -> Vec<&[u8]>;

    /// The first value of the header `name` (lower-case).
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.values(name).first().copied()
    }
}

impl HeaderLookup for http::HeaderMap {
    fn values(&self, name: &str) -> Vec<&[u8]> {
        self.get_all(name).iter().map(|v| v.as_bytes()).collect()
    }

    fn first(&self, name: &str) -> Option<&[u8]> {
        // The one looked up for every attempt, by its constant: no name
        // to parse.
        let value = if name == "user-agent" {
            self.get(http::header::USER_AGENT)
        } else {
            self.get(name)
        };
        value.map(|v| v.as_bytes())
    }
}

/// Whether `method` is one the guards let through unjudged unless told
/// otherwise (`guard_safe_methods`): GET, HEAD, OPTIONS, TRACE.
///
/// ```
/// assert!(loginguard_http::is_safe_method("GET"));
/// assert!(!loginguard_http::is_safe_method("POST"));
/// ```
pub fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// The client IP of a request from `peer`: the peer itself, unless it is
/// one of `resolver`'s trusted proxies, and then the address that proxy
/// wrote in the one header `resolver` names.
///
/// ```
/// use http::HeaderMap;
/// use loginguard_core::ClientIpResolver;
/// use loginguard_http::client_ip;
///
/// let resolver = ClientIpResolver::new(vec!["127.0.0.1/32".parse().unwrap()], "x-forwarded-for");
/// let mut headers = HeaderMap::new();
/// headers.insert("forwarded", "for=203.0.113.66".parse().unwrap()); // the client's own: ignored
/// headers.insert("x-forwarded-for", "6.6.6.6, 198.51.100.7".parse().unwrap());
/// assert_eq!(client_ip("127.0.0.1".parse().unwrap(), &headers, &resolver).to_string(), "198.51.100.7");
/// ```
pub fn client_ip(peer: IpAddr, headers: &impl HeaderLookup, resolver: &ClientIpResolver) -> IpAddr {
    if !resolver.is_trusted(peer) {
        // Not read at all: an untrusted client's headers cost nothing.
        return canonical_ip(peer);
    }
    resolver.resolve(peer, headers.values(resolver.header()))
}

/// The `User-Agent` of a request, cut to [`MAX_USER_AGENT_CHARS`]
/// characters (invalid UTF-8 replaced).
pub fn user_agent(headers: &impl HeaderLookup) -> Option<String> {
    let raw = headers.first("user-agent")?;
    let text = String::from_utf8_lossy(raw);
    Some(text.chars().take(MAX_USER_AGENT_CHARS).collect())
}

/// The [`Attempt`] of a request, without its username: method, path,
/// client IP ([`client_ip`]; none when the peer is unknown, since headers
/// alone are never believed) and user agent ([`user_agent`]).
///
/// ```
/// use http::HeaderMap;
/// use loginguard_core::ClientIpResolver;
/// use loginguard_http::attempt_of;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("user-agent", "curl/8".parse().unwrap());
/// let peer = Some("::ffff:192.0.2.1".parse().unwrap());
/// let attempt = attempt_of("POST", "/login", peer, &headers, &ClientIpResolver::default());
/// assert_eq!(attempt.ip.unwrap().to_string(), "192.0.2.1");
/// assert_eq!(attempt.user_agent.as_deref(), Some("curl/8"));
/// ```
pub fn attempt_of(
    method: &str,
    path: &str,
    peer: Option<IpAddr>,
    headers: &impl HeaderLookup,
    resolver: &ClientIpResolver,
) -> Attempt {
    let mut attempt = Attempt::new(method, path);
    if let Some(peer) = peer {
        attempt = attempt.ip(client_ip(peer, headers, resolver));
    }
    if let Some(ua) = user_agent(headers) {
        attempt = attempt.user_agent(ua);
    }
    attempt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_headers;

    fn trusting(header: &str) -> ClientIpResolver {
        ClientIpResolver::new(vec!["127.0.0.0/8".parse().unwrap()], header)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// What a client sends through nginx with
    /// `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`: its
    /// own forwarding headers, plus the entry nginx appends.
    fn spoofed() -> http::HeaderMap {
        test_headers(&[
            ("forwarded", "for=203.0.113.1"),
            ("x-real-ip", "203.0.113.2"),
            ("x-forwarded-for", "203.0.113.3, 198.51.100.9"),
        ])
    }

    #[test]
    fn only_the_named_header_is_read() {
        let h = spoofed();
        let peer = ip("127.0.0.1");
        assert_eq!(
            client_ip(peer, &h, &trusting("x-forwarded-for")),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_ip(peer, &h, &trusting("x-real-ip")),
            ip("203.0.113.2")
        );
        assert_eq!(
            client_ip(peer, &h, &trusting("forwarded")),
            ip("203.0.113.1")
        );
        // A header the request lacks: the proxy itself is the client.
        assert_eq!(client_ip(peer, &h, &trusting("cf-connecting-ip")), peer);
    }

    #[test]
    fn untrusted_peers_headers_are_ignored() {
        let h = spoofed();
        assert_eq!(
            client_ip(ip("192.0.2.7"), &h, &trusting("x-forwarded-for")),
            ip("192.0.2.7")
        );
    }

    #[test]
    fn no_peer_means_no_ip_even_with_headers() {
        let a = attempt_of(
            "POST",
            "/login",
            None,
            &spoofed(),
            &trusting("x-forwarded-for"),
        );
        assert_eq!(a.ip, None);
    }

    #[test]
    fn user_agent_is_cut() {
        let long = "a".repeat(10_000);
        let mut h = http::HeaderMap::new();
        h.insert("user-agent", long.parse().unwrap());
        assert_eq!(user_agent(&h).unwrap().len(), MAX_USER_AGENT_CHARS);
    }
}

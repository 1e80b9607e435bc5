//! From an HTTP request to the engine's [`Attempt`]: the client IP (socket
//! peer plus trusted forwarding headers), user agent, method and path.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::connect_info::MockConnectInfo;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use loginguard_core::client_ip::{ClientIpResolver, ForwardingHeaders};
use loginguard_core::Attempt;

/// Longest user agent kept, in characters; the rest is cut off.
const MAX_USER_AGENT_CHARS: usize = 256;

static WARNED_NO_PEER: AtomicBool = AtomicBool::new(false);

/// The client IP of a request: the socket peer from
/// [`ConnectInfo<SocketAddr>`](ConnectInfo) (or axum's `MockConnectInfo`
/// in tests), walked back through `Forwarded` / `X-Forwarded-For` /
/// `X-Real-IP` only when the peer is one of `resolver`'s trusted proxies.
///
/// `None` when the request carries no connect info: serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()`. Forwarding headers
/// alone are never believed, since nothing vouches for them.
pub fn client_ip(parts: &Parts, resolver: &ClientIpResolver) -> Option<IpAddr> {
    let peer = peer_addr(parts)?;
    if !resolver.is_trusted(peer) {
        return Some(peer);
    }
    let values = |name: &str| -> Vec<Cow<'_, str>> {
        parts
            .headers
            .get_all(name)
            .iter()
            // Lossy, not strict: a garbage byte an attacker put on the left
            // of a header must not hide the proxy's entries on the right.
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect()
    };
    let forwarded = values("forwarded");
    let x_forwarded_for = values("x-forwarded-for");
    let x_real_ip = values("x-real-ip");
    let headers = ForwardingHeaders {
        forwarded: forwarded.iter().map(|v| v.as_ref()).collect(),
        x_forwarded_for: x_forwarded_for.iter().map(|v| v.as_ref()).collect(),
        x_real_ip: x_real_ip.iter().map(|v| v.as_ref()).collect(),
    };
    Some(resolver.resolve(peer, &headers))
}

fn peer_addr(parts: &Parts) -> Option<IpAddr> {
    if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        return Some(addr.ip());
    }
    if let Some(MockConnectInfo(addr)) = parts.extensions.get::<MockConnectInfo<SocketAddr>>() {
        return Some(addr.ip());
    }
    if !WARNED_NO_PEER.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "loginguard",
            "request without ConnectInfo<SocketAddr>: the client IP is unknown and IP criteria \
             are not counted; serve the app with `into_make_service_with_connect_info::<SocketAddr>()`"
        );
    }
    None
}

/// The [`Attempt`] of a request, without its username: method, path,
/// client IP ([`client_ip`]) and user agent (cut to 256 characters).
///
/// ```
/// use axum::http::Request;
/// use loginguard_axum::attempt_from_parts;
/// use loginguard_core::ClientIpResolver;
///
/// let (parts, ()) = Request::post("/login").header("user-agent", "curl/8").body(()).unwrap().into_parts();
/// let attempt = attempt_from_parts(&parts, &ClientIpResolver::default());
/// assert_eq!(attempt.path, "/login");
/// assert_eq!(attempt.user_agent.as_deref(), Some("curl/8"));
/// assert_eq!(attempt.ip, None); // no ConnectInfo in this request
/// ```
pub fn attempt_from_parts(parts: &Parts, resolver: &ClientIpResolver) -> Attempt {
    let mut attempt = Attempt::new(parts.method.as_str(), parts.uri.path());
    if let Some(ip) = client_ip(parts, resolver) {
        attempt = attempt.ip(ip);
    }
    if let Some(ua) = user_agent(&parts.headers) {
        attempt = attempt.user_agent(ua);
    }
    attempt
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(axum::http::header::USER_AGENT)?;
    let text = String::from_utf8_lossy(raw.as_bytes());
    Some(text.chars().take(MAX_USER_AGENT_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: Option<&str>, headers: &[(&str, &[u8])]) -> Parts {
        let mut req = Request::post("/login");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        if let Some(peer) = peer {
            parts
                .extensions
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        parts
    }

    fn trusting(net: &str) -> ClientIpResolver {
        ClientIpResolver::new(vec![net.parse().unwrap()])
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let p = parts(Some("203.0.113.5:4000"), &[("x-forwarded-for", b"1.1.1.1")]);
        assert_eq!(
            client_ip(&p, &trusting("10.0.0.0/8")),
            Some("203.0.113.5".parse().unwrap())
        );
    }

    #[test]
    fn trusted_proxy_is_walked_past() {
        let p = parts(
            Some("10.0.0.1:4000"),
            &[("x-forwarded-for", b"6.6.6.6, 198.51.100.7")],
        );
        assert_eq!(
            client_ip(&p, &trusting("10.0.0.0/8")),
            Some("198.51.100.7".parse().unwrap())
        );
    }

    #[test]
    fn non_ascii_garbage_on_the_left_does_not_hide_the_right() {
        let p = parts(
            Some("10.0.0.1:4000"),
            &[("x-forwarded-for", b"\xff\xfe, 198.51.100.7")],
        );
        assert_eq!(
            client_ip(&p, &trusting("10.0.0.0/8")),
            Some("198.51.100.7".parse().unwrap())
        );
    }

    #[test]
    fn mock_connect_info_is_read() {
        let mut p = parts(None, &[]);
        p.extensions.insert(MockConnectInfo(
            "192.0.2.1:1".parse::<SocketAddr>().unwrap(),
        ));
        assert_eq!(
            client_ip(&p, &ClientIpResolver::default()),
            Some("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn no_connect_info_means_unknown_even_with_headers() {
        let p = parts(None, &[("x-forwarded-for", b"1.1.1.1")]);
        assert_eq!(client_ip(&p, &trusting("0.0.0.0/0")), None);
    }

    #[test]
    fn user_agent_is_cut() {
        let long = "a".repeat(10_000);
        let p = parts(None, &[("user-agent", long.as_bytes())]);
        let attempt = attempt_from_parts(&p, &ClientIpResolver::default());
        assert_eq!(attempt.user_agent.unwrap().len(), MAX_USER_AGENT_CHARS);
    }
}

//! From an axum request to the engine's [`Attempt`]: the socket peer from
//! `ConnectInfo`, then the shared client-IP rules of [`loginguard_http`].

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::connect_info::MockConnectInfo;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use loginguard_core::client_ip::ClientIpResolver;
use loginguard_core::Attempt;

static WARNED_NO_PEER: AtomicBool = AtomicBool::new(false);

/// The client IP of a request: the socket peer from
/// [`ConnectInfo<SocketAddr>`](ConnectInfo) (or axum's `MockConnectInfo`
/// in tests), and when that peer is one of `resolver`'s trusted proxies,
/// the address it wrote in the one header `resolver` names
/// (`client_ip_header`), read from the right. Other forwarding headers are
/// ignored.
///
/// `None` when the request carries no connect info: serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()`. Forwarding headers
/// alone are never believed, since nothing vouches for them.
pub fn client_ip(parts: &Parts, resolver: &ClientIpResolver) -> Option<IpAddr> {
    let peer = peer_addr(parts)?;
    Some(loginguard_http::client_ip(peer, &parts.headers, resolver))
}

/// Whether the request's socket peer is one of `resolver`'s trusted proxies.
pub(crate) fn peer_is_trusted(parts: &Parts, resolver: &ClientIpResolver) -> bool {
    peer_addr(parts).is_some_and(|peer| resolver.is_trusted(peer))
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
/// client IP ([`client_ip`]) and user agent (cut to 256 characters), as
/// [`loginguard_http::attempt_of`] builds it.
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
    loginguard_http::attempt_of(
        parts.method.as_str(),
        parts.uri.path(),
        peer_addr(parts),
        &parts.headers,
        resolver,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: Option<&str>, headers: &[(&str, &str)]) -> Parts {
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

    fn trusting(net: &str, header: &str) -> ClientIpResolver {
        ClientIpResolver::new(vec![net.parse().unwrap()], header)
    }

    #[test]
    fn trusted_proxy_is_walked_past_in_the_named_header_only() {
        let p = parts(
            Some("10.0.0.1:4000"),
            &[
                ("forwarded", "for=203.0.113.1"),
                ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
            ],
        );
        assert_eq!(
            client_ip(&p, &trusting("10.0.0.0/8", "x-forwarded-for")),
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
        let p = parts(None, &[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(
            client_ip(&p, &trusting("0.0.0.0/0", "x-forwarded-for")),
            None
        );
    }

    #[test]
    fn mapped_peer_is_ipv4() {
        let p = parts(Some("[::ffff:192.0.2.9]:4000"), &[]);
        assert_eq!(
            attempt_from_parts(&p, &ClientIpResolver::default()).ip,
            Some("192.0.2.9".parse().unwrap())
        );
    }
}

//! From an actix request to the engine's [`Attempt`]: client IP (socket
//! peer, walked back through trusted forwarding headers), user agent,
//! method and path.

use std::borrow::Cow;

use actix_web::HttpRequest;
use loginguard_core::client_ip::{ClientIpResolver, ForwardingHeaders};
use loginguard_core::Attempt;

/// Longest user agent kept, in characters (as the axum layer keeps).
const MAX_USER_AGENT_CHARS: usize = 256;

/// The [`Attempt`] of a request, without its username.
///
/// The peer is [`HttpRequest::peer_addr`]; `Forwarded`, `X-Forwarded-For`
/// and `X-Real-IP` are believed only when that peer is one of `resolver`'s
/// trusted proxies. Without a peer (a test request without
/// `TestRequest::peer_addr`) the IP is unknown and IP criteria are not
/// counted.
///
/// ```
/// use actix_web::test::TestRequest;
/// use loginguard_actix::attempt_of;
/// use loginguard_core::ClientIpResolver;
///
/// let req = TestRequest::post().uri("/login").peer_addr("192.0.2.1:5000".parse().unwrap()).to_http_request();
/// let attempt = attempt_of(&req, &ClientIpResolver::default());
/// assert_eq!(attempt.ip, Some("192.0.2.1".parse().unwrap()));
/// assert_eq!(attempt.path, "/login");
/// ```
pub fn attempt_of(req: &HttpRequest, resolver: &ClientIpResolver) -> Attempt {
    let headers = req.headers();
    let mut attempt = Attempt::new(req.method().as_str(), req.path());
    if let Some(peer) = req.peer_addr().map(|a| a.ip()) {
        let ip = if resolver.is_trusted(peer) {
            let values = |name: &str| -> Vec<Cow<'_, str>> {
                headers
                    .get_all(name)
                    // Lossy: garbage on the left must not hide the proxy's
                    // entries on the right.
                    .map(|v| String::from_utf8_lossy(v.as_bytes()))
                    .collect()
            };
            let (fwd, xff, xri) = (
                values("forwarded"),
                values("x-forwarded-for"),
                values("x-real-ip"),
            );
            let forwarding = ForwardingHeaders {
                forwarded: fwd.iter().map(AsRef::as_ref).collect(),
                x_forwarded_for: xff.iter().map(AsRef::as_ref).collect(),
                x_real_ip: xri.iter().map(AsRef::as_ref).collect(),
            };
            resolver.resolve(peer, &forwarding)
        } else {
            peer
        };
        attempt = attempt.ip(ip);
    }
    if let Some(ua) = headers.get("user-agent") {
        let text = String::from_utf8_lossy(ua.as_bytes());
        attempt = attempt.user_agent(text.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
    }
    attempt
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn trusting(net: &str) -> ClientIpResolver {
        ClientIpResolver::new(vec![net.parse().unwrap()])
    }

    fn ip(peer: &str, xff: &[u8], resolver: &ClientIpResolver) -> Option<std::net::IpAddr> {
        let req = TestRequest::post()
            .peer_addr(peer.parse().unwrap())
            .insert_header(("x-forwarded-for", xff))
            .to_http_request();
        attempt_of(&req, resolver).ip
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let got = ip("203.0.113.5:1", b"1.1.1.1", &trusting("10.0.0.0/8"));
        assert_eq!(got, Some("203.0.113.5".parse().unwrap()));
    }

    #[test]
    fn a_trusted_proxy_is_walked_past_from_the_right() {
        let got = ip(
            "10.0.0.1:1",
            b"\xff, 6.6.6.6, 198.51.100.7",
            &trusting("10.0.0.0/8"),
        );
        assert_eq!(got, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn without_a_peer_the_ip_is_unknown_whatever_the_headers() {
        let req = TestRequest::post()
            .insert_header(("x-forwarded-for", "1.1.1.1"))
            .to_http_request();
        assert_eq!(attempt_of(&req, &trusting("0.0.0.0/0")).ip, None);
    }
}

//! From an actix request to the engine's [`Attempt`]: the socket peer, then
//! the shared client-IP and user-agent rules of [`loginguard_http`] over
//! actix-web's header map.

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use loginguard_core::{Attempt, ClientIpResolver};
use loginguard_http::HeaderLookup;

/// actix-web's header map (`http` 0.2 types) as the shared rules read it.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a HeaderMap);

impl HeaderLookup for ActixHeaders<'_> {
    fn values(&self, name: &str) -> Vec<&[u8]> {
        self.0.get_all(name).map(|v| v.as_bytes()).collect()
    }

    fn first(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(|v| v.as_bytes())
    }
}

/// The [`Attempt`] of a request, without its username, as
/// [`loginguard_http::attempt_of`] builds it: method, path, client IP and
/// user agent.
///
/// The peer is [`HttpRequest::peer_addr`]; the `client_ip_header` is
/// believed only when that peer is one of `resolver`'s trusted proxies.
/// Without a peer (a test request without `TestRequest::peer_addr`) the IP
/// is unknown and IP criteria are not counted.
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
    loginguard_http::attempt_of(
        req.method().as_str(),
        req.path(),
        req.peer_addr().map(|a| a.ip()),
        &ActixHeaders(req.headers()),
        resolver,
    )
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn trusting(net: &str) -> ClientIpResolver {
        ClientIpResolver::new(vec![net.parse().unwrap()], "x-forwarded-for")
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

    #[test]
    fn the_user_agent_is_cut_as_everywhere() {
        let long = "a".repeat(10_000);
        let req = TestRequest::post()
            .insert_header(("user-agent", long))
            .to_http_request();
        let ua = attempt_of(&req, &ClientIpResolver::default()).user_agent;
        assert_eq!(
            ua.map(|u| u.len()),
            Some(loginguard_http::MAX_USER_AGENT_CHARS)
        );
    }
}

//! Forwarding one request to the upstream and its answer back, streamed
//! both ways: hop-by-hop headers handled per RFC 9110, `X-Forwarded-*` set
//! for the upstream, upgrades (WebSocket) spliced, failures turned into a
//! 502 or 504 page.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use loginguard_core::ClientIpResolver;

use crate::pool::Pool;
use crate::upstream::Upstream;

/// Headers that belong to one connection and are never forwarded
/// (RFC 9110 section 7.6.1), besides those the `Connection` header names.
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
];

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Sends requests to the upstream over a pool of kept-alive connections.
#[derive(Debug)]
pub(crate) struct Forwarder {
    pool: Pool,
    upstream: Upstream,
    resolver: ClientIpResolver,
    response_timeout: Duration,
}

impl Forwarder {
    pub(crate) fn new(
        upstream: Upstream,
        resolver: ClientIpResolver,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Forwarder {
        Forwarder {
            pool: Pool::new(&upstream, connect_timeout),
            upstream,
            resolver,
            response_timeout,
        }
    }

    /// The upstream's answer to `req`, or a 502/504 page when there is none;
    /// the client is the `ConnectInfo<SocketAddr>` of the request.
    pub(crate) async fn forward(&self, req: Request<Body>) -> Response<Body> {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        self.forward_from(req, peer).await
    }

    /// The upstream's answer to `req` from the client at `peer`, or a
    /// 502/504 page when there is none.
    pub(crate) async fn forward_from(
        &self,
        mut req: Request<Body>,
        peer: Option<IpAddr>,
    ) -> Response<Body> {
        let upgrade = upgrade_protocol(req.headers());
        let client_upgrade = match upgrade {
            Some(_) => req.extensions_mut().remove::<OnUpgrade>(),
            None => None,
        };
        // Only `Accept` is needed to answer a failure; keep just that.
        let accept = req.headers().get(header::ACCEPT).cloned();
        prepare_request_headers(req.headers_mut(), upgrade.as_ref(), peer, &self.resolver);

        let sent = tokio::time::timeout(self.response_timeout, self.pool.send(req)).await;
        let mut res = match sent {
            Ok(Ok(res)) => res,
            Ok(Err(error)) => {
                tracing::warn!(target: "loginguard::proxy", upstream = %self.upstream, %error, "upstream request failed");
                let message = format!("The application at {} could not be reached.", self.upstream);
                return self.failure(false, &message, accept);
            }
            Err(_) => {
                tracing::warn!(target: "loginguard::proxy", upstream = %self.upstream, timeout = ?self.response_timeout, "upstream timed out");
                let message = format!(
                    "The application at {} did not answer within {}.",
                    self.upstream,
                    humantime::format_duration(self.response_timeout)
                );
                return self.failure(true, &message, accept);
            }
        };
        let switching = res.status() == http::StatusCode::SWITCHING_PROTOCOLS;
        if switching {
            if let (Some(client_side), Some(upstream_side)) =
                (client_upgrade, res.extensions_mut().remove::<OnUpgrade>())
            {
                tokio::spawn(splice(client_side, upstream_side));
            }
        }
        let upgrade_back = if switching {
            upgrade_protocol(res.headers())
        } else {
            None
        };
        strip_hop_by_hop(res.headers_mut());
        if let Some(protocol) = upgrade_back {
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            res.headers_mut().insert(header::UPGRADE, protocol);
        }
        res.map(Body::new)
    }

    fn failure(
        &self,
        timed_out: bool,
        message: &str,
        accept: Option<HeaderValue>,
    ) -> Response<Body> {
        let mut negotiation = HeaderMap::new();
        if let Some(accept) = accept {
            negotiation.insert(header::ACCEPT, accept);
        }
        loginguard_http::upstream_error(timed_out, message, &negotiation).map(Body::from)
    }
}

/// Copies bytes both ways between the client's and the upstream's upgraded
/// connections until either side closes.
async fn splice(client: OnUpgrade, upstream: OnUpgrade) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(pair) => pair,
        Err(error) => {
            tracing::debug!(target: "loginguard::proxy", %error, "upgrade failed");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut upstream = TokioIo::new(upstream);
    if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        tracing::debug!(target: "loginguard::proxy", %error, "upgraded connection ended");
    }
}

/// The `Upgrade` protocol of a request or response asking to switch
/// protocols (`Connection: upgrade` and an `Upgrade` header).
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let wants = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    wants
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// Removes the hop-by-hop headers and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Usually there is none: a look at the names is enough. The headers
    // `Connection` names are only removed when there is a `Connection`.
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The request headers the upstream gets: hop-by-hop ones removed (an
/// upgrade's own kept), and `X-Forwarded-For`, `-Proto` and `-Host` set,
/// appended to a trusted proxy's values, replacing an untrusted client's.
fn prepare_request_headers(
    headers: &mut HeaderMap,
    upgrade: Option<&HeaderValue>,
    peer: Option<IpAddr>,
    resolver: &ClientIpResolver,
) {
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol.clone());
    }
    let trusted = peer.is_some_and(|ip| resolver.is_trusted(ip));
    // The chain: a trusted proxy's entries, then the peer.
    let mut chain = String::new();
    if trusted {
        for earlier in headers.get_all(&X_FORWARDED_FOR) {
            let Ok(earlier) = earlier.to_str() else {
                continue;
            };
            let earlier = earlier.trim();
            if earlier.is_empty() {
                continue;
            }
            if !chain.is_empty() {
                chain.push_str(", ");
            }
            chain.push_str(earlier);
        }
    }
    if let Some(ip) = peer {
        if !chain.is_empty() {
            chain.push_str(", ");
        }
        loginguard_core::client_ip::push_ip(
            &mut chain,
            loginguard_core::client_ip::canonical_ip(ip),
        );
    }
    if chain.is_empty() {
        headers.remove(&X_FORWARDED_FOR);
    } else if let Ok(value) = HeaderValue::try_from(chain) {
        headers.insert(&X_FORWARDED_FOR, value);
    } else {
        headers.remove(&X_FORWARDED_FOR);
    }
    if !trusted || !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    }
    if !trusted || !headers.contains_key(&X_FORWARDED_HOST) {
        match headers.get(header::HOST).cloned() {
            Some(host) => {
                headers.insert(&X_FORWARDED_HOST, host);
            }
            None => {
                headers.remove(&X_FORWARDED_HOST);
            }
        }
    }
}

/// The forwarding step as a cloneable tower service, for the login layer
/// to wrap.
#[derive(Debug, Clone)]
pub(crate) struct Forward(pub(crate) Arc<Forwarder>);

impl tower::Service<Request<Body>> for Forward {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let forwarder = self.0.clone();
        Box::pin(async move { Ok(forwarder.forward(req).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn resolver() -> ClientIpResolver {
        ClientIpResolver::new(vec!["10.0.0.0/8".parse().unwrap()], "x-forwarded-for")
    }

    #[test]
    fn hop_by_hop_headers_are_dropped_and_end_to_end_ones_kept() {
        let mut h = headers(&[
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("x-private", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("cookie", "a=b"),
            ("host", "app.example"),
        ]);
        prepare_request_headers(
            &mut h,
            None,
            Some("192.0.2.1".parse().unwrap()),
            &resolver(),
        );
        for gone in [
            "connection",
            "keep-alive",
            "x-private",
            "te",
            "transfer-encoding",
        ] {
            assert!(!h.contains_key(gone), "{gone}");
        }
        assert_eq!(h["cookie"], "a=b");
        assert_eq!(h["host"], "app.example");
    }

    #[test]
    fn an_untrusted_clients_forwarding_headers_are_replaced() {
        let mut h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("host", "app.example"),
        ]);
        prepare_request_headers(
            &mut h,
            None,
            Some("192.0.2.1".parse().unwrap()),
            &resolver(),
        );
        assert_eq!(h["x-forwarded-for"], "192.0.2.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "app.example");
    }

    #[test]
    fn a_trusted_proxys_values_are_appended_to() {
        let mut h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-for", "10.1.1.1"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "www.example"),
            ("host", "app.internal"),
        ]);
        prepare_request_headers(
            &mut h,
            None,
            Some("::ffff:10.0.0.1".parse().unwrap()),
            &resolver(),
        );
        assert_eq!(h["x-forwarded-for"], "198.51.100.7, 10.1.1.1, 10.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "www.example");
    }

    #[test]
    fn an_upgrade_keeps_its_own_headers() {
        let mut h = headers(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        let protocol = upgrade_protocol(&h);
        assert_eq!(
            protocol.as_ref().map(|v| v.as_bytes()),
            Some(&b"websocket"[..])
        );
        prepare_request_headers(&mut h, protocol.as_ref(), None, &resolver());
        assert_eq!(h["connection"], "upgrade");
        assert_eq!(h["upgrade"], "websocket");
        assert!(upgrade_protocol(&headers(&[("upgrade", "websocket")])).is_none());
    }
}

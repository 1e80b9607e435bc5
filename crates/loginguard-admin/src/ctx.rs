//! Facts about a request the handlers need: the mount path the router
//! serves under, and the client IP of an admin sign-in.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, NestedPath};
use axum::http::request::Parts;
use loginguard_core::client_ip::ForwardingHeaders;

use crate::state::AdminState;

static WARNED_NO_PEER: AtomicBool = AtomicBool::new(false);

/// The mount path without a trailing slash (`""` at the root, `/admin`
/// when nested there): the configured one, else axum's `NestedPath`.
pub(crate) fn base_path(state: &AdminState, parts: &Parts) -> String {
    if let Some(base) = state.base_path() {
        return base.to_owned();
    }
    parts
        .extensions
        .get::<NestedPath>()
        .map(|p| p.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// `base` joined with an absolute `path` inside the UI (`"/"` gives the
/// dashboard).
pub(crate) fn url(base: &str, path: &str) -> String {
    match (base.is_empty(), path) {
        (true, _) => path.to_owned(),
        (false, "/") => base.to_owned(),
        (false, _) => format!("{base}{path}"),
    }
}

/// The `Path` attribute of the session cookie.
pub(crate) fn cookie_path(base: &str) -> &str {
    if base.is_empty() {
        "/"
    } else {
        base
    }
}

/// The client IP: the socket peer, walked back through forwarding headers
/// only when the peer is a trusted proxy. A request without connect info
/// counts as `0.0.0.0`, so wrong passwords are still counted (on one
/// shared key) rather than not at all.
pub(crate) fn client_ip(state: &AdminState, parts: &Parts) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| {
            parts
                .extensions
                .get::<MockConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        });
    let Some(peer) = peer else {
        if !WARNED_NO_PEER.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "loginguard::admin",
                "no ConnectInfo<SocketAddr>: admin sign-ins share one counter; serve with into_make_service_with_connect_info"
            );
        }
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    let resolver = state.resolver();
    if !resolver.is_trusted(peer) {
        return peer;
    }
    let values = |name: &str| -> Vec<String> {
        parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    };
    let (forwarded, xff, real) = (
        values("forwarded"),
        values("x-forwarded-for"),
        values("x-real-ip"),
    );
    let headers = ForwardingHeaders {
        forwarded: forwarded.iter().map(String::as_str).collect(),
        x_forwarded_for: xff.iter().map(String::as_str).collect(),
        x_real_ip: real.iter().map(String::as_str).collect(),
    };
    resolver.resolve(peer, &headers)
}

/// The `User-Agent`, cut to 256 characters.
pub(crate) fn user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_mount() {
        assert_eq!(url("", "/"), "/");
        assert_eq!(url("", "/locked"), "/locked");
        assert_eq!(url("/admin", "/"), "/admin");
        assert_eq!(url("/admin", "/locked"), "/admin/locked");
        assert_eq!(cookie_path(""), "/");
        assert_eq!(cookie_path("/ops/admin"), "/ops/admin");
    }
}

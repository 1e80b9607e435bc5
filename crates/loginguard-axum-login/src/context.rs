//! [`LoginContext`]: the extractor that carries a login request's
//! attempt context (client IP, user agent, method, path) into the
//! credentials, since `AuthnBackend::authenticate` sees no request.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;

use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Request, Uri};
use loginguard_core::{Attempt, ClientIpResolver};

use crate::answer::Slot;
use crate::credentials::Guarded;

/// What [`LoginGuardBackend`](crate::LoginGuardBackend) needs of the
/// request: its method, path, headers and socket peer. Extract it in the
/// login handler and wrap the credentials with [`with`](Self::with):
///
/// ```
/// # use loginguard_axum_login::LoginContext;
/// # #[derive(Clone)] struct Credentials;
/// # fn f(context: LoginContext, creds: Credentials) {
/// let creds = context.with(creds); // pass this to `auth_session.authenticate`
/// # let _ = creds; }
/// ```
///
/// The client IP is resolved in the backend, with loginguard's rules (the
/// socket peer; from a `trusted_proxies` peer, the address it wrote in
/// `client_ip_header`), exactly as the axum layer resolves it. Serve
/// the app with `into_make_service_with_connect_info::<SocketAddr>()`, or
/// the IP is unknown and IP criteria are not counted.
#[derive(Clone)]
pub struct LoginContext {
    parts: Parts,
}

impl fmt::Debug for LoginContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers may hold cookies: only the request line is shown.
        f.debug_struct("LoginContext")
            .field("method", &self.parts.method)
            .field("path", &self.parts.uri.path())
            .finish_non_exhaustive()
    }
}

impl LoginContext {
    /// The context of a request with these parts.
    pub fn from_parts(parts: &Parts) -> LoginContext {
        let mut copy = Request::new(()).into_parts().0;
        copy.method = parts.method.clone();
        copy.uri = parts.uri.clone();
        copy.version = parts.version;
        copy.headers = parts.headers.clone();
        if let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            copy.extensions.insert(*peer);
        }
        if let Some(peer) = parts.extensions.get::<MockConnectInfo<SocketAddr>>() {
            copy.extensions.insert(*peer);
        }
        if let Some(slot) = parts.extensions.get::<Slot>() {
            copy.extensions.insert(slot.clone());
        }
        LoginContext { parts: copy }
    }

    /// Credentials carrying this context, for
    /// [`LoginGuardBackend`](crate::LoginGuardBackend).
    pub fn with<C>(self, credentials: C) -> Guarded<C> {
        Guarded::new(self, credentials)
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The request headers (the lockout response is negotiated with them).
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The attempt, without a username: method, path, client IP (resolved
    /// by `resolver` with [`loginguard_axum::attempt_from_parts`]), user agent.
    pub fn attempt(&self, resolver: &ClientIpResolver) -> Attempt {
        loginguard_axum::attempt_from_parts(&self.parts, resolver)
    }
}

impl LoginContext {
    /// Hands `response` to the request's [`RefusalLayer`](crate::RefusalLayer),
    /// if it has one.
    pub(crate) fn refuse_with(&self, response: &http::Response<bytes::Bytes>) {
        if let Some(slot) = self.parts.extensions.get::<Slot>() {
            slot.put(response);
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LoginContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(LoginContext::from_parts(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_keeps_what_the_attempt_needs() {
        let (mut parts, ()) = Request::post("/login?next=/")
            .header("user-agent", "curl/8")
            .header("x-forwarded-for", "198.51.100.7")
            .body(())
            .unwrap()
            .into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        let context = LoginContext::from_parts(&parts);
        let trusting =
            ClientIpResolver::new(vec!["10.0.0.0/8".parse().unwrap()], "x-forwarded-for");
        let attempt = context.attempt(&trusting);
        assert_eq!(attempt.method, "POST");
        assert_eq!(attempt.path, "/login");
        assert_eq!(attempt.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(attempt.ip, Some("198.51.100.7".parse().unwrap()));
        let untrusting = ClientIpResolver::default();
        assert_eq!(
            context.attempt(&untrusting).ip,
            Some("10.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn debug_shows_no_headers() {
        let (parts, ()) = Request::post("/login")
            .header("cookie", "id=secret")
            .body(())
            .unwrap()
            .into_parts();
        let shown = format!("{:?}", LoginContext::from_parts(&parts));
        assert!(!shown.contains("secret"), "{shown}");
    }
}

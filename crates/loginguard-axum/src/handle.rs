//! [`LoginGuardHandle`]: an extractor for handlers that call the engine
//! themselves instead of sitting behind [`LoginGuardLayer`](crate::LoginGuardLayer).
//!
//! ```
//! use std::sync::Arc;
//! use axum::{response::{IntoResponse, Response}, routing::post, Extension, Form, Router, http::StatusCode};
//! use loginguard_axum::LoginGuardHandle;
//! use loginguard_core::{Decision, Guard, MemoryStore, Policy, Verdict};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//!
//! async fn login(handle: LoginGuardHandle, Form(f): Form<Login>) -> Response {
//!     let ticket = match handle.begin(Some(&f.username)).await {
//!         Ok(Decision::Proceed(ticket)) => ticket,
//!         Ok(Decision::Refused(lockout)) => return handle.lockout_response(&lockout),
//!         Err(bad) => return (StatusCode::BAD_REQUEST, bad.to_string()).into_response(),
//!     };
//!     if f.password == "wonderland" {
//!         handle.success(ticket).await;
//!         StatusCode::OK.into_response()
//!     } else {
//!         match handle.failure(ticket).await {
//!             Verdict::LockedOut(lockout) => handle.lockout_response(&lockout),
//!             _ => StatusCode::UNAUTHORIZED.into_response(),
//!         }
//!     }
//! }
//!
//! let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
//! let app: Router = Router::new().route("/login", post(login)).layer(Extension(guard));
//! ```

use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use loginguard_core::{ClientIpResolver, Guard, Lockout};
use loginguard_http::AttemptHandle;

use crate::ip::attempt_from_parts;

/// The engine plus this request's attempt (IP, user agent, method, path).
/// Extracted from an `Extension(Arc<Guard>)` on the router. `begin`,
/// `success`, `failure`, `guard` and `attempt` are those of the
/// framework-neutral [`AttemptHandle`] it derefs to.
#[derive(Debug, Clone)]
pub struct LoginGuardHandle {
    inner: AttemptHandle,
}

impl std::ops::Deref for LoginGuardHandle {
    type Target = AttemptHandle;

    fn deref(&self) -> &AttemptHandle {
        &self.inner
    }
}

impl LoginGuardHandle {
    /// The response the layer would send for `lockout`, negotiated with
    /// this request's `Accept` header.
    pub fn lockout_response(&self, lockout: &Lockout) -> Response {
        self.inner.lockout_response(lockout).map(Body::from)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LoginGuardHandle {
    type Rejection = MissingGuard;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let guard = parts
            .extensions
            .get::<Arc<Guard>>()
            .cloned()
            .ok_or(MissingGuard)?;
        let resolver = ClientIpResolver::from_policy(guard.policy());
        let attempt = attempt_from_parts(parts, &resolver);
        Ok(LoginGuardHandle {
            inner: AttemptHandle::new(guard, attempt, &parts.headers),
        })
    }
}

/// The rejection when no `Arc<Guard>` extension is on the router: a 500
/// saying what to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingGuard;

impl std::fmt::Display for MissingGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "Can't extract LoginGuardHandle. Is `.layer(Extension(Arc<Guard>))` on the router?",
        )
    }
}

impl std::error::Error for MissingGuard {}

impl IntoResponse for MissingGuard {
    fn into_response(self) -> Response {
        let mut res = self.to_string().into_response();
        *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        res
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::connect_info::MockConnectInfo;
    use axum::http::Request;
    use axum::routing::post;
    use axum::{Extension, Router};
    use loginguard_core::{Decision, MemoryStore, Policy, Verdict};
    use tower::ServiceExt;

    use super::*;

    async fn login(handle: LoginGuardHandle, body: String) -> Response {
        let ticket = match handle.begin(Some("alice")).await {
            Ok(Decision::Proceed(ticket)) => ticket,
            Ok(Decision::Refused(lockout)) => return handle.lockout_response(&lockout),
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        };
        if body == "wonderland" {
            handle.success(ticket).await;
            StatusCode::OK.into_response()
        } else {
            match handle.failure(ticket).await {
                Verdict::LockedOut(lockout) => handle.lockout_response(&lockout),
                _ => StatusCode::UNAUTHORIZED.into_response(),
            }
        }
    }

    #[tokio::test]
    async fn a_handler_can_drive_the_engine_itself() {
        let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
        let app = Router::new()
            .route("/login", post(login))
            .layer(Extension(guard))
            .layer(MockConnectInfo(
                "192.0.2.7:1".parse::<SocketAddr>().unwrap(),
            ));
        let mut statuses = Vec::new();
        for password in ["a", "b", "c", "wonderland"] {
            let req = Request::post("/login")
                .header(header::ACCEPT, "application/json")
                .body(Body::from(password))
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            statuses.push(res.status().as_u16());
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
            }
        }
        assert_eq!(statuses, [401, 401, 429, 429]);
    }

    #[tokio::test]
    async fn without_the_extension_the_rejection_says_what_to_add() {
        let app = Router::new().route("/login", post(login));
        let res = app
            .oneshot(Request::post("/login").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("Extension(Arc<Guard>)"));
    }
}

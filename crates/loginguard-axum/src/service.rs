//! [`LoginGuard`]: the tower [`Service`] made by
//! [`LoginGuardLayer`](crate::LoginGuardLayer).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use tower::Service;

use crate::layer::Settings;
use crate::protect::{protect, Guarded};

/// Refuses locked-out attempts before `S` sees them, then records the
/// outcome `S` reports. Made by [`LoginGuardLayer`](crate::LoginGuardLayer).
#[derive(Clone)]
pub struct LoginGuard<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S: fmt::Debug> fmt::Debug for LoginGuard<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginGuard")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<S> LoginGuard<S> {
    pub(crate) fn new(inner: S, settings: Arc<Settings>) -> LoginGuard<S> {
        LoginGuard { inner, settings }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<Request<Body>> for LoginGuard<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    // Faults of the store become responses, never errors.
    type Error = S::Error;
    type Future = Guarded<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // Keep the service that poll_ready made ready; leave a clone behind.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        protect(self.settings.clone(), req, inner)
    }
}

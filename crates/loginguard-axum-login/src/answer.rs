//! Answering a refusal without the handler's help: [`RefusalLayer`] sends
//! the response the backend decided on (the lockout response, or a 400 for
//! an unusable username), whatever the login handler answered, so a
//! handler written as axum-login's examples write it
//! (`Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response()`) stays
//! as it is.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Request, Response};
use bytes::Bytes;
use tower::{Layer, Service};

/// Where the backend leaves the refusal of the request it judged.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot(Arc<Mutex<Option<http::Response<Bytes>>>>);

impl Slot {
    /// Keeps a copy of `response` for the layer to send.
    pub(crate) fn put(&self, response: &http::Response<Bytes>) {
        let mut copy = http::Response::new(response.body().clone());
        *copy.status_mut() = response.status();
        *copy.headers_mut() = response.headers().clone();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(copy);
        }
    }

    fn take(&self) -> Option<http::Response<Bytes>> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// A layer for the login route (or the whole router): when
/// [`LoginGuardBackend`](crate::LoginGuardBackend) refused the request's
/// login, the client gets loginguard's answer instead of the handler's.
///
/// ```
/// use axum::{routing::post, Router};
/// use loginguard_axum_login::RefusalLayer;
///
/// async fn login() -> &'static str { "..." }
/// let app: Router = Router::new().route("/login", post(login)).layer(RefusalLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RefusalLayer;

impl RefusalLayer {
    /// The layer.
    pub fn new() -> RefusalLayer {
        RefusalLayer
    }
}

impl<S> Layer<S> for RefusalLayer {
    type Service = RefusalService<S>;

    fn layer(&self, inner: S) -> RefusalService<S> {
        RefusalService { inner }
    }
}

/// The service of [`RefusalLayer`].
#[derive(Debug, Clone)]
pub struct RefusalService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for RefusalService<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let slot = Slot::default();
        req.extensions_mut().insert(slot.clone());
        let future = self.inner.call(req);
        Box::pin(async move {
            let response = future.await?;
            Ok(match slot.take() {
                Some(refusal) => refusal.map(Body::from),
                None => response,
            })
        })
    }
}

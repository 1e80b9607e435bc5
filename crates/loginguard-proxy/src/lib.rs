//! loginguard-proxy: protect the login of any web app, in any language,
//! with no code change. A reverse proxy stands in front of the app, guards
//! its login paths exactly as the axum layer guards a route, and streams
//! every other request through untouched.
//!
//! - **Login paths** (POST and every other unsafe method): the username is
//!   read from the form or JSON body, the attempt is judged before the app
//!   sees it (a locked-out attempt never reaches the app), the outcome is
//!   read from the app's answer with the outcome rules of a [`Preset`] or
//!   of the policy, and a refusal gets the layer's lockout response. It is
//!   the axum layer ([`loginguard_axum::LoginGuardLayer`]) itself in front
//!   of the forwarding step, so the proxy and the layer cannot disagree.
//!   Paths are compared in their [`normal_path`] form.
//! - **Everything else** streams both ways without buffering (uploads,
//!   downloads, chunked bodies, server-sent events, WebSocket upgrades);
//!   hop-by-hop headers are dropped per RFC 9110 and `X-Forwarded-For`,
//!   `-Proto` and `-Host` are set for the app.
//! - **Upstream down or slow**: 502 or 504, nothing counted.
//!
//! ```no_run
//! use std::sync::Arc;
//! use loginguard_core::{MemoryStore, Policy};
//! use loginguard_proxy::{LoginPath, Preset, Proxy, ProxyOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut options = ProxyOptions::new("http://127.0.0.1:8000".parse()?);
//! options.login_paths = vec![LoginPath::new("/accounts/login/")];
//! options.preset = Some(Preset::Django);
//! let proxy = Proxy::new(options, Policy::default(), Arc::new(MemoryStore::new()))?;
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! proxy.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod forward;
mod path;
mod pool;
mod preset;
mod serve;
mod upstream;
mod workers;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use loginguard_axum::{LoginGuard, LoginGuardLayer};
use loginguard_core::{ClientIpResolver, Guard, Metrics, Policy, PolicyError, Store};
use loginguard_http::OutcomeRules;
use tower::{Layer, ServiceExt};

use crate::forward::{Forward, Forwarder};

pub use path::normal_path;
pub use preset::{Preset, UnknownPreset};
pub use upstream::{BadUpstream, Upstream};
pub use workers::Listeners;

/// Longest wait for a TCP connection to the upstream, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest wait for the upstream's response headers, by default.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// One guarded login path, optionally counted in a scope of its own
/// (a password form, a password reset and an OTP step each lock apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPath {
    /// The path, e.g. `/accounts/login/`.
    pub path: String,
    /// The scope its attempts count in; `None`: the policy's `scope`.
    pub scope: Option<String>,
}

impl LoginPath {
    /// `path`, in the policy's scope.
    pub fn new(path: impl Into<String>) -> LoginPath {
        LoginPath {
            path: path.into(),
            scope: None,
        }
    }

    /// The same path, counted in `scope`.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> LoginPath {
        self.scope = Some(scope.into());
        self
    }
}

/// A login path written `PATH` or `PATH=SCOPE`.
///
/// ```
/// use loginguard_proxy::LoginPath;
///
/// let otp: LoginPath = "/otp/=otp".parse().unwrap();
/// assert_eq!(otp, LoginPath::new("/otp/").scope("otp"));
/// assert!("accounts/login".parse::<LoginPath>().is_err());
/// ```
impl FromStr for LoginPath {
    type Err = ProxyError;

    fn from_str(s: &str) -> Result<LoginPath, ProxyError> {
        let (path, scope) = match s.rsplit_once('=') {
            Some((path, scope)) => (path.trim(), Some(scope.trim())),
            None => (s.trim(), None),
        };
        if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProxyError::BadLoginPath(s.to_owned()));
        }
        let login = LoginPath::new(path);
        Ok(match scope {
            Some(scope) => login.scope(scope),
            None => login,
        })
    }
}

impl fmt::Display for LoginPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(scope) => write!(f, "{}={scope}", self.path),
            None => f.write_str(&self.path),
        }
    }
}

/// What the proxy does, besides the lockout policy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProxyOptions {
    /// The app behind the proxy.
    pub upstream: Upstream,
    /// The paths whose unsafe requests are guarded (at least one).
    pub login_paths: Vec<LoginPath>,
    /// The outcome rules of a known app, on top of the policy's own rules
    /// (`failure_statuses`, `failure_location`, …); `None`: the policy's
    /// rules alone.
    pub preset: Option<Preset>,
    /// Longest wait for a connection to the upstream (default 5 s).
    pub connect_timeout: Duration,
    /// Longest wait for the upstream's response headers (default 60 s).
    pub response_timeout: Duration,
}

impl ProxyOptions {
    /// Options for `upstream`, with no login path yet and the default
    /// timeouts.
    pub fn new(upstream: Upstream) -> ProxyOptions {
        ProxyOptions {
            upstream,
            login_paths: Vec::new(),
            preset: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
    }

    /// The outcome rules in force: the policy's, with the preset's on top.
    pub fn outcome_rules(&self, policy: &Policy) -> OutcomeRules {
        let configured = OutcomeRules::from_policy(policy);
        match self.preset {
            Some(preset) => preset.rules_on(configured),
            None => configured,
        }
    }
}

/// Why a proxy could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// No login path was given.
    #[error(
        "no login path: give at least one with --login-path (e.g. --login-path /accounts/login/)"
    )]
    NoLoginPath,
    /// A login path that is not an absolute path.
    #[error("login path {0:?} is not an absolute path: write it /PATH or /PATH=SCOPE, e.g. /accounts/login/")]
    BadLoginPath(String),
    /// A login path's scope makes an invalid policy.
    #[error("login path {path}: {source}")]
    Scope {
        /// The login path.
        path: String,
        /// What the policy says.
        #[source]
        source: PolicyError,
    },
    /// Serving failed (the listener broke).
    #[error("the proxy stopped: {0}")]
    Serve(#[from] std::io::Error),
}

/// The reverse proxy: its router and the counters of its guards.
#[derive(Debug, Clone)]
pub struct Proxy {
    dispatch: Arc<Dispatch>,
    parts: Arc<Parts>,
    metrics: Arc<Metrics>,
    store: Arc<dyn Store>,
}

/// What a [`Dispatch`] is made of, kept to make one per worker: each
/// worker has its own upstream connections, while the guards (and so the
/// counters and the store) are shared.
#[derive(Debug)]
struct Parts {
    upstream: Upstream,
    resolver: ClientIpResolver,
    connect_timeout: Duration,
    response_timeout: Duration,
    /// Each login path in its normal form, once, with its guard's layer.
    logins: Vec<(String, LoginGuardLayer)>,
}

impl Parts {
    /// A dispatch with upstream connections of its own.
    fn dispatch(&self) -> Dispatch {
        let forward = Forward(Arc::new(Forwarder::new(
            self.upstream.clone(),
            self.resolver.clone(),
            self.connect_timeout,
            self.response_timeout,
        )));
        let logins = self
            .logins
            .iter()
            .map(|(path, layer)| (path.clone(), layer.layer(forward.clone())))
            .collect();
        Dispatch { logins, forward }
    }
}

/// Which service answers a request: a login path's guarded forwarding, or
/// plain forwarding.
#[derive(Debug)]
struct Dispatch {
    /// Each login path in its normal form, once (a handful: a list is
    /// quicker to search than a hash map).
    logins: Vec<(String, LoginGuard<Forward>)>,
    forward: Forward,
}

impl Dispatch {
    /// The guard of `path`, when it is a login path.
    fn login(&self, path: &str) -> Option<&LoginGuard<Forward>> {
        let find = |wanted: &str| {
            self.logins
                .iter()
                .find(|(login, _)| login == wanted)
                .map(|(_, guard)| guard)
        };
        match path::already_normal(path) {
            Some(plain) => find(plain),
            None => find(&normal_path(path)),
        }
    }

    /// The answer to `req` from the client at `peer`.
    async fn handle(&self, mut req: Request, peer: SocketAddr) -> Response<Body> {
        match self.login(req.uri().path()).cloned() {
            Some(guarded) => {
                req.extensions_mut().insert(ConnectInfo(peer));
                match guarded.oneshot(req).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                }
            }
            None => self.forward.0.forward_from(req, Some(peer.ip())).await,
        }
    }
}

impl Proxy {
    /// A proxy guarding `options.login_paths` with `policy` on `store`.
    pub fn new(
        options: ProxyOptions,
        policy: Policy,
        store: Arc<dyn Store>,
    ) -> Result<Proxy, ProxyError> {
        if options.login_paths.is_empty() {
            return Err(ProxyError::NoLoginPath);
        }
        let metrics = Arc::new(Metrics::default());
        let rules = options.outcome_rules(&policy);
        let mut guards: HashMap<String, Arc<Guard>> = HashMap::new();
        let mut logins: Vec<(String, LoginGuardLayer)> = Vec::new();
        for login in &options.login_paths {
            if !login.path.starts_with('/') {
                return Err(ProxyError::BadLoginPath(login.path.clone()));
            }
            let scoped = match &login.scope {
                Some(scope) => {
                    policy
                        .to_builder()
                        .scope(scope.clone())
                        .build()
                        .map_err(|source| ProxyError::Scope {
                            path: login.path.clone(),
                            source,
                        })?
                }
                None => policy.clone(),
            };
            let guard = guards
                .entry(scoped.scope.clone())
                .or_insert_with(|| {
                    Arc::new(
                        Guard::builder(scoped, store.clone())
                            .metrics(metrics.clone())
                            .build(),
                    )
                })
                .clone();
            let layer = LoginGuardLayer::new(guard).outcome_rules(rules.clone());
            let path = normal_path(&login.path);
            match logins.iter_mut().find(|(known, _)| *known == path) {
                Some(known) => known.1 = layer,
                None => logins.push((path, layer)),
            }
        }
        let parts = Arc::new(Parts {
            upstream: options.upstream,
            resolver: ClientIpResolver::from_policy(&policy),
            connect_timeout: options.connect_timeout,
            response_timeout: options.response_timeout,
            logins,
        });
        Ok(Proxy {
            dispatch: Arc::new(parts.dispatch()),
            parts,
            metrics,
            store,
        })
    }

    /// The proxy as an axum router. Serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()`: the client IP
    /// comes from the socket.
    pub fn router(&self) -> Router {
        Router::new()
            .fallback(dispatch)
            .with_state(self.dispatch.clone())
    }

    /// The proxy's own `GET /healthz` (200 when the store answers, else
    /// 503) and `GET /metrics` (Prometheus), for a listener of their own
    /// that the upstream app cannot shadow.
    pub fn ops_router(&self) -> Router {
        let store = self.store.clone();
        Router::new()
            .route(
                "/metrics",
                loginguard_admin::metrics::route(self.metrics.clone()),
            )
            .route(
                "/healthz",
                get(move || {
                    let store = store.clone();
                    async move {
                        match store.health().await {
                            Ok(_) => (StatusCode::OK, "ok\n").into_response(),
                            Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n"))
                                .into_response(),
                        }
                    }
                }),
            )
    }

    /// The counters of every login path's guard.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Serves the proxy on `listener` until `shutdown` completes, then
    /// finishes the requests in flight.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ProxyError> {
        serve::serve(self.dispatch, listener, shutdown).await;
        Ok(())
    }

    /// Serves the proxy on `listeners` with one worker thread per listener,
    /// each a single-threaded runtime with its own upstream connections
    /// (as nginx's worker processes: no task moves between threads), until
    /// `shutdown` completes; then every worker finishes its requests in
    /// flight before this returns.
    pub async fn serve_workers(
        self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ProxyError> {
        workers::serve(&self.parts, listeners, shutdown).await?;
        Ok(())
    }
}

async fn dispatch(State(dispatch): State<Arc<Dispatch>>, req: Request) -> Response<Body> {
    match dispatch.login(req.uri().path()).cloned() {
        Some(guarded) => match guarded.oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        },
        None => dispatch.forward.0.forward(req).await,
    }
}

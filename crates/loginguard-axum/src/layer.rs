//! [`LoginGuardLayer`]: the tower [`Layer`] and its options.

use std::fmt;
use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use loginguard_core::{ClientIpResolver, Guard, Lockout};
use loginguard_http::{LockoutPages, OutcomeRules};
use tower::Layer;

use crate::outcome::{Decider, LoginOutcome};
use crate::service::LoginGuard;

pub(crate) type UsernameFn = Arc<dyn Fn(&Parts, &[u8]) -> Option<String> + Send + Sync>;
pub(crate) type ClassifyFn = Arc<dyn Fn(StatusCode) -> LoginOutcome + Send + Sync>;
pub(crate) type ResponderFn = Arc<dyn Fn(&Lockout, &HeaderMap) -> Response + Send + Sync>;

/// Everything a [`LoginGuard`] service needs, shared by its clones.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) guard: Arc<Guard>,
    pub(crate) resolver: ClientIpResolver,
    pub(crate) username: Option<UsernameFn>,
    pub(crate) outcome: Decider,
    pub(crate) responder: Option<ResponderFn>,
    pub(crate) guard_safe_methods: bool,
    pub(crate) pages: LockoutPages,
    /// Read the body before asking the engine ([`Guard::needs_username`]);
    /// otherwise judge first, so a locked-out client costs no body read.
    pub(crate) body_first: bool,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("scope", &self.guard.policy().scope)
            .field("username_closure", &self.username.is_some())
            .field("lockout_closure", &self.responder.is_some())
            .field("guard_safe_methods", &self.guard_safe_methods)
            .field("body_first", &self.body_first)
            .finish_non_exhaustive()
    }
}

/// Guards the login routes it wraps. See the [crate docs](crate) for what
/// it does to each request.
///
/// One layer per guarded endpoint; give each its own policy `scope` (login,
/// OTP, password reset...) and they count separately on one store.
///
/// ```
/// use std::sync::Arc;
/// use axum::{http::StatusCode, routing::post, Router};
/// use loginguard_axum::{LoginGuardLayer, OutcomeRules};
/// use loginguard_core::{Guard, MemoryStore, Policy, Store};
///
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// let login = LoginGuardLayer::new(Guard::new(Policy::default(), store.clone()))
///     // The username is in a header rather than the body:
///     .username_with(|parts, _body| {
///         parts.headers.get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned)
///     })
///     // This handler answers a wrong password with 400:
///     .outcome_rules(OutcomeRules::default().failure_statuses(vec![400, 401]));
/// let otp_policy = Policy::builder().scope("otp".into()).failure_limit(5).build().unwrap();
/// let otp = LoginGuardLayer::new(Guard::new(otp_policy, store));
/// let app: Router = Router::new()
///     .route("/login", post(|| async { StatusCode::OK }).layer(login))
///     .route("/otp", post(|| async { StatusCode::OK }).layer(otp));
/// ```
#[derive(Clone)]
#[must_use = "a layer does nothing until it wraps a service"]
pub struct LoginGuardLayer {
    settings: Settings,
}

impl fmt::Debug for LoginGuardLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginGuardLayer")
            .field("settings", &self.settings)
            .finish()
    }
}

impl LoginGuardLayer {
    /// A layer asking `guard`; the policy's `username_field`,
    /// `trusted_proxies`, `body_limit`, outcome rules and lockout response
    /// settings apply.
    pub fn new(guard: impl Into<Arc<Guard>>) -> LoginGuardLayer {
        let guard = guard.into();
        let resolver = ClientIpResolver::from_policy(guard.policy());
        let pages = LockoutPages::new(guard.policy());
        let rules = OutcomeRules::from_policy(guard.policy());
        let body_first = guard.needs_username();
        LoginGuardLayer {
            settings: Settings {
                guard,
                resolver,
                username: None,
                outcome: Decider::Rules(rules),
                responder: None,
                guard_safe_methods: false,
                pages,
                body_first,
            },
        }
    }

    /// Reads the username with `f` instead of the `username_field` of a
    /// form or JSON body. `f` gets the request head and the body (read up
    /// to `body_limit`, whatever its content type; the handler still gets
    /// it whole). The result is trimmed and checked like any username.
    pub fn username_with(
        mut self,
        f: impl Fn(&Parts, &[u8]) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.settings.username = Some(Arc::new(f));
        self
    }

    /// Decides the outcome of a response that carries no [`LoginOutcome`]
    /// with `rules` instead of the policy's (`failure_statuses`,
    /// `success_statuses`, `failure_location`, `success_cookie`,
    /// `failure_body_text`). See the [crate docs](crate) for their order.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use loginguard_axum::{LoginGuardLayer, OutcomeRules};
    /// use loginguard_core::{Guard, MemoryStore, Policy};
    ///
    /// let guard = Guard::new(Policy::default(), Arc::new(MemoryStore::new()));
    /// // Only a response setting the session cookie is a successful login:
    /// let layer = LoginGuardLayer::new(guard)
    ///     .outcome_rules(OutcomeRules::default().success_cookie(Some("id".into())));
    /// # let _ = layer;
    /// ```
    pub fn outcome_rules(mut self, rules: OutcomeRules) -> Self {
        self.settings.outcome = Decider::Rules(rules);
        self
    }

    /// Decides the outcome from the status alone, with `f`, when the
    /// response carries no [`LoginOutcome`]; the outcome rules are then not
    /// used. Prefer [`outcome_rules`](Self::outcome_rules), which also sees
    /// redirects, cookies and the body.
    pub fn outcome_from_status(
        mut self,
        f: impl Fn(StatusCode) -> LoginOutcome + Send + Sync + 'static,
    ) -> Self {
        self.settings.outcome = Decider::Status(Arc::new(f));
        self
    }

    /// Builds the lockout response with `f` (the refusal and the request
    /// headers) instead of [`lockout_response`](crate::lockout_response).
    /// ⚠️ Answer unknown and existing users alike.
    pub fn lockout_response_with(
        mut self,
        f: impl Fn(&Lockout, &HeaderMap) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.settings.responder = Some(Arc::new(f));
        self
    }

    /// Also guards `GET`, `HEAD`, `OPTIONS` and `TRACE` requests (default
    /// `false`: they pass through, as showing a login form is no attempt).
    /// ⚠️ With this on, a page view counts as an attempt that succeeds: with
    /// `reset_on_success` it would clear the counters. Turn it on only for
    /// routes where a GET really logs in (e.g. a magic-link endpoint).
    pub fn guard_safe_methods(mut self, on: bool) -> Self {
        self.settings.guard_safe_methods = on;
        self
    }

    /// The engine this layer asks.
    pub fn guard(&self) -> &Arc<Guard> {
        &self.settings.guard
    }
}

impl<S> Layer<S> for LoginGuardLayer {
    type Service = LoginGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LoginGuard::new(inner, Arc::new(self.settings.clone()))
    }
}

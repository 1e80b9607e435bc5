//! [`LoginGuard`]: the actix-web middleware factory and its options.

use std::fmt;
use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpRequest, HttpResponse};
use loginguard_core::{ClientIpResolver, Guard, Lockout};
use loginguard_http::{LockoutPages, OutcomeRules};

use crate::service::LoginGuardMiddleware;

pub(crate) type UsernameFn = Arc<dyn Fn(&HttpRequest, &[u8]) -> Option<String> + Send + Sync>;
pub(crate) type ResponderFn = Arc<dyn Fn(&Lockout, &HttpRequest) -> HttpResponse + Send + Sync>;

/// Everything a [`LoginGuardMiddleware`] needs, shared by every worker.
pub(crate) struct Settings {
    pub(crate) guard: Arc<Guard>,
    pub(crate) resolver: ClientIpResolver,
    pub(crate) username: Option<UsernameFn>,
    pub(crate) responder: Option<ResponderFn>,
    pub(crate) rules: OutcomeRules,
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
            .field("rules", &self.rules)
            .field("guard_safe_methods", &self.guard_safe_methods)
            .field("body_first", &self.body_first)
            .finish_non_exhaustive()
    }
}

/// Guards the login routes it wraps (`.wrap(LoginGuard::new(guard))`). See
/// the [crate docs](crate) for what it does to each request.
///
/// One middleware per guarded endpoint; give each its own policy `scope`
/// (login, OTP, password reset...) and they count separately on one store.
///
/// ```
/// use std::sync::Arc;
/// use actix_web::{web, App, HttpResponse};
/// use loginguard_actix::{LoginGuard, OutcomeRules};
/// use loginguard_core::{Guard, MemoryStore, Policy};
///
/// let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
/// let app = App::new().service(
///     web::resource("/login")
///         // This handler answers a wrong password with 400:
///         .wrap(LoginGuard::new(guard).outcome_rules(OutcomeRules::default().failure_statuses(vec![400, 401])))
///         .route(web::post().to(|| async { HttpResponse::Ok() })),
/// );
/// # let _ = app;
/// ```
#[derive(Clone)]
#[must_use = "a middleware does nothing until it wraps a service"]
pub struct LoginGuard {
    settings: Arc<Settings>,
}

impl fmt::Debug for LoginGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginGuard")
            .field("settings", &self.settings)
            .finish()
    }
}

impl LoginGuard {
    /// A middleware asking `guard`; the policy's `username_field`,
    /// `trusted_proxies`, `body_limit`, outcome rules and lockout response
    /// settings apply.
    pub fn new(guard: impl Into<Arc<Guard>>) -> LoginGuard {
        let guard = guard.into();
        let policy = guard.policy();
        let settings = Settings {
            resolver: ClientIpResolver::from_policy(policy),
            pages: LockoutPages::new(policy),
            rules: OutcomeRules::from_policy(policy),
            body_first: guard.needs_username(),
            username: None,
            responder: None,
            guard_safe_methods: false,
            guard,
        };
        LoginGuard {
            settings: Arc::new(settings),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        match Arc::get_mut(&mut self.settings) {
            Some(settings) => f(settings),
            None => {
                let s = &self.settings;
                let mut copy = Settings {
                    guard: s.guard.clone(),
                    resolver: s.resolver.clone(),
                    username: s.username.clone(),
                    responder: s.responder.clone(),
                    rules: s.rules.clone(),
                    guard_safe_methods: s.guard_safe_methods,
                    pages: s.pages.clone(),
                    body_first: s.body_first,
                };
                f(&mut copy);
                self.settings = Arc::new(copy);
            }
        }
        self
    }

    /// Decides the outcome of a response that carries no
    /// [`LoginOutcome`](crate::LoginOutcome) with `rules` instead of the
    /// policy's. Their order is on [`OutcomeRules`].
    pub fn outcome_rules(self, rules: OutcomeRules) -> Self {
        self.edit(|s| s.rules = rules)
    }

    /// Reads the username with `f` instead of the `username_field` of a
    /// form or JSON body. `f` gets the request and the body (read up to
    /// `body_limit`, whatever its content type; the handler still gets it
    /// whole). The result is trimmed and checked like any username.
    pub fn username_with(
        self,
        f: impl Fn(&HttpRequest, &[u8]) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.edit(|s| s.username = Some(Arc::new(f)))
    }

    /// Builds the lockout response with `f` (the refusal and the request)
    /// instead of the shared one (429, `Retry-After`, HTML or JSON).
    /// ⚠️ Answer unknown and existing users alike.
    pub fn lockout_response_with(
        self,
        f: impl Fn(&Lockout, &HttpRequest) -> HttpResponse + Send + Sync + 'static,
    ) -> Self {
        self.edit(|s| s.responder = Some(Arc::new(f)))
    }

    /// Also guards `GET`, `HEAD`, `OPTIONS` and `TRACE` requests (default
    /// `false`: showing a login form is no attempt). ⚠️ With this on, a page
    /// view counts as an attempt that succeeds; turn it on only where a GET
    /// really logs in (a magic-link endpoint).
    pub fn guard_safe_methods(self, on: bool) -> Self {
        self.edit(|s| s.guard_safe_methods = on)
    }

    /// The engine this middleware asks.
    pub fn guard(&self) -> &Arc<Guard> {
        &self.settings.guard
    }
}

impl<S, B> Transform<S, ServiceRequest> for LoginGuard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = LoginGuardMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(LoginGuardMiddleware::new(
            Rc::new(service),
            self.settings.clone(),
        )))
    }
}

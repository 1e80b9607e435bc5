//! [`LoginGuardBackend`]: any `axum_login::AuthnBackend`, with every
//! `authenticate` call counted by loginguard's engine around it.

use std::fmt;
use std::sync::Arc;

use axum_login::{AuthnBackend, AuthzBackend, UserId};
use loginguard_core::{ClientIpResolver, Decision, Guard, Verdict};
use loginguard_http::LockoutPages;

use crate::context::LoginContext;
use crate::credentials::{Guarded, LoginCredentials};
use crate::error::{BadUsername, LoginGuardError, Refusal};

const NOT_UTF8: &str = "username is not valid UTF-8";

/// Wraps the backend `B` so that its `authenticate` is guarded, as
/// django-axes' `AxesBackend` guards Django's authentication backends:
///
/// 1. the attempt (the request's [`LoginContext`](crate::LoginContext) and
///    the credentials' [username](LoginCredentials::username)) is judged
///    and counted **before** `B::authenticate` runs; a locked-out attempt
///    is refused with [`LoginGuardError::LockedOut`] and `B` never sees it
///    (no password hashed, no user looked up, the same answer for unknown
///    users);
/// 2. `Ok(Some(user))` is a success (the count is given back, or the keys
///    reset with `reset_on_success`);
/// 3. `Ok(None)` is a failure; the one that reaches the limit comes back as
///    [`LoginGuardError::LockedOut`] too;
/// 4. `Err` from `B` gives the attempt back (it was no password check).
///
/// A username loginguard cannot use (over `username_max_length`, with
/// control characters, or holding U+FFFD, which is what axum's `Form`
/// makes of bytes that are not UTF-8) is refused with
/// [`LoginGuardError::BadUsername`] before `B` sees it.
///
/// However many requests arrive at once, `B::authenticate` runs at most
/// `failure_limit` times for a key before it is locked.
pub struct LoginGuardBackend<B> {
    inner: B,
    guard: Arc<Guard>,
    resolver: Arc<ClientIpResolver>,
    pages: Arc<LockoutPages>,
}

impl<B: Clone> Clone for LoginGuardBackend<B> {
    fn clone(&self) -> Self {
        LoginGuardBackend {
            inner: self.inner.clone(),
            guard: Arc::clone(&self.guard),
            resolver: Arc::clone(&self.resolver),
            pages: Arc::clone(&self.pages),
        }
    }
}

impl<B> fmt::Debug for LoginGuardBackend<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginGuardBackend")
            .field("inner", &std::any::type_name::<B>())
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl<B> LoginGuardBackend<B> {
    /// Guards `inner` with `guard`; the client IP is resolved with the
    /// guard's `trusted_proxies` and `client_ip_header`, as the axum layer
    /// resolves it.
    pub fn new(inner: B, guard: impl Into<Arc<Guard>>) -> LoginGuardBackend<B> {
        let guard = guard.into();
        let resolver = ClientIpResolver::from_policy(guard.policy());
        let pages = LockoutPages::new(guard.policy());
        LoginGuardBackend {
            inner,
            guard,
            resolver: Arc::new(resolver),
            pages: Arc::new(pages),
        }
    }

    fn bad_username<E>(&self, reason: String, context: &LoginContext) -> LoginGuardError<E> {
        let response = loginguard_http::bad_request(&reason, context.headers());
        context.refuse_with(&response);
        LoginGuardError::BadUsername(BadUsername::new(reason, response))
    }

    /// The inner backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The engine.
    pub fn guard(&self) -> &Arc<Guard> {
        &self.guard
    }
}

impl<B> AuthnBackend for LoginGuardBackend<B>
where
    B: AuthnBackend,
    B::Credentials: LoginCredentials,
{
    type User = B::User;
    type Credentials = Guarded<B::Credentials>;
    type Error = LoginGuardError<B::Error>;

    async fn authenticate(
        &self,
        creds: Self::Credentials,
    ) -> Result<Option<Self::User>, Self::Error> {
        let Guarded {
            context,
            credentials,
        } = creds;
        let policy = self.guard.policy();
        let mut attempt = context.attempt(&self.resolver);
        if let Some(name) = credentials.username() {
            if name.contains(char::REPLACEMENT_CHARACTER) {
                // What a lossy decoder (axum's `Form`) makes of bytes that
                // are not UTF-8: refused, as the layer refuses them.
                return Err(self.bad_username(NOT_UTF8.to_owned(), &context));
            }
            attempt = attempt.username(name);
        }
        if policy.needs_password() {
            if let Some(password) = credentials.password() {
                attempt = attempt.password(password);
            }
        }
        let ticket = match self.guard.begin(attempt).await {
            Ok(Decision::Proceed(ticket)) => ticket,
            Ok(Decision::Refused(lockout)) => {
                let response = self.pages.respond(policy, &lockout, context.headers());
                context.refuse_with(&response);
                return Err(LoginGuardError::LockedOut(Refusal::new(lockout, response)));
            }
            Err(e) => return Err(self.bad_username(e.to_string(), &context)),
        };
        match self.inner.authenticate(credentials).await {
            Ok(Some(user)) => {
                self.guard.success(ticket).await;
                Ok(Some(user))
            }
            Ok(None) => match self.guard.failure(ticket).await {
                Verdict::LockedOut(lockout) => {
                    let response = self.pages.respond(policy, &lockout, context.headers());
                    context.refuse_with(&response);
                    Err(LoginGuardError::LockedOut(Refusal::new(lockout, response)))
                }
                _ => Ok(None),
            },
            Err(e) => {
                self.guard.release(ticket).await;
                Err(LoginGuardError::Backend(e))
            }
        }
    }

    async fn get_user(&self, user_id: &UserId<Self>) -> Result<Option<Self::User>, Self::Error> {
        self.inner
            .get_user(user_id)
            .await
            .map_err(LoginGuardError::Backend)
    }
}

impl<B> AuthzBackend for LoginGuardBackend<B>
where
    B: AuthzBackend,
    B::Credentials: LoginCredentials,
{
    type Permission = B::Permission;

    async fn get_user_permissions(
        &self,
        user: &Self::User,
    ) -> Result<std::collections::HashSet<Self::Permission>, Self::Error> {
        self.inner
            .get_user_permissions(user)
            .await
            .map_err(LoginGuardError::Backend)
    }

    async fn get_group_permissions(
        &self,
        user: &Self::User,
    ) -> Result<std::collections::HashSet<Self::Permission>, Self::Error> {
        self.inner
            .get_group_permissions(user)
            .await
            .map_err(LoginGuardError::Backend)
    }
}

//! The credentials [`LoginGuardBackend`](crate::LoginGuardBackend) takes:
//! the inner backend's own credentials plus the request's [`LoginContext`],
//! and the [`LoginCredentials`] trait that names the username in them.

use crate::context::LoginContext;

/// Credentials that say which user they try to log in as, so that the
/// username criteria count them. Implement it for your backend's
/// credentials type:
///
/// ```
/// use loginguard_axum_login::LoginCredentials;
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Credentials { username: String, password: String }
///
/// impl LoginCredentials for Credentials {
///     fn username(&self) -> Option<&str> {
///         Some(&self.username)
///     }
/// }
/// ```
///
/// Return `None` for credentials without a username (a token, say): the
/// attempt then counts only on criteria that need no username.
pub trait LoginCredentials {
    /// The username as typed; loginguard trims it (and case-folds it with
    /// `username_case_insensitive`).
    fn username(&self) -> Option<&str>;
}

/// Credentials plus the request they came with: what
/// [`LoginGuardBackend::authenticate`](crate::LoginGuardBackend) takes.
/// Made by [`LoginContext::with`].
#[derive(Debug, Clone)]
pub struct Guarded<C> {
    /// The request's context (client IP, user agent, method, path).
    pub context: LoginContext,
    /// The inner backend's credentials.
    pub credentials: C,
}

impl<C> Guarded<C> {
    /// `credentials` sent with the request `context` describes.
    pub fn new(context: LoginContext, credentials: C) -> Guarded<C> {
        Guarded {
            context,
            credentials,
        }
    }
}

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
///     // Lets `ignore_repeated_password` and `spray_limit` hash it.
///     fn password(&self) -> Option<&[u8]> {
///         Some(self.password.as_bytes())
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

    /// The password as submitted, for its keyed hash only
    /// (`ignore_repeated_password`, `spray_limit`); loginguard drops it
    /// before judging the attempt. Default: none, and those two features
    /// see nothing.
    fn password(&self) -> Option<&[u8]> {
        None
    }
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

//! `AdminState`: the store, the policy shown, the admin secrets, the admin
//! sign-in guard and the live sessions, shared by every handler.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use loginguard_core::client_ip::ClientIpResolver;
use loginguard_core::{Clock, Config, Criterion, Field, Guard, Metrics, Policy, Store};

use crate::error::AdminError;
use crate::password;
use crate::session::Sessions;

/// Cool-off of the admin sign-in when the application's policy has none.
pub const DEFAULT_ADMIN_COOL_OFF: Duration = Duration::from_secs(15 * 60);

/// Everything the admin handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AdminState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    policy: Policy,
    password_hash: Option<String>,
    token: Option<String>,
    signin_guard: Guard,
    api_guard: Guard,
    metrics: Arc<Metrics>,
    resolver: ClientIpResolver,
    sessions: Sessions,
    base_path: Option<String>,
    secure_cookie: bool,
    page_size: usize,
}

impl fmt::Debug for AdminState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("AdminState")
            .field("store", &i.store)
            .field("password_hash", &i.password_hash.as_ref().map(|_| "(set)"))
            .field("token", &i.token.as_ref().map(|_| "(set)"))
            .field("base_path", &i.base_path)
            .field("secure_cookie", &i.secure_cookie)
            .finish_non_exhaustive()
    }
}

impl AdminState {
    /// A builder over `store`.
    pub fn builder(store: Arc<dyn Store>) -> AdminBuilder {
        AdminBuilder {
            store,
            policy: Policy::default(),
            password_hash: None,
            token: None,
            admin_policy: None,
            clock: None,
            base_path: None,
            secure_cookie: false,
            session_idle: Duration::from_secs(3600),
            max_sessions: 256,
            page_size: 50,
        }
    }

    /// The admin UI for `config`: its policy is the one shown, its
    /// `admin_password_hash` and `admin_token` are the secrets.
    pub fn from_config(config: &Config, store: Arc<dyn Store>) -> Result<AdminState, AdminError> {
        AdminState::builder(store)
            .policy(config.policy.clone())
            .password_hash(config.admin_password_hash.clone())
            .token(config.admin_token.clone())
            .build()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The application's policy, as shown on the policy page.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The guard counting wrong admin passwords (scope `admin`).
    pub fn signin_guard(&self) -> &Guard {
        &self.inner.signin_guard
    }

    /// The counters of the admin sign-in and API guards.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Whether the sign-in is open (an `admin_password_hash` is configured).
    pub fn is_open(&self) -> bool {
        self.inner.password_hash.is_some()
    }

    /// Whether the JSON API is open (an `admin_token` is configured).
    pub fn api_is_open(&self) -> bool {
        self.inner.token.is_some()
    }

    pub(crate) fn password_hash(&self) -> Option<&str> {
        self.inner.password_hash.as_deref()
    }

    pub(crate) fn token(&self) -> Option<&str> {
        self.inner.token.as_deref()
    }

    pub(crate) fn api_guard(&self) -> &Guard {
        &self.inner.api_guard
    }

    pub(crate) fn resolver(&self) -> &ClientIpResolver {
        &self.inner.resolver
    }

    pub(crate) fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    pub(crate) fn base_path(&self) -> Option<&str> {
        self.inner.base_path.as_deref()
    }

    pub(crate) fn secure_cookie(&self) -> bool {
        self.inner.secure_cookie
    }

    pub(crate) fn page_size(&self) -> usize {
        self.inner.page_size
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.signin_guard.now()
    }
}

/// Builds an [`AdminState`].
#[must_use = "call `build()` to get an AdminState"]
pub struct AdminBuilder {
    store: Arc<dyn Store>,
    policy: Policy,
    password_hash: Option<String>,
    token: Option<String>,
    admin_policy: Option<Policy>,
    clock: Option<Arc<dyn Clock>>,
    base_path: Option<String>,
    secure_cookie: bool,
    session_idle: Duration,
    max_sessions: usize,
    page_size: usize,
}

impl fmt::Debug for AdminBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminBuilder")
            .field("store", &self.store)
            .field("base_path", &self.base_path)
            .finish_non_exhaustive()
    }
}

impl AdminBuilder {
    /// The application's policy, shown read-only on the policy page; the
    /// admin sign-in takes its failure limit, cool-off and trusted proxies
    /// from it (default: [`Policy::default`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The argon2 PHC string of the admin password (default: none, the UI is
    /// closed). Make one with `loginguard admin --hash-password` or
    /// [`hash_password`](crate::hash_password).
    pub fn password_hash(mut self, hash: Option<String>) -> Self {
        self.password_hash = hash;
        self
    }

    /// The bearer token of the JSON API, at least 16 characters (default:
    /// none, the API is closed).
    pub fn token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    /// The policy of the admin sign-in itself (default: scope `admin`,
    /// locked by IP after the application's `failure_limit`, for the
    /// application's cool-off or 15 minutes when it has none). Wrong API
    /// tokens count under the same policy in scope `<scope>-api`.
    pub fn admin_policy(mut self, policy: Policy) -> Self {
        self.admin_policy = Some(policy);
        self
    }

    /// The clock of the admin guards (tests use a `FakeClock`).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The path the router is mounted at, e.g. `/admin` (default: read from
    /// axum's `NestedPath`, or the root). Set it when a proxy strips a prefix.
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = Some(path.into());
        self
    }

    /// ⚠️ Marks the session cookie `Secure` (default `false`). Turn it on
    /// whenever the UI is served over HTTPS.
    pub fn secure_cookie(mut self, on: bool) -> Self {
        self.secure_cookie = on;
        self
    }

    /// A session ends after this long without a request (default 1 hour).
    pub fn session_idle(mut self, idle: Duration) -> Self {
        self.session_idle = idle;
        self
    }

    /// Log entries per page (default 50).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 1000);
        self
    }

    /// Checks the secrets and builds the admin guards.
    pub fn build(self) -> Result<AdminState, AdminError> {
        if let Some(hash) = &self.password_hash {
            password::check_hash(hash)?;
        }
        if self.token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(AdminError::ShortToken);
        }
        if let Some(base) = &self.base_path {
            if !base.is_empty() && (!base.starts_with('/') || base.ends_with('/')) {
                return Err(AdminError::BadBasePath(base.clone()));
            }
        }
        let admin_policy = match self.admin_policy {
            Some(p) => p,
            None => default_admin_policy(&self.policy)?,
        };
        let metrics = Arc::new(Metrics::default());
        let guard = |policy: Policy| {
            let mut b = Guard::builder(policy, self.store.clone()).metrics(metrics.clone());
            if let Some(clock) = &self.clock {
                b = b.clock(SharedClock(clock.clone()));
            }
            b.build()
        };
        // The API counts on its own scope, so a mistyped password does not
        // lock the token out (nor the reverse), and its calls stay out of
        // the access log.
        let api_policy = admin_policy
            .to_builder()
            .scope(format!("{}-api", admin_policy.scope))
            .access_log(false)
            .build()?;
        let resolver = ClientIpResolver::from_policy(&admin_policy);
        Ok(AdminState {
            inner: Arc::new(Inner {
                signin_guard: guard(admin_policy),
                api_guard: guard(api_policy),
                metrics,
                resolver,
                store: self.store,
                policy: self.policy,
                password_hash: self.password_hash,
                token: self.token,
                sessions: Sessions::new(self.session_idle, self.max_sessions),
                base_path: self.base_path,
                secure_cookie: self.secure_cookie,
                page_size: self.page_size,
            }),
        })
    }
}

/// The admin sign-in policy derived from the application's.
fn default_admin_policy(app: &Policy) -> Result<Policy, AdminError> {
    Ok(Policy::builder()
        .scope("admin".to_owned())
        .failure_limit(app.failure_limit.get())
        .cool_off(app.cool_off.unwrap_or(DEFAULT_ADMIN_COOL_OFF))
        .lockout_parameters(vec![Criterion::one(Field::Ip)])
        .trusted_proxies(app.trusted_proxies.clone())
        .client_ip_header(app.client_ip_header.clone())
        .ipv6_prefix(app.ipv6_prefix)
        .log_retention(app.log_retention)
        .build()?)
}

#[derive(Debug)]
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loginguard_core::MemoryStore;

    fn store() -> Arc<dyn Store> {
        Arc::new(MemoryStore::new())
    }

    #[test]
    fn closed_without_a_hash() {
        let s = AdminState::builder(store()).build().unwrap();
        assert!(!s.is_open());
        assert!(!s.api_is_open());
    }

    #[test]
    fn short_tokens_and_bad_hashes_are_refused() {
        assert!(matches!(
            AdminState::builder(store())
                .token(Some("short".into()))
                .build(),
            Err(AdminError::ShortToken)
        ));
        assert!(matches!(
            AdminState::builder(store())
                .password_hash(Some("$argon2id$bad".into()))
                .build(),
            Err(AdminError::BadPasswordHash(_))
        ));
    }

    #[test]
    fn admin_policy_follows_the_application() {
        let app = Policy::builder().failure_limit(7).build().unwrap();
        let s = AdminState::builder(store()).policy(app).build().unwrap();
        let p = s.signin_guard().policy();
        assert_eq!(p.scope, "admin");
        assert_eq!(p.failure_limit.get(), 7);
        assert_eq!(p.cool_off, Some(DEFAULT_ADMIN_COOL_OFF));
    }

    #[test]
    fn debug_hides_secrets() {
        let hash = crate::hash_password("pw").unwrap();
        let s = AdminState::builder(store())
            .password_hash(Some(hash.clone()))
            .token(Some("0123456789abcdef-token".into()))
            .build()
            .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains(&hash) && !shown.contains("0123456789abcdef-token"));
    }
}

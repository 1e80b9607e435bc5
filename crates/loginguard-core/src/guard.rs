//! The engine: turns an attempt into keys, asks the store, and settles the
//! outcome.
//!
//! Call [`Guard::begin`] before checking the password. A
//! [`Decision::Refused`] must be answered with the lockout response and no
//! password check; a [`Decision::Proceed`] carries a [`Ticket`] that you
//! settle with [`Guard::success`] or [`Guard::failure`] once you know.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use loginguard_core::{Attempt, Decision, Guard, MemoryStore, Policy, Verdict};
//!
//! let guard = Guard::new(Policy::default(), Arc::new(MemoryStore::new()));
//! for _ in 0..3 {
//!     let attempt = Attempt::new("POST", "/login").ip("203.0.113.9".parse().unwrap());
//!     match guard.begin(attempt).await.unwrap() {
//!         Decision::Proceed(ticket) => {
//!             // The password was wrong:
//!             let verdict = guard.failure(ticket).await;
//!             # let _ = verdict;
//!         }
//!         Decision::Refused(lockout) => unreachable!("{lockout:?}"),
//!     }
//! }
//! let attempt = Attempt::new("POST", "/login").ip("203.0.113.9".parse().unwrap());
//! assert!(matches!(guard.begin(attempt).await.unwrap(), Decision::Refused(_)));
//! # });
//! ```

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::broadcast;

use crate::audit::{AuditEntry, AuditKind, LogRetention};
use crate::batch::{Begun, KeyRelease, KeyStep};
use crate::clock::{Clock, SystemClock};
use crate::events::{Event, EventBus, Metrics};
use crate::key::{Field, Key, KeyFilter};
use crate::policy::{OnStoreError, Policy};
use crate::record::{from_ms, to_ms, KeyVerdict, Limits, Release, Tag};
use crate::store::{Store, StoreError};
use crate::username::UsernameError;

/// One login try. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// The client IP, after proxy resolution.
    pub ip: Option<IpAddr>,
    /// The username as typed (normalised by [`Guard::begin`]).
    pub username: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The submitted password, for its keyed hash only: [`Guard::begin`]
    /// takes it out of the attempt, so nothing after it can hold it.
    pub password: Option<Password>,
    /// The value of the request's device cookie (`device_cookie_name`), if any.
    pub device_cookie: Option<String>,
}

/// A submitted password on its way to being hashed: `Debug` never shows it
/// and its bytes are wiped when it is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(zeroize::Zeroizing<Vec<u8>>);

impl Password {
    /// Wraps the password's bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Password {
        Password(zeroize::Zeroizing::new(bytes.into()))
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(hidden)")
    }
}

impl Attempt {
    /// An attempt with only a method and a path.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Attempt {
        Attempt {
            ip: None,
            username: None,
            user_agent: None,
            method: method.into(),
            path: path.into(),
            password: None,
            device_cookie: None,
        }
    }

    /// Sets the device cookie the request carried.
    #[must_use]
    pub fn device_cookie(mut self, value: impl Into<String>) -> Attempt {
        self.device_cookie = Some(value.into());
        self
    }

    /// Sets the submitted password (hashed with the policy's `secret` by
    /// [`Guard::begin`], then dropped).
    #[must_use]
    pub fn password(mut self, password: impl Into<Vec<u8>>) -> Attempt {
        self.password = Some(Password::new(password));
        self
    }

    /// Sets the client IP (IPv4-mapped IPv6 addresses become IPv4).
    #[must_use]
    pub fn ip(mut self, ip: IpAddr) -> Attempt {
        self.ip = Some(crate::client_ip::canonical_ip(ip));
        self
    }

    /// Sets the username.
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> Attempt {
        self.username = Some(username.into());
        self
    }

    /// Sets the user agent.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Attempt {
        self.user_agent = Some(user_agent.into());
        self
    }
}

/// Why an attempt was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockReason {
    /// A key reached its failure limit.
    Locked,
    /// The IP is in the deny list.
    DenyListed,
    /// `only_allow_listed` is on and the IP is not allow-listed.
    NotAllowListed,
    /// The store failed and `on_store_error = "deny"`.
    StoreUnavailable,
}

/// A refusal: what to tell the client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lockout {
    /// Why.
    pub reason: LockReason,
    /// The key that is locked, if a key is the reason.
    pub key: Option<Key>,
    /// When the lock ends; `None`: until reset (or not a timed lock).
    pub until: Option<SystemTime>,
    /// Time remaining until `until`, at the time of the verdict.
    pub retry_after: Option<Duration>,
    /// The message for the client (from the policy).
    pub message: String,
}

impl Lockout {
    /// `retry_after` in whole seconds, rounded up, as `Retry-After` wants.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
    }
}

/// What [`Guard::begin`] decides.
#[derive(Debug)]
#[must_use = "a Proceed ticket must be settled with Guard::success or Guard::failure"]
pub enum Decision {
    /// Check the password, then settle the ticket.
    Proceed(Ticket),
    /// Refuse without checking the password.
    Refused(Lockout),
}

/// What [`Guard::failure`] says of a wrong password.
// Returned once per failure and matched at once, never stored: boxing the
// lockout would cost an allocation on the path of every lock.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Still allowed; this many tries remain (`None` if not counted).
    Allowed {
        /// Tries left before a lock.
        remaining: Option<u32>,
    },
    /// This failure reached the limit: answer with the lockout response.
    LockedOut(Lockout),
}

/// An attempt that was counted and must be settled.
#[derive(Debug)]
pub struct Ticket {
    attempt: Attempt,
    time: SystemTime,
    limits: Limits,
    keys: Vec<Counted>,
    bypass: bool,
}

/// A device cookie to set on the response to a successful login
/// ([`Guard::success`]); the HTTP layer adds `HttpOnly`, `SameSite=Lax`
/// and `Secure` unless the request came over plain HTTP.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCookie {
    /// The cookie's name (`device_cookie_name`).
    pub name: String,
    /// Its signed value.
    pub value: String,
    /// `Max-Age` (`device_cookie_max_age`).
    pub max_age: Duration,
}

impl fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCookie")
            .field("name", &self.name)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// One key an attempt was begun on.
#[derive(Debug)]
struct Counted {
    key: Key,
    verdict: KeyVerdict,
    /// The tag the attempt was begun with on this key.
    tag: Option<Tag>,
    /// A password's spray key (its own limits; never reset by a success).
    spray: bool,
}

impl Ticket {
    /// The attempt (with its username normalised).
    pub fn attempt(&self) -> &Attempt {
        &self.attempt
    }

    /// Tries left before a lock (the fewest over all keys); `None` when the
    /// attempt was not counted (allow-listed, disabled, store failing open).
    pub fn remaining(&self) -> Option<u32> {
        self.keys
            .iter()
            .filter(|c| !c.spray)
            .filter_map(|c| match c.verdict {
                KeyVerdict::Allowed { remaining, .. } => Some(remaining),
                KeyVerdict::Locked { .. } => None,
            })
            .min()
    }

    /// Attaches a username learned after [`Guard::begin`] — for the audit
    /// trail and events only: the keys were counted already. Pass it
    /// normalised ([`Policy::normalize_username`]). The axum layer uses this
    /// when [`Guard::needs_username`] is `false`, so that a locked-out
    /// client is refused before its body is read.
    pub fn set_username(&mut self, username: String) {
        self.attempt.username = Some(username);
    }

    /// Whether the attempt bypassed counting.
    pub fn is_bypass(&self) -> bool {
        self.bypass
    }
}

/// Why an attempt could not be judged: bad input from the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptError {
    /// The username is unusable (answer 400).
    #[error(transparent)]
    Username(#[from] UsernameError),
}

type EventCallback = Arc<dyn Fn(&Event) + Send + Sync>;
type AllowHook = Arc<dyn Fn(&Attempt) -> bool + Send + Sync>;
type LimitHook = Arc<dyn Fn(&Attempt) -> Option<NonZeroU32> + Send + Sync>;

/// The lockout engine. Cheap to share: wrap it in an `Arc`.
pub struct Guard {
    policy: Arc<Policy>,
    /// The policy's scope, shared by the keys of every attempt.
    scope: Arc<str>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    events: EventBus,
    metrics: Arc<Metrics>,
    allow_hook: Option<AllowHook>,
    limit_hook: Option<LimitHook>,
    store_down: AtomicBool,
    /// When a full store was last logged (ms); see [`STORE_FULL_LOG_INTERVAL`].
    store_full_logged: AtomicI64,
    refusal_log: RefusalLog,
    next_purge: AtomicI64,
}

/// An attempt's keys. Most policies have one criterion, and one key needs
/// no list.
#[derive(Debug)]
enum Keys {
    None,
    One(Key),
    Many(Vec<Key>),
}

impl Keys {
    fn push(&mut self, key: Key) {
        *self = match std::mem::replace(self, Keys::None) {
            Keys::None => Keys::One(key),
            Keys::One(first) => Keys::Many(vec![first, key]),
            Keys::Many(mut keys) => {
                keys.push(key);
                Keys::Many(keys)
            }
        };
    }

    fn as_slice(&self) -> &[Key] {
        match self {
            Keys::None => &[],
            Keys::One(key) => std::slice::from_ref(key),
            Keys::Many(keys) => keys,
        }
    }
}

impl IntoIterator for Keys {
    type Item = Key;
    type IntoIter = std::iter::Chain<std::option::IntoIter<Key>, std::vec::IntoIter<Key>>;

    fn into_iter(self) -> Self::IntoIter {
        let (one, many) = match self {
            Keys::None => (None, Vec::new()),
            Keys::One(key) => (Some(key), Vec::new()),
            Keys::Many(keys) => (None, keys),
        };
        one.into_iter().chain(many)
    }
}

/// What [`Guard::begin`] does after [`Guard::prepare`].
enum Step {
    /// Let the attempt through uncounted.
    Bypass,
    /// Refuse it before the store is asked.
    Refuse(Lockout),
    /// Count it on its keys.
    Count(Prepared),
}

/// What the store's step of an attempt needs.
struct Prepared {
    now: i64,
    limits: Limits,
    keys: Keys,
    spray: Option<Box<(Key, Tag, Limits)>>,
    repeat: Option<Tag>,
}

/// How often attempts trigger a purge of expired key records: at most once
/// per interval per guard, in a background task, so no request waits for it
/// and no operator action is needed for the key table to shrink back.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// How often a full store ([`StoreError::Full`]) is logged. A full store is
/// not down — the keys it tracks keep answering — so it neither starts nor
/// ends an outage incident; a flood would otherwise log every request.
pub const STORE_FULL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// How often a refused attempt on one key is written to the failure log.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Remembers when a refusal was last written to the failure log, per key,
/// so an attack hammering a locked key writes one row per key per
/// [`REFUSAL_LOG_INTERVAL`] instead of one per request (every refusal is
/// still counted, reported in events and metrics).
#[derive(Debug, Default)]
struct RefusalLog {
    last: parking_lot::Mutex<std::collections::HashMap<String, i64, ahash::RandomState>>,
}

impl RefusalLog {
    const MAX_KEYS: usize = 4096;

    fn should_log(&self, key: &str, now: i64) -> bool {
        let interval = crate::record::duration_ms(REFUSAL_LOG_INTERVAL);
        let mut last = self.last.lock();
        if let Some(t) = last.get_mut(key) {
            if now.saturating_sub(*t) < interval && now >= *t {
                return false;
            }
            *t = now;
            return true;
        }
        if last.len() >= Self::MAX_KEYS {
            last.retain(|_, t| now.saturating_sub(*t) < interval);
            if last.len() >= Self::MAX_KEYS {
                last.clear();
            }
        }
        last.insert(key.to_owned(), now);
        true
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("policy", &self.policy)
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("events", &self.events)
            .field("allow_hook", &self.allow_hook.is_some())
            .field("limit_hook", &self.limit_hook.is_some())
            .finish()
    }
}

/// Builds a [`Guard`] with a clock, hooks and event subscribers.
#[must_use = "call `build()` to get a Guard"]
pub struct GuardBuilder {
    policy: Policy,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    callbacks: Vec<EventCallback>,
    allow_hook: Option<AllowHook>,
    limit_hook: Option<LimitHook>,
    metrics: Option<Arc<Metrics>>,
}

impl fmt::Debug for GuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardBuilder")
            .field("policy", &self.policy)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl GuardBuilder {
    /// Uses `clock` instead of the system clock (tests use [`FakeClock`](crate::FakeClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Calls `f` for every event, synchronously; keep it quick.
    pub fn on_event(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.callbacks.push(Arc::new(f));
        self
    }

    /// A request for which `f` returns `true` is never counted nor locked
    /// (e.g. a user flagged "never lock"). `f` sees the attempt with its
    /// username (normalised) when the request has one: integrations read
    /// the username before judging whenever a hook is set.
    pub fn allow_if(mut self, f: impl Fn(&Attempt) -> bool + Send + Sync + 'static) -> Self {
        self.allow_hook = Some(Arc::new(f));
        self
    }

    /// Chooses the failure limit per request; `None` keeps the policy's.
    /// Like [`allow_if`](Self::allow_if), `f` sees the username.
    pub fn failure_limit_with(
        mut self,
        f: impl Fn(&Attempt) -> Option<NonZeroU32> + Send + Sync + 'static,
    ) -> Self {
        self.limit_hook = Some(Arc::new(f));
        self
    }

    /// Shares counters with other guards (e.g. one per scope on one server).
    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The guard.
    pub fn build(self) -> Guard {
        Guard {
            scope: Arc::from(self.policy.scope.as_str()),
            policy: Arc::new(self.policy),
            store: self.store,
            clock: self.clock,
            events: EventBus::new(self.callbacks),
            metrics: self.metrics.unwrap_or_default(),
            allow_hook: self.allow_hook,
            limit_hook: self.limit_hook,
            store_down: AtomicBool::new(false),
            store_full_logged: AtomicI64::new(i64::MIN),
            refusal_log: RefusalLog::default(),
            next_purge: AtomicI64::new(i64::MIN),
        }
    }
}

/// Whether a lock ending at `until` outlasts the one chosen so far
/// (`None` inside: until reset, which nothing outlasts); the longest lock
/// is the one reported to the client.
fn outlasts(until: Option<i64>, chosen: Option<Option<i64>>) -> bool {
    match chosen {
        None => true,
        Some(None) => false,
        Some(Some(current)) => until.is_none_or(|u| u > current),
    }
}

enum Outcome {
    Success,
    Failure,
}

impl Guard {
    /// A guard with the system clock and no hooks.
    pub fn new(policy: Policy, store: Arc<dyn Store>) -> Guard {
        Guard::builder(policy, store).build()
    }

    /// A builder for clocks, hooks and subscribers.
    pub fn builder(policy: Policy, store: Arc<dyn Store>) -> GuardBuilder {
        GuardBuilder {
            policy,
            store,
            clock: Arc::new(SystemClock),
            callbacks: Vec::new(),
            allow_hook: None,
            limit_hook: None,
            metrics: None,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether judging an attempt needs its username: a lockout criterion
    /// uses it, or an [`allow_if`](GuardBuilder::allow_if) or
    /// [`failure_limit_with`](GuardBuilder::failure_limit_with) hook may
    /// look at it. An integration that can judge before reading the
    /// request body (so a locked-out client costs no body read) may do so
    /// only when this is `false`.
    pub fn needs_username(&self) -> bool {
        self.policy.uses(Field::Username)
            || self.policy.needs_password()
            || self.policy.trusts_devices()
            || self.allow_hook.is_some()
            || self.limit_hook.is_some()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// A channel receiving every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The keys an attempt counts on, one per lockout criterion whose
    /// fields the attempt has (an attempt without a username is counted
    /// only on criteria that do not use the username).
    pub fn keys_for(&self, attempt: &Attempt) -> Vec<Key> {
        self.keys_on(attempt, None).into_iter().collect()
    }

    /// [`Guard::keys_for`] from a trusted device (`device`: its nonce): the
    /// keys that hold the username are that device's own.
    fn keys_on(&self, attempt: &Attempt, device: Option<&str>) -> Keys {
        let p = &self.policy;
        let mut ip = attempt
            .ip
            .map(|ip| crate::username::ip_key(ip, p.ipv6_prefix));
        // The last criterion on the IP takes its text; the others copy it.
        let mut ip_uses = p
            .lockout_parameters
            .iter()
            .filter(|c| c.uses(Field::Ip))
            .count();
        let mut keys = Keys::None;
        let all = p.lockout_parameters.iter().filter_map(|criterion| {
            let (mut k_ip, mut k_user, mut k_agent) = (None, None, None);
            for field in criterion.fields() {
                match field {
                    Field::Ip => {
                        ip_uses = ip_uses.saturating_sub(1);
                        k_ip = Some(if ip_uses == 0 {
                            ip.take()?
                        } else {
                            ip.clone()?
                        });
                    }
                    Field::Username => k_user = Some(attempt.username.clone()?),
                    Field::UserAgent => {
                        k_agent = Some(attempt.user_agent.clone().unwrap_or_default())
                    }
                }
            }
            let on_device = k_user.is_some();
            let key = Key::from_shared_parts(self.scope.clone(), k_ip, k_user, k_agent);
            Some(match device {
                Some(nonce) if on_device => key.with_device(nonce),
                _ => key,
            })
        });
        for key in all {
            keys.push(key);
        }
        keys
    }

    fn bypass(&self, attempt: Attempt, time: SystemTime) -> Decision {
        Decision::Proceed(Ticket {
            attempt,
            time,
            limits: Limits::new(1),
            keys: Vec::new(),
            bypass: true,
        })
    }

    fn refusal(
        &self,
        reason: LockReason,
        key: Option<Key>,
        until: Option<i64>,
        now: i64,
    ) -> Lockout {
        let until = until.map(from_ms);
        let retry_after = until.map(|u| u.duration_since(from_ms(now)).unwrap_or(Duration::ZERO));
        Lockout {
            reason,
            key,
            until,
            retry_after,
            message: self.policy.lockout_message_for(retry_after),
        }
    }

    async fn timed<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let start = Instant::now();
        let result = call.await;
        self.metrics.store_call(start.elapsed());
        match &result {
            Ok(_) => {
                if self.store_down.swap(false, Ordering::Relaxed) {
                    tracing::warn!(target: "loginguard", store = ?self.store, "store reachable again");
                }
            }
            Err(e @ StoreError::Full { .. }) => self.note_full(e),
            Err(e) => {
                self.metrics.store_error();
                if !self.store_down.swap(true, Ordering::Relaxed) {
                    tracing::error!(
                        target: "loginguard",
                        error = %crate::error_chain(e),
                        on_store_error = ?self.policy.on_store_error,
                        "store failed; applying on_store_error until it recovers"
                    );
                }
            }
        }
        result
    }

    /// Counts and (at most once per [`STORE_FULL_LOG_INTERVAL`]) logs a
    /// full store.
    fn note_full(&self, e: &StoreError) {
        self.metrics.store_error();
        let now = to_ms(self.clock.now());
        let last = self.store_full_logged.load(Ordering::Relaxed);
        let interval = crate::record::duration_ms(STORE_FULL_LOG_INTERVAL);
        if now.saturating_sub(last) >= interval
            && self
                .store_full_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                target: "loginguard",
                error = %e,
                on_store_error = ?self.policy.on_store_error,
                "new keys answered by on_store_error until records expire"
            );
        }
    }

    /// Judges an attempt before its password is checked: refuses it if any
    /// of its keys is locked (or its IP is denied), else counts it on every
    /// key in one atomic store step per key.
    ///
    /// Store faults never surface here: `on_store_error` decides.
    /// The only error is unusable client input (an over-long or malformed
    /// username), which deserves a 400.
    pub async fn begin(&self, mut attempt: Attempt) -> Result<Decision, AttemptError> {
        let p = &self.policy;
        let time = self.clock.now();
        // Everything before the store's step is done by a plain function,
        // so that none of its values (the password among them) is kept in
        // this future: it stays small, and cheap to allocate.
        let Prepared {
            now,
            limits,
            keys,
            spray,
            repeat,
        } = match self.prepare(&mut attempt, time)? {
            Step::Bypass => return Ok(self.bypass(attempt, time)),
            Step::Refuse(lockout) => return Ok(self.refuse(&attempt, lockout)),
            Step::Count(prepared) => prepared,
        };
        let begun = {
            let one: [KeyStep<'_>; 1];
            let many: Vec<KeyStep<'_>>;
            let steps: &[KeyStep<'_>] = match (keys.as_slice(), &spray) {
                // One key and no spray key, the most common attempt: no list.
                ([key], None) => {
                    one = [KeyStep::new(key, &limits).with_tag(repeat)];
                    &one
                }
                _ => {
                    many = keys
                        .as_slice()
                        .iter()
                        .map(|key| KeyStep::new(key, &limits).with_tag(repeat))
                        .chain(spray.as_deref().map(|(key, tag, spray_limits)| {
                            KeyStep::new(key, spray_limits).with_tag(Some(*tag)).spray()
                        }))
                        .collect();
                    &many
                }
            };
            self.timed(self.store.begin_all(steps, time)).await
        };
        let begun = match begun {
            Ok(begun) => begun,
            // The store gave back what it had counted.
            Err(_) => {
                return Ok(match p.on_store_error {
                    OnStoreError::Allow => self.bypass(attempt, time),
                    OnStoreError::Deny => self.refuse(
                        &attempt,
                        self.refusal(LockReason::StoreUnavailable, None, None, now),
                    ),
                });
            }
        };
        let mut counted: Vec<Counted> = Vec::new();
        let mut locked: Option<(Key, Option<i64>)> = None;
        let mut full = false;
        let spray_key = spray.map(|spray| {
            let (key, tag, _) = *spray;
            (key, tag)
        });
        let all = keys
            .into_iter()
            .map(|key| (key, repeat, false))
            .chain(spray_key.map(|(key, tag)| (key, Some(tag), true)));
        for ((key, tag, spray), b) in all.zip(begun) {
            match b {
                Begun::Verdict(verdict @ KeyVerdict::Allowed { .. }) => counted.push(Counted {
                    key,
                    verdict,
                    tag,
                    spray,
                }),
                Begun::Verdict(KeyVerdict::Locked { until, .. }) => {
                    // The longest lock wins: until reset beats any end.
                    if outlasts(until, locked.as_ref().map(|(_, u)| *u)) {
                        locked = Some((key, until));
                    }
                }
                Begun::Skipped => {}
                // A full store still answers for the keys it tracks, so a
                // lock on one of them still wins; the key it cannot take
                // goes uncounted (`allow`) or refuses the attempt (`deny`).
                Begun::Full { .. } => {
                    if let Some(e) = b.full_error() {
                        self.note_full(&e);
                    }
                    full = true;
                }
            }
        }
        if let Some((key, until)) = locked {
            // The password of a refused attempt is never checked: the store
            // gave it back on a spray key, and on the other keys unless
            // refused attempts count.
            if self.refusal_log.should_log(key.id(), now) {
                Box::pin(self.audit(&attempt, AuditKind::Failure, time, true)).await;
            }
            let lockout = self.refusal(LockReason::Locked, Some(key), until, now);
            return Ok(self.refuse(&attempt, lockout));
        }
        if full && p.on_store_error == OnStoreError::Deny {
            Box::pin(self.give_back(&counted, &limits, time, false)).await;
            return Ok(self.refuse(
                &attempt,
                self.refusal(LockReason::StoreUnavailable, None, None, now),
            ));
        }
        Ok(Decision::Proceed(Ticket {
            attempt,
            time,
            limits,
            keys: counted,
            bypass: false,
        }))
    }

    /// [`Guard::begin`] up to the store's step: the attempt made ready (no
    /// password, its username normalised), and what the step needs.
    fn prepare(&self, attempt: &mut Attempt, time: SystemTime) -> Result<Step, AttemptError> {
        let p = &self.policy;
        if !p.enabled {
            return Ok(Step::Bypass);
        }
        // The password leaves the attempt here: only its keyed hashes go on.
        let password = attempt.password.take();
        let cookie = attempt.device_cookie.take();
        if let Some(raw) = attempt.username.take() {
            attempt.username = Some(p.normalize_username(&raw)?);
        }
        attempt.ip = attempt.ip.map(crate::client_ip::canonical_ip);
        self.metrics.attempt();
        let now = to_ms(time);
        self.purge_when_due(time, now);
        if let Some(ip) = attempt.ip {
            if p.is_deny_listed(ip) {
                return Ok(Step::Refuse(self.refusal(
                    LockReason::DenyListed,
                    None,
                    None,
                    now,
                )));
            }
            if p.is_allow_listed(ip) {
                return Ok(Step::Bypass);
            }
        }
        if p.only_allow_listed {
            return Ok(Step::Refuse(self.refusal(
                LockReason::NotAllowListed,
                None,
                None,
                now,
            )));
        }
        if self.allow_hook.as_ref().is_some_and(|hook| hook(attempt)) {
            return Ok(Step::Bypass);
        }
        if p.never_lockout_get && attempt.method.eq_ignore_ascii_case("GET") {
            return Ok(Step::Bypass);
        }
        let limit = self
            .limit_hook
            .as_ref()
            .and_then(|hook| hook(attempt))
            .unwrap_or(p.failure_limit);
        let limits = p.limits(limit);
        let device = self.trusted_device(attempt, cookie.as_deref(), time);
        let repeat = self.repeat_tag(attempt, password.as_ref());
        // The password's spray key comes last; a trusted device of the user
        // never meets it.
        let spray = if device.is_none() {
            self.spray_key(attempt, password.as_ref())
        } else {
            None
        };
        drop(password);
        let keys = self.keys_on(attempt, device.as_deref());
        Ok(Step::Count(Prepared {
            now,
            limits,
            keys,
            spray,
            repeat,
        }))
    }

    /// Starts a purge of expired key records in the background when
    /// [`PURGE_INTERVAL`] has passed since the last one this guard started.
    /// The cost on the request is one atomic load (and, once per interval,
    /// one compare-and-swap and a task spawn). Outside a Tokio runtime
    /// nothing is started.
    fn purge_when_due(&self, time: SystemTime, now: i64) {
        let due = self.next_purge.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now.saturating_add(crate::record::duration_ms(PURGE_INTERVAL));
        if self
            .next_purge
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = Arc::clone(&self.store);
        runtime.spawn(async move {
            match store.purge_expired(time).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(target: "loginguard", purged = n, "expired key records purged"),
                Err(e) => tracing::debug!(target: "loginguard", error = %e, "expired key records not purged"),
            }
        });
    }

    fn refuse(&self, attempt: &Attempt, lockout: Lockout) -> Decision {
        self.metrics.rejection();
        if self.events.wants_events() || tracing::enabled!(tracing::Level::DEBUG) {
            self.events.emit(Event::Refused {
                key: lockout.key.as_ref().map_or_else(
                    || format!("{:?}", lockout.reason),
                    |k| k.label().into_owned(),
                ),
                ip: attempt.ip.map(|ip| ip.to_string()),
                username: attempt.username.clone(),
            });
        }
        Decision::Refused(lockout)
    }

    /// Gives counted attempts back (`reset`: clears their keys, except a
    /// password's spray key, which one account's success never clears), all
    /// in one store step.
    async fn give_back(&self, counted: &[Counted], limits: &Limits, time: SystemTime, reset: bool) {
        let spray_limits = counted.iter().any(|c| c.spray).then(|| self.spray_limits());
        let at = to_ms(time);
        let releases: Vec<KeyRelease<'_>> = counted
            .iter()
            .filter_map(|c| {
                let (key_limits, spray) = match (&spray_limits, c.spray) {
                    (Some(spray_limits), true) => (spray_limits, true),
                    _ => (limits, false),
                };
                let step = KeyStep::new(&c.key, key_limits).with_tag(c.tag);
                // Not counted (a remembered tag): nothing to give back.
                let back = step.give_back(&Begun::Verdict(c.verdict), at)?;
                let release = if reset && !spray {
                    Release::reset(at)
                } else {
                    back
                };
                Some(KeyRelease::new(&c.key, release, key_limits))
            })
            .collect();
        if releases.is_empty() {
            return;
        }
        let now = self.clock.now();
        if let Err(e) = self.timed(self.store.release_all(&releases, now)).await {
            tracing::debug!(target: "loginguard", error = %e, "could not give an attempt back");
        }
    }

    /// The nonce of a valid device cookie for the attempt's username
    /// (`device_cookies`), checked against the secret and the previous ones.
    fn trusted_device(
        &self,
        attempt: &Attempt,
        cookie: Option<&str>,
        now: SystemTime,
    ) -> Option<String> {
        let p = &self.policy;
        if !p.trusts_devices() {
            return None;
        }
        crate::device::verify(
            p.secret.iter().chain(&p.previous_secrets),
            &p.scope,
            attempt.username.as_deref()?,
            cookie?,
            now,
            p.device_cookie_max_age,
        )
    }

    /// The limits of a password's spray key.
    fn spray_limits(&self) -> Limits {
        self.policy
            .spray_limits(self.policy.spray_lock().unwrap_or(1))
    }

    /// The tag an attempt's keys remember of its password
    /// (`ignore_repeated_password`); none without a secret or a password.
    fn repeat_tag(&self, attempt: &Attempt, password: Option<&Password>) -> Option<Tag> {
        let p = &self.policy;
        let (Some(secret), Some(password)) = (&p.secret, password) else {
            return None;
        };
        let username = attempt.username.as_deref().unwrap_or_default();
        p.forgives_repeats()
            .then(|| secret.password_tag(&p.scope, username, password.bytes()))
    }

    /// The attempt's password's spray key, the account's tag on it and its
    /// limits (`spray_limit`); none without a secret or a password.
    /// Boxed: most attempts have none, and the attempt's future holds it.
    fn spray_key(
        &self,
        attempt: &Attempt,
        password: Option<&Password>,
    ) -> Option<Box<(Key, Tag, Limits)>> {
        let p = &self.policy;
        let (Some(secret), Some(password), Some(n)) = (&p.secret, password, p.spray_lock()) else {
            return None;
        };
        let username = attempt.username.as_deref().unwrap_or_default();
        Some(Box::new((
            Key::from_shared_parts(self.scope.clone(), None, None, None)
                .with_password(secret.spray_id(&p.scope, password.bytes())),
            secret.account_tag(&p.scope, username),
            p.spray_limits(n),
        )))
    }

    /// The password was right: gives the counted attempt back (or clears
    /// the keys with `reset_on_success`) and writes the access log.
    /// [`Guard::success_with_cookie`] also issues the device cookie.
    pub async fn success(&self, ticket: Ticket) {
        self.settle(ticket, Outcome::Success).await;
    }

    /// [`Guard::success`], and with `device_cookies` the cookie to set on
    /// the response: a new one on every success, binding the username to
    /// this browser. The axum layer and the actix middleware call this.
    pub async fn success_with_cookie(&self, ticket: Ticket) -> Option<DeviceCookie> {
        let p = &self.policy;
        let cookie = match (&p.secret, &ticket.attempt.username) {
            (Some(secret), Some(username)) if p.trusts_devices() => Some(DeviceCookie {
                name: p.device_cookie_name.clone(),
                value: crate::device::issue(secret, &p.scope, username, self.clock.now()),
                max_age: p.device_cookie_max_age,
            }),
            _ => None,
        };
        self.settle(ticket, Outcome::Success).await;
        cookie
    }

    /// The password was wrong: the attempt stays counted. Returns
    /// [`Verdict::LockedOut`] when this failure reached the limit, so the
    /// caller answers it with the lockout response.
    pub async fn failure(&self, ticket: Ticket) -> Verdict {
        self.settle(ticket, Outcome::Failure).await
    }

    /// The attempt turned out not to be a login try (the handler failed or
    /// refused the request before checking a password): gives the counted
    /// attempt back, without resetting the keys and without an audit entry.
    pub async fn release(&self, ticket: Ticket) {
        if !self.policy.enabled || ticket.bypass {
            return;
        }
        self.give_back(&ticket.keys, &ticket.limits, ticket.time, false)
            .await;
    }

    async fn settle(&self, ticket: Ticket, outcome: Outcome) -> Verdict {
        let p = &self.policy;
        if !p.enabled {
            return Verdict::Allowed { remaining: None };
        }
        let remaining = ticket.remaining();
        match outcome {
            Outcome::Success => {
                self.metrics.success();
                if !ticket.bypass {
                    self.give_back(
                        &ticket.keys,
                        &ticket.limits,
                        ticket.time,
                        p.reset_on_success,
                    )
                    .await;
                }
                self.audit(&ticket.attempt, AuditKind::Success, ticket.time, false)
                    .await;
                if self.events.wants_events() || tracing::enabled!(tracing::Level::DEBUG) {
                    self.events.emit(Event::Success {
                        scope: p.scope.clone(),
                        username: ticket.attempt.username.clone(),
                        ip: ticket.attempt.ip.map(|ip| ip.to_string()),
                    });
                }
                Verdict::Allowed { remaining }
            }
            Outcome::Failure => {
                self.metrics.failure();
                self.audit(&ticket.attempt, AuditKind::Failure, ticket.time, false)
                    .await;
                let wants = self.events.wants_events() || tracing::enabled!(tracing::Level::INFO);
                if wants {
                    self.events.emit(Event::Failure {
                        scope: p.scope.clone(),
                        username: ticket.attempt.username.clone(),
                        ip: ticket.attempt.ip.map(|ip| ip.to_string()),
                        remaining: remaining.unwrap_or(0),
                        time: ticket.time,
                    });
                }
                let mut lock: Option<(&Key, Option<i64>)> = None;
                for Counted { key, verdict, .. } in &ticket.keys {
                    if let KeyVerdict::Allowed {
                        locks_on_failure,
                        until,
                        failures,
                        ..
                    } = verdict
                    {
                        if *locks_on_failure {
                            self.metrics.lockout();
                            if wants {
                                self.events.emit(Event::Lockout {
                                    key: key.label().into_owned(),
                                    until: until.map(from_ms),
                                    monitor_only: false,
                                });
                            }
                            if outlasts(*until, lock.map(|(_, u)| u)) {
                                lock = Some((key, *until));
                            }
                        } else if !ticket.limits.lock_out
                            && *failures == ticket.limits.failure_limit
                            && wants
                        {
                            self.events.emit(Event::Lockout {
                                key: key.label().into_owned(),
                                until: None,
                                monitor_only: true,
                            });
                        }
                    }
                }
                match lock {
                    Some((key, until)) => Verdict::LockedOut(self.refusal(
                        LockReason::Locked,
                        Some(key.clone()),
                        until,
                        to_ms(self.clock.now()),
                    )),
                    None => Verdict::Allowed { remaining },
                }
            }
        }
    }

    async fn audit(&self, attempt: &Attempt, kind: AuditKind, time: SystemTime, locked_out: bool) {
        let p = &self.policy;
        let on = match kind {
            AuditKind::Success => p.access_log,
            AuditKind::Failure => p.failure_log,
        };
        if !on {
            return;
        }
        let Some(log) = self.store.audit() else {
            return;
        };
        let entry = AuditEntry::new(
            kind,
            p.scope.clone(),
            attempt.username.clone(),
            attempt.ip.map(|ip| ip.to_string()),
            attempt.user_agent.clone(),
            attempt.method.clone(),
            attempt.path.clone(),
            time,
        )
        .locked_out(locked_out);
        let retention = LogRetention::new(p.log_retention, p.log_max_failures_per_user);
        if let Err(e) = self.timed(log.append(&entry, &retention)).await {
            tracing::debug!(target: "loginguard", error = %e, "audit entry not written");
        }
    }

    /// Clears every key matching `filter` (an administrator's reset);
    /// returns how many records were cleared.
    pub async fn reset(&self, filter: &KeyFilter) -> Result<u64, StoreError> {
        let cleared = self.timed(self.store.reset(filter)).await?;
        self.events.emit(Event::Reset {
            filter: format!("{filter:?}"),
            cleared,
        });
        Ok(cleared)
    }
}

//! Events (failure, lockout, success, reset) for subscribers and `tracing`,
//! and the counters behind metrics.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use loginguard_core::{Event, Guard, MemoryStore, Policy};
//!
//! let guard = Guard::builder(Policy::default(), Arc::new(MemoryStore::new()))
//!     .on_event(|event: &Event| println!("{event:?}"))
//!     .build();
//! let mut events = guard.subscribe();
//! # let _ = events.try_recv();
//! # });
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::broadcast;

/// Something that happened to an attempt or a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A wrong password (or a refused attempt that counts).
    Failure {
        /// The guarded endpoint.
        scope: String,
        /// The username, if any.
        username: Option<String>,
        /// The client IP, if known.
        ip: Option<String>,
        /// Tries left before a lock (0 once locked).
        remaining: u32,
        /// When it happened.
        #[serde(with = "crate::audit::unix_ms")]
        time: SystemTime,
    },
    /// A key reached its limit and was locked (or would have been, in
    /// monitor-only mode).
    Lockout {
        /// The key id.
        key: String,
        /// When the lock ends; `None`: until reset.
        #[serde(skip)]
        until: Option<SystemTime>,
        /// `true` in monitor-only mode: nothing was blocked.
        monitor_only: bool,
    },
    /// An attempt refused because a key is locked or the IP is denied.
    Refused {
        /// The key id, or a reason such as `deny_list`.
        key: String,
        /// The client IP, if known.
        ip: Option<String>,
        /// The username, if any.
        username: Option<String>,
    },
    /// A successful login.
    Success {
        /// The guarded endpoint.
        scope: String,
        /// The username, if any.
        username: Option<String>,
        /// The client IP, if known.
        ip: Option<String>,
    },
    /// An administrator cleared keys.
    Reset {
        /// The filter, in words.
        filter: String,
        /// How many records were cleared.
        cleared: u64,
    },
}

type Callback = Arc<dyn Fn(&Event) + Send + Sync>;

/// Delivers events to callbacks, a broadcast channel and `tracing`.
#[derive(Clone)]
pub(crate) struct EventBus {
    callbacks: Vec<Callback>,
    channel: broadcast::Sender<Event>,
    /// Set once anyone subscribes, so the hot path skips the channel's lock
    /// until then.
    subscribed: Arc<AtomicBool>,
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("callbacks", &self.callbacks.len())
            .field("channel_receivers", &self.channel.receiver_count())
            .finish()
    }
}

impl EventBus {
    pub(crate) fn new(callbacks: Vec<Callback>) -> EventBus {
        let (channel, _) = broadcast::channel(1024);
        EventBus {
            callbacks,
            channel,
            subscribed: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.subscribed.store(true, Ordering::Relaxed);
        self.channel.subscribe()
    }

    pub(crate) fn emit(&self, event: Event) {
        match &event {
            Event::Failure {
                scope,
                username,
                ip,
                remaining,
                ..
            } => {
                tracing::info!(target: "loginguard", %scope, ?username, ?ip, remaining, "login failure")
            }
            Event::Lockout {
                key, monitor_only, ..
            } => tracing::warn!(target: "loginguard", %key, monitor_only, "key locked out"),
            Event::Refused { key, ip, username } => {
                tracing::debug!(target: "loginguard", %key, ?ip, ?username, "attempt refused")
            }
            Event::Success {
                scope,
                username,
                ip,
                ..
            } => tracing::debug!(target: "loginguard", %scope, ?username, ?ip, "login success"),
            Event::Reset { filter, cleared } => {
                tracing::warn!(target: "loginguard", %filter, cleared, "lockouts reset")
            }
        }
        for cb in &self.callbacks {
            cb(&event);
        }
        if self.channel.receiver_count() > 0 {
            let _ = self.channel.send(event);
        }
    }

    pub(crate) fn wants_events(&self) -> bool {
        !self.callbacks.is_empty()
            || (self.subscribed.load(Ordering::Relaxed) && self.channel.receiver_count() > 0)
    }
}

/// Counters for metrics; read them with [`Metrics::snapshot`].
#[derive(Debug, Default)]
pub struct Metrics {
    attempts: AtomicU64,
    failures: AtomicU64,
    successes: AtomicU64,
    lockouts: AtomicU64,
    rejections: AtomicU64,
    store_errors: AtomicU64,
    store_calls: AtomicU64,
    store_nanos: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Attempts that reached the engine.
    pub attempts: u64,
    /// Failed attempts (wrong password).
    pub failures: u64,
    /// Successful logins.
    pub successes: u64,
    /// Keys locked.
    pub lockouts: u64,
    /// Attempts refused (locked, deny-listed, store down).
    pub rejections: u64,
    /// Store calls that failed.
    pub store_errors: u64,
    /// Store calls made.
    pub store_calls: u64,
    /// Total time spent in store calls, in nanoseconds.
    pub store_nanos: u64,
}

impl Metrics {
    pub(crate) fn attempt(&self) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn success(&self) {
        self.successes.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn lockout(&self) {
        self.lockouts.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn rejection(&self) {
        self.rejections.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn store_call(&self, took: Duration) {
        self.store_calls.fetch_add(1, Ordering::Relaxed);
        self.store_nanos.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            attempts: self.attempts.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            successes: self.successes.load(Ordering::Relaxed),
            lockouts: self.lockouts.load(Ordering::Relaxed),
            rejections: self.rejections.load(Ordering::Relaxed),
            store_errors: self.store_errors.load(Ordering::Relaxed),
            store_calls: self.store_calls.load(Ordering::Relaxed),
            store_nanos: self.store_nanos.load(Ordering::Relaxed),
        }
    }
}

//! The audit trail: an access log of successful logins and a failure log.
//!
//! Entries carry the username, IP, user agent, method, path, scope and time
//! of an attempt — never a password or any other form field.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::Serialize;

use crate::store::StoreError;

/// Which log an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A successful login (the access log).
    Success,
    /// A failed or refused attempt (the failure log).
    Failure,
}

impl AuditKind {
    /// `success` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Success => "success",
            AuditKind::Failure => "failure",
        }
    }
}

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditEntry {
    /// Success or failure.
    pub kind: AuditKind,
    /// The guarded endpoint.
    pub scope: String,
    /// The normalised username, if one was given.
    pub username: Option<String>,
    /// The client IP, if known.
    pub ip: Option<String>,
    /// The `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// When it happened.
    #[serde(with = "crate::audit::unix_ms")]
    pub time: SystemTime,
    /// Whether the attempt was refused by a lock (failure log only).
    pub locked_out: bool,
}

impl AuditEntry {
    /// Builds an entry.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: AuditKind,
        scope: impl Into<String>,
        username: Option<String>,
        ip: Option<String>,
        user_agent: Option<String>,
        method: impl Into<String>,
        path: impl Into<String>,
        time: SystemTime,
    ) -> AuditEntry {
        AuditEntry {
            kind,
            scope: scope.into(),
            username,
            ip,
            user_agent,
            method: method.into(),
            path: path.into(),
            time,
            locked_out: false,
        }
    }

    /// Marks the entry as refused by a lock.
    #[must_use]
    pub fn locked_out(mut self, locked_out: bool) -> AuditEntry {
        self.locked_out = locked_out;
        self
    }
}

/// Which entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogQuery {
    /// Only this log; `None`: both.
    pub kind: Option<AuditKind>,
    /// Only this username.
    pub username: Option<String>,
    /// Only this IP.
    pub ip: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<SystemTime>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
    /// Skip this many (for paging).
    pub offset: usize,
}

impl LogQuery {
    /// Both logs, everything.
    pub fn all() -> LogQuery {
        LogQuery::default()
    }

    /// Only one log.
    #[must_use]
    pub fn kind(mut self, kind: AuditKind) -> LogQuery {
        self.kind = Some(kind);
        self
    }

    /// Only one username.
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> LogQuery {
        self.username = Some(username.into());
        self
    }

    /// Only one IP.
    #[must_use]
    pub fn ip(mut self, ip: impl Into<String>) -> LogQuery {
        self.ip = Some(ip.into());
        self
    }

    /// Only entries since `t`.
    #[must_use]
    pub fn since(mut self, t: SystemTime) -> LogQuery {
        self.since = Some(t);
        self
    }

    /// At most `n` entries.
    #[must_use]
    pub fn limit(mut self, n: usize) -> LogQuery {
        self.limit = Some(n);
        self
    }

    /// Skip `n` entries.
    #[must_use]
    pub fn offset(mut self, n: usize) -> LogQuery {
        self.offset = n;
        self
    }

    /// Whether `entry` matches (for stores that filter in memory).
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.kind.is_none_or(|k| k == entry.kind)
            && self
                .username
                .as_ref()
                .is_none_or(|u| entry.username.as_ref() == Some(u))
            && self
                .ip
                .as_ref()
                .is_none_or(|ip| entry.ip.as_ref() == Some(ip))
            && self.since.is_none_or(|t| entry.time >= t)
    }
}

/// Limits on how much of the audit trail is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogRetention {
    /// Entries older than this are deleted. `None`: kept.
    pub max_age: Option<Duration>,
    /// At most this many failure-log rows per username; the oldest go first.
    pub max_failures_per_user: Option<u32>,
}

impl LogRetention {
    /// Keeps everything.
    pub fn unlimited() -> LogRetention {
        LogRetention::default()
    }

    /// Builds a retention.
    pub fn new(max_age: Option<Duration>, max_failures_per_user: Option<u32>) -> LogRetention {
        LogRetention {
            max_age,
            max_failures_per_user,
        }
    }
}

/// Storage for the audit trail; stores that keep one return it from
/// [`Store::audit`](crate::Store::audit).
#[async_trait]
pub trait AuditLog: std::fmt::Debug + Send + Sync {
    /// Appends one entry, then enforces `retention` for its username.
    async fn append(&self, entry: &AuditEntry, retention: &LogRetention) -> Result<(), StoreError>;

    /// Entries matching `query`, newest first.
    async fn query(&self, query: &LogQuery) -> Result<Vec<AuditEntry>, StoreError>;

    /// Deletes entries older than `before`; returns how many.
    async fn purge(&self, before: SystemTime) -> Result<u64, StoreError>;
}

/// Serialises a `SystemTime` as milliseconds since the Unix epoch.
pub mod unix_ms {
    use std::time::SystemTime;

    /// Serialises `t` as an integer of milliseconds.
    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(crate::record::to_ms(*t))
    }
}

//! `PostgresOptions`: schema, timeout, pool size and migration policy.

use std::time::Duration;

use loginguard_core::Config;

use crate::error::PostgresStoreError;

/// Settings of a [`PostgresStore`](crate::PostgresStore).
///
/// ```
/// use std::time::Duration;
/// use loginguard_postgres::PostgresOptions;
///
/// let options = PostgresOptions::new()
///     .schema("shop_loginguard")            // tables in schema "shop_loginguard"
///     .timeout(Duration::from_millis(800))  // then `on_store_error` decides
///     .max_connections(20)
///     .auto_migrate(true);                  // apply pending migrations on connect
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[must_use = "pass the options to `PostgresStore::connect`"]
pub struct PostgresOptions {
    pub(crate) schema: String,
    pub(crate) timeout: Duration,
    pub(crate) max_connections: u32,
    pub(crate) auto_migrate: bool,
    pub(crate) durable_commits: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            schema: "loginguard".to_owned(),
            timeout: Duration::from_secs(2),
            max_connections: 10,
            auto_migrate: false,
            durable_commits: false,
        }
    }
}

impl PostgresOptions {
    /// Schema `loginguard`, timeout 2s, 10 connections, no auto-migration.
    pub fn new() -> PostgresOptions {
        PostgresOptions::default()
    }

    /// The schema (`store_prefix`), timeout (`store_timeout`) and
    /// `auto_migrate` of a loaded [`Config`].
    pub fn from_config(config: &Config) -> PostgresOptions {
        PostgresOptions::new()
            .schema(config.store_prefix.clone())
            .timeout(config.store_timeout)
            .auto_migrate(config.auto_migrate)
    }

    /// The schema holding every table (default `loginguard`; created by
    /// `migrate`), checked by
    /// [`is_valid_store_prefix`](loginguard_core::config::is_valid_store_prefix).
    pub fn schema(mut self, schema: impl Into<String>) -> PostgresOptions {
        self.schema = schema.into();
        self
    }

    /// The longest wait for a connection or an answer (default 2s); past it
    /// a call fails with `StoreError::Unavailable` and the policy's
    /// `on_store_error` decides.
    pub fn timeout(mut self, timeout: Duration) -> PostgresOptions {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Pool size per app server (default 10).
    pub fn max_connections(mut self, n: u32) -> PostgresOptions {
        self.max_connections = n.max(1);
        self
    }

    /// Apply pending migrations when connecting (default `false`: run
    /// `loginguard migrate` instead).
    pub fn auto_migrate(mut self, on: bool) -> PostgresOptions {
        self.auto_migrate = on;
        self
    }

    /// Wait for each write to reach disk before answering (default
    /// `false`: the store's sessions run with `synchronous_commit = off`).
    ///
    /// Off, a crash of the PostgreSQL server (not of an app server) may
    /// forget the counts of the last fraction of a second, never more, and
    /// never leaves a half-written row; writes are then several times
    /// faster, as each attempt no longer waits for a disk flush. Exactness
    /// under concurrency does not depend on this setting. Turn it on if
    /// every counted failure must survive a database crash.
    pub fn durable_commits(mut self, on: bool) -> PostgresOptions {
        self.durable_commits = on;
        self
    }

    pub(crate) fn check(&self) -> Result<(), PostgresStoreError> {
        if loginguard_core::config::is_valid_store_prefix(&self.schema) {
            Ok(())
        } else {
            Err(PostgresStoreError::Schema(self.schema.clone()))
        }
    }
}

/// Replaces the password of a URL (`user:password@`, `?password=`) by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(unparsable URL)".to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for bad in [
            "",
            "Bad",
            "a-b",
            "a;drop",
            "1abc",
            "pg_x",
            &"a".repeat(64),
            "a b",
            "\"q\"",
        ] {
            assert!(
                PostgresOptions::new().schema(bad).check().is_err(),
                "{bad:?}"
            );
        }
        for good in ["loginguard", "shop_lg", "_x1"] {
            assert!(
                PostgresOptions::new().schema(good).check().is_ok(),
                "{good:?}"
            );
        }
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(redact("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(
            redact("postgres://u@h/d?password=s3cret&x=1"),
            "postgres://u@h/d?password=***&x=1"
        );
        assert!(!redact("postgres:///d?password=s3cret").contains("s3cret"));
    }
}

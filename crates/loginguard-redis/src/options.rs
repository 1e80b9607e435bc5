//! `RedisOptions`: key prefix, timeout and retention of a Redis store.

use std::time::Duration;

use loginguard_core::Config;

use crate::error::RedisStoreError;

/// How long a record that never expires by itself (a lock until reset,
/// failures with no window) is kept after its last write: 30 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Settings of a [`RedisStore`](crate::RedisStore).
///
/// ```
/// use std::time::Duration;
/// use loginguard_redis::RedisOptions;
///
/// let options = RedisOptions::new()
///     .prefix("shop")                              // keys "shop:{login/ip=…}"
///     .timeout(Duration::from_millis(500))         // then `on_store_error` decides
///     .retention(Duration::from_secs(90 * 86400)); // locks "until reset" kept 90 days
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[must_use = "pass the options to `RedisStore::connect`"]
pub struct RedisOptions {
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
    pub(crate) retention: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "loginguard".to_owned(),
            timeout: Duration::from_secs(2),
            retention: DEFAULT_RETENTION,
        }
    }
}

impl RedisOptions {
    /// Prefix `loginguard`, timeout 2s, retention 30 days.
    pub fn new() -> RedisOptions {
        RedisOptions::default()
    }

    /// The prefix, timeout and retention of a loaded [`Config`]
    /// (`store_prefix`, `store_timeout`; retention stays at its default
    /// unless the URL says `?retention=…`).
    pub fn from_config(config: &Config) -> RedisOptions {
        RedisOptions::new()
            .prefix(config.store_prefix.clone())
            .timeout(config.store_timeout)
    }

    /// The prefix of every key (default `loginguard`): several apps, or
    /// test runs, can share one Redis with different prefixes. Checked by
    /// [`is_valid_store_prefix`](loginguard_core::config::is_valid_store_prefix),
    /// the same rule as `store_prefix` in the configuration.
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisOptions {
        self.prefix = prefix.into();
        self
    }

    /// The longest wait for a connection or an answer (default 2s); past
    /// it a call fails with `StoreError::Unavailable` and the policy's
    /// `on_store_error` decides.
    pub fn timeout(mut self, timeout: Duration) -> RedisOptions {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a record that never expires by itself is kept after its
    /// last write (default [`DEFAULT_RETENTION`], 30 days). Every other
    /// record expires as soon as it can no longer change a verdict.
    ///
    /// ⚠️ A lock "until reset" therefore ends by itself once the key has
    /// seen no attempt for this long.
    pub fn retention(mut self, retention: Duration) -> RedisOptions {
        self.retention = retention.max(Duration::from_secs(1));
        self
    }

    pub(crate) fn check(&self) -> Result<(), RedisStoreError> {
        if loginguard_core::config::is_valid_store_prefix(&self.prefix) {
            Ok(())
        } else {
            Err(RedisStoreError::Prefix(self.prefix.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_that_would_break_the_hash_tag_are_refused() {
        for bad in ["", "a{b", "a}b", "a b", "x\n", "shop:prod", &"p".repeat(64)] {
            assert!(RedisOptions::new().prefix(bad).check().is_err(), "{bad:?}");
        }
        for good in ["loginguard", "shop_prod", "lg_test_1"] {
            assert!(RedisOptions::new().prefix(good).check().is_ok(), "{good:?}");
        }
    }
}

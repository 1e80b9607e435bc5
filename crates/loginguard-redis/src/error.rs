//! The errors of the Redis store, and how they become [`StoreError`]s.

use std::time::Duration;

use loginguard_core::StoreError;

/// What went wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The store URL could not be used.
    #[error("invalid Redis store URL {url:?}: {reason}")]
    Url {
        /// The URL, password hidden.
        url: String,
        /// Why.
        reason: String,
    },
    /// The key prefix is not usable in a Redis key with a hash tag.
    #[error("invalid Redis key prefix {0:?} (from `store_prefix`): use {rule}", rule = loginguard_core::config::STORE_PREFIX_RULE)]
    Prefix(String),
    /// No answer within the store timeout.
    #[error("no answer from Redis within {0:?}: is the server up? (raise `store_timeout` if it is only slow)")]
    Timeout(Duration),
    /// The client could not connect or lost its connection.
    #[error("cannot reach Redis at {target}")]
    Connection {
        /// The server or Cluster, password hidden.
        target: String,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// Redis answered with an error.
    #[error("Redis command {command} failed")]
    Command {
        /// Which command or script.
        command: &'static str,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// Redis answered something this store does not understand.
    #[error("unexpected reply from Redis: {0}")]
    Reply(String),
}

impl RedisStoreError {
    /// Wraps a client error from `command`, telling connection faults apart.
    pub(crate) fn from_redis(command: &'static str, target: &str, e: redis::RedisError) -> Self {
        if is_unreachable(&e) {
            RedisStoreError::Connection {
                target: target.to_owned(),
                source: e,
            }
        } else {
            RedisStoreError::Command { command, source: e }
        }
    }

    /// Whether this means the server could not be reached (as opposed to a
    /// server that answered with an error).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            RedisStoreError::Timeout(_) | RedisStoreError::Connection { .. }
        )
    }
}

impl RedisStoreError {
    /// The client's error under this one, if any.
    fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        match self {
            RedisStoreError::Connection { source, .. }
            | RedisStoreError::Command { source, .. } => Some(Box::new(source)),
            _ => None,
        }
    }
}

fn is_unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || matches!(
            e.kind(),
            redis::ErrorKind::ClusterConnectionNotFound
                | redis::ErrorKind::Server(
                    redis::ServerErrorKind::TryAgain
                        | redis::ServerErrorKind::ClusterDown
                        | redis::ServerErrorKind::MasterDown
                        | redis::ServerErrorKind::BusyLoading
                )
        )
}

impl From<RedisStoreError> for StoreError {
    fn from(e: RedisStoreError) -> StoreError {
        match e {
            RedisStoreError::Url { .. } | RedisStoreError::Prefix(_) => {
                StoreError::Config(e.to_string())
            }
            RedisStoreError::Reply(ref what) => StoreError::Corrupt(what.clone()),
            e if e.is_unreachable() => StoreError::Unavailable {
                message: e.to_string(),
                source: e.into_source(),
            },
            e => StoreError::Backend {
                message: e.to_string(),
                source: e.into_source(),
            },
        }
    }
}

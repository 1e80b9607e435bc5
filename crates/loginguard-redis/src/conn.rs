//! Connections: one server through a `ConnectionManager` (reconnects by
//! itself) or a Cluster through `cluster_async::ClusterConnection`, every
//! command bounded by the store timeout.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{FromRedisValue, Pipeline, ScriptInvocation, Value};

use crate::error::RedisStoreError;
use crate::target::Target;

/// A connection to one server or to a Cluster; cheap to clone.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// One server to walk with `SCAN`: the server, or one Cluster primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Single,
    Primary { host: String, port: u16 },
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Single => f.write_str("server"),
            Node::Primary { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// Runs `fut` within `timeout`, mapping client errors of `command`.
pub(crate) async fn bounded<T>(
    timeout: Duration,
    command: &'static str,
    target: &str,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisStoreError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(RedisStoreError::from_redis(command, target, e)),
        Err(_) => Err(RedisStoreError::Timeout(timeout)),
    }
}

impl Conn {
    /// Connects, waiting at most `timeout`.
    pub(crate) async fn connect(
        target: &Target,
        timeout: Duration,
    ) -> Result<Conn, RedisStoreError> {
        #[cfg(feature = "tls")]
        ensure_crypto_provider();
        let description = target.description();
        let url_error = |e: redis::RedisError| RedisStoreError::Url {
            url: description.clone(),
            reason: e.to_string(),
        };
        match target {
            Target::Single { url } => {
                let client = redis::Client::open(url.as_str()).map_err(url_error)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    // Reconnect quickly and keep trying on each later call,
                    // rather than one long back-off while calls pile up.
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                let manager = bounded(
                    timeout,
                    "connect",
                    &description,
                    ConnectionManager::new_with_config(client, config),
                )
                .await?;
                Ok(Conn::Single(manager))
            }
            Target::Cluster { nodes } => {
                let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(2)
                    .min_retry_wait(20)
                    .max_retry_wait(200)
                    .build()
                    .map_err(url_error)?;
                let conn = bounded(
                    timeout,
                    "connect",
                    &description,
                    client.get_async_connection(),
                )
                .await?;
                Ok(Conn::Cluster(conn))
            }
        }
    }

    /// Runs a script on the node of its key (EVALSHA; loaded when missing).
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> redis::RedisResult<T> {
        match self {
            Conn::Single(c) => script.invoke_async(&mut c.clone()).await,
            Conn::Cluster(c) => script.invoke_async(&mut c.clone()).await,
        }
    }

    /// Runs one command on the node its key lives on (or any node).
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Conn::Single(c) => cmd.query_async(&mut c.clone()).await,
            Conn::Cluster(c) => cmd.query_async(&mut c.clone()).await,
        }
    }

    /// Runs one command on one node.
    pub(crate) async fn query_node<T: FromRedisValue>(
        &self,
        node: &Node,
        cmd: redis::Cmd,
    ) -> redis::RedisResult<T> {
        match (self, node) {
            (Conn::Cluster(c), Node::Primary { host, port }) => {
                let value = c.clone().route_command(cmd, routing(host, *port)).await?;
                Ok(redis::from_redis_value(value)?)
            }
            _ => self.query(&cmd).await,
        }
    }

    /// Runs a pipeline on one node; one value per command.
    pub(crate) async fn pipe_node(
        &self,
        node: &Node,
        pipe: Pipeline,
    ) -> redis::RedisResult<Vec<Value>> {
        match (self, node) {
            (Conn::Cluster(c), Node::Primary { host, port }) => {
                let count = pipe.len();
                c.clone()
                    .route_pipeline(
                        pipe,
                        0,
                        count,
                        SingleNodeRoutingInfo::ByAddress {
                            host: host.clone(),
                            port: *port,
                        },
                    )
                    .await
            }
            (Conn::Single(c), _) => pipe.query_async(&mut c.clone()).await,
            (Conn::Cluster(c), Node::Single) => pipe.query_async(&mut c.clone()).await,
        }
    }

    /// The servers to walk: the server, or every Cluster primary.
    pub(crate) async fn nodes(&self) -> redis::RedisResult<Vec<Node>> {
        let Conn::Cluster(c) = self else {
            return Ok(vec![Node::Single]);
        };
        let slots: Value = c
            .clone()
            .route_command(
                redis::cmd("CLUSTER").arg("SLOTS").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary),
            )
            .await?;
        let mut nodes = Vec::new();
        if let Value::Array(ranges) = slots {
            for range in ranges {
                let Value::Array(parts) = range else { continue };
                let Some(Value::Array(primary)) = parts.get(2) else {
                    continue;
                };
                let host = match primary.first() {
                    Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                    Some(Value::SimpleString(s)) => s.clone(),
                    _ => continue,
                };
                let Some(Value::Int(port)) = primary.get(1) else {
                    continue;
                };
                let Ok(port) = u16::try_from(*port) else {
                    continue;
                };
                let node = Node::Primary { host, port };
                if !nodes.contains(&node) {
                    nodes.push(node);
                }
            }
        }
        if nodes.is_empty() {
            return Err(redis::RedisError::from((
                redis::ErrorKind::ClusterConnectionNotFound,
                "CLUSTER SLOTS named no primary",
            )));
        }
        Ok(nodes)
    }
}

/// Makes sure rustls has a process-wide crypto provider before the client
/// builds a TLS configuration: when the application installed none and
/// several are compiled in, rustls would not pick one by itself.
#[cfg(feature = "tls")]
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: any provider will do.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

fn routing(host: &str, port: u16) -> RoutingInfo {
    RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
        host: host.to_owned(),
        port,
    })
}

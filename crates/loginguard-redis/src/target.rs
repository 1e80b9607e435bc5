//! Store URLs: which Redis server or Cluster to talk to.
//!
//! | form | meaning |
//! | --- | --- |
//! | `redis://[user:password@]host[:port][/db]` | one server (default port 6379, db 0) |
//! | `rediss://…` | the same over TLS (feature `tls`, on by default): the server's certificate is checked against the system's trusted roots (or the file named by `SSL_CERT_FILE`) |
//! | `redis+cluster://[user:password@]host:port,host:port,…` | a Redis Cluster, given by one or more seed nodes |
//! | `rediss+cluster://…` | a Cluster over TLS |
//!
//! One query parameter is loginguard's own: `retention=30d` sets how long a
//! record that never expires by itself is kept after its last write (see
//! [`RedisOptions::retention`](crate::RedisOptions::retention)). Other query
//! parameters go to the Redis client.
//!
//! ```
//! use loginguard_redis::Target;
//!
//! let (target, retention) = Target::parse("redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7000?retention=7d")?;
//! assert_eq!(target.description(), "redis+cluster://:***@10.0.0.1:7000,10.0.0.2:7000");
//! assert_eq!(retention, Some(std::time::Duration::from_secs(7 * 86400)));
//! # Ok::<(), loginguard_redis::RedisStoreError>(())
//! ```

use std::time::Duration;

use crate::error::RedisStoreError;

/// Where a Redis store lives, parsed from a store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// One server; the URL as the Redis client takes it.
    Single {
        /// `redis://…` or `rediss://…`.
        url: String,
    },
    /// A Redis Cluster, given by seed nodes (each a `redis://` URL).
    Cluster {
        /// One URL per seed node.
        nodes: Vec<String>,
    },
}

impl Target {
    /// Parses a store URL (see the module docs); returns the target and
    /// the `retention` parameter, if given.
    pub fn parse(url: &str) -> Result<(Target, Option<Duration>), RedisStoreError> {
        let bad = |reason: &str| RedisStoreError::Url {
            url: redact(url),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            bad("expected redis://, rediss://, redis+cluster:// or rediss+cluster://")
        })?;
        let (cluster, tls) = match scheme.to_ascii_lowercase().as_str() {
            "redis" => (false, false),
            "rediss" => (false, true),
            "redis+cluster" => (true, false),
            "rediss+cluster" => (true, true),
            _ => {
                return Err(bad(
                    "expected redis://, rediss://, redis+cluster:// or rediss+cluster://",
                ))
            }
        };
        if tls && !cfg!(feature = "tls") {
            return Err(bad(
                "TLS needs loginguard-redis built with the `tls` feature",
            ));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let mut retention = None;
        let mut params = Vec::new();
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            match pair.split_once('=') {
                Some(("retention", value)) => {
                    let d = loginguard_core::policy::parse_duration(value)
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| bad("retention must be a duration such as 30d or 720h"))?;
                    retention = Some(d);
                }
                _ => params.push(pair),
            }
        }
        let query = if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        };
        let node_scheme = if tls { "rediss" } else { "redis" };
        if !cluster {
            return Ok((
                Target::Single {
                    url: format!("{node_scheme}://{rest}{query}"),
                },
                retention,
            ));
        }
        let (auth, hosts) = match rest.rsplit_once('@') {
            Some((auth, hosts)) => (format!("{auth}@"), hosts),
            None => (String::new(), rest),
        };
        let hosts = hosts.trim_end_matches('/');
        if hosts.contains('/') {
            return Err(bad("a Cluster has only database 0: drop the /db part"));
        }
        let nodes: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| format!("{node_scheme}://{auth}{h}{query}"))
            .collect();
        if nodes.is_empty() {
            return Err(bad(
                "name at least one node: redis+cluster://host:port,host:port",
            ));
        }
        Ok((Target::Cluster { nodes }, retention))
    }

    /// The target as an operator may see it: the password replaced by `***`.
    pub fn description(&self) -> String {
        match self {
            Target::Single { url } => redact(url),
            Target::Cluster { nodes } => {
                let mut hosts = Vec::with_capacity(nodes.len());
                let mut scheme = "redis+cluster";
                let mut auth = String::new();
                for node in nodes {
                    let redacted = redact(node);
                    let (s, rest) = redacted.split_once("://").unwrap_or(("redis", &redacted));
                    if s == "rediss" {
                        scheme = "rediss+cluster";
                    }
                    let rest = rest.split('?').next().unwrap_or(rest);
                    let host = match rest.rsplit_once('@') {
                        Some((a, h)) => {
                            auth = format!("{a}@");
                            h
                        }
                        None => rest,
                    };
                    hosts.push(host.to_owned());
                }
                format!("{scheme}://{auth}{}", hosts.join(","))
            }
        }
    }

    /// Whether this is a Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Target::Cluster { .. })
    }
}

/// Replaces the password of a URL (`user:password@`) by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority_end, _) = rest
        .char_indices()
        .find(|(_, c)| matches!(c, '/' | '?'))
        .unwrap_or((rest.len(), ' '));
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                // `redis://password@host` is also read as a password.
                "***".to_owned()
            };
            format!("{scheme}://{masked}@{hosts}{}", &rest[authority_end..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_node_urls_pass_through() {
        let (t, r) = Target::parse("redis://127.0.0.1:6379/2").unwrap();
        assert_eq!(
            t,
            Target::Single {
                url: "redis://127.0.0.1:6379/2".into()
            }
        );
        assert_eq!(r, None);
    }

    #[test]
    fn retention_is_taken_out_and_other_parameters_stay() {
        let (t, r) = Target::parse("redis://h/0?retention=2h&protocol=resp3").unwrap();
        assert_eq!(
            t,
            Target::Single {
                url: "redis://h/0?protocol=resp3".into()
            }
        );
        assert_eq!(r, Some(Duration::from_secs(7200)));
        assert!(Target::parse("redis://h/0?retention=soon").is_err());
    }

    #[test]
    fn cluster_urls_become_one_url_per_node() {
        let (t, _) = Target::parse("redis+cluster://u:p@a:7000,b:7001/").unwrap();
        assert_eq!(
            t,
            Target::Cluster {
                nodes: vec!["redis://u:p@a:7000".into(), "redis://u:p@b:7001".into()]
            }
        );
        assert_eq!(t.description(), "redis+cluster://u:***@a:7000,b:7001");
        assert!(Target::parse("redis+cluster://a:7000/3").is_err());
        assert!(Target::parse("redis+cluster://").is_err());
    }

    #[test]
    fn descriptions_never_show_passwords() {
        let (t, _) = Target::parse("redis://:hunter2@cache:6379/1").unwrap();
        assert_eq!(t.description(), "redis://:***@cache:6379/1");
        assert!(!redact("redis://admin:hunter2@cache").contains("hunter2"));
        assert!(!redact("redis://hunter2@cache").contains("hunter2"));
    }

    #[test]
    fn other_schemes_are_refused_with_the_accepted_forms() {
        let err = Target::parse("postgres://x").unwrap_err().to_string();
        assert!(err.contains("redis+cluster://"), "{err}");
    }
}

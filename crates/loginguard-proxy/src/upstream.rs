//! The upstream app's address: `http://host:port`.

use std::fmt;
use std::str::FromStr;

use axum::http::uri::{Authority, Scheme};
use axum::http::Uri;

/// Where the protected app listens: a plain-HTTP origin such as
/// `http://127.0.0.1:8000` (the proxy and the app sit side by side; put TLS
/// in front of the proxy, not behind it).
///
/// ```
/// use loginguard_proxy::Upstream;
///
/// let up: Upstream = "http://127.0.0.1:8000".parse().unwrap();
/// assert_eq!(up.to_string(), "http://127.0.0.1:8000");
/// assert!("https://app.example".parse::<Upstream>().is_err());
/// assert!("127.0.0.1:8000".parse::<Upstream>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    authority: Authority,
}

/// Why an upstream address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("upstream {value:?} {reason}: write it as http://HOST:PORT, e.g. http://127.0.0.1:8000")]
pub struct BadUpstream {
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for Upstream {
    type Err = BadUpstream;

    fn from_str(s: &str) -> Result<Upstream, BadUpstream> {
        let bad = |reason| BadUpstream {
            value: s.to_owned(),
            reason,
        };
        let uri: Uri = s.trim().parse().map_err(|_| bad("is not a URL"))?;
        match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTP => {}
            Some(_) => return Err(bad("is not plain http (https upstreams are not supported)")),
            None => return Err(bad("has no http:// scheme")),
        }
        let authority = uri.authority().cloned().ok_or_else(|| bad("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("must not carry a user name or password"));
        }
        if uri.path_and_query().is_some_and(|pq| pq.as_str() != "/") {
            return Err(bad("must not have a path or query"));
        }
        Ok(Upstream { authority })
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.authority)
    }
}

impl Upstream {
    /// The upstream's `host:port`.
    pub(crate) fn authority(&self) -> &Authority {
        &self.authority
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_upstreams_say_what_to_write() {
        for bad in ["", "ftp://x", "http://u:p@h:1", "http://h:1/app", "http://"] {
            let err = bad.parse::<Upstream>().unwrap_err();
            assert!(err.to_string().contains("http://HOST:PORT"), "{bad}: {err}");
        }
    }
}

//! A worker's kept-alive HTTP/1.1 connections to the upstream: each is
//! handshaken once and reused while it is ready, dropped on an error, when
//! more than [`MAX_IDLE`] wait or once idle for [`IDLE_TIMEOUT`]. A
//! connection goes back to the pool when its response body has been read
//! to the end, with no task of its own.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::uri::PathAndQuery;
use axum::http::{header, HeaderValue, Request, Response, Uri};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::upstream::Upstream;

/// Most idle connections a pool keeps (as nginx's `keepalive 64`).
pub(crate) const MAX_IDLE: usize = 64;

/// An idle connection older than this is closed rather than reused.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a request got no answer from the upstream.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// No connection could be opened.
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    /// Opening a connection took longer than the connect timeout.
    #[error("no connection within {0:?}")]
    ConnectTimeout(Duration),
    /// The connection failed during the exchange.
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// Idle connections, newest last.
type Idle = Mutex<Vec<(SendRequest<Body>, Instant)>>;

/// The kept-alive connections to one upstream.
#[derive(Debug)]
pub(crate) struct Pool {
    /// The upstream's socket address when its host is an IP (no lookup per
    /// connection), else `host:port` to resolve.
    target: Target,
    /// The `Host` a request without one is sent with.
    host: HeaderValue,
    connect_timeout: Duration,
    idle: Arc<Idle>,
}

#[derive(Debug)]
enum Target {
    Addr(SocketAddr),
    Name(String),
}

impl Pool {
    pub(crate) fn new(upstream: &Upstream, connect_timeout: Duration) -> Pool {
        let authority = upstream.authority();
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let target = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => Target::Addr(SocketAddr::new(ip, port)),
            Err(_) => Target::Name(format!("{bare}:{port}")),
        };
        let host = HeaderValue::from_str(authority.as_str())
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        Pool {
            target,
            host,
            connect_timeout,
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Sends `req` on an idle connection, or a new one; its path and query
    /// are sent as they are (origin form).
    pub(crate) async fn send(
        &self,
        mut req: Request<Body>,
    ) -> Result<Response<PooledBody>, SendError> {
        origin_form(req.uri_mut());
        if !req.headers().contains_key(header::HOST) {
            req.headers_mut().insert(header::HOST, self.host.clone());
        }
        loop {
            let (mut sender, reused) = match self.checkout().await {
                Some(sender) => (sender, true),
                None => (self.connect().await?, false),
            };
            match sender.try_send_request(req).await {
                Ok(res) => {
                    // An upgraded connection is the client's now.
                    let back = (res.status() != http::StatusCode::SWITCHING_PROTOCOLS)
                        .then(|| (sender, Arc::downgrade(&self.idle)));
                    return Ok(res.map(|body| PooledBody {
                        body,
                        back,
                        ended: false,
                    }));
                }
                Err(mut error) => match error.take_message() {
                    // A kept connection closed before the request was
                    // written: a fresh one gets it.
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(SendError::Http(error.into_error())),
                },
            }
        }
    }

    /// The newest idle connection still open and ready. One still busy
    /// (its request body still streaming to an app that answered early)
    /// stays in the pool: the request gets a new connection rather than
    /// waiting.
    async fn checkout(&self) -> Option<SendRequest<Body>> {
        let mut busy = Vec::new();
        let found = loop {
            let Some((mut sender, since)) = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
            else {
                break None;
            };
            if sender.is_closed() || since.elapsed() > IDLE_TIMEOUT {
                continue;
            }
            if sender.is_ready() {
                break Some(sender);
            }
            // One look, no wait.
            match std::future::poll_fn(|cx| Poll::Ready(sender.poll_ready(cx))).await {
                Poll::Ready(Ok(())) => break Some(sender),
                Poll::Ready(Err(_)) => continue,
                Poll::Pending => busy.push((sender, since)),
            }
        };
        if !busy.is_empty() {
            // Back at the old end, so as not to be looked at first again.
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .splice(0..0, busy);
        }
        found
    }

    /// A new connection, its I/O driven by a task of this runtime.
    async fn connect(&self) -> Result<SendRequest<Body>, SendError> {
        let connecting = async {
            match &self.target {
                Target::Addr(addr) => TcpStream::connect(addr).await,
                Target::Name(name) => TcpStream::connect(name.as_str()).await,
            }
        };
        let tcp = tokio::time::timeout(self.connect_timeout, connecting)
            .await
            .map_err(|_| SendError::ConnectTimeout(self.connect_timeout))?
            .map_err(SendError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = http1::Builder::new().handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            if let Err(error) = conn.with_upgrades().await {
                tracing::debug!(target: "loginguard::proxy", %error, "upstream connection ended");
            }
        });
        Ok(sender)
    }
}

/// Turns `uri` into its path and query, as an HTTP/1.1 request line has it.
fn origin_form(uri: &mut Uri) {
    if uri.scheme().is_none() && uri.authority().is_none() {
        return;
    }
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    *uri = Uri::from(path);
}

/// An upstream response body that gives its connection back to the pool
/// once read to the end.
#[derive(Debug)]
pub(crate) struct PooledBody {
    body: Incoming,
    back: Option<(SendRequest<Body>, Weak<Idle>)>,
    ended: bool,
}

impl PooledBody {
    fn give_back(&mut self) {
        let Some((sender, idle)) = self.back.take() else {
            return;
        };
        if sender.is_closed() {
            return;
        }
        let Some(idle) = idle.upgrade() else {
            return;
        };
        let mut idle = idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() >= MAX_IDLE {
            // The oldest goes.
            idle.remove(0);
        }
        idle.push((sender, Instant::now()));
    }
}

impl hyper::body::Body for PooledBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => {
                this.ended = true;
                this.give_back();
            }
            Poll::Ready(Some(Err(_))) => this.back = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // Read to the end (or empty): the connection is free; otherwise the
        // rest of the body is unread and the connection is dropped.
        if self.ended || hyper::body::Body::is_end_stream(&self.body) {
            self.give_back();
        }
    }
}

//! Serving on worker threads, as nginx's worker processes do: each worker
//! is a single-threaded tokio runtime with a listener of its own on the
//! same address (`SO_REUSEPORT`: the kernel spreads the connections) and
//! upstream connections of its own, so a request never moves between
//! threads. A shutdown reaches every worker; each finishes its requests in
//! flight.

use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{oneshot, watch};

use crate::Parts;

/// Connections waiting to be accepted, per listener (as Rust's standard
/// listener asks for).
const BACKLOG: i32 = 1024;

/// The listening sockets of [`crate::Proxy::serve_workers`]: one per
/// worker, all on one address.
///
/// ```
/// use std::num::NonZeroUsize;
/// use loginguard_proxy::Listeners;
///
/// let listeners = Listeners::bind("127.0.0.1:0".parse()?, NonZeroUsize::new(2).unwrap())?;
/// assert_eq!(listeners.len(), 2);
/// assert_ne!(listeners.local_addr().port(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Listeners {
    sockets: Vec<std::net::TcpListener>,
    addr: SocketAddr,
}

impl Listeners {
    /// `workers` listeners on `addr` (port 0: a free port, the same for
    /// all).
    pub fn bind(addr: SocketAddr, workers: NonZeroUsize) -> io::Result<Listeners> {
        let first = listen(addr)?;
        let addr = first.local_addr()?;
        let mut sockets = vec![first];
        for _ in 1..workers.get() {
            sockets.push(another(&sockets[0], addr)?);
        }
        Ok(Listeners { sockets, addr })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many listeners, so how many workers.
    #[allow(clippy::len_without_is_empty)] // never empty
    pub fn len(&self) -> usize {
        self.sockets.len()
    }
}

/// A listening socket on `addr` that others can share (`SO_REUSEPORT`).
fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    {
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// One more listener on `addr`, beside `first`.
#[cfg(unix)]
fn another(_first: &std::net::TcpListener, addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    listen(addr)
}

/// One more listener on `addr`: without `SO_REUSEPORT`, the same socket.
#[cfg(not(unix))]
fn another(first: &std::net::TcpListener, _addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    first.try_clone()
}

/// Runs one worker per listener until `shutdown` completes and every
/// worker has finished its requests in flight.
pub(crate) async fn serve(
    parts: &Arc<Parts>,
    listeners: Listeners,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    // Workers keep their runtime running until all are done: a store
    // connection one worker opened may serve another's last request.
    let (all_done_tx, all_done_rx) = watch::channel(false);
    let mut finished = Vec::new();
    let mut started = Ok(());
    for (n, socket) in listeners.sockets.into_iter().enumerate() {
        let (done_tx, done_rx) = oneshot::channel::<io::Result<()>>();
        let parts = parts.clone();
        let mut stop = stop_rx.clone();
        let mut all_done = all_done_rx.clone();
        let spawned = thread::Builder::new()
            .name(format!("loginguard-proxy-{n}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = done_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let served = match tokio::net::TcpListener::from_std(socket) {
                        Ok(listener) => {
                            let dispatch = Arc::new(parts.dispatch());
                            let stopped = async move {
                                let _ = stop.wait_for(|stop| *stop).await;
                            };
                            crate::serve::serve(dispatch, listener, stopped).await;
                            Ok(())
                        }
                        Err(error) => Err(error),
                    };
                    let _ = done_tx.send(served);
                    let _ = all_done.wait_for(|done| *done).await;
                });
            });
        match spawned {
            Ok(_) => finished.push(done_rx),
            Err(error) => {
                started = Err(error);
                break;
            }
        }
    }
    drop(stop_rx);
    drop(all_done_rx);
    if started.is_ok() {
        shutdown.await;
    }
    let _ = stop_tx.send(true);
    let mut result = started;
    for done in finished {
        let served = done
            .await
            .unwrap_or_else(|_| Err(io::Error::other("a proxy worker thread stopped")));
        if result.is_ok() {
            result = served;
        }
    }
    let _ = all_done_tx.send(true);
    result
}

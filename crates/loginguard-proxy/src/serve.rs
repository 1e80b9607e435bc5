//! Serving the proxy on a TCP listener: each connection is HTTP/1.1 with
//! upgrades, straight on hyper (no router in between), closed lingering
//! ([`Lingering`]) so a client refused before its body was read reads the
//! answer, and a shutdown stops accepting, then lets every connection
//! finish its request.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use loginguard_axum::Lingering;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::Dispatch;

/// Accepts connections on `listener` until `shutdown` completes, then
/// waits for the open connections to finish their requests in flight.
pub(crate) async fn serve(
    dispatch: Arc<Dispatch>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // Every connection task holds a receiver: the sender's `closed()`
    // resolves once they all ended.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((tcp, peer)) => {
                tokio::spawn(connection(tcp, peer, dispatch.clone(), stop_rx.clone()));
            }
            Err(error) => accept_failed(error).await,
        }
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
}

/// One client connection, served until it closes or, after a shutdown,
/// until its request in flight is answered.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    dispatch: Arc<Dispatch>,
    mut stop: watch::Receiver<bool>,
) {
    // Answers go out at once, as nginx's tcp_nodelay does.
    let _ = tcp.set_nodelay(true);
    let service = service_fn(move |req: Request| {
        let dispatch = dispatch.clone();
        async move { Ok::<_, Infallible>(dispatch.handle(req.map(Body::new), peer).await) }
    });
    let conn = http1::Builder::new()
        .writev(false)
        .serve_connection(TokioIo::new(Lingering::new(tcp)), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::trace!(target: "loginguard::proxy", %error, %peer, "connection ended");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

type Request = hyper::Request<Incoming>;

/// A failed `accept`: a client that gave up is skipped; anything else (out
/// of file descriptors) is logged and retried a second later.
async fn accept_failed(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(target: "loginguard::proxy", %error, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

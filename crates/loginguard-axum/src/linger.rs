//! A lingering close, as nginx's `lingering_close`: a connection that ends
//! while its client may still be sending (a 413, a 400 or a lockout
//! answered before the body was read) reads and discards what comes in
//! for a bounded while before closing, so the client reads the response.
//!
//! Without it, hyper answers, then closes a socket with unread bytes in it
//! or with more still coming; the kernel answers those with a reset, and a
//! client still uploading gets "broken pipe" or "connection reset" instead
//! of the page.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::serve::{ListenerExt, TapIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// Most bytes read and discarded while lingering (nginx has no such bound;
/// this one caps the work a client can cause after its response).
pub const LINGER_BYTES: u64 = 16 * 1024 * 1024;

/// Longest a connection lingers in all (nginx's `lingering_time`, 30 s
/// there).
pub const LINGER_TIME: Duration = Duration::from_secs(10);

/// Longest a lingering connection waits for the client's next bytes
/// (nginx's `lingering_timeout`, 5 s there).
pub const LINGER_IDLE: Duration = Duration::from_secs(2);

/// Size of one discarding read.
const CHUNK: usize = 16 * 1024;

/// A TCP stream that closes lingering: dropped before the client's end of
/// stream was read, it hands the socket to a task that ends the write side
/// (so the client sees the response end), then reads and discards what
/// the client still sends until the client closes, [`LINGER_IDLE`] passes
/// without a byte, [`LINGER_TIME`] passes in all or [`LINGER_BYTES`] are
/// read, whichever comes first, and only then closes it.
///
/// A client that closed first (its end was read) or whose connection
/// failed costs nothing. Lingering begins at the drop, not at
/// `shutdown`, so whoever still reads after shutting the write side down
/// (a spliced WebSocket after one way ended) gets every byte. It needs a
/// Tokio runtime at the drop; without one the socket just closes. A server
/// shutting down does not wait for lingering sockets.
///
/// hyper drops its I/O when it ends a connection, so serving `Lingering`
/// streams is all it takes; [`LingeringListener`] does it for
/// `axum::serve`.
#[derive(Debug)]
pub struct Lingering {
    /// `None` only once dropped.
    tcp: Option<TcpStream>,
    /// The client's end of stream, or a failure, was read: nothing to wait
    /// for.
    finished: bool,
}

impl Lingering {
    /// Wraps an accepted connection.
    pub fn new(tcp: TcpStream) -> Self {
        Lingering {
            tcp: Some(tcp),
            finished: false,
        }
    }

    /// The wrapped stream (to set socket options).
    pub fn get_ref(&self) -> Option<&TcpStream> {
        self.tcp.as_ref()
    }

    fn tcp(&mut self) -> io::Result<&mut TcpStream> {
        self.tcp
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(tcp) = self.tcp.take() else {
            return;
        };
        if self.finished {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(linger(tcp));
        }
    }
}

/// Ends the write side of `tcp`, then reads and discards within the
/// bounds above; the socket closes when this returns.
async fn linger(mut tcp: TcpStream) {
    // Done already when the server shut down before dropping.
    let _ = tcp.shutdown().await;
    let until = Instant::now() + LINGER_TIME;
    let mut left = LINGER_BYTES;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let idle = (Instant::now() + LINGER_IDLE).min(until);
        match tokio::time::timeout_at(idle, tcp.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                left = left.saturating_sub(n as u64);
                if left == 0 || Instant::now() >= until {
                    return;
                }
            }
            // The client's end, a failure or the idle timer.
            _ => return,
        }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let room = buf.remaining() > 0;
        let read = ready!(Pin::new(this.tcp()?).poll_read(cx, buf));
        if read.is_err() || (room && buf.filled().len() == before) {
            this.finished = true;
        }
        Poll::Ready(read)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().tcp()?).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().tcp()?).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.as_ref().is_some_and(|tcp| tcp.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().tcp()?).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().tcp()?).poll_shutdown(cx)
    }
}

/// A TCP listener for `axum::serve` whose connections close lingering
/// ([`Lingering`]), so a client answered before its body was read (a body
/// over `body_limit`, a lockout) reads the answer instead of a reset.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// use std::net::SocketAddr;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// let listener = loginguard_axum::LingeringListener::new(listener).with_connect_info();
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
/// # }
/// ```
#[derive(Debug)]
pub struct LingeringListener {
    tcp: TcpListener,
}

/// A [`LingeringListener`] as `axum::serve` takes it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: axum gives
/// [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo) to the listeners
/// it wraps in its own [`TapIo`], so the listener is wrapped in one that
/// does nothing.
pub type ConnectInfoListener = TapIo<LingeringListener, fn(&mut Lingering)>;

impl LingeringListener {
    /// Wraps a bound listener.
    pub fn new(tcp: TcpListener) -> Self {
        LingeringListener { tcp }
    }

    /// The listener `axum::serve` takes to hand out the peer address as
    /// [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), which the
    /// login guard's IP criteria need.
    pub fn with_connect_info(self) -> ConnectInfoListener {
        fn untouched(_: &mut Lingering) {}
        self.tap_io(untouched as fn(&mut Lingering))
    }
}

impl axum::serve::Listener for LingeringListener {
    type Io = Lingering;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (tcp, peer) = axum::serve::Listener::accept(&mut self.tcp).await;
        (Lingering::new(tcp), peer)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connected pair: the server's end and the client's end.
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (accepted.unwrap().0, client.unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_endless_upload_is_read_up_to_linger_bytes_then_closed() {
        let (mut server, mut client) = pair().await;
        let (mut client_read, mut client_write) = client.split();
        let answer = async {
            server
                .write_all(b"HTTP/1.1 413 Payload Too Large\r\n\r\n")
                .await
                .unwrap();
            linger(server).await;
        };
        let upload = async {
            let chunk = [b'x'; 64 * 1024];
            let mut sent = 0u64;
            while client_write.write_all(&chunk).await.is_ok() {
                sent += chunk.len() as u64;
            }
            sent
        };
        let ((), sent) = tokio::join!(answer, upload);
        assert!(sent >= LINGER_BYTES, "only {sent} bytes were taken");
        let mut head = [0u8; 12];
        let _ = client_read.read_exact(&mut head).await;
        assert_eq!(&head, b"HTTP/1.1 413");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_let_go_after_linger_idle() {
        let (mut server, mut client) = pair().await;
        let start = Instant::now();
        server.write_all(b"bye").await.unwrap();
        linger(server).await;
        assert_eq!(start.elapsed(), LINGER_IDLE);
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"bye");
    }
}

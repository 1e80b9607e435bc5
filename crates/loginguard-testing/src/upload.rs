//! A client uploading a large body the way browsers and curl do: it sends
//! the whole request, then reads the answer, each on a fresh connection.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Size of one write.
const CHUNK: usize = 64 * 1024;

/// POSTs a form body of `len` bytes (`username=…&password=xxx…`) to `path`
/// on `addr` with `Connection: close`, writes all of it, then reads the
/// response to the end and returns it as text.
///
/// An `Err` is what the client's user would see instead of the page: the
/// server reset the connection ("connection reset", "broken pipe") while
/// the body was still being sent or before the answer was read.
pub async fn post_large(addr: SocketAddr, path: &str, len: usize) -> io::Result<String> {
    let mut tcp = TcpStream::connect(addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await?;
    let start = b"username=someone&password=";
    tcp.write_all(&start[..start.len().min(len)]).await?;
    let filler = [b'x'; CHUNK];
    let mut left = len.saturating_sub(start.len());
    while left > 0 {
        let n = left.min(CHUNK);
        tcp.write_all(&filler[..n]).await?;
        left -= n;
    }
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// [`post_large`] from `clients` clients, `at_once` of them at a time;
/// returns, for each client whose answer `read` refuses (or that got none),
/// the first line of what it got, or the error.
pub async fn clients_missing(
    addr: SocketAddr,
    path: &str,
    len: usize,
    (clients, at_once): (usize, usize),
    read: fn(&str) -> bool,
) -> Vec<String> {
    let mut missing = Vec::new();
    let mut done = 0;
    while done < clients {
        let batch = at_once.min(clients - done).max(1);
        let mut running = tokio::task::JoinSet::new();
        for _ in 0..batch {
            let path = path.to_owned();
            running.spawn(async move { post_large(addr, &path, len).await });
        }
        while let Some(joined) = running.join_next().await {
            match joined {
                Ok(Ok(answer)) if read(&answer) => {}
                Ok(Ok(answer)) => missing.push(answer.lines().next().unwrap_or("").to_owned()),
                Ok(Err(e)) => missing.push(e.to_string()),
                Err(e) => missing.push(format!("client task failed: {e}")),
            }
        }
        done += batch;
    }
    missing
}

//! A refused client keeps its connection: the layer answers a locked-out
//! attempt before reading the body, then reads what is left of a small
//! body so that the server can reuse the connection for the next request.

mod common;

use std::time::Duration;

use common::TestServer;
use loginguard_core::Policy;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Writes one login POST whose body follows the head in a second write, as
/// many clients send it; returns the status of the answer.
async fn post_on(stream: &mut BufReader<TcpStream>, password: &str) -> Option<u16> {
    let body = format!("username=alice&password={password}");
    let head = format!(
        "POST /login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    stream.get_mut().write_all(head.as_bytes()).await.ok()?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.get_mut().write_all(body.as_bytes()).await.ok()?;
    let mut status_line = String::new();
    if stream.read_line(&mut status_line).await.ok()? == 0 {
        return None; // closed by the server
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.ok()?;
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut rest = vec![0; length];
    stream.read_exact(&mut rest).await.ok()?;
    status_line.split(' ').nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_client_keeps_its_connection() {
    let server = TestServer::start(Policy::default()).await;
    let mut stream = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(post_on(&mut stream, "guess").await);
    }
    assert_eq!(
        statuses,
        [
            Some(401),
            Some(401),
            Some(429),
            Some(429),
            Some(429),
            Some(429)
        ],
        "every answer on the one connection"
    );
}

//! Bad input over real HTTP: 413, 400, unknown content types. Never a 500,
//! never a panic, and the attempt still counts on the IP.

mod common;

use common::{client, TestServer};
use loginguard_core::Policy;
use reqwest::StatusCode;

async fn post(
    server: &TestServer,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    client()
        .post(server.url("/login"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_413() {
    let policy = Policy::builder().body_limit(1024).build().unwrap();
    let server = TestServer::start(policy).await;
    let big = format!("username=alice&password={}", "x".repeat(4096));
    let res = post(&server, FORM, big.clone()).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("larger than 1024 bytes"));
    // Without Content-Length (chunked), the read itself is capped.
    assert_eq!(
        chunked_post(&server, &big, 512).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    assert_eq!(server.checks(), 0);
}

/// Sends `body` in chunks of `chunk` bytes with no `Content-Length`; returns the
/// status line.
async fn chunked_post(server: &TestServer, body: &str, chunk: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /login HTTP/1.1\r\nhost: {}\r\ncontent-type: {FORM}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.as_bytes().chunks(chunk) {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
        if stream.write_all(&framed).await.is_err() {
            break; // the server may answer and close before the end
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_username_gets_400() {
    let server = TestServer::start(Policy::default()).await;
    let res = post(
        &server,
        FORM,
        format!("username={}&password=x", "a".repeat(300)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("longer than 256 characters"));
    assert_eq!(server.checks(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_that_is_not_utf8_gets_400() {
    let server = TestServer::start(Policy::default()).await;
    let res = post(&server, FORM, "username=%ff%fe&password=x").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("not valid UTF-8"));
    let res = post(
        &server,
        "application/json",
        b"{\"username\":\"\xff\",\"password\":\"x\"}".to_vec(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(server.checks(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_gets_400_with_a_message() {
    let server = TestServer::start(Policy::builder().failure_limit(10).build().unwrap()).await;
    let res = client()
        .post(server.url("/login"))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(r#"{"username": "alice", "password": "#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"], "bad_request");
    assert!(v["message"].as_str().unwrap().contains("malformed JSON"));
    for bad in [
        r#"{"username": 5}"#,
        "[]",
        r#"{"username":"a","username":"b"}"#,
    ] {
        assert_eq!(
            post(&server, "application/json", bad).await.status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    assert_eq!(server.checks(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_content_type_reaches_the_handler_without_a_username() {
    let server = TestServer::start(Policy::default()).await;
    let res = post(&server, "text/plain", "username=alice&password=wonderland").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.text().await.unwrap(), "no credentials in 34 bytes");
    // IP criteria still apply: three such failures lock the IP.
    post(&server, "text/plain", "x").await;
    assert_eq!(
        post(&server, "text/plain", "x").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(server.checks(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_still_counts_on_the_ip() {
    let server = TestServer::start(Policy::default()).await;
    let long = format!("username={}", "a".repeat(300));
    assert_eq!(
        post(&server, FORM, long.clone()).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&server, FORM, "username=%ff").await.status(),
        StatusCode::BAD_REQUEST
    );
    // The third bad request reaches the limit: lockout response.
    assert_eq!(
        post(&server, FORM, long).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // And the IP is locked for a good login too.
    assert_eq!(
        server.login("alice", "wonderland").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(server.checks(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_in_many_chunks_is_read_whole_and_handed_on() {
    let server = TestServer::start(Policy::default()).await;
    let status = chunked_post(&server, "username=alice&password=wonderland", 5).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(server.checks(), 1);
}

//! `loginguard proxy` streams large bodies both ways: a 50 MB upload and a
//! 50 MB download pass through while the proxy process's peak memory stays
//! far below the size of either.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use axum::Router;
use support::{loginguard, Running};

const MB: usize = 1024 * 1024;

async fn upload(body: Body) -> String {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut n = 0usize;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            n += data.len();
        }
    }
    n.to_string()
}

async fn download() -> Body {
    let chunk = Bytes::from(vec![7u8; MB]);
    Body::from_stream(tokio_stream_iter(chunk))
}

fn tokio_stream_iter(chunk: Bytes) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> {
    futures_util::stream::iter((0..50).map(move |_| Ok(chunk.clone())))
}

/// Peak resident memory of a process, in bytes (Linux's VmHWM).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn fifty_megabytes_stream_through_in_bounded_memory() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let upstream: SocketAddr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/upload", post(upload))
            .route("/download", get(download));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = loginguard(dir.path());
    cmd.args(["proxy", "--addr", "127.0.0.1:0", "--login-path", "/login"])
        .arg("--upstream")
        .arg(format!("http://{upstream}"))
        .env("LOGINGUARD_STORE", "memory");
    let proxy = Running::spawn(cmd);
    let addr = proxy.addr;
    let baseline = peak_rss(proxy.pid());
    rt.block_on(async {
        let client = reqwest::Client::new();
        let chunk = Bytes::from(vec![1u8; MB]);
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(
            (0..50).map(move |_| Ok::<_, Infallible>(chunk.clone())),
        ));
        let up = client
            .post(format!("http://{addr}/upload"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(up.text().await.unwrap(), (50 * MB).to_string());
        let mut down = client
            .get(format!("http://{addr}/download"))
            .send()
            .await
            .unwrap();
        let mut n = 0;
        while let Some(chunk) = down.chunk().await.unwrap() {
            n += chunk.len();
        }
        assert_eq!(n, 50 * MB);
    });
    let (Some(before), Some(after)) = (baseline, peak_rss(proxy.pid())) else {
        loginguard_testing::skip!(
            "the memory check needs /proc/<pid>/status, which this system lacks"
        );
        return;
    };
    let grown = after.saturating_sub(before);
    eprintln!(
        "proxy peak memory: {} KiB before, {} KiB after 50 MiB each way",
        before / 1024,
        after / 1024
    );
    assert!(
        grown < 16 * MB as u64,
        "the proxy's peak memory grew by {} MiB for 50 MiB each way (from {} MiB)",
        grown / MB as u64,
        before / MB as u64
    );
}

//! A body over `body_limit` is answered 413 before it is read; the client
//! still uploading must read that page, not a reset connection.

use std::sync::Arc;

use loginguard_core::{MemoryStore, Policy};
use loginguard_demo::{Argon2Cost, DemoOptions, DemoServer};
use loginguard_testing::upload::clients_missing;

const MB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_posting_3_mb_read_the_413_page() {
    let mut options = DemoOptions::default();
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.argon2 = Argon2Cost {
        memory_kib: 64,
        iterations: 1,
    };
    // Every 413 counts as a failure on the IP: keep the IP unlocked.
    let policy = Policy::builder()
        .body_limit(1024)
        .failure_limit(1000)
        .build()
        .unwrap();
    let server = DemoServer::bind_with_store(options, policy, Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));

    let missing = clients_missing(addr, "/login", 3 * MB, (100, 10), |answer| {
        answer.starts_with("HTTP/1.1 413 Payload Too Large")
            && answer.contains("The request body is larger than 1024 bytes.")
    })
    .await;
    assert!(
        missing.is_empty(),
        "{} of 100 clients did not read the 413: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

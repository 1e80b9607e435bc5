//! A store outage under load: a stream of concurrent attempts runs while a
//! private `redis-server` is killed and started again on the same port
//! (the drill of `loginguard_store_tests::outage`). Skipped without
//! `redis-server`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use loginguard_core::Store;
use loginguard_redis::{RedisOptions, RedisStore};
use loginguard_store_tests::outage;
use support::Server;

struct Private(Server);

impl outage::Server for Private {
    fn stop(&mut self) {
        self.0.kill();
    }
    fn start(&mut self) {
        self.0.restart();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load() {
    if !support::redis_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let timeout = Duration::from_millis(500);
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::connect(
            &server.url(),
            RedisOptions::new()
                .prefix(support::random_prefix())
                .timeout(timeout),
        )
        .await
        .unwrap(),
    );
    let report = outage::drill(store, timeout, &mut Private(server)).await;
    eprintln!("redis outage: {report:?}");
}

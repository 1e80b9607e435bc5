//! A store outage under load: a stream of concurrent attempts runs while a
//! private PostgreSQL cluster is stopped at once (`pg_ctl stop -m
//! immediate`, like a crash) and started again on the same port (the drill
//! of `loginguard_store_tests::outage`). Skipped without `initdb` and
//! `pg_ctl`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use loginguard_core::Store;
use loginguard_postgres::{PostgresOptions, PostgresStore};
use loginguard_store_tests::outage;
use support::PrivateServer;

struct Private(PrivateServer);

impl outage::Server for Private {
    fn stop(&mut self) {
        self.0.kill();
    }
    fn start(&mut self) {
        self.0.restart();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_restarted_under_load() {
    let Some(bin) = PrivateServer::installed() else {
        return;
    };
    let server = PrivateServer::start(&bin);
    let timeout = Duration::from_millis(500);
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(
            &server.url(),
            PostgresOptions::new()
                .schema("lgoutage")
                .timeout(timeout)
                .auto_migrate(true),
        )
        .await
        .unwrap(),
    );
    let report = outage::drill(store, timeout, &mut Private(server)).await;
    eprintln!("postgres outage: {report:?}");
}

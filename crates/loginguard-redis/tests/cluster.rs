//! The shared store suite against a real three-primary Redis Cluster that
//! each test starts on free loopback ports and stops when it ends
//! (`redis-server --cluster-enabled yes` + `redis-cli --cluster create`).
//! Skipped when `redis-server` / `redis-cli` are not installed.

mod support;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use loginguard_core::record::Limits;
use loginguard_core::{Key, KeyFilter, KeyVerdict, ListQuery, Store};
use support::Cluster;

/// Starts a Cluster on first `open` and keeps it until the test ends.
#[derive(Default)]
struct ClusterHarness {
    cluster: Mutex<Option<Cluster>>,
}

#[async_trait::async_trait]
impl loginguard_store_tests::Harness for ClusterHarness {
    async fn open(&self, handles: usize) -> Option<Vec<Arc<dyn Store>>> {
        if !support::redis_installed() {
            return None;
        }
        let url = {
            let mut slot = self.cluster.lock().unwrap();
            slot.get_or_insert_with(Cluster::start).url()
        };
        let stores = support::open_stores(&url, &support::random_prefix(), handles).await;
        Some(
            stores
                .into_iter()
                .map(|s| Arc::new(s) as Arc<dyn Store>)
                .collect(),
        )
    }
}

loginguard_store_tests::store_tests!(ClusterHarness::default());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_spread_over_every_node_and_list_and_reset_see_them_all() {
    if !support::redis_installed() {
        return;
    }
    let cluster = Cluster::start();
    let prefix = support::random_prefix();
    let mut stores = support::open_stores(&cluster.url(), &prefix, 2).await;
    let (a, b) = (stores.pop().unwrap(), stores.pop().unwrap());
    assert!(a.is_cluster());
    let limits = Limits::new(2);
    let now = SystemTime::now();
    let keys: Vec<Key> = (0..60)
        .map(|i| Key::new("login").with_ip(format!("198.51.100.{i}")))
        .collect();
    for (i, key) in keys.iter().enumerate() {
        let store = if i % 2 == 0 { &a } else { &b };
        store.begin_attempt(key, &limits, now).await.unwrap();
        store.begin_attempt(key, &limits, now).await.unwrap();
    }
    let per_node = cluster.keys_per_node(&prefix);
    assert_eq!(per_node.iter().sum::<usize>(), keys.len(), "{per_node:?}");
    assert!(
        per_node.iter().all(|&n| n > 0),
        "every node holds keys: {per_node:?}"
    );
    // Both handles see every lock, wherever it lives.
    for key in &keys {
        let v = b.begin_attempt(key, &limits, now).await.unwrap();
        assert!(matches!(v, KeyVerdict::Locked { .. }), "{key}: {v:?}");
    }
    let listed = a
        .list(&ListQuery::all().locked_only(true), now)
        .await
        .unwrap();
    assert_eq!(listed.len(), keys.len());
    let one = b.reset(&KeyFilter::all().ip("198.51.100.7")).await.unwrap();
    assert_eq!(one, 1);
    assert_eq!(
        a.reset(&KeyFilter::all()).await.unwrap(),
        keys.len() as u64 - 1
    );
    assert_eq!(cluster.keys_per_node(&prefix), vec![0, 0, 0]);
    let health = a.health().await.unwrap();
    let notes = health.notes.join("\n");
    assert!(notes.contains("Cluster state ok, 3 primaries"), "{notes}");
    assert!(
        health.description.starts_with("redis+cluster://"),
        "{health:?}"
    );
}

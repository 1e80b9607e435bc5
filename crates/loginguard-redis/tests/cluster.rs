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

/// Script calls (`evalsha`) on every node of the Cluster, summed.
fn cluster_evalsha(cluster: &Cluster) -> u64 {
    cluster
        .nodes
        .iter()
        .map(|n| {
            let out = std::process::Command::new("redis-cli")
                .args(["-p", &n.port.to_string(), "info", "commandstats"])
                .output()
                .expect("redis-cli info");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
                .and_then(|rest| rest.split(',').next())
                .map_or(0, |n| n.parse::<u64>().unwrap())
        })
        .sum()
}

/// An attempt whose keys live on three slots (on different nodes): one
/// script per slot, run at once, and the answers and counts of
/// `batch::begin_records`: the spray key is skipped once the IP is locked
/// and the username gives the refused attempt back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_on_keys_of_several_slots_gets_the_answers_of_one_step() {
    use loginguard_core::batch::{begin_records, Begun, KeyStep};
    use loginguard_core::record::{from_ms, to_ms, KeyRecord};
    use redis::cluster_routing::Slot;

    if !support::redis_installed() {
        return;
    }
    let cluster = Cluster::start();
    let prefix = support::random_prefix();
    let store = support::open_stores(&cluster.url(), &prefix, 1)
        .await
        .pop()
        .unwrap();
    let ip = Key::new("login").with_ip("203.0.113.50");
    let user = Key::new("login").with_username("mallory");
    let spray = Key::new("login").with_password("00ff00ff00ff00ff");
    let slots: Vec<Slot> = [&ip, &user, &spray]
        .iter()
        .map(|k| Slot::for_key(store.redis_key(k)))
        .collect();
    assert!(
        slots[0] != slots[1] && slots[1] != slots[2] && slots[0] != slots[2],
        "three slots: {slots:?}"
    );
    let ip_limits = Limits::new(3).with_count_during_lockout(false);
    let user_limits = Limits::new(10).with_count_during_lockout(false);
    let spray_limits = Limits::new(5)
        .with_count_during_lockout(false)
        .with_remember(5);
    let mut models = [
        KeyRecord::default(),
        KeyRecord::default(),
        KeyRecord::default(),
    ];
    let start = to_ms(SystemTime::now());
    let mut refused = 0;
    for i in 0..8i64 {
        let now = start + i * 1_000;
        let steps = [
            KeyStep::new(&ip, &ip_limits),
            KeyStep::new(&user, &user_limits),
            KeyStep::new(&spray, &spray_limits)
                .with_tag(Some(i as u64))
                .spray(),
        ];
        let before = cluster_evalsha(&cluster);
        let expected = begin_records(&mut models, &steps, now);
        let got = store.begin_all(&steps, from_ms(now)).await.unwrap();
        assert_eq!(got, expected, "attempt {i}");
        let calls = cluster_evalsha(&cluster) - before;
        if expected.iter().any(Begun::is_locked) {
            refused += 1;
            assert_eq!(expected[2], Begun::Skipped);
            // Three scripts at once, then the username's and the spray
            // key's give-backs at once.
            assert_eq!(calls, 5, "attempt {i}");
        } else {
            assert_eq!(calls, 3, "attempt {i}: one script per slot");
        }
        let listed = store.list(&ListQuery::all(), from_ms(now)).await.unwrap();
        for (key, model) in [&ip, &user, &spray].into_iter().zip(&models) {
            let found = listed.iter().find(|s| &s.key == key);
            assert_eq!(
                found.map(|s| (s.failures, s.locked)),
                (!model.is_empty()).then(|| (model.failures.len() as u32, model.lock_active(now))),
                "attempt {i} {key}"
            );
        }
    }
    assert_eq!(refused, 5, "the IP locked at its third attempt");
    store.reset(&KeyFilter::all()).await.unwrap();
}

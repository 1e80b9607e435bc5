//! What each attempt costs Redis, counted by the server itself (`INFO
//! commandstats` on a private `redis-server`): a new key is one native
//! `SET … NX GET`, a key under repeated attack one script call, and a
//! server restarted empty still gets its scripts back. Skipped without
//! `redis-server`.

mod support;

use std::time::SystemTime;

use loginguard_core::record::{KeyVerdict, Limits};
use loginguard_core::{Key, Store};
use loginguard_redis::RedisStore;
use support::Server;

/// Calls of `command` since the last `CONFIG RESETSTAT`.
async fn calls(url: &str, command: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

async fn reset_stats(url: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// A store on a private server of its own; `None` without `redis-server`.
async fn private_store() -> Option<(tempfile::TempDir, Server, RedisStore)> {
    if !support::redis_installed() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let store = RedisStore::connect(
        &server.url(),
        support::test_options(&support::random_prefix()),
    )
    .await
    .unwrap();
    Some((dir, server, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_keys_cost_one_native_command_and_repeated_keys_one_script_call() {
    let Some((_dir, server, store)) = private_store().await else {
        return;
    };
    let url = server.url();
    let limits = Limits::new(3);
    let now = SystemTime::now();
    reset_stats(&url).await;

    // A spray: every attempt from a new IP.
    for i in 0..50 {
        let key = Key::new("login").with_ip(format!("198.51.100.{i}"));
        let v = store.begin_attempt(&key, &limits, now).await.unwrap();
        assert!(
            matches!(v, KeyVerdict::Allowed { failures: 1, .. }),
            "{v:?}"
        );
    }
    assert_eq!(calls(&url, "set").await, 50);
    assert_eq!(calls(&url, "evalsha").await, 0);

    // A brute force on one key: the second attempt finds the key with the
    // native try, then every later one goes straight to the script.
    reset_stats(&url).await;
    let target = Key::new("login").with_username("alice");
    let mut verdicts = Vec::new();
    for _ in 0..10 {
        verdicts.push(store.begin_attempt(&target, &limits, now).await.unwrap());
    }
    assert_eq!(calls(&url, "evalsha").await, 9);
    // Redis counts the commands a script runs too: each call here runs two
    // `SET`s (its `NX GET` try and the write), so 2 native + 9 × 2.
    assert_eq!(calls(&url, "set").await, 2 + 9 * 2);
    let allowed = verdicts
        .iter()
        .filter(|v| matches!(v, KeyVerdict::Allowed { .. }))
        .count();
    assert_eq!(allowed, 3, "{verdicts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_empty_gets_the_scripts_back() {
    let Some((_dir, mut server, store)) = private_store().await else {
        return;
    };
    let limits = Limits::new(2);
    let now = SystemTime::now();
    let key = Key::new("login").with_username("bob");
    store.begin_attempt(&key, &limits, now).await.unwrap();
    store.begin_attempt(&key, &limits, now).await.unwrap();

    // Restarted without persistence: no records and no scripts.
    server.kill();
    server.restart();
    let mut first = None;
    for _ in 0..100 {
        match store.begin_attempt(&key, &limits, now).await {
            Ok(v) => {
                first = Some(v);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    // The key is known to this store, so the attempt runs the script,
    // which the server has to be given again; the record starts afresh.
    assert!(
        matches!(first, Some(KeyVerdict::Allowed { failures: 1, .. })),
        "{first:?}"
    );
    let second = store.begin_attempt(&key, &limits, now).await.unwrap();
    assert!(
        matches!(second, KeyVerdict::Allowed { failures: 2, .. }),
        "{second:?}"
    );
    let third = store.begin_attempt(&key, &limits, now).await.unwrap();
    assert!(matches!(third, KeyVerdict::Locked { .. }), "{third:?}");
}

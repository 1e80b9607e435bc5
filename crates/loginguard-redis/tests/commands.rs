//! What each attempt costs Redis, counted by the server itself (`INFO
//! commandstats` on a private `redis-server`): a new key is one native
//! `SET … NX GET`, a key under repeated attack one script call, an attempt
//! on several keys one script call whatever their number, and a server
//! restarted empty still gets its scripts back. Skipped without
//! `redis-server`.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use loginguard_core::record::{to_ms, KeyVerdict, Limits, Release};
use loginguard_core::{
    Attempt, Begun, Criterion, Decision, Field, Guard, Key, KeyRelease, KeyStep, Policy, Store,
};
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

/// Every command counted since the last `CONFIG RESETSTAT` (the commands
/// scripts run included), without the test's own `INFO` and `CONFIG`.
async fn all_calls(url: &str) -> BTreeMap<String, u64> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(":calls=")?;
            let n = rest.split(',').next()?.parse().ok()?;
            (!name.starts_with("info") && !name.starts_with("config")).then(|| (name.to_owned(), n))
        })
        .collect()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| ((*c).to_owned(), *n))
        .collect()
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

/// An attempt on an IP and a username (and a password's spray key) is one
/// script call, whether its keys are new, known or the attempt is refused;
/// settling two keys is one more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_on_several_keys_is_one_script_call() {
    let Some((_dir, server, store)) = private_store().await else {
        return;
    };
    let url = server.url();
    let limits = Limits::new(1_000).with_count_during_lockout(false);
    let spray_limits = Limits::new(1_000)
        .with_count_during_lockout(false)
        .with_remember(1_000);
    let now = SystemTime::now();
    let n = 20u64;

    // New keys: the script stores each with one `SET … NX GET`.
    reset_stats(&url).await;
    for i in 0..n {
        let ip = Key::new("login").with_ip(format!("198.51.100.{i}"));
        let user = Key::new("login").with_username(format!("new{i}"));
        let steps = [KeyStep::new(&ip, &limits), KeyStep::new(&user, &limits)];
        let begun = store.begin_all(&steps, now).await.unwrap();
        assert!(
            begun
                .iter()
                .all(|b| matches!(b, Begun::Verdict(KeyVerdict::Allowed { failures: 1, .. }))),
            "{begun:?}"
        );
    }
    let new_keys = all_calls(&url).await;
    eprintln!("ip+username, new keys, {n} attempts: {new_keys:?}");
    assert_eq!(new_keys, counts(&[("evalsha", n), ("set", 2 * n)]));

    // Known keys, a spray key beside them: each key's `NX GET` try and its
    // write.
    let ip = Key::new("login").with_ip("203.0.113.5");
    let user = Key::new("login").with_username("alice");
    let spray = Key::new("login").with_password("00ff00ff00ff00ff");
    for keys in [2u64, 3] {
        let steps = [
            KeyStep::new(&ip, &limits),
            KeyStep::new(&user, &limits),
            KeyStep::new(&spray, &spray_limits)
                .with_tag(Some(7))
                .spray(),
        ];
        let steps = &steps[..keys as usize];
        store.begin_all(steps, now).await.unwrap();
        reset_stats(&url).await;
        for _ in 0..n {
            let begun = store.begin_all(steps, now).await.unwrap();
            assert_eq!(begun.len(), steps.len());
        }
        let known = all_calls(&url).await;
        eprintln!("{keys} known keys, {n} attempts: {known:?}");
        assert_eq!(known, counts(&[("evalsha", n), ("set", 2 * keys * n)]));
    }

    // A locked IP and new usernames: the username counts the refused
    // attempt and gives it back (deleted again) in the same call, the
    // spray key is never touched.
    let locked_ip = Key::new("login").with_ip("203.0.113.66");
    let one = Limits::new(1).with_count_during_lockout(false);
    store.begin_attempt(&locked_ip, &one, now).await.unwrap();
    store.begin_attempt(&locked_ip, &one, now).await.unwrap();
    reset_stats(&url).await;
    for i in 0..n {
        let user = Key::new("login").with_username(format!("stuffed{i}"));
        let steps = [
            KeyStep::new(&locked_ip, &one),
            KeyStep::new(&user, &limits),
            KeyStep::new(&spray, &spray_limits)
                .with_tag(Some(i))
                .spray(),
        ];
        let begun = store.begin_all(&steps, now).await.unwrap();
        assert!(begun[0].is_locked(), "{begun:?}");
        assert_eq!(begun[2], Begun::Skipped);
    }
    let refused = all_calls(&url).await;
    eprintln!("locked ip + new username + spray, {n} attempts: {refused:?}");
    assert_eq!(
        refused,
        counts(&[("evalsha", n), ("set", 2 * n + n), ("del", n)])
    );

    // Settling two keys at once.
    reset_stats(&url).await;
    let at = to_ms(now);
    let releases = [
        KeyRelease::new(&ip, Release::give_back(at, false), &limits),
        KeyRelease::new(&user, Release::give_back(at, false), &limits),
    ];
    store.release_all(&releases, now).await.unwrap();
    let settled = all_calls(&url).await;
    eprintln!("release_all of two keys: {settled:?}");
    assert_eq!(settled, counts(&[("evalsha", 1), ("get", 2), ("set", 2)]));
}

/// Through the engine: a policy on the IP and on the username costs one
/// script call to begin an attempt and, on a right password, one to settle
/// it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guarded_attempt_on_ip_and_username_is_one_call_to_begin_and_one_to_settle() {
    let Some((_dir, server, store)) = private_store().await else {
        return;
    };
    let url = server.url();
    let policy = Policy::builder()
        .failure_limit(1_000)
        .lockout_parameters(vec![
            Criterion::one(Field::Ip),
            Criterion::one(Field::Username),
        ])
        .build()
        .unwrap();
    let guard = Guard::new(policy, Arc::new(store) as Arc<dyn Store>);
    let attempt = || {
        Attempt::new("POST", "/login")
            .ip("203.0.113.9".parse().unwrap())
            .username("alice")
    };
    reset_stats(&url).await;
    let Decision::Proceed(ticket) = guard.begin(attempt()).await.unwrap() else {
        panic!("refused");
    };
    guard.failure(ticket).await;
    // The guard's first attempt starts a purge in the background (a `SCAN`,
    // then a `GET` of each record it found): let it end first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = BTreeMap::new();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let calls = all_calls(&url).await;
        if calls.contains_key("scan") && calls == last {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no purge: {calls:?}");
        last = calls;
    }
    let n = 10u64;
    reset_stats(&url).await;
    for _ in 0..n {
        let Decision::Proceed(ticket) = guard.begin(attempt()).await.unwrap() else {
            panic!("refused");
        };
        guard.failure(ticket).await;
    }
    let failures = all_calls(&url).await;
    eprintln!("Guard, ip + username, {n} failed attempts: {failures:?}");
    assert_eq!(failures, counts(&[("evalsha", n), ("set", 4 * n)]));

    reset_stats(&url).await;
    let Decision::Proceed(ticket) = guard.begin(attempt()).await.unwrap() else {
        panic!("refused");
    };
    guard.success(ticket).await;
    let success = all_calls(&url).await;
    eprintln!("Guard, ip + username, one right password: {success:?}");
    assert_eq!(
        success,
        counts(&[("evalsha", 2), ("set", 4 + 2), ("get", 2)])
    );
}

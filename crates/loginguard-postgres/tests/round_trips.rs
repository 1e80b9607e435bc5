//! Statements per attempt, as the server counts them: on a private cluster
//! with `pg_stat_statements` (so no other test's statements are counted),
//! an attempt on two criteria (ip and username) is one statement through
//! `begin_all`, for new and existing keys alike, and settling it is one
//! more through `release_all`; a single key costs what it did before the
//! attempt functions (one statement new, two existing). And attempts on
//! overlapping keys never make the server break a deadlock.

mod support;

use std::time::{Duration, SystemTime};

use loginguard_core::batch::{Begun, KeyRelease, KeyStep};
use loginguard_core::record::{to_ms, KeyVerdict, Limits, Release};
use loginguard_core::{Key, Store};
use loginguard_postgres::sqlx;
use loginguard_postgres::{PostgresOptions, PostgresStore};
use support::PrivateServer;

/// Statements the server ran since the last reset, leaving out the
/// statements that read and reset the counters, and the server's time
/// running them (planning and execution, ms).
async fn counters(admin: &sqlx::PgPool) -> (i64, f64) {
    sqlx::query_as(
        "SELECT coalesce(sum(calls), 0)::bigint, \
         coalesce(sum(total_plan_time + total_exec_time), 0)::float8 FROM pg_stat_statements \
         WHERE query NOT ILIKE '%pg_stat_statements%'",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

/// Server µs per attempt, from [`counters`] over `n` attempts.
fn micros(counted: (i64, f64), n: usize) -> String {
    format!("{:.0} µs", counted.1 * 1000.0 / n as f64)
}

async fn reset(admin: &sqlx::PgPool) {
    sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(admin)
        .await
        .unwrap();
}

fn attempt_keys(i: usize) -> (Key, Key) {
    (
        Key::new("login").with_ip(format!("198.51.100.{i}")),
        Key::new("login").with_username(format!("user{i}")),
    )
}

#[tokio::test]
async fn an_attempt_on_two_criteria_is_one_statement() {
    let Some(bin) = PrivateServer::installed() else {
        return;
    };
    let control = PrivateServer::extension_dir(&bin).join("pg_stat_statements.control");
    if !control.is_file() {
        loginguard_testing::skip!(
            "{} is missing (the PostgreSQL contrib extensions are not installed)",
            control.display()
        );
        return;
    }
    let server = PrivateServer::start_with(
        &bin,
        &[
            "shared_preload_libraries=pg_stat_statements",
            "pg_stat_statements.track_planning=on",
        ],
    );
    let admin = sqlx::PgPool::connect(&server.url()).await.unwrap();
    sqlx::query("CREATE EXTENSION pg_stat_statements")
        .execute(&admin)
        .await
        .unwrap();
    let store = PostgresStore::connect(
        &server.url(),
        PostgresOptions::new()
            .schema("loginguard")
            .max_connections(1)
            .timeout(Duration::from_secs(10))
            .auto_migrate(true),
    )
    .await
    .unwrap();
    let limits = Limits::new(1_000).with_failure_window(Some(Duration::from_secs(600)));
    let now = SystemTime::now();
    const N: usize = 50;

    // Warm up: the schema check, and the pool's one connection opened.
    let (ip, user) = attempt_keys(999);
    store
        .begin_all(
            &[KeyStep::new(&ip, &limits), KeyStep::new(&user, &limits)],
            now,
        )
        .await
        .unwrap();

    // New keys, then the same keys again.
    let mut per_phase = Vec::new();
    for phase in 0..2 {
        reset(&admin).await;
        for i in 0..N {
            let (ip, user) = attempt_keys(i);
            let steps = [KeyStep::new(&ip, &limits), KeyStep::new(&user, &limits)];
            let begun = store.begin_all(&steps, now).await.unwrap();
            for b in &begun {
                assert!(
                    matches!(
                        b,
                        Begun::Verdict(KeyVerdict::Allowed { counted: true, failures, .. })
                            if *failures == phase + 1
                    ),
                    "{begun:?}"
                );
            }
        }
        let counted = counters(&admin).await;
        println!(
            "ip + username, {} keys: {} statements for {N} attempts, server time {} per attempt",
            ["new", "existing"][per_phase.len()],
            counted.0,
            micros(counted, N)
        );
        per_phase.push(counted.0);
    }
    assert_eq!(per_phase, [N as i64, N as i64], "one statement per attempt");

    // Settling an attempt on both keys is one statement too.
    reset(&admin).await;
    let at = to_ms(now);
    for i in 0..N {
        let (ip, user) = attempt_keys(i);
        let releases = [
            KeyRelease::new(&ip, Release::give_back(at, false), &limits),
            KeyRelease::new(&user, Release::give_back(at, false), &limits),
        ];
        store.release_all(&releases, now).await.unwrap();
    }
    let counted = counters(&admin).await;
    let released = counted.0;
    println!(
        "ip + username, settling: {released} statements for {N} attempts, server time {} per attempt",
        micros(counted, N)
    );
    assert_eq!(released, N as i64, "one statement per settlement");

    // A single key: a new key is one statement (an insert); a key this
    // store has met before is one call of the function; a key already in
    // the table that this store meets for the first time is two (the
    // read, then the versioned write).
    let mut single = Vec::new();
    for _ in 0..2 {
        reset(&admin).await;
        for i in 0..N {
            let (ip, _) = attempt_keys(1_000 + i);
            let begun = store
                .begin_all(&[KeyStep::new(&ip, &limits)], now)
                .await
                .unwrap();
            assert!(matches!(
                begun[0],
                Begun::Verdict(KeyVerdict::Allowed { .. })
            ));
        }
        let counted = counters(&admin).await;
        println!(
            "one key, {} keys: {} statements for {N} attempts, server time {} per attempt",
            ["new", "existing"][single.len()],
            counted.0,
            micros(counted, N)
        );
        single.push(counted.0);
    }
    assert_eq!(single, [N as i64, N as i64]);
    // Another app server's store, on keys that are in the table already.
    let other = PostgresStore::connect(
        &server.url(),
        PostgresOptions::new()
            .schema("loginguard")
            .max_connections(1)
            .timeout(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    let (warm, _) = attempt_keys(998);
    other
        .begin_all(&[KeyStep::new(&warm, &limits)], now)
        .await
        .unwrap();
    reset(&admin).await;
    for _ in 0..2 {
        for i in 0..N {
            let (ip, _) = attempt_keys(1_000 + i);
            other
                .begin_all(&[KeyStep::new(&ip, &limits)], now)
                .await
                .unwrap();
        }
    }
    let counted = counters(&admin).await;
    assert_eq!(
        counted.0,
        3 * N as i64,
        "two statements the first time this store meets a key, then one"
    );
    other.pool().close().await;
    store.pool().close().await;
    admin.close().await;
}

/// Concurrent attempts on the same two keys, listed in either order, and
/// settlements on them: the rows are always locked in one order, so the
/// server never has to break a deadlock, and every attempt is counted.
#[tokio::test]
async fn attempts_on_overlapping_keys_in_either_order_never_deadlock() {
    let Some(bin) = PrivateServer::installed() else {
        return;
    };
    let server = PrivateServer::start(&bin);
    let mut stores = Vec::new();
    for _ in 0..2 {
        stores.push(std::sync::Arc::new(
            PostgresStore::connect(
                &server.url(),
                PostgresOptions::new()
                    .schema("loginguard")
                    .max_connections(8)
                    .timeout(Duration::from_secs(10))
                    .auto_migrate(true),
            )
            .await
            .unwrap(),
        ));
    }
    let limits = Limits::new(10_000);
    let now = SystemTime::now();
    let (a, b) = (
        Key::new("login").with_ip("198.51.100.77"),
        Key::new("login").with_username("carol"),
    );
    const TASKS: usize = 1_000;
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let store = stores[i % 2].clone();
        let (a, b, limits) = (a.clone(), b.clone(), limits.clone());
        tasks.push(tokio::spawn(async move {
            let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
            let steps = [KeyStep::new(first, &limits), KeyStep::new(second, &limits)];
            store.begin_all(&steps, now).await.unwrap();
            // A settlement of an attempt that was never made changes
            // nothing but takes the same locks.
            let never = to_ms(now) - 1;
            let releases = [
                KeyRelease::new(second, Release::give_back(never, false), &limits),
                KeyRelease::new(first, Release::give_back(never, false), &limits),
            ];
            store.release_all(&releases, now).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let listed = stores[0]
        .list(&loginguard_core::ListQuery::all(), now)
        .await
        .unwrap();
    for key in [&a, &b] {
        let failures = listed.iter().find(|s| &s.key == key).map(|s| s.failures);
        assert_eq!(failures, Some(TASKS as u32), "{key}: {listed:?}");
    }
    // A backend reports the deadlocks it broke when it exits at the
    // latest.
    for store in &stores {
        store.pool().close().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let admin = sqlx::PgPool::connect(&server.url()).await.unwrap();
    let deadlocks: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(deadlocks), 0)::bigint FROM pg_stat_database")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(deadlocks, 0, "the server broke deadlocks");
}

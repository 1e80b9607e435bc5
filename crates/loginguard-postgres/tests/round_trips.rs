//! Statements per attempt, as the server counts them: on a private cluster
//! with `pg_stat_statements` (so no other test's statements are counted),
//! an attempt on two criteria (ip and username) is one statement through
//! `begin_all`, for new and existing keys alike, and settling it is one
//! more through `release_all`; a single key costs what it did before the
//! attempt functions (one statement new, two existing).

mod support;

use std::time::{Duration, SystemTime};

use loginguard_core::batch::{Begun, KeyRelease, KeyStep};
use loginguard_core::record::{to_ms, KeyVerdict, Limits, Release};
use loginguard_core::{Key, Store};
use loginguard_postgres::sqlx;
use loginguard_postgres::{PostgresOptions, PostgresStore};
use support::PrivateServer;

/// Statements the server ran since the last reset, leaving out the
/// statements that read and reset the counters.
async fn statements(admin: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements \
         WHERE query NOT ILIKE '%pg_stat_statements%'",
    )
    .fetch_one(admin)
    .await
    .unwrap()
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
    let server = PrivateServer::start_with(&bin, &["shared_preload_libraries=pg_stat_statements"]);
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
    const N: usize = 20;

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
        per_phase.push(statements(&admin).await);
    }
    println!(
        "statements for {N} attempts on ip + username: new keys {}, existing keys {}",
        per_phase[0], per_phase[1]
    );
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
    let released = statements(&admin).await;
    println!("statements for {N} releases on ip + username: {released}");
    assert_eq!(released, N as i64, "one statement per settlement");

    // A single key keeps the store's single-key step: a new key is one
    // statement (an insert), an existing one two (the read, then the
    // versioned write).
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
        single.push(statements(&admin).await);
    }
    println!(
        "statements for {N} single-key attempts: new keys {}, existing keys {}",
        single[0], single[1]
    );
    assert_eq!(single, [N as i64, 2 * N as i64]);
    store.pool().close().await;
    admin.close().await;
}

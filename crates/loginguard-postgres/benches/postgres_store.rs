//! Attempts per second through the engine on a PostgreSQL store, at 1, 16
//! and 64 concurrent tasks, beside `pgbench` running `SELECT 1` with the
//! same number of clients on the same server as the ceiling for one
//! trivial statement; then the same with two lockout criteria (ip and
//! username), on new keys and on existing ones.
//!
//! ```sh
//! LOGINGUARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p loginguard-postgres --bench postgres_store
//! ```
//!
//! Each attempt is `Guard::begin` + `Guard::failure` from a new IP (every
//! attempt writes a new row; the failure log is off), with a pool of as
//! many connections as tasks (at most 64). With two criteria, "new keys"
//! gives each attempt a new IP and a new username; "existing keys" cycles
//! each task through 200 (IP, username) pairs, so nearly every attempt
//! meets two existing, locked rows (the brute-force shape). Each run lasts
//! at most 2 s or 200,000 attempts; each figure is the best of 3 runs. The
//! bench works in a schema of its own and drops it when done.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loginguard_core::{Attempt, Criterion, Decision, Field, Guard, Policy, Store};
use loginguard_postgres::{PostgresOptions, PostgresStore};

const RUN: Duration = Duration::from_secs(2);
/// Each figure is the best of this many runs: the machine is shared, and
/// the best run is the one least disturbed by other work.
const ROUNDS: usize = 3;
const MAX_ATTEMPTS: u64 = 200_000;

fn pgbench(url: &str, clients: usize) -> Option<f64> {
    let dir = std::env::temp_dir().join(format!("lg-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let script = dir.join("select1.sql");
    std::fs::write(&script, "SELECT 1;\n").ok()?;
    let out = Command::new("pgbench")
        .args(["-n", "-T", "2", "-c", &clients.to_string()])
        .args(["-j", &clients.min(2).to_string(), "-f"])
        .arg(&script)
        .arg(url)
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    // "tps = 23640.123456 (without initial connection time)"
    let line = text.lines().find(|l| l.starts_with("tps = "))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Which keys the attempts of a run meet.
#[derive(Clone, Copy)]
enum Shape {
    /// A new IP for every attempt (username `alice`).
    NewIp,
    /// A new IP and a new username for every attempt.
    NewIpAndUsername,
    /// Each task cycles through 200 (IP, username) pairs.
    ExistingPairs,
}

async fn attempts_per_second(guard: Arc<Guard>, tasks: usize, level: u64, shape: Shape) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let guard = guard.clone();
        let done = done.clone();
        handles.push(tokio::spawn(async move {
            let mut i = 0u64;
            while start.elapsed() < RUN && done.load(Ordering::Relaxed) < MAX_ATTEMPTS {
                i += 1;
                let slot = match shape {
                    Shape::ExistingPairs => i % 200,
                    Shape::NewIp | Shape::NewIpAndUsername => i,
                };
                let n = (level << 40) | ((t as u64) << 24) | slot;
                let ip = std::net::Ipv6Addr::from(u128::from(n) | (0x2001_0db8u128 << 96));
                let username = match shape {
                    Shape::NewIp => "alice".to_owned(),
                    Shape::NewIpAndUsername | Shape::ExistingPairs => format!("u{n:x}"),
                };
                let attempt = Attempt::new("POST", "/login")
                    .ip(ip.into())
                    .username(username);
                match guard.begin(attempt).await {
                    Ok(Decision::Proceed(ticket)) => {
                        let _ = guard.failure(ticket).await;
                    }
                    Ok(Decision::Refused(_)) => {}
                    Err(e) => panic!("{e}"),
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.await.expect("bench task");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let Ok(url) = std::env::var("LOGINGUARD_TEST_POSTGRES_URL") else {
        loginguard_testing::skip!("LOGINGUARD_TEST_POSTGRES_URL is not set");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let schema = format!("lgbench_{:08x}", rand::random::<u32>());
        let policy = Policy::builder()
            .failure_limit(5)
            .failure_window(Some(Duration::from_secs(60)))
            .ipv6_prefix(128)
            .failure_log(false)
            .build()
            .expect("policy");
        let two = Policy::builder()
            .failure_limit(5)
            .failure_window(Some(Duration::from_secs(60)))
            .ipv6_prefix(128)
            .failure_log(false)
            .lockout_parameters(vec![Criterion::one(Field::Ip), Criterion::one(Field::Username)])
            .build()
            .expect("policy");
        let mut two_rows = Vec::new();
        println!(
            "| concurrent tasks | loginguard attempts/s | pgbench SELECT 1 tps (-c same) | ratio |"
        );
        println!("| ---: | ---: | ---: | ---: |");
        for (level, tasks) in [1usize, 16, 64].into_iter().enumerate() {
            let mut ours = 0f64;
            let (mut two_new, mut two_existing) = (0f64, 0f64);
            let mut ceiling: Option<f64> = None;
            for round in 0..ROUNDS {
                let store = PostgresStore::connect(
                    &url,
                    PostgresOptions::new()
                        .schema(&schema)
                        .max_connections(u32::try_from(tasks.min(64)).unwrap_or(64))
                        .timeout(Duration::from_secs(10))
                        .auto_migrate(true),
                )
                .await
                .expect("connect to PostgreSQL");
                let pool = store.pool().clone();
                let store = Arc::new(store) as Arc<dyn Store>;
                let guard = Arc::new(Guard::new(policy.clone(), store.clone()));
                let guard_two = Arc::new(Guard::new(two.clone(), store));
                // Fresh keys in every run: each attempt is a first failure.
                let seed = (level * ROUNDS + round) as u64 + 1;
                ours = ours.max(attempts_per_second(guard, tasks, seed, Shape::NewIp).await);
                two_new = two_new.max(
                    attempts_per_second(guard_two.clone(), tasks, seed, Shape::NewIpAndUsername)
                        .await,
                );
                two_existing = two_existing.max(
                    attempts_per_second(guard_two, tasks, level as u64, Shape::ExistingPairs)
                        .await,
                );
                // Our connections are closed before pgbench opens its own.
                pool.close().await;
                if let Some(c) = pgbench(&url, tasks) {
                    ceiling = Some(ceiling.map_or(c, |best| best.max(c)));
                }
            }
            let (ceiling_text, ratio) = match ceiling {
                Some(c) => (format!("{c:.0}"), format!("{:.2}×", c / ours)),
                None => ("n/a".to_owned(), "n/a".to_owned()),
            };
            println!("| {tasks} | {ours:.0} | {ceiling_text} | {ratio} |");
            two_rows.push(format!("| {tasks} | {two_new:.0} | {two_existing:.0} |"));
        }
        println!();
        println!("| concurrent tasks | ip + username, new keys attempts/s | ip + username, existing keys attempts/s |");
        println!("| ---: | ---: | ---: |");
        for row in two_rows {
            println!("{row}");
        }
        let pool = sqlx::PgPool::connect(&url).await.expect("connect");
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&pool)
            .await
            .expect("drop bench schema");
    });
}

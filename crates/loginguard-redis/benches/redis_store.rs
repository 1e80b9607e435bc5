//! Attempts per second through the engine on a Redis store, at 1, 16 and
//! 64 concurrent tasks, beside `redis-benchmark -t set` on the same server
//! as the ceiling for one trivial command.
//!
//! ```sh
//! LOGINGUARD_TEST_REDIS_URL=redis://127.0.0.1:6379/0 cargo bench -p loginguard-redis --bench redis_store
//! ```
//!
//! Each attempt is `Guard::begin` + `Guard::failure` from a new IP (the
//! credential-stuffing shape: every attempt writes a new record), so one
//! native `SET … NX GET` per attempt. A second series cycles each task
//! through 200 IPs (limit 5), so every attempt after the first few meets an
//! existing, mostly locked record: the brute-force shape, one script per
//! attempt. A second table runs both series under a policy on the IP and
//! on the username (two keys per attempt, one script call each; new keys
//! bring a new username too). Beside them, plain `SET`s through the same client (redis-rs +
//! tokio) show what the client itself costs, and Redis' own time per
//! attempt (`INFO commandstats`, every command) what the server spends. Each run
//! lasts at most 2 s or 500,000 attempts; each figure is the best of 3
//! runs. Records expire after a minute; the bench also resets
//! its prefix when done.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loginguard_core::{Attempt, Criterion, Decision, Field, Guard, KeyFilter, Policy, Store};
use loginguard_redis::{RedisOptions, RedisStore};

const RUN: Duration = Duration::from_secs(2);
/// Each figure is the best of this many runs: the machine is shared, and
/// the best run is the one least disturbed by other work.
const ROUNDS: usize = 3;
/// IPs each task cycles through in the existing-keys runs.
const EXISTING_KEYS: u64 = 200;
const MAX_ATTEMPTS: u64 = 500_000;

fn redis_benchmark(url: &str, clients: usize) -> Option<f64> {
    let rest = url.split_once("://")?.1;
    let hostport = rest.split(['/', '?']).next()?;
    let hostport = hostport.rsplit('@').next()?;
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    let requests = if clients == 1 { 30_000 } else { 200_000 };
    let out = Command::new("redis-benchmark")
        .args(["-h", host, "-p", port, "-t", "set", "-q"])
        .args(["-n", &requests.to_string(), "-c", &clients.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "SET: 98039.22 requests per second, p50=0.263 msec"
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains("requests per second"))?;
    let line = line.rsplit('\r').next()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Attempts per second; `keys`: how many IPs (and usernames, under a
/// policy on both) each task cycles through (`None`: new ones for every
/// attempt).
async fn attempts_per_second(
    guard: Arc<Guard>,
    tasks: usize,
    level: u64,
    keys: Option<u64>,
) -> (f64, u64) {
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
                let n = (level << 40) | ((t as u64) << 24) | keys.map_or(i, |k| i % k);
                let ip = std::net::Ipv6Addr::from(u128::from(n) | (0x2001_0db8u128 << 96));
                let attempt = Attempt::new("POST", "/login")
                    .ip(ip.into())
                    .username(format!("u{n:x}"));
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
    let count = done.load(Ordering::Relaxed);
    (count as f64 / start.elapsed().as_secs_f64(), count)
}

/// `Store::begin_attempt` alone (no engine), one new key each.
async fn store_steps_per_second(store: Arc<RedisStore>, tasks: usize, level: u64) -> f64 {
    let limits =
        loginguard_core::record::Limits::new(5).with_failure_window(Some(Duration::from_secs(60)));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store = store.clone();
        let done = done.clone();
        let limits = limits.clone();
        handles.push(tokio::spawn(async move {
            let mut i = 0u64;
            while start.elapsed() < RUN && done.load(Ordering::Relaxed) < MAX_ATTEMPTS {
                i += 1;
                let key = loginguard_core::Key::new("login").with_ip(format!("s{level}-{t}-{i}"));
                store
                    .begin_attempt(&key, &limits, std::time::SystemTime::now())
                    .await
                    .expect("begin_attempt");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.await.expect("bench task");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// The same client doing plain `SET`s: what one round trip costs through
/// redis-rs and tokio, without loginguard.
async fn client_sets_per_second(url: &str, tasks: usize) -> f64 {
    let client = redis::Client::open(url).expect("redis url");
    let conn = redis::aio::ConnectionManager::new(client)
        .await
        .expect("connect");
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let mut conn = conn.clone();
        let done = done.clone();
        handles.push(tokio::spawn(async move {
            let key = format!("lgbench-set-{t}");
            while start.elapsed() < RUN && done.load(Ordering::Relaxed) < MAX_ATTEMPTS {
                let _: () = redis::cmd("SET")
                    .arg(&key)
                    .arg("x")
                    .query_async(&mut conn)
                    .await
                    .expect("SET");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.await.expect("bench task");
    }
    let mut conn = conn.clone();
    for t in 0..tasks {
        let _: () = redis::cmd("DEL")
            .arg(format!("lgbench-set-{t}"))
            .query_async(&mut conn)
            .await
            .expect("DEL");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Microseconds Redis has spent in commands so far, all commands together
/// (`INFO commandstats`).
async fn redis_usec(url: &str) -> u64 {
    let Ok(client) = redis::Client::open(url) else {
        return 0;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_"))
        .filter_map(|l| {
            l.split([':', ','])
                .find_map(|kv| kv.strip_prefix("usec="))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

fn main() {
    let Ok(url) = std::env::var("LOGINGUARD_TEST_REDIS_URL") else {
        loginguard_testing::skip!("LOGINGUARD_TEST_REDIS_URL is not set");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let prefix = format!("lgbench_{:08x}", rand::random::<u32>());
        let store = Arc::new(
            RedisStore::connect(&url, RedisOptions::new().prefix(&prefix))
                .await
                .expect("connect to Redis"),
        );
        let policy = Policy::builder()
            .failure_limit(5)
            .failure_window(Some(Duration::from_secs(60)))
            .ipv6_prefix(128)
            .build()
            .expect("policy");
        let guard = Arc::new(Guard::new(policy, store.clone() as Arc<dyn Store>));
        let two_keys = Policy::builder()
            .failure_limit(5)
            .failure_window(Some(Duration::from_secs(60)))
            .ipv6_prefix(128)
            .lockout_parameters(vec![
                Criterion::one(Field::Ip),
                Criterion::one(Field::Username),
            ])
            .build()
            .expect("policy");
        let two_keys = Arc::new(Guard::new(two_keys, store.clone() as Arc<dyn Store>));
        println!("| concurrent tasks | loginguard attempts/s | Redis µs per attempt | store steps/s | attempts/s, existing keys | redis-rs SET/s (same client) | redis-benchmark SET req/s (-c same) | ceiling / loginguard (new keys, existing keys) |");
        println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (level, tasks) in [1usize, 16, 64].into_iter().enumerate() {
            let mut ours = 0f64;
            let mut steps = 0f64;
            let mut existing = 0f64;
            let mut client = 0f64;
            let mut ceiling: Option<f64> = None;
            let mut redis_us = f64::MAX;
            for round in 0..ROUNDS {
                // Fresh keys in every run: each attempt is a first failure.
                let seed = (level * ROUNDS + round) as u64 + 1;
                let before = redis_usec(&url).await;
                let (rate, count) = attempts_per_second(guard.clone(), tasks, seed, None).await;
                ours = ours.max(rate);
                let after = redis_usec(&url).await;
                if count > 0 && after > before {
                    redis_us = redis_us.min((after - before) as f64 / count as f64);
                }
                existing = existing.max(
                    attempts_per_second(guard.clone(), tasks, 1_000 + seed, Some(EXISTING_KEYS))
                        .await
                        .0,
                );
                steps = steps.max(store_steps_per_second(store.clone(), tasks, seed).await);
                client = client.max(client_sets_per_second(&url, tasks).await);
                if let Some(c) = redis_benchmark(&url, tasks) {
                    ceiling = Some(ceiling.map_or(c, |best| best.max(c)));
                }
            }
            let (ceiling_text, ratio) = match ceiling {
                Some(c) => (
                    format!("{c:.0}"),
                    format!("{:.2}×, {:.2}×", c / ours, c / existing),
                ),
                None => ("n/a".to_owned(), "n/a".to_owned()),
            };
            println!("| {tasks} | {ours:.0} | {redis_us:.1} | {steps:.0} | {existing:.0} | {client:.0} | {ceiling_text} | {ratio} |");
        }
        // Start the second table on an empty prefix, so that its guard's
        // first purge does not walk the first table's records.
        let cleared = store.reset(&KeyFilter::all()).await.expect("reset");
        println!("(cleared {cleared} bench records)");
        println!();
        println!("| concurrent tasks | ip + username: attempts/s, new keys | Redis µs per attempt | ip + username: attempts/s, existing keys |");
        println!("| ---: | ---: | ---: | ---: |");
        for (level, tasks) in [1usize, 16, 64].into_iter().enumerate() {
            let mut fresh = 0f64;
            let mut existing = 0f64;
            let mut redis_us = f64::MAX;
            for round in 0..ROUNDS {
                let seed = (level * ROUNDS + round) as u64 + 101;
                let before = redis_usec(&url).await;
                let (rate, count) = attempts_per_second(two_keys.clone(), tasks, seed, None).await;
                fresh = fresh.max(rate);
                let after = redis_usec(&url).await;
                if count > 0 && after > before {
                    redis_us = redis_us.min((after - before) as f64 / count as f64);
                }
                existing = existing.max(
                    attempts_per_second(two_keys.clone(), tasks, 1_000 + seed, Some(EXISTING_KEYS))
                        .await
                        .0,
                );
            }
            println!("| {tasks} | {fresh:.0} | {redis_us:.1} | {existing:.0} |");
        }
        let cleared = store.reset(&KeyFilter::all()).await.expect("reset");
        println!("(cleared {cleared} bench records)");
    });
}

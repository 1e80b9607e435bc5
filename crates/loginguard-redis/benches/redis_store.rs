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
//! script round trip per attempt. Beside it, plain `SET`s through the same
//! client (redis-rs + tokio) show what the client itself costs. Each level
//! runs for at most 3 s or 500,000 attempts. Records expire after a minute; the bench also resets
//! its prefix when done.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loginguard_core::{Attempt, Decision, Guard, KeyFilter, Policy, Store};
use loginguard_redis::{RedisOptions, RedisStore};

const RUN: Duration = Duration::from_secs(3);
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

async fn attempts_per_second(guard: Arc<Guard>, tasks: usize, level: u64) -> f64 {
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
                let n = (level << 40) | ((t as u64) << 24) | i;
                let ip = std::net::Ipv6Addr::from(u128::from(n) | (0x2001_0db8u128 << 96));
                let attempt = Attempt::new("POST", "/login")
                    .ip(ip.into())
                    .username("alice");
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

fn main() {
    let Ok(url) = std::env::var("LOGINGUARD_TEST_REDIS_URL") else {
        println!("skipped: LOGINGUARD_TEST_REDIS_URL is not set");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let prefix = format!("lgbench-{:08x}", rand::random::<u32>());
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
        println!("| concurrent tasks | loginguard attempts/s | store steps/s | redis-rs SET/s (same client) | redis-benchmark SET req/s (-c same) | ceiling / loginguard |");
        println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
        for (level, tasks) in [1usize, 16, 64].into_iter().enumerate() {
            let ours = attempts_per_second(guard.clone(), tasks, level as u64 + 1).await;
            let steps = store_steps_per_second(store.clone(), tasks, level as u64 + 1).await;
            let client = client_sets_per_second(&url, tasks).await;
            let ceiling = redis_benchmark(&url, tasks);
            let (ceiling_text, ratio) = match ceiling {
                Some(c) => (format!("{c:.0}"), format!("{:.2}×", c / ours)),
                None => ("n/a".to_owned(), "n/a".to_owned()),
            };
            println!("| {tasks} | {ours:.0} | {steps:.0} | {client:.0} | {ceiling_text} | {ratio} |");
        }
        let cleared = store.reset(&KeyFilter::all()).await.expect("reset");
        println!("(cleared {cleared} bench records)");
    });
}

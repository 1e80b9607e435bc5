//! Attempts per second on an SQLite store file, at 1, 8 and 64 concurrent
//! tasks.
//!
//! - `guard_begin_failure`: through a [`Guard`]: `begin` (one atomic store
//!   step: the key's row read, counted and written back in a transaction)
//!   then `failure` (one failure-log row). This is what a login endpoint
//!   under attack costs.
//! - `store_begin_attempt`: the store's atomic step alone.
//!
//! Every attempt comes from a new IP (a credential-stuffing spray), so each
//! one inserts a key row and nothing is refused early.
//!
//! Run: `cargo bench -p loginguard-sqlite --bench sqlite`

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use loginguard_core::record::Limits;
use loginguard_core::{Attempt, Decision, Guard, Key, Policy, Store};
use loginguard_sqlite::SqliteStore;

/// Attempts per measured iteration.
const PER_ITER: u64 = 512;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn next_ip(counter: &AtomicU32) -> Ipv4Addr {
    Ipv4Addr::from(
        counter
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(0x0A00_0000),
    )
}

async fn guard_burst(guard: Arc<Guard>, counter: Arc<AtomicU32>, tasks: u64) {
    let per_task = PER_ITER / tasks;
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let guard = guard.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    let attempt = Attempt::new("POST", "/login")
                        .ip(next_ip(&counter).into())
                        .username("alice")
                        .user_agent("bench/1");
                    if let Decision::Proceed(ticket) = guard.begin(attempt).await.unwrap() {
                        let _ = guard.failure(ticket).await;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
}

async fn store_burst(store: Arc<SqliteStore>, counter: Arc<AtomicU32>, tasks: u64) {
    let per_task = PER_ITER / tasks;
    let limits = Limits::new(5);
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let store = store.clone();
            let counter = counter.clone();
            let limits = limits.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    let key = Key::new("login").with_ip(next_ip(&counter).to_string());
                    store
                        .begin_attempt(&key, &limits, SystemTime::now())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
}

fn attempts(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = rt
        .block_on(
            SqliteStore::builder(dir.path().join("bench.db"))
                .auto_migrate(true)
                .open(),
        )
        .unwrap();
    let store = Arc::new(store);
    let policy = Policy::builder().failure_limit(5).build().unwrap();
    let guard = Arc::new(Guard::new(policy, store.clone()));
    let counter = Arc::new(AtomicU32::new(0));

    let mut group = c.benchmark_group("sqlite");
    group.throughput(Throughput::Elements(PER_ITER));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for tasks in [1u64, 8, 64] {
        group.bench_with_input(
            BenchmarkId::new("guard_begin_failure", tasks),
            &tasks,
            |b, &tasks| {
                b.to_async(&rt)
                    .iter(|| guard_burst(guard.clone(), counter.clone(), tasks));
            },
        );
    }
    for tasks in [1u64, 8, 64] {
        group.bench_with_input(
            BenchmarkId::new("store_begin_attempt", tasks),
            &tasks,
            |b, &tasks| {
                b.to_async(&rt)
                    .iter(|| store_burst(store.clone(), counter.clone(), tasks));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, attempts);
criterion_main!(benches);

//! Throughput of one attempt (begin + failure) through the engine on the
//! memory store, on one thread and on two.
//!
//! Run: `cargo bench -p loginguard-core --bench engine`
#![allow(missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use loginguard_core::record::Limits;
use loginguard_core::{Attempt, Decision, Guard, Key, MemoryStore, Policy, Store};

const KEYS: u32 = 1 << 20;

fn guard() -> Arc<Guard> {
    // Monitor mode keeps every attempt on the counted path (no lock
    // short-cut) while each key keeps at most `failure_limit` timestamps.
    let policy = Policy::builder()
        .failure_limit(3)
        .lock_out_at_failure(false)
        .build()
        .unwrap();
    let store = Arc::new(MemoryStore::with_max_keys(2 * KEYS as usize));
    Arc::new(Guard::new(policy, store))
}

fn ip(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i % KEYS)))
}

async fn one_attempt(guard: &Guard, i: u32, keys: u32) {
    let attempt = Attempt::new("POST", "/login").ip(ip(i % keys));
    match guard.begin(attempt).await {
        Ok(Decision::Proceed(ticket)) => {
            std::hint::black_box(guard.failure(ticket).await);
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn run_threads(guard: &Arc<Guard>, threads: u32, keys: u32, iters: u64, offset: u32) -> Duration {
    let per_thread = iters / u64::from(threads);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let guard = guard.clone();
            scope.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    for i in 0..per_thread {
                        let n = offset
                            .wrapping_add(t.wrapping_mul(7919))
                            .wrapping_add(i as u32);
                        one_attempt(&guard, n, keys).await;
                    }
                });
            });
        }
    });
    start.elapsed()
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("attempt_begin_failure_memory");
    group.throughput(Throughput::Elements(1));
    // 1,024 keys: an attack on a few accounts (cache-resident);
    // 1M keys: a spray from a million addresses (every step a cache miss).
    for (label, keys) in [("1k_keys", 1u32 << 10), ("1M_keys", KEYS)] {
        for threads in [1u32, 2] {
            let guard = guard();
            let mut offset = 0u32;
            group.bench_function(format!("{label}/{threads}_thread"), |b| {
                b.iter_custom(|iters| {
                    offset = offset.wrapping_add(iters as u32);
                    run_threads(&guard, threads, keys, iters.max(u64::from(threads)), offset)
                })
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("store_step_memory");
    group.throughput(Throughput::Elements(1));
    let store = MemoryStore::with_max_keys(2 * KEYS as usize);
    let limits = Limits::new(3).with_lock_out(false);
    let keys: Vec<Key> = (0..KEYS)
        .map(|i| Key::new("login").with_ip(ip(i).to_string()))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut next = 0usize;
    group.bench_function("begin_attempt", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    next = (next + 1) % keys.len();
                    let v = store
                        .begin_attempt(&keys[next], &limits, SystemTime::now())
                        .await;
                    std::hint::black_box(v.unwrap());
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = engine
}
criterion_main!(benches);

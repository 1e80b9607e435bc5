//! The per-attempt cost of the features beyond django-axes: the keyed
//! hashes and device-cookie checks alone, and one wrong-password attempt
//! (begin + failure) through the engine on the memory store with all three
//! features off and on.
//!
//! Run: `cargo bench -p loginguard-core --bench beyond`
#![allow(missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use loginguard_core::device;
use loginguard_core::{
    Attempt, Criterion as Rule, Decision, Field, Guard, MemoryStore, Policy, Secret,
};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

fn hashes(c: &mut Criterion) {
    let secret = Secret::new(SECRET).unwrap();
    let now = SystemTime::now();
    let cookie = device::issue(&secret, "login", "alice", now);
    let month = Duration::from_secs(30 * 86_400);
    let mut group = c.benchmark_group("keyed_hashes");
    group.bench_function("password_tag", |b| {
        b.iter(|| secret.password_tag("login", "alice", std::hint::black_box(b"correct horse")))
    });
    group.bench_function("spray_id", |b| {
        b.iter(|| secret.spray_id("login", std::hint::black_box(b"correct horse")))
    });
    group.bench_function("account_tag", |b| {
        b.iter(|| secret.account_tag("login", std::hint::black_box("alice")))
    });
    group.bench_function("device_cookie_verify", |b| {
        b.iter(|| {
            device::verify(
                [&secret],
                "login",
                "alice",
                std::hint::black_box(&cookie),
                now,
                month,
            )
        })
    });
    group.finish();
}

fn guard(on: bool) -> Arc<Guard> {
    let mut builder = Policy::builder()
        .failure_limit(3)
        .lock_out_at_failure(false)
        .lockout_parameters(vec![Rule::one(Field::Ip), Rule::one(Field::Username)]);
    if on {
        builder = builder
            .secret(Some(Secret::new(SECRET).unwrap()))
            .ignore_repeated_password(true)
            .spray_limit(Some(10))
            .device_cookies(true);
    }
    Arc::new(Guard::new(
        builder.build().unwrap(),
        Arc::new(MemoryStore::with_max_keys(1 << 21)),
    ))
}

fn attempts(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("wrong_password_attempt");
    for (label, on) in [("features_off", false), ("features_on", true)] {
        let guard = guard(on);
        let mut i = 0u32;
        group.bench_function(label, |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                let attempt = Attempt::new("POST", "/login")
                    .ip(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i % 65_536))))
                    .username(format!("user{}", i % 4_096))
                    .password(format!("guess{}", i % 1_000));
                rt.block_on(async {
                    match guard.begin(attempt).await {
                        Ok(Decision::Proceed(t)) => {
                            std::hint::black_box(guard.failure(t).await);
                        }
                        Ok(Decision::Refused(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = hashes, attempts
}
criterion_main!(benches);

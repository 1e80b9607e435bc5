//! Purge after a spray: N attempts (default 1,000,000), each from a new IP
//! and each one failure, through a [`Guard`] with `failure_window = 1h` and
//! a fake clock; then the clock moves one window plus [`PURGE_INTERVAL`]
//! on and a few attempts come in, which start the automatic purge. Prints
//! the key rows and the disk size right after the spray and once the purge
//! is over, how long the purge took, and what the attempts arriving during
//! it waited compared with the same attempts just before it. On
//! PostgreSQL it then runs a plain `VACUUM` of the key table, as
//! autovacuum would, and prints the size again.
//!
//! Stores: SQLite (a temporary file) and, when `LOGINGUARD_TEST_POSTGRES_URL`
//! is set, PostgreSQL (a fresh schema, dropped afterwards).
//!
//! Run: `bench/spray_purge.sh` (or `cargo bench -p loginguard
//! --no-default-features --features sqlite,postgres --bench spray_purge`);
//! `LOGINGUARD_SPRAY_IPS` sets N.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loginguard::postgres::{PostgresOptions, PostgresStore};
use loginguard::sqlite::SqliteStore;
use loginguard::{Attempt, Decision, FakeClock, Guard, Policy, Store, PURGE_INTERVAL};

const WINDOW: Duration = Duration::from_secs(3600);

/// Attempts timed one after another, before the purge and during it.
const PROBES: usize = 200;

/// The longest wait for the purge to finish.
const PURGE_DEADLINE: Duration = Duration::from_secs(600);

fn policy() -> Policy {
    let mut policy = Policy::builder().build().unwrap();
    policy.failure_window = Some(WINDOW);
    // The audit log has its own retention (`log_retention`); this measures
    // the key table alone.
    policy.failure_log = false;
    policy.access_log = false;
    policy
}

fn ip(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0A00_0000u32.wrapping_add(n))
}

async fn one_failure(guard: &Guard, ip: Ipv4Addr) {
    let attempt = Attempt::new("POST", "/login")
        .ip(ip.into())
        .username("alice")
        .user_agent("bench/1");
    if let Decision::Proceed(ticket) = guard.begin(attempt).await.unwrap() {
        guard.failure(ticket).await;
    }
}

/// What the disk holds for the key table.
#[derive(Debug, Clone, Copy)]
struct Size {
    rows: i64,
    bytes: u64,
    /// SQLite: the write-ahead log's share of `bytes`.
    wal: u64,
    /// SQLite: pages the file keeps unused.
    free_pages: i64,
}

enum Target {
    Sqlite {
        path: PathBuf,
        pool: loginguard::sqlite::sqlx::SqlitePool,
    },
    Postgres {
        pool: loginguard::postgres::sqlx::PgPool,
    },
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

impl Target {
    async fn size(&self) -> Size {
        match self {
            Target::Sqlite { path, pool } => {
                let rows: i64 =
                    loginguard::sqlite::sqlx::query_scalar("SELECT count(*) FROM loginguard_keys")
                        .fetch_one(pool)
                        .await
                        .unwrap();
                let free_pages: i64 =
                    loginguard::sqlite::sqlx::query_scalar("PRAGMA freelist_count")
                        .fetch_one(pool)
                        .await
                        .unwrap();
                let mut wal_path = path.clone().into_os_string();
                wal_path.push("-wal");
                let wal = file_len(Path::new(&wal_path));
                Size {
                    rows,
                    bytes: file_len(path) + wal,
                    wal,
                    free_pages,
                }
            }
            Target::Postgres { pool } => {
                let (rows, bytes): (i64, i64) = loginguard::postgres::sqlx::query_as(
                    "SELECT count(*), pg_total_relation_size('lockout_keys') FROM lockout_keys",
                )
                .fetch_one(pool)
                .await
                .unwrap();
                Size {
                    rows,
                    bytes: u64::try_from(bytes).unwrap_or(0),
                    wal: 0,
                    free_pages: 0,
                }
            }
        }
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn run(name: &str, store: Arc<dyn Store>, target: Target, n: u32, tasks: u32) {
    let clock = FakeClock::new();
    let guard = Arc::new(Guard::builder(policy(), store).clock(clock.clone()).build());
    let next = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let guard = guard.clone();
            let next = next.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    one_failure(&guard, ip(i)).await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let spray = started.elapsed();
    let before = target.size().await;
    println!(
        "{name}: spray of {n} IPs from {tasks} tasks in {:.1} s ({:.0} attempts/s)",
        spray.as_secs_f64(),
        f64::from(n) / spray.as_secs_f64()
    );
    println!(
        "{name}: after the spray: {} rows, {} on disk (WAL {}, {} free pages)",
        before.rows,
        mb(before.bytes),
        mb(before.wal),
        before.free_pages
    );

    // Fresh IPs for the probes, past the spray's.
    let mut probe_ip = n + 1;
    let mut probe = || {
        probe_ip += 1;
        ip(probe_ip)
    };
    let mut quiet = Vec::with_capacity(PROBES);
    for _ in 0..PROBES {
        let t = Instant::now();
        one_failure(&guard, probe()).await;
        quiet.push(t.elapsed());
    }

    // One window and a purge interval later: the next attempt starts the purge.
    clock.advance(WINDOW + PURGE_INTERVAL + Duration::from_secs(1));
    let purge_started = Instant::now();
    let t = Instant::now();
    one_failure(&guard, probe()).await;
    let trigger = t.elapsed();
    let mut sent = 1;
    let mut during = Vec::new();
    let mut purged_at = None;
    let mut after = target.size().await;
    while purge_started.elapsed() < PURGE_DEADLINE {
        if purged_at.is_none() {
            for _ in 0..5 {
                let t = Instant::now();
                one_failure(&guard, probe()).await;
                during.push(t.elapsed());
                sent += 1;
            }
        }
        after = target.size().await;
        if after.rows <= sent {
            let at = *purged_at.get_or_insert_with(|| purge_started.elapsed());
            // SQLite: wait for the free pages to go back to the file system too.
            if after.free_pages == 0 || purge_started.elapsed() > at + Duration::from_secs(60) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shrunk = purge_started.elapsed();
    match purged_at {
        Some(at) => println!(
            "{name}: purge of {} rows done within {:.2} s; file settled within {:.2} s",
            before.rows,
            at.as_secs_f64(),
            shrunk.as_secs_f64()
        ),
        None => println!(
            "{name}: purge NOT done within {} s",
            PURGE_DEADLINE.as_secs()
        ),
    }
    println!(
        "{name}: after the purge: {} rows ({} attempts sent since), {} on disk (WAL {}, {} free pages)",
        after.rows,
        sent,
        mb(after.bytes),
        mb(after.wal),
        after.free_pages
    );
    if let Target::Postgres { pool } = &target {
        // What autovacuum does by itself later (never VACUUM FULL).
        let t = Instant::now();
        loginguard::postgres::sqlx::query("VACUUM lockout_keys")
            .execute(pool)
            .await
            .unwrap();
        let vacuumed = target.size().await;
        println!(
            "{name}: after a plain VACUUM ({:.2} s), as autovacuum runs it: {} rows, {} on disk",
            t.elapsed().as_secs_f64(),
            vacuumed.rows,
            mb(vacuumed.bytes)
        );
    }
    let q50 = percentile(quiet.clone(), 0.5);
    let q99 = percentile(quiet, 0.99);
    let d50 = percentile(during.clone(), 0.5);
    let d99 = percentile(during.clone(), 0.99);
    let dmax = during.iter().max().copied().unwrap_or_default();
    println!(
        "{name}: attempt that started the purge: {:.2} ms (quiet median {:.2} ms); \
         {} attempts during the purge: median {:.2}x, p99 {:.2}x the quiet ones, longest {:.1} ms",
        trigger.as_secs_f64() * 1e3,
        q50.as_secs_f64() * 1e3,
        during.len(),
        d50.as_secs_f64() / q50.as_secs_f64(),
        d99.as_secs_f64() / q99.as_secs_f64(),
        dmax.as_secs_f64() * 1e3
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: u32 = std::env::var("LOGINGUARD_SPRAY_IPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spray.db");
        let store = SqliteStore::builder(&path)
            .auto_migrate(true)
            .open()
            .await
            .unwrap();
        let pool = loginguard::sqlite::sqlx::SqlitePool::connect(&format!(
            "sqlite://{}?mode=ro",
            path.display()
        ))
        .await
        .unwrap();
        run(
            "sqlite",
            Arc::new(store),
            Target::Sqlite { path, pool },
            n,
            64,
        )
        .await;

        let Ok(url) = std::env::var("LOGINGUARD_TEST_POSTGRES_URL") else {
            println!("postgres: skipped (LOGINGUARD_TEST_POSTGRES_URL is not set)");
            return;
        };
        let schema = format!("lg_spray_{}", std::process::id());
        let store = PostgresStore::connect(
            &url,
            PostgresOptions::new()
                .schema(&schema)
                .max_connections(32)
                .auto_migrate(true),
        )
        .await
        .expect("connect to PostgreSQL");
        let pool = store.pool().clone();
        run(
            "postgres",
            Arc::new(store),
            Target::Postgres { pool: pool.clone() },
            n,
            32,
        )
        .await;
        pool.close().await;
        let admin = loginguard::postgres::sqlx::PgPool::connect(&url)
            .await
            .unwrap();
        loginguard::postgres::sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&admin)
            .await
            .expect("drop the bench schema");
    });
}

//! Refusals answered from the lock cache: the file ends up exactly where
//! one write per attempt leaves it, none is lost under concurrency, and a
//! reset by another handle on the file (another process) or by this one is
//! seen by the very next attempt.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use loginguard_core::batch::{Begun, KeyStep};
use loginguard_core::record::{KeyVerdict, Limits};
use loginguard_core::{Key, KeyFilter, KeyStatus, ListQuery, MemoryStore, Store};
use loginguard_sqlite::SqliteStore;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

async fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::builder(path)
        .auto_migrate(true)
        .open()
        .await
        .unwrap()
}

fn file() -> std::path::PathBuf {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep()
        .join("lg.db")
}

/// What an operator sees of every key, in a stable order.
async fn listing(store: &dyn Store, now: SystemTime) -> Vec<KeyStatus> {
    let mut keys = store.list(&ListQuery::all(), now).await.unwrap();
    keys.sort_by(|a, b| a.key.id().cmp(b.key.id()));
    keys
}

async fn attempt(store: &dyn Store, steps: &[KeyStep<'_>], now: SystemTime) -> Vec<Begun> {
    store.begin_all(steps, now).await.unwrap()
}

fn locked(begun: &[Begun]) -> bool {
    begun.iter().any(Begun::is_locked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_from_the_cache_leave_the_file_as_one_write_each_would() {
    let sqlite = open(&file()).await;
    let memory = MemoryStore::new();
    for count in [true, false] {
        let limits = Limits::new(3)
            .with_cool_off(Some(Duration::from_secs(30)))
            .with_progression(2.0, Some(Duration::from_secs(600)))
            .with_count_during_lockout(count)
            .with_remember(3);
        let ip = Key::new(format!("count-{count}")).with_ip("203.0.113.7");
        let users: Vec<Key> = (0..3)
            .map(|i| Key::new(format!("count-{count}")).with_username(format!("user{i}")))
            .collect();
        // A password's spray key: locked once it failed on 2 accounts.
        let spray_limits = Limits::new(2)
            .with_failure_window(Some(Duration::from_secs(20)))
            .with_cool_off(Some(Duration::from_secs(5)))
            .with_remember(8);
        let sprays: Vec<Key> = (0..2)
            .map(|i| Key::new(format!("count-{count}")).with_password(format!("p{i}")))
            .collect();
        let mut now = t0();
        for i in 0..200u64 {
            // Attempts a second apart, so locks end and start again.
            now += Duration::from_millis(700 + (i % 5) * 400);
            let user = &users[(i % 3) as usize];
            let tag = Some(i % 4);
            let password = &sprays[(i % 2) as usize];
            let steps = [
                KeyStep::new(&ip, &limits).with_tag(tag),
                KeyStep::new(user, &limits).with_tag(tag),
                KeyStep::new(password, &spray_limits)
                    .with_tag(Some(i % 3))
                    .spray(),
            ];
            let got = attempt(&sqlite, &steps, now).await;
            let want = attempt(&memory, &steps, now).await;
            assert_eq!(got, want, "count_during_lockout {count}, attempt {i}");
        }
        assert_eq!(
            listing(&sqlite, now).await,
            listing(&memory, now).await,
            "count_during_lockout {count}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_refusal_is_lost_when_many_come_at_once() {
    let path = file();
    let store = Arc::new(open(&path).await);
    let limits = Limits::new(2).with_count_during_lockout(false);
    let key = Key::new("login").with_ip("198.51.100.1");
    for _ in 0..2 {
        store.begin_attempt(&key, &limits, t0()).await.unwrap();
    }
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, limits, key) = (store.clone(), limits.clone(), key.clone());
            tokio::spawn(async move {
                for _ in 0..100 {
                    let v = store.begin_attempt(&key, &limits, t0()).await.unwrap();
                    assert!(matches!(v, KeyVerdict::Locked { .. }));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // Another handle, as another process would, reads the file itself.
    let other = open(&path).await;
    let listed = listing(&other, t0()).await;
    let refused = match listed.as_slice() {
        [status] => status.refused,
        other => panic!("one key expected, got {other:?}"),
    };
    // The last refusals may still wait a moment for their write.
    let mut refused = refused;
    for _ in 0..200 {
        if refused == 3_200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        refused = listing(&other, t0()).await[0].refused;
    }
    assert_eq!(refused, 3_200);
    // This handle writes what it still holds before it lists.
    assert_eq!(listing(&*store, t0()).await[0].refused, 3_200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_from_another_process_is_seen_by_the_next_attempt() {
    let path = file();
    let (app, cli) = (open(&path).await, open(&path).await);
    let limits = Limits::new(2).with_cool_off(Some(Duration::from_secs(600)));
    let ip = Key::new("login").with_ip("192.0.2.44");
    let user = Key::new("login").with_username("alice");
    let steps = [KeyStep::new(&ip, &limits), KeyStep::new(&user, &limits)];
    for round in 0..3 {
        let mut now = t0() + Duration::from_secs(round * 100);
        for _ in 0..2 {
            now += Duration::from_millis(10);
            assert!(!locked(&attempt(&app, &steps, now).await));
        }
        for _ in 0..20 {
            now += Duration::from_millis(10);
            assert!(locked(&attempt(&app, &steps, now).await));
        }
        // Both keys are locked; lifting one still refuses.
        assert_eq!(
            cli.reset(&KeyFilter::all().ip("192.0.2.44")).await.unwrap(),
            1
        );
        now += Duration::from_millis(10);
        assert!(locked(&attempt(&app, &steps, now).await));
        assert_eq!(cli.reset(&KeyFilter::all()).await.unwrap(), 2);
        now += Duration::from_millis(10);
        let begun = attempt(&app, &steps, now).await;
        assert!(!locked(&begun), "round {round}: {begun:?}");
        cli.reset(&KeyFilter::all()).await.unwrap();
    }
    // The refusals written after the reset changed nothing: no key is left.
    assert_eq!(listing(&app, t0()).await, Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_in_this_process_is_seen_by_the_next_attempt() {
    let store = open(&file()).await;
    let limits = Limits::new(1);
    let key = Key::new("login").with_username("bob");
    let mut now = t0();
    store.begin_attempt(&key, &limits, now).await.unwrap();
    for _ in 0..5 {
        now += Duration::from_millis(10);
        let v = store.begin_attempt(&key, &limits, now).await.unwrap();
        assert!(matches!(v, KeyVerdict::Locked { .. }));
    }
    store
        .reset(&KeyFilter::all().username("bob"))
        .await
        .unwrap();
    now += Duration::from_millis(10);
    let v = store.begin_attempt(&key, &limits, now).await.unwrap();
    assert!(matches!(v, KeyVerdict::Allowed { .. }), "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_dropped_right_after_refusals_has_written_them() {
    let path = file();
    let limits = Limits::new(1).with_count_during_lockout(false);
    let key = Key::new("login").with_ip("192.0.2.99");
    for round in 1..=3u32 {
        let store = open(&path).await;
        if round == 1 {
            store.begin_attempt(&key, &limits, t0()).await.unwrap();
        }
        for _ in 0..10 {
            let v = store.begin_attempt(&key, &limits, t0()).await.unwrap();
            assert!(matches!(v, KeyVerdict::Locked { .. }));
        }
        drop(store);
        let other = open(&path).await;
        assert_eq!(listing(&other, t0()).await[0].refused, 10 * round);
    }
}

//! Purging expired keys gives the file's space back: a new database is
//! created with `auto_vacuum = INCREMENTAL` and a purge returns the pages
//! it freed; an older database without it is purged all the same, and
//! `health` says how to convert it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use loginguard_core::record::Limits;
use loginguard_core::{Key, Store};
use loginguard_sqlite::sqlx::{self, Connection};
use loginguard_sqlite::SqliteStore;

const KEYS: u32 = 50_000;
const WINDOW: Duration = Duration::from_secs(3600);

async fn pages(path: &std::path::Path) -> (i64, i64) {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    (count, free)
}

/// One failure each from `KEYS` distinct IPs, written by 32 tasks at once.
async fn spray(store: &Arc<SqliteStore>, now: SystemTime) {
    let limits = Limits::new(5).with_failure_window(Some(WINDOW));
    let tasks: Vec<_> = (0..32u32)
        .map(|t| {
            let store = store.clone();
            let limits = limits.clone();
            tokio::spawn(async move {
                for i in (t..KEYS).step_by(32) {
                    let ip = std::net::Ipv4Addr::from(0x0A00_0000 + i).to_string();
                    let key = Key::new("login").with_ip(ip);
                    store.begin_attempt(&key, &limits, now).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

async fn keys(path: &std::path::Path) -> i64 {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query_scalar("SELECT count(*) FROM loginguard_keys")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_after_a_spray_gives_the_pages_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lg.db");
    let store = Arc::new(
        SqliteStore::builder(&path)
            .auto_migrate(true)
            .open()
            .await
            .unwrap(),
    );
    let (empty, _) = pages(&path).await;
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    spray(&store, now).await;
    let (full, _) = pages(&path).await;
    assert!(
        full > empty + 1_000,
        "50,000 keys take room: {empty} then {full} pages"
    );

    // A window later, every key has expired.
    let later = now + WINDOW + Duration::from_secs(1);
    assert_eq!(store.purge_expired(later).await.unwrap(), u64::from(KEYS));
    assert_eq!(keys(&path).await, 0);
    let (after, free) = pages(&path).await;
    assert_eq!(free, 0, "no free page is kept");
    assert!(
        after * 10 < full,
        "the file gives its pages back: {full} pages before the purge, {after} after"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_created_without_auto_vacuum_is_purged_all_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lg.db");
    // An older loginguard created its files without `auto_vacuum`.
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
    sqlx::query("PRAGMA auto_vacuum = NONE; PRAGMA journal_mode = WAL")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let store = Arc::new(
        SqliteStore::builder(&path)
            .auto_migrate(true)
            .open()
            .await
            .unwrap(),
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let limits = Limits::new(5).with_failure_window(Some(WINDOW));
    for i in 0..100u32 {
        let key = Key::new("login").with_ip(format!("10.1.0.{i}"));
        store.begin_attempt(&key, &limits, now).await.unwrap();
    }
    let later = now + WINDOW + Duration::from_secs(1);
    assert_eq!(store.purge_expired(later).await.unwrap(), 100);
    assert_eq!(keys(&path).await, 0);
    // `health` says how to give the space back.
    let health = store.health().await.unwrap();
    assert!(
        health
            .notes
            .iter()
            .any(|n| n.contains("auto_vacuum") && n.contains("VACUUM")),
        "{:?}",
        health.notes
    );
}

#[tokio::test]
async fn health_of_a_new_database_says_nothing_of_auto_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::builder(dir.path().join("lg.db"))
        .auto_migrate(true)
        .open()
        .await
        .unwrap();
    let health = store.health().await.unwrap();
    assert!(
        !health.notes.iter().any(|n| n.contains("auto_vacuum")),
        "{:?}",
        health.notes
    );
}

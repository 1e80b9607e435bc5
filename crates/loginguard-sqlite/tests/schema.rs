//! Opening databases: missing files, outdated and newer schemas, store
//! URLs, and a database locked by another writer.

use std::time::{Duration, SystemTime};

use loginguard_core::record::Limits;
use loginguard_core::{Key, Store, StoreError};
use loginguard_sqlite::sqlx::{self, Connection};
use loginguard_sqlite::SqliteStore;

async fn raw(path: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_missing_file_is_not_created_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lg.db");
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::NotCreated { .. }), "{err:?}");
    assert!(err.to_string().contains("loginguard migrate"), "{err}");
    assert!(!path.exists(), "opening must not create the file");
    SqliteStore::builder(&path)
        .auto_migrate(true)
        .open()
        .await
        .unwrap();
    assert!(path.exists());
}

#[tokio::test]
async fn an_outdated_schema_says_to_migrate_and_migrate_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lg.db");
    std::fs::write(&path, b"").unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaOutdated {
                found: 0,
                expected: 2
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("run `loginguard migrate`"));
    let store = SqliteStore::builder(&path)
        .check_schema(false)
        .open()
        .await
        .unwrap();
    assert_eq!(
        store.pending_migrations().await.unwrap(),
        ["0001 keys and audit logs", "0002 refusals and tags"]
    );
    assert_eq!(store.health().await.unwrap().pending_migrations.len(), 2);
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    drop(store);
    let store = SqliteStore::open(&path).await.unwrap();
    let v = store
        .begin_attempt(
            &Key::new("login").with_ip("10.0.0.1"),
            &Limits::new(3),
            SystemTime::now(),
        )
        .await;
    assert!(v.is_ok());
}

#[tokio::test]
async fn a_newer_schema_is_refused_even_for_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lg.db");
    SqliteStore::builder(&path)
        .auto_migrate(true)
        .open()
        .await
        .unwrap();
    let mut conn = raw(&path).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20991231000000, 'from a newer build', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for builder in [
        SqliteStore::builder(&path),
        SqliteStore::builder(&path).auto_migrate(true),
        SqliteStore::builder(&path).check_schema(false),
    ] {
        let err = builder.open().await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::SchemaTooNew {
                    found: 20991231000000,
                    expected: 2
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("upgrade loginguard"));
    }
}

#[test]
fn store_urls() {
    for good in [
        "sqlite://loginguard.db",
        "sqlite:loginguard.db",
        "sqlite:///var/lib/app/lg.db",
        "sqlite://./data/lg.db",
        "sqlite::memory:",
    ] {
        assert!(SqliteStore::from_url(good).is_ok(), "{good}");
    }
    for bad in [
        "sqlite://",
        "sqlite:",
        "postgres://x",
        "lg.db",
        "sqlite://lg.db?mode=ro",
    ] {
        let err = SqliteStore::from_url(bad).unwrap_err();
        assert!(matches!(err, StoreError::Config(_)), "{bad}: {err:?}");
        assert!(err.to_string().contains("sqlite://path"), "{err}");
    }
}

#[tokio::test]
async fn a_database_locked_by_another_writer_is_unavailable_after_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lg.db");
    let store = SqliteStore::builder(&path)
        .auto_migrate(true)
        .busy_timeout(Duration::from_millis(200))
        .open()
        .await
        .unwrap();
    let mut holder = raw(&path).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let key = Key::new("login").with_ip("10.0.0.1");
    let err = store
        .begin_attempt(&key, &Limits::new(3), SystemTime::now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    let chain = loginguard_core::error_chain(&err);
    assert!(chain.contains("database is locked"), "{chain}");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    // The store recovers once the lock is released.
    store
        .begin_attempt(&key, &Limits::new(3), SystemTime::now())
        .await
        .unwrap();
}

/// A version-1 database (made by the first migration alone, with rows as
/// version 1 wrote them) keeps its locks and counts through `migrate`.
#[tokio::test]
async fn a_version_1_database_is_upgraded_with_its_locks_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lg.db");
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut v1 = sqlx::migrate::Migrator::new(migrations).await.unwrap();
    v1.migrations = std::borrow::Cow::Owned(v1.migrations[..1].to_vec());
    let mut conn = raw(&path).await;
    v1.run(&mut conn).await.unwrap();
    let now = loginguard_core::record::to_ms(SystemTime::now());
    let until = now + 3_600_000;
    sqlx::query(
        "INSERT INTO loginguard_keys (id, scope, ip, username, user_agent, failures, failure_count, \
         locked, locked_until, lock_count, updated_at, expires_at) VALUES \
         ('login/username=alice', 'login', NULL, 'alice', NULL, ?1, 3, 1, ?2, 1, ?3, ?2), \
         ('login/ip=10.0.0.9', 'login', '10.0.0.9', NULL, NULL, ?3, 1, 0, NULL, 0, ?3, NULL)",
    )
    .bind(format!("{},{},{}", now - 2, now - 1, now))
    .bind(until)
    .bind(now)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaOutdated {
                found: 1,
                expected: 2
            }
        ),
        "{err:?}"
    );
    let store = SqliteStore::builder(&path)
        .check_schema(false)
        .open()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    drop(store);
    let store = SqliteStore::open(&path).await.unwrap();
    let listed = store
        .list(&loginguard_core::ListQuery::all(), SystemTime::now())
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let alice = listed
        .iter()
        .find(|s| s.key.username() == Some("alice"))
        .unwrap();
    assert!(alice.locked);
    assert_eq!((alice.failures, alice.refused), (3, 0));
    assert_eq!(
        alice.locked_until.map(loginguard_core::record::to_ms),
        Some(until)
    );
    let limits = Limits::new(3).with_cool_off(Some(Duration::from_secs(3600)));
    let v = store
        .begin_attempt(
            &Key::new("login").with_username("alice"),
            &limits,
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert!(
        matches!(v, loginguard_core::record::KeyVerdict::Locked { .. }),
        "the lock survived the upgrade: {v:?}"
    );
    let v = store
        .begin_attempt(
            &Key::new("login").with_ip("10.0.0.9"),
            &limits,
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            v,
            loginguard_core::record::KeyVerdict::Allowed { failures: 2, .. }
        ),
        "the count survived the upgrade: {v:?}"
    );
}

//! Migrations and schema state: an unmigrated schema refuses to count
//! (`SchemaOutdated`, which `on_store_error` then answers) and `health`
//! lists what is pending; `migrate` fixes both and is idempotent.

mod support;

use std::sync::Arc;
use std::time::SystemTime;

use loginguard_core::record::Limits;
use loginguard_core::{Attempt, Decision, Guard, Key, LockReason, Policy, Store, StoreError};
use loginguard_postgres::sqlx;
use loginguard_postgres::{PostgresOptions, PostgresStore};

#[tokio::test]
async fn pending_migrations_refuse_until_migrate_runs() {
    let Some(url) = support::url() else { return };
    let schema = support::random_schema();
    let store = PostgresStore::connect(&url, PostgresOptions::new().schema(&schema))
        .await
        .unwrap();
    let key = Key::new("login").with_ip("192.0.2.1");
    let err = store
        .begin_attempt(&key, &Limits::new(3), SystemTime::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaOutdated { found: 0, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("run `loginguard migrate`"),
        "{err}"
    );

    let health = store.health().await.unwrap();
    assert_eq!(health.pending_migrations.len(), 3, "{health:?}");
    assert!(
        health
            .notes
            .iter()
            .any(|n| n.contains("loginguard migrate")),
        "{health:?}"
    );
    assert!(health.description.starts_with("postgres"), "{health:?}");

    // The engine answers a stale schema with `on_store_error` (deny).
    let store: Arc<dyn Store> = Arc::new(store);
    let guard = Guard::new(Policy::default(), store.clone());
    let attempt = Attempt::new("POST", "/login").ip("192.0.2.1".parse().unwrap());
    match guard.begin(attempt.clone()).await.unwrap() {
        Decision::Refused(l) => assert_eq!(l.reason, LockReason::StoreUnavailable),
        Decision::Proceed(_) => panic!("a stale schema must not count attempts"),
    }

    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.health().await.unwrap().pending_migrations.is_empty());
    assert!(matches!(
        guard.begin(attempt).await.unwrap(),
        Decision::Proceed(_)
    ));
    support::drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn schema_names_are_checked_before_any_sql() {
    let url = support::url().unwrap_or_else(|| "postgres://localhost/x".to_owned());
    let err = PostgresStore::connect(&url, PostgresOptions::new().schema("x\"; DROP TABLE y; --"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_quickly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let err = PostgresStore::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        PostgresOptions::new().timeout(std::time::Duration::from_millis(500)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

/// A version-1 schema (made by the first migration alone, with rows as
/// version 1 wrote them) keeps its locks and counts through `migrate`.
#[tokio::test]
async fn a_version_1_schema_is_upgraded_with_its_locks_intact() {
    let Some(url) = support::url() else { return };
    let schema = support::random_schema();
    let store = PostgresStore::connect(&url, PostgresOptions::new().schema(&schema))
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(store.pool())
        .await
        .unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut v1 = sqlx::migrate::Migrator::new(migrations).await.unwrap();
    v1.migrations = std::borrow::Cow::Owned(v1.migrations[..1].to_vec());
    v1.run(store.pool()).await.unwrap();
    let now = loginguard_core::record::to_ms(SystemTime::now());
    let until = now + 3_600_000;
    sqlx::query(
        "INSERT INTO lockout_keys (id, scope, ip, username, failures, locked, locked_until, \
         lock_count, updated_at, expires_at) VALUES \
         ('login/username=alice', 'login', NULL, 'alice', $1, TRUE, $2, 1, $3, $2), \
         ('login/ip=10.0.0.9', 'login', '10.0.0.9', NULL, ARRAY[$3], FALSE, NULL, 0, $3, NULL)",
    )
    .bind(vec![now - 2, now - 1, now])
    .bind(until)
    .bind(now)
    .execute(store.pool())
    .await
    .unwrap();
    let err = store
        .begin_attempt(
            &Key::new("login").with_ip("10.0.0.9"),
            &Limits::new(3),
            SystemTime::now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaOutdated {
                found: 1,
                expected: 3
            }
        ),
        "{err:?}"
    );
    store.migrate().await.unwrap();
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
    let limits = Limits::new(3).with_cool_off(Some(std::time::Duration::from_secs(3600)));
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
    support::drop_schema(&url, &schema).await;
}

/// A version-2 schema (refusals and tags, before the attempt functions)
/// keeps its locks, counts and remembered tags through `migrate`, and
/// attempts then run on the functions of version 3.
#[tokio::test]
async fn a_version_2_schema_migrates_to_3_with_its_state_intact() {
    let Some(url) = support::url() else { return };
    let schema = support::random_schema();
    let store = PostgresStore::connect(&url, PostgresOptions::new().schema(&schema))
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(store.pool())
        .await
        .unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut v2 = sqlx::migrate::Migrator::new(migrations).await.unwrap();
    v2.migrations = std::borrow::Cow::Owned(v2.migrations[..2].to_vec());
    v2.run(store.pool()).await.unwrap();
    let now = loginguard_core::record::to_ms(SystemTime::now());
    let until = now + 3_600_000;
    // alice is locked with two refusals; the IP holds one failure whose
    // password tag (7) it remembers.
    sqlx::query(
        "INSERT INTO lockout_keys (id, scope, ip, username, failures, locked, locked_until, \
         lock_count, updated_at, expires_at, refused, tags) VALUES \
         ('login/username=alice', 'login', NULL, 'alice', $1, TRUE, $2, 1, $3, $2, 2, '{}'), \
         ('login/ip=10.0.0.9', 'login', '10.0.0.9', NULL, ARRAY[$3], FALSE, NULL, 0, $3, NULL, \
          0, ARRAY[$3, 7])",
    )
    .bind(vec![now - 2, now - 1, now])
    .bind(until)
    .bind(now)
    .execute(store.pool())
    .await
    .unwrap();
    let ip = Key::new("login").with_ip("10.0.0.9");
    let limits = Limits::new(3)
        .with_cool_off(Some(std::time::Duration::from_secs(3600)))
        .with_remember(3)
        .with_count_during_lockout(false);
    let err = store
        .begin_attempt(&ip, &limits, SystemTime::now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaOutdated {
                found: 2,
                expected: 3
            }
        ),
        "{err:?}"
    );
    store.migrate().await.unwrap();
    assert!(store.health().await.unwrap().pending_migrations.is_empty());
    let alice = Key::new("login").with_username("alice");
    let steps = [
        loginguard_core::batch::KeyStep::new(&ip, &limits).with_tag(Some(7)),
        loginguard_core::batch::KeyStep::new(&alice, &limits).with_tag(Some(7)),
    ];
    let begun = store.begin_all(&steps, SystemTime::now()).await.unwrap();
    use loginguard_core::batch::Begun;
    use loginguard_core::record::KeyVerdict;
    assert!(
        matches!(
            begun[0],
            Begun::Verdict(KeyVerdict::Allowed {
                counted: false,
                failures: 1,
                ..
            })
        ),
        "the remembered tag survived the upgrade: {begun:?}"
    );
    assert_eq!(
        begun[1],
        Begun::Verdict(KeyVerdict::Locked {
            until: Some(until),
            failures: 3
        }),
        "the lock survived the upgrade"
    );
    let listed = store
        .list(&loginguard_core::ListQuery::all(), SystemTime::now())
        .await
        .unwrap();
    let alice = listed
        .iter()
        .find(|s| s.key.username() == Some("alice"))
        .unwrap();
    assert_eq!(alice.refused, 3, "the refusals went on counting");
    support::drop_schema(&url, &schema).await;
}

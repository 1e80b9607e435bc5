//! A purge of more expired keys than one statement deletes goes through
//! them all, and keeps the keys that have not expired.

mod support;

use std::time::{Duration, SystemTime};

use loginguard_core::record::{to_ms, Limits};
use loginguard_core::{Key, Store};
use loginguard_postgres::sqlx;
use loginguard_postgres::PostgresStore;

#[tokio::test]
async fn a_purge_of_many_expired_keys_takes_them_all() {
    let Some(url) = support::url() else { return };
    support::drop_stale_schemas(&url).await;
    let schema = support::random_schema();
    let store = PostgresStore::connect(&url, support::test_options(&schema))
        .await
        .unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    // 25,000 keys that expired a second ago, written straight to the table.
    sqlx::query(
        "INSERT INTO lockout_keys (id, scope, ip, failures, updated_at, expires_at) \
         SELECT 'login/ip=10.0.' || g, 'login', '10.0.' || g, ARRAY[$1::bigint], $1, $2 \
         FROM generate_series(1, 25000) g",
    )
    .bind(to_ms(now) - 3_600_000)
    .bind(to_ms(now) - 1_000)
    .execute(store.pool())
    .await
    .unwrap();
    let fresh = Key::new("login").with_ip("192.0.2.1");
    let limits = Limits::new(5).with_failure_window(Some(Duration::from_secs(3600)));
    store.begin_attempt(&fresh, &limits, now).await.unwrap();

    assert_eq!(store.purge_expired(now).await.unwrap(), 25_000);
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM lockout_keys")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(left, vec![fresh.id().to_owned()]);
    store.pool().close().await;
    support::drop_schema(&url, &schema).await;
}

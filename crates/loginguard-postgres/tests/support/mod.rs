//! Test support: the server of `LOGINGUARD_TEST_POSTGRES_URL` and a fresh
//! schema per test. Schemas of earlier runs (older than an hour) are
//! dropped, so runs never collide and never pile up.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use loginguard_postgres::{PostgresOptions, PostgresStore};

/// The server named by `LOGINGUARD_TEST_POSTGRES_URL`, if set.
pub fn url() -> Option<String> {
    match std::env::var("LOGINGUARD_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            loginguard_testing::skip!("LOGINGUARD_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh schema name: `lgtest_<unix seconds>_<random>`.
pub fn random_schema() -> String {
    format!("lgtest_{}_{:08x}", now_secs(), rand::random::<u32>())
}

/// Drops test schemas left by runs more than an hour old.
pub async fn drop_stale_schemas(url: &str) {
    let Ok(pool) = sqlx::PgPool::connect(url).await else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'lgtest\\_%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_default();
    let cutoff = now_secs().saturating_sub(3600);
    for name in names {
        let stamp = name.split('_').nth(1).and_then(|s| s.parse::<u64>().ok());
        if stamp.is_some_and(|t| t < cutoff) {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                .execute(&pool)
                .await;
        }
    }
    pool.close().await;
}

/// Drops one schema.
pub async fn drop_schema(url: &str, schema: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// Options for tests: `schema`, migrations applied on connect.
pub fn test_options(schema: &str) -> PostgresOptions {
    PostgresOptions::new()
        .schema(schema)
        .timeout(Duration::from_secs(10))
        .auto_migrate(true)
}

/// `handles` separate stores (separate pools) on one fresh schema.
pub async fn open_stores(url: &str, schema: &str, handles: usize) -> Vec<PostgresStore> {
    let mut stores = Vec::with_capacity(handles);
    for _ in 0..handles {
        stores.push(
            PostgresStore::connect(url, test_options(schema))
                .await
                .expect("connect to PostgreSQL"),
        );
    }
    stores
}

//! The shared store suite against the PostgreSQL named by
//! `LOGINGUARD_TEST_POSTGRES_URL` (skipped when unset). Each test gets its
//! own schema; each handle is a separate pool.

mod support;

use std::sync::Arc;

use loginguard_core::Store;

struct Postgres;

#[async_trait::async_trait]
impl loginguard_store_tests::Harness for Postgres {
    async fn open(&self, handles: usize) -> Option<Vec<Arc<dyn Store>>> {
        let url = support::url()?;
        support::drop_stale_schemas(&url).await;
        let stores = support::open_stores(&url, &support::random_schema(), handles).await;
        Some(
            stores
                .into_iter()
                .map(|s| Arc::new(s) as Arc<dyn Store>)
                .collect(),
        )
    }
}

loginguard_store_tests::store_tests!(Postgres);

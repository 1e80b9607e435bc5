//! The shared store suite against the Redis named by
//! `LOGINGUARD_TEST_REDIS_URL` (skipped when unset). Each test uses its own
//! random key prefix; each handle is a separate client.

mod support;

use std::sync::Arc;

use loginguard_core::Store;

struct SharedRedis;

#[async_trait::async_trait]
impl loginguard_store_tests::Harness for SharedRedis {
    async fn open(&self, handles: usize) -> Option<Vec<Arc<dyn Store>>> {
        let url = support::shared_url()?;
        let prefix = support::random_prefix();
        let stores = support::open_stores(&url, &prefix, handles).await;
        Some(
            stores
                .into_iter()
                .map(|s| Arc::new(s) as Arc<dyn Store>)
                .collect(),
        )
    }
}

loginguard_store_tests::store_tests!(SharedRedis);

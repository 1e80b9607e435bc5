//! The shared store suite, run against `MemoryStore`.

use std::sync::Arc;

use loginguard_core::{MemoryStore, Store};

struct Memory;

#[async_trait::async_trait]
impl loginguard_store_tests::Harness for Memory {
    async fn open(&self, handles: usize) -> Option<Vec<Arc<dyn Store>>> {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new().with_audit_log(10_000));
        Some(vec![store; handles])
    }
}

loginguard_store_tests::store_tests!(Memory);

//! The shared store suite, run against `SqliteStore` on a fresh file per test
//! (several handles on one file, as several processes would have).

use std::sync::Arc;

use loginguard_core::Store;
use loginguard_sqlite::SqliteStore;

struct Sqlite;

#[async_trait::async_trait]
impl loginguard_store_tests::Harness for Sqlite {
    async fn open(&self, handles: usize) -> Option<Vec<Arc<dyn Store>>> {
        // Under the target directory's scratch space, kept after the test
        // for inspection (`cargo clean` removes it).
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let path = dir.join("loginguard.db");
        let mut stores: Vec<Arc<dyn Store>> = Vec::new();
        for _ in 0..handles {
            let store = SqliteStore::builder(&path)
                .auto_migrate(true)
                .open()
                .await
                .unwrap();
            stores.push(Arc::new(store));
        }
        Some(stores)
    }
}

loginguard_store_tests::store_tests!(Sqlite);

mod in_memory {
    use super::*;

    struct Memory;

    #[async_trait::async_trait]
    impl loginguard_store_tests::Harness for Memory {
        async fn open(&self, handles: usize) -> Option<Vec<Arc<dyn Store>>> {
            let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().open().await.unwrap());
            Some(vec![store; handles])
        }
    }

    loginguard_store_tests::store_tests!(Memory);
}

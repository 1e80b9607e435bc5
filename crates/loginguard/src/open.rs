//! Opening the store named by the `store` setting.
//!
//! `store` is `memory` or a URL whose scheme picks the backend. Each
//! backend is an arm of the `match` in [`open_store_with`], compiled in by
//! its feature.

use std::sync::Arc;

use loginguard_core::{Config, MemoryStore, Store, StoreError};

/// Entries kept by the memory store's audit log (oldest dropped first).
pub const MEMORY_AUDIT_CAPACITY: usize = 10_000;

/// How [`open_store_with`] treats a store's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OpenMode {
    /// For applications: pending migrations are applied when
    /// `auto_migrate` is on and refused otherwise ("run `loginguard
    /// migrate`"); a missing SQLite file is created only with `auto_migrate`.
    #[default]
    Serve,
    /// For `loginguard migrate`: creates the database if it is missing and
    /// opens it whatever its schema version (unless newer than this build),
    /// so that [`Store::migrate`] can bring it up to date.
    Migrate,
    /// For `loginguard check`: opens an existing database whatever its
    /// schema version, so that [`Store::health`] can report pending
    /// migrations. Creates nothing.
    Inspect,
}

/// Opens the store named by `config.store`, honouring `config.auto_migrate`.
///
/// Accepted forms (see [`accepted_store_forms`]): `memory` (in this process
/// only, at most `memory_max_keys` keys), `sqlite://path` or `sqlite:path`
/// (relative or absolute) and `sqlite::memory:`; with the `postgres`
/// feature `postgres://…` / `postgresql://…` (schema `store_prefix`); with
/// the `redis` feature `redis://host:port/db`, `rediss://…` and
/// `redis+cluster://host:port,host:port` (key prefix `store_prefix`).
/// Anything else is a [`StoreError::Config`] naming the accepted forms.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    open_store_with(config, OpenMode::Serve).await
}

/// [`open_store`] with an explicit [`OpenMode`].
pub async fn open_store_with(
    config: &Config,
    mode: OpenMode,
) -> Result<Arc<dyn Store>, StoreError> {
    let url = config.store.trim();
    let _ = mode; // read by the backend arms that have a schema
    match scheme(url) {
        "memory" => Ok(Arc::new(
            MemoryStore::with_max_keys(config.memory_max_keys)
                .with_audit_log(MEMORY_AUDIT_CAPACITY),
        )),
        #[cfg(feature = "sqlite")]
        "sqlite" => open_sqlite(url, config, mode).await,
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => open_postgres(config, mode).await,
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" => Ok(Arc::new(
            loginguard_redis::RedisStore::from_config(config).await?,
        )),
        other => Err(unsupported(url, other)),
    }
}

/// The `store` forms this build accepts.
pub fn accepted_store_forms() -> Vec<&'static str> {
    let mut forms = vec!["\"memory\""];
    if cfg!(feature = "sqlite") {
        forms.extend([
            "\"sqlite://path\"",
            "\"sqlite:path\"",
            "\"sqlite::memory:\"",
        ]);
    }
    if cfg!(feature = "postgres") {
        forms.extend([
            "\"postgres://user:password@host:port/db\"",
            "\"postgresql://…\"",
        ]);
    }
    if cfg!(feature = "redis") {
        forms.extend([
            "\"redis://host:port/db\"",
            "\"rediss://…\"",
            "\"redis+cluster://host:port,host:port\"",
        ]);
    }
    forms
}

/// The scheme of a store URL (`memory` for the memory store).
fn scheme(url: &str) -> &str {
    if url == "memory" {
        return "memory";
    }
    url.split_once(':').map_or("", |(scheme, _)| scheme)
}

fn unsupported(url: &str, scheme: &str) -> StoreError {
    let feature = match scheme {
        "sqlite" => Some("sqlite"),
        "postgres" | "postgresql" => Some("postgres"),
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" => Some("redis"),
        _ => None,
    };
    let forms = accepted_store_forms().join(", ");
    match feature {
        Some(feature) => StoreError::Config(format!(
            "store {url:?} needs loginguard's `{feature}` feature, which this build lacks; accepted here: {forms}"
        )),
        None => StoreError::Config(format!("unknown store {url:?}: expected one of {forms}")),
    }
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(
    url: &str,
    config: &Config,
    mode: OpenMode,
) -> Result<Arc<dyn Store>, StoreError> {
    let builder = loginguard_sqlite::SqliteStore::from_url(url)?.busy_timeout(config.store_timeout);
    let builder = match mode {
        OpenMode::Serve => builder.auto_migrate(config.auto_migrate),
        OpenMode::Migrate => builder.create_if_missing(true).check_schema(false),
        OpenMode::Inspect => builder.check_schema(false),
    };
    Ok(Arc::new(builder.open().await?))
}

/// PostgreSQL: `store_prefix` is the schema. Serving refuses a schema with
/// pending migrations (unless `auto_migrate`); migrating and inspecting
/// open it whatever its state.
#[cfg(feature = "postgres")]
async fn open_postgres(config: &Config, mode: OpenMode) -> Result<Arc<dyn Store>, StoreError> {
    use loginguard_postgres::{PostgresOptions, PostgresStore};
    let options = PostgresOptions::from_config(config);
    let store = match mode {
        OpenMode::Serve => {
            let store = PostgresStore::connect(&config.store, options).await?;
            store.check_schema().await?;
            store
        }
        OpenMode::Migrate | OpenMode::Inspect => {
            PostgresStore::connect(&config.store, options.auto_migrate(false)).await?
        }
    };
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(store: &str, auto_migrate: bool) -> Config {
        let toml = format!("store = {store:?}\nauto_migrate = {auto_migrate}");
        Config::from_toml_str(&toml).unwrap()
    }

    #[tokio::test]
    async fn memory_store_has_an_audit_log() {
        let store = open_store(&config("memory", false)).await.unwrap();
        assert!(store.audit().is_some());
        assert_eq!(store.health().await.unwrap().description, "memory");
    }

    #[tokio::test]
    async fn unknown_schemes_name_the_accepted_forms() {
        for url in ["mysql://db", "loginguard.db", "memcached:x"] {
            let err = open_store(&config(url, false))
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("\"memory\"") && err.contains(url), "{err}");
        }
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_urls_relative_absolute_and_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let abs = dir.path().join("a.db");
        for url in [
            format!("sqlite://{}", abs.display()),
            format!("sqlite:{}", dir.path().join("b.db").display()),
            "sqlite::memory:".to_owned(),
        ] {
            let store = open_store(&config(&url, true)).await.unwrap();
            assert!(
                store.health().await.unwrap().pending_migrations.is_empty(),
                "{url}"
            );
        }
        assert!(abs.exists());
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_without_auto_migrate_says_to_migrate() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("lg.db").display());
        let err = open_store(&config(&url, false))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("loginguard migrate"), "{err}");
        let store = open_store_with(&config(&url, false), OpenMode::Migrate)
            .await
            .unwrap();
        assert!(!store.health().await.unwrap().pending_migrations.is_empty());
        store.migrate().await.unwrap();
        drop(store);
        open_store(&config(&url, false)).await.unwrap();
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres_urls_open_the_postgres_store() {
        let Ok(url) = std::env::var("LOGINGUARD_TEST_POSTGRES_URL") else {
            loginguard_testing::skip!("LOGINGUARD_TEST_POSTGRES_URL is not set");
            return;
        };
        // `lgtest_<unix seconds>_…`: the PostgreSQL store's tests drop such
        // schemas once they are an hour old.
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let schema = format!("lgtest_{secs}_open{}", std::process::id());
        let toml = format!("store = {url:?}\nstore_prefix = {schema:?}");
        let config = Config::from_toml_str(&toml).unwrap();
        let store = open_store_with(&config, OpenMode::Migrate).await.unwrap();
        store.migrate().await.unwrap();
        assert!(store.audit().is_some());
        let store = open_store(&config).await.unwrap();
        assert!(store.health().await.unwrap().pending_migrations.is_empty());
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis_urls_open_the_redis_store() {
        let Ok(url) = std::env::var("LOGINGUARD_TEST_REDIS_URL") else {
            loginguard_testing::skip!("LOGINGUARD_TEST_REDIS_URL is not set");
            return;
        };
        let store = open_store(&config(&url, false)).await.unwrap();
        let health = store.health().await.unwrap();
        assert!(health.description.starts_with("redis://"), "{health:?}");
        assert!(
            health.notes.iter().any(|n| n.starts_with("Redis ")),
            "{health:?}"
        );
    }
}

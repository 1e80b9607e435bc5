//! `PostgresStore`: the [`Store`] implementation.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use loginguard_core::batch::{Begun, KeyRelease, KeyStep};
use loginguard_core::record::{self, to_ms, KeyRecord, KeyVerdict, Limits, Release, Tag};
use loginguard_core::seen::SeenKeys;
use loginguard_core::{
    AuditLog, Config, Key, KeyFilter, KeyStatus, ListQuery, Store, StoreError, StoreHealth,
};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::Postgres;
use sqlx::{Connection, PgConnection, PgPool, Row};

use crate::attempt;
use crate::error::PostgresStoreError;
use crate::options::{redact, PostgresOptions};
use crate::schema;

/// Keys matching a [`KeyFilter`] given as `$1` scope, `$2` ip, `$3` username
/// (see `KeyFilter::matches`).
const FILTER: &str = "($1::text IS NULL OR scope = $1) \
     AND (($2::text IS NULL AND $3::text IS NULL) OR ip = $2 OR username = $3) \
     AND NOT (ip IS NOT NULL AND $2::text IS NOT NULL AND ip <> $2) \
     AND NOT (username IS NOT NULL AND $3::text IS NOT NULL AND username <> $3)";

/// [`FILTER`] for [`KeyFilter::sprayed`]: the keys of sprayed passwords
/// (they have no other component), with `$2` and `$3` unused.
const SPRAYED: &str = "($1::text IS NULL OR scope = $1) \
     AND ($2::text IS NULL OR TRUE) AND ($3::text IS NULL OR TRUE) \
     AND ip IS NULL AND username IS NULL AND position('/password=' in id) > 0";

/// The SQL condition of `filter`.
fn filter_sql(filter: &KeyFilter) -> &'static str {
    if filter.sprayed {
        SPRAYED
    } else {
        FILTER
    }
}

/// Key rows deleted by one statement of a purge.
const PURGE_STEP_ROWS: i64 = 10_000;

/// A [`Store`] and [`AuditLog`] in PostgreSQL; see the crate docs.
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    schema: String,
    pub(crate) timeout: Duration,
    description: String,
    durable_commits: bool,
    /// Set once the schema was seen up to date.
    ready: AtomicBool,
    /// Keys recently found in the table: a one-key attempt on them goes
    /// straight to `lg_begin_all`.
    seen: SeenKeys,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.description)
            .field("schema", &self.schema)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`),
    /// waiting at most `options.timeout`. Runs pending migrations when
    /// `options.auto_migrate` is set; otherwise calls fail with
    /// `StoreError::SchemaOutdated` until `loginguard migrate` has run.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        options.check()?;
        let description = redact(url);
        let statement_timeout = options.timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| PostgresStoreError::Url {
                url: description.clone(),
                reason: e.to_string(),
            })?
            .application_name("loginguard")
            .options([
                ("search_path", options.schema.as_str()),
                ("statement_timeout", statement_timeout.as_str()),
                (
                    "synchronous_commit",
                    if options.durable_commits { "on" } else { "off" },
                ),
            ]);
        // One direct connection first, so that a refused connection, a bad
        // password or a missing database is reported as such (a pool
        // would only say it timed out).
        let first = async {
            let conn = PgConnection::connect_with(&connect).await?;
            conn.close().await
        };
        match tokio::time::timeout(options.timeout, first).await {
            Ok(result) => result.map_err(PostgresStoreError::query("connect"))?,
            Err(_) => return Err(PostgresStoreError::Timeout(options.timeout).into()),
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.timeout)
            .connect_lazy_with(connect);
        let store = PostgresStore {
            pool,
            schema: options.schema,
            timeout: options.timeout,
            description,
            durable_commits: options.durable_commits,
            ready: AtomicBool::new(false),
            seen: SeenKeys::new(),
        };
        if options.auto_migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Connects to `config.store` with `store_prefix` as the schema,
    /// `store_timeout` and `auto_migrate`.
    pub async fn from_config(config: &Config) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(&config.store, PostgresOptions::from_config(config)).await
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Runs `fut` within the timeout.
    pub(crate) async fn bounded<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, PostgresStoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(PostgresStoreError::Timeout(self.timeout).into()),
        }
    }

    /// Checks that the schema is up to date: `StoreError::SchemaOutdated`
    /// while migrations are pending ("run `loginguard migrate`"),
    /// `SchemaTooNew` when a newer loginguard migrated it. Every call does
    /// this check until it passes once.
    pub async fn check_schema(&self) -> Result<(), StoreError> {
        self.ensure_schema().await
    }

    pub(crate) async fn ensure_schema(&self) -> Result<(), StoreError> {
        if self.ready.load(Ordering::Relaxed) {
            return Ok(());
        }
        let state = self.bounded(schema::state(&self.pool)).await?;
        state.refuse_too_new()?;
        state.refuse_outdated()?;
        self.ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// `record::begin` on the key's row, each statement on its own: a new
    /// key is inserted in one statement, which otherwise returns the row;
    /// the row is then written back only if its version is unchanged. A
    /// write that loses a race reads again; after [`OPTIMISTIC_TRIES`] lost races the step locks the row
    /// (`SELECT … FOR UPDATE` in a transaction), so a hot key costs at
    /// most a few statements per attempt.
    async fn begin_step(
        &self,
        key: &Key,
        limits: &Limits,
        tag: Option<Tag>,
        now: i64,
    ) -> Result<KeyVerdict, PostgresStoreError> {
        // The record of a key seen for the first time.
        let mut fresh = KeyRecord::default();
        let fresh_verdict = record::begin(&mut fresh, limits, tag, now);
        for _ in 0..OPTIMISTIC_TRIES {
            let mut conn = self
                .pool
                .acquire()
                .await
                .map_err(PostgresStoreError::query("acquire"))?;
            match insert_or_read(&mut conn, key, &fresh, limits).await? {
                InsertOrRead::Inserted => return Ok(fresh_verdict),
                InsertOrRead::Existing(mut rec, version) => {
                    let verdict = record::begin(&mut rec, limits, tag, now);
                    if update(&mut conn, key.id(), &rec, limits, Some(version)).await? {
                        return Ok(verdict);
                    }
                }
                // Another server is inserting the key right now.
                InsertOrRead::Neither => {}
            }
        }
        self.begin_locked(key, limits, tag, now).await
    }

    /// [`Self::begin_step`] holding the row lock.
    async fn begin_locked(
        &self,
        key: &Key,
        limits: &Limits,
        tag: Option<Tag>,
        now: i64,
    ) -> Result<KeyVerdict, PostgresStoreError> {
        let q = PostgresStoreError::query("begin_attempt");
        let mut tx = self.pool.begin().await.map_err(q)?;
        // A new key is inserted; if another server inserted it meanwhile
        // (or deleted it), the row is read again under its lock.
        for _ in 0..4 {
            if let Some((mut rec, _)) = select(&mut tx, key.id(), true).await? {
                let verdict = record::begin(&mut rec, limits, tag, now);
                update(&mut tx, key.id(), &rec, limits, None).await?;
                tx.commit().await.map_err(q)?;
                return Ok(verdict);
            }
            let mut rec = KeyRecord::default();
            let verdict = record::begin(&mut rec, limits, tag, now);
            if insert(&mut tx, key, &rec, limits).await? {
                tx.commit().await.map_err(q)?;
                return Ok(verdict);
            }
        }
        Err(PostgresStoreError::Corrupt(format!(
            "the row of {key} kept appearing and disappearing"
        )))
    }
}

/// Lost races before a step falls back to locking the row.
const OPTIMISTIC_TRIES: usize = 3;

/// The key's record and its version; `lock`: `FOR UPDATE` (in a transaction).
async fn select(
    conn: &mut PgConnection,
    id: &str,
    lock: bool,
) -> Result<Option<(KeyRecord, i64)>, PostgresStoreError> {
    let sql = if lock {
        "SELECT failures, locked, locked_until, lock_count, updated_at, refused, tags, version \
         FROM lockout_keys WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT failures, locked, locked_until, lock_count, updated_at, refused, tags, version \
         FROM lockout_keys WHERE id = $1"
    };
    let row = sqlx::query(sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(PostgresStoreError::query("select"))?;
    match row {
        Some(row) => {
            let version: i64 = row
                .try_get("version")
                .map_err(PostgresStoreError::query("decode"))?;
            Ok(Some((decode(&row)?, version)))
        }
        None => Ok(None),
    }
}

/// A key's record from a row of `lockout_keys`.
fn decode(row: &PgRow) -> Result<KeyRecord, PostgresStoreError> {
    let q = PostgresStoreError::query("decode");
    let lock_count: i64 = row.try_get("lock_count").map_err(q)?;
    let refused: i64 = row.try_get("refused").map_err(q)?;
    let tags: Vec<i64> = row.try_get("tags").map_err(q)?;
    if tags.len() % 2 != 0 {
        return Err(PostgresStoreError::Corrupt(format!(
            "tags of odd length {}",
            tags.len()
        )));
    }
    Ok(KeyRecord {
        failures: row.try_get("failures").map_err(q)?,
        locked: row.try_get("locked").map_err(q)?,
        locked_until: row.try_get("locked_until").map_err(q)?,
        lock_count: u32::try_from(lock_count)
            .map_err(|_| PostgresStoreError::Corrupt(format!("lock_count {lock_count}")))?,
        updated_at: row.try_get("updated_at").map_err(q)?,
        refused: u32::try_from(refused).unwrap_or(u32::MAX),
        tags: tags
            .chunks_exact(2)
            .map(|pair| (pair[0], pair[1] as Tag))
            .collect(),
    })
}

/// The tags as stored: (time, tag) pairs flattened, each tag's bits as a
/// signed bigint.
fn flat_tags(rec: &KeyRecord) -> Vec<i64> {
    rec.tags
        .iter()
        .flat_map(|&(t, tag)| [t, tag as i64])
        .collect()
}

/// What [`insert_or_read`] found.
enum InsertOrRead {
    /// The key was new: `fresh` is now its row.
    Inserted,
    /// The key's row as it was, and its version.
    Existing(KeyRecord, i64),
    /// Neither: another transaction inserted the key and had not committed
    /// when this statement began.
    Neither,
}

/// Inserts `fresh` as the key's row if it has none; otherwise returns the
/// row. One statement.
async fn insert_or_read(
    conn: &mut PgConnection,
    key: &Key,
    fresh: &KeyRecord,
    limits: &Limits,
) -> Result<InsertOrRead, PostgresStoreError> {
    let query = sqlx::query(
        "WITH ins AS (\
           INSERT INTO lockout_keys (id, scope, ip, username, user_agent, failures, locked, \
           locked_until, lock_count, updated_at, expires_at, refused, tags) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
           ON CONFLICT (id) DO NOTHING RETURNING 1) \
         SELECT EXISTS (SELECT 1 FROM ins) AS inserted, \
           k.failures, k.locked, k.locked_until, k.lock_count, k.updated_at, k.refused, k.tags, \
           k.version \
         FROM (SELECT 1) AS one LEFT JOIN lockout_keys AS k ON k.id = $1",
    );
    let row = bind_new_row(query, key, fresh, limits)
        .fetch_one(conn)
        .await
        .map_err(PostgresStoreError::query("insert"))?;
    let q = PostgresStoreError::query("decode");
    if row.try_get::<bool, _>("inserted").map_err(q)? {
        return Ok(InsertOrRead::Inserted);
    }
    match row.try_get::<Option<i64>, _>("version").map_err(q)? {
        Some(version) => Ok(InsertOrRead::Existing(decode(&row)?, version)),
        None => Ok(InsertOrRead::Neither),
    }
}

/// Writes the row back; with `version`, only if it is still that version.
/// Returns whether a row was written.
async fn update(
    conn: &mut PgConnection,
    id: &str,
    rec: &KeyRecord,
    limits: &Limits,
    version: Option<i64>,
) -> Result<bool, PostgresStoreError> {
    let done = sqlx::query(
        "UPDATE lockout_keys SET failures = $2, locked = $3, locked_until = $4, \
         lock_count = $5, updated_at = $6, expires_at = $7, refused = $9, tags = $10, \
         version = version + 1 \
         WHERE id = $1 AND ($8::bigint IS NULL OR version = $8)",
    )
    .bind(id)
    .bind(&rec.failures)
    .bind(rec.locked)
    .bind(rec.locked_until)
    .bind(i64::from(rec.lock_count))
    .bind(rec.updated_at)
    .bind(rec.expires_at(limits))
    .bind(version)
    .bind(i64::from(rec.refused))
    .bind(flat_tags(rec))
    .execute(conn)
    .await
    .map_err(PostgresStoreError::query("update"))?;
    Ok(done.rows_affected() == 1)
}

/// Binds $1..$13 of a new key row: id, scope, ip, username, user_agent,
/// then the record (failures, locked, locked_until, lock_count, updated_at,
/// expires_at, refused, tags).
fn bind_new_row<'q>(
    query: Query<'q, Postgres, PgArguments>,
    key: &'q Key,
    rec: &'q KeyRecord,
    limits: &Limits,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(key.id())
        .bind(key.scope())
        .bind(key.ip())
        .bind(key.username())
        .bind(key.user_agent())
        .bind(&rec.failures)
        .bind(rec.locked)
        .bind(rec.locked_until)
        .bind(i64::from(rec.lock_count))
        .bind(rec.updated_at)
        .bind(rec.expires_at(limits))
        .bind(i64::from(rec.refused))
        .bind(flat_tags(rec))
}

/// Inserts a new row; `false` when the key's row exists already.
async fn insert(
    conn: &mut PgConnection,
    key: &Key,
    rec: &KeyRecord,
    limits: &Limits,
) -> Result<bool, PostgresStoreError> {
    let query = sqlx::query(
        "INSERT INTO lockout_keys (id, scope, ip, username, user_agent, failures, locked, \
         locked_until, lock_count, updated_at, expires_at, refused, tags) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (id) DO NOTHING",
    );
    let done = bind_new_row(query, key, rec, limits)
        .execute(conn)
        .await
        .map_err(PostgresStoreError::query("insert"))?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl Store for PostgresStore {
    async fn begin_tagged(
        &self,
        key: &Key,
        limits: &Limits,
        tag: Option<Tag>,
        now: SystemTime,
    ) -> Result<KeyVerdict, StoreError> {
        self.ensure_schema().await?;
        let at = to_ms(now);
        let seen = self.seen.entry(key.id());
        if seen.is_marked() {
            // A key this store met before, so probably in the table: the
            // rules run in the server, one statement.
            let step = KeyStep::new(key, limits).with_tag(tag);
            let begun = self
                .bounded(attempt::begin_all(&self.pool, &[step], at))
                .await?;
            return match begun.as_slice() {
                [Begun::Verdict(verdict)] => Ok(*verdict),
                other => Err(PostgresStoreError::Corrupt(format!(
                    "lg_begin_all answered a one-key attempt with {other:?}"
                ))
                .into()),
            };
        }
        // A new key is one insert, cheaper for the server than the function;
        // an existing one read and written back, and then remembered.
        let verdict = self.bounded(self.begin_step(key, limits, tag, at)).await?;
        seen.mark();
        Ok(verdict)
    }

    async fn release(
        &self,
        key: &Key,
        release: &Release,
        limits: &Limits,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.release_all(&[KeyRelease::new(key, *release, limits)], now)
            .await
    }

    /// Several keys: one statement (`lg_begin_all`), atomic over every key
    /// of the attempt (on an error nothing was counted). One key: as
    /// [`Store::begin_tagged`] (one statement too, except the first time
    /// this store meets a key that is already in the table).
    async fn begin_all(
        &self,
        steps: &[KeyStep<'_>],
        now: SystemTime,
    ) -> Result<Vec<Begun>, StoreError> {
        match steps {
            [] => return Ok(Vec::new()),
            [one] => {
                let verdict = self.begin_tagged(one.key, one.limits, one.tag, now).await?;
                return Ok(vec![Begun::Verdict(verdict)]);
            }
            _ => {}
        }
        self.ensure_schema().await?;
        self.bounded(attempt::begin_all(&self.pool, steps, to_ms(now)))
            .await
    }

    /// One statement (`lg_release_all`), atomic over every key.
    async fn release_all(
        &self,
        releases: &[KeyRelease<'_>],
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if releases.is_empty() {
            return Ok(());
        }
        self.ensure_schema().await?;
        self.bounded(attempt::release_all(&self.pool, releases, to_ms(now)))
            .await
    }

    async fn reset(&self, filter: &KeyFilter) -> Result<u64, StoreError> {
        self.ensure_schema().await?;
        let sql = format!("DELETE FROM lockout_keys WHERE {}", filter_sql(filter));
        let done = self
            .bounded(async {
                sqlx::query(&sql)
                    .bind(filter.scope.as_deref())
                    .bind(filter.ip.as_deref())
                    .bind(filter.username.as_deref())
                    .execute(&self.pool)
                    .await
                    .map_err(PostgresStoreError::query("reset"))
            })
            .await?;
        Ok(done.rows_affected())
    }

    async fn list(&self, query: &ListQuery, now: SystemTime) -> Result<Vec<KeyStatus>, StoreError> {
        self.ensure_schema().await?;
        // As in the memory store: failures are not windowed here; expired
        // records are left out.
        let sql = format!(
            "SELECT id, failures, locked, locked_until, lock_count, updated_at, refused, tags \
             FROM lockout_keys WHERE {filter} \
             AND ((locked AND (locked_until IS NULL OR locked_until > $4)) \
                  OR (NOT $5 AND cardinality(failures) > 0 \
                      AND (expires_at IS NULL OR expires_at > $4))) \
             ORDER BY updated_at DESC LIMIT $6",
            filter = filter_sql(&query.filter)
        );
        let now_ms = to_ms(now);
        let limit = query.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = self
            .bounded(async {
                sqlx::query(&sql)
                    .bind(query.filter.scope.as_deref())
                    .bind(query.filter.ip.as_deref())
                    .bind(query.filter.username.as_deref())
                    .bind(now_ms)
                    .bind(query.locked_only)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(PostgresStoreError::query("list"))
            })
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row
                .try_get("id")
                .map_err(|e| StoreError::from(PostgresStoreError::query("list")(e)))?;
            let rec = decode(&row)?;
            let Ok(key) = Key::parse(&id) else {
                tracing::warn!(target: "loginguard", id, "skipping a row with a malformed key id");
                continue;
            };
            out.push(KeyStatus::from_record(key, &rec, now_ms));
        }
        Ok(out)
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.ensure_schema().await?;
        let now = to_ms(now);
        let mut purged = 0;
        // In steps, each one statement within the store timeout: one
        // `DELETE` of a million rows would outlast it and be rolled back.
        loop {
            let step = self
                .bounded(async {
                    sqlx::query(
                        "DELETE FROM lockout_keys WHERE id IN (SELECT id FROM lockout_keys \
                         WHERE expires_at <= $1 LIMIT $2)",
                    )
                    .bind(now)
                    .bind(PURGE_STEP_ROWS)
                    .execute(&self.pool)
                    .await
                    .map_err(PostgresStoreError::query("purge"))
                })
                .await?
                .rows_affected();
            purged += step;
            if step < PURGE_STEP_ROWS.unsigned_abs() {
                break;
            }
            tokio::task::yield_now().await;
        }
        Ok(purged)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let create = format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", self.schema);
        let result = self
            .bounded(async {
                sqlx::query(&create)
                    .execute(&self.pool)
                    .await
                    .map_err(PostgresStoreError::query("create schema"))
            })
            .await;
        if let Err(e) = result {
            // Two servers creating the schema at once: one loses the race.
            let raced = matches!(
                &e,
                StoreError::Backend { source: Some(s), .. }
                    if s.downcast_ref::<PostgresStoreError>().is_some_and(|p| matches!(
                        p,
                        PostgresStoreError::Query { source: sqlx::Error::Database(db), .. }
                            if matches!(db.code().as_deref(), Some("23505" | "42P06"))
                    ))
            );
            if !raced {
                return Err(e);
            }
        }
        self.bounded(schema::state(&self.pool))
            .await?
            .refuse_too_new()?;
        // Migrations may take longer than one call's timeout.
        schema::MIGRATOR
            .run(&self.pool)
            .await
            .map_err(PostgresStoreError::Migrate)?;
        self.ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn health(&self) -> Result<StoreHealth, StoreError> {
        let mut health = StoreHealth::ok(self.description.clone());
        let version: String = self
            .bounded(async {
                sqlx::query_scalar("SHOW server_version")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(PostgresStoreError::query("health"))
            })
            .await?;
        health.notes.push(format!("PostgreSQL {version}"));
        let state = self.bounded(schema::state(&self.pool)).await?;
        health.pending_migrations = state.pending.clone();
        health.notes.push(format!(
            "schema \"{}\" at migration {} of {}",
            self.schema, state.found, state.expected
        ));
        if !state.pending.is_empty() {
            health
                .notes
                .push("migrations pending: run `loginguard migrate`".to_owned());
        }
        if !state.unknown.is_empty() {
            health.notes.push(format!(
                "the database has migrations this build does not know ({:?}): upgrade loginguard",
                state.unknown
            ));
        }
        health.notes.push(format!(
            "commits: {}",
            if self.durable_commits {
                "durable (synchronous_commit = on)"
            } else {
                "asynchronous (synchronous_commit = off): a database crash may forget the last fraction of a second of counts"
            }
        ));
        health.notes.push(format!(
            "pool: {} connections open, {} idle, at most {}",
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections()
        ));
        Ok(health)
    }

    fn audit(&self) -> Option<&dyn AuditLog> {
        Some(self)
    }
}

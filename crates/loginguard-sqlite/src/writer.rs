//! The write path: one connection that applies queued writes in batches,
//! each batch one `BEGIN IMMEDIATE` transaction (group commit).
//!
//! A caller queues its write and waits for the connection. Whoever gets the
//! connection takes every write queued so far and applies them, in order,
//! in one transaction; each caller is answered only after that transaction
//! has committed. So a counted attempt is on disk before anyone hears of it,
//! the read-modify-write of each key is serialised (within this handle by
//! the connection's mutex, across handles and processes by SQLite's write
//! lock, which `BEGIN IMMEDIATE` takes up front), and one commit serves many
//! callers. A batch runs in its own task, so a caller that gives up halfway
//! cannot leave a transaction open; writes whose caller left before the
//! batch started are skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use loginguard_core::audit::{AuditEntry, AuditKind, LogRetention};
use loginguard_core::batch::{begin_records, Begun, KeyStep};
use loginguard_core::record::{self, to_ms, KeyRecord, Limits, Release, Tag};
use loginguard_core::{Key, StoreError};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

use crate::codec::{encode_failures, encode_tags, record_from_row, SELECT_RECORDS};
use crate::error::{Shared, SqliteError};
use crate::locks::{self, LockCache, Replay};

/// One key of a queued attempt: a [`KeyStep`] that owns its parts.
#[derive(Debug)]
pub(crate) struct Step {
    /// Shared with the lock cache, which queues the same keys again and again.
    pub(crate) key: Arc<Key>,
    pub(crate) limits: Limits,
    pub(crate) tag: Option<Tag>,
    pub(crate) spray: bool,
}

impl Step {
    pub(crate) fn of(step: &KeyStep<'_>) -> Step {
        Step {
            key: Arc::new(step.key.clone()),
            limits: step.limits.clone(),
            tag: step.tag,
            spray: step.spray,
        }
    }

    /// `step` with its key already shared.
    pub(crate) fn shared(key: Arc<Key>, step: &KeyStep<'_>) -> Step {
        Step {
            key,
            limits: step.limits.clone(),
            tag: step.tag,
            spray: step.spray,
        }
    }

    fn as_step(&self) -> KeyStep<'_> {
        let step = KeyStep::new(&self.key, &self.limits).with_tag(self.tag);
        if self.spray {
            step.spray()
        } else {
            step
        }
    }
}

/// One queued write.
#[derive(Debug)]
pub(crate) enum Op {
    /// [`begin_records`] on the keys of one attempt.
    Begin { steps: Vec<Step>, now: i64 },
    /// [`record::release`] on each key.
    Release {
        releases: Vec<(Key, Release, Limits)>,
        now: i64,
    },
    /// Refused attempts answered by the lock cache, each begun again on
    /// its keys if they still refuse it.
    Replay { attempts: Vec<Replay> },
    /// One audit entry, then its retention.
    Append {
        entry: AuditEntry,
        retention: LogRetention,
    },
}

/// What a write answers.
#[derive(Debug)]
pub(crate) enum Done {
    Begun(Vec<Begun>),
    Unit,
}

type Reply = oneshot::Sender<Result<Done, Shared>>;

#[derive(Debug)]
struct Pending {
    op: Op,
    /// `None`: nobody waits for the answer, and the write is applied anyway.
    reply: Option<Reply>,
}

impl Pending {
    /// Whether the caller left before the batch started.
    fn abandoned(&self) -> bool {
        self.reply.as_ref().is_some_and(|r| r.is_closed())
    }
}

/// The single write connection and its queue.
#[derive(Debug)]
pub(crate) struct Writer {
    conn: Arc<Mutex<SqliteConnection>>,
    queue: parking_lot::Mutex<Vec<Pending>>,
    cache: Option<Arc<LockCache>>,
}

impl Writer {
    pub(crate) fn new(conn: SqliteConnection, cache: Option<Arc<LockCache>>) -> Writer {
        Writer {
            conn: Arc::new(Mutex::new(conn)),
            queue: parking_lot::Mutex::new(Vec::new()),
            cache,
        }
    }

    /// The lock cache, for a file database whose WAL index can be read.
    pub(crate) fn cache(&self) -> Option<&Arc<LockCache>> {
        self.cache.as_ref()
    }

    /// Exclusive use of the write connection (for resets, purges,
    /// migrations, and reads of an in-memory database).
    pub(crate) async fn lock(&self) -> OwnedMutexGuard<SqliteConnection> {
        self.conn.clone().lock_owned().await
    }

    /// Queues `op` and answers once the batch holding it has committed.
    pub(crate) async fn submit(&self, mut op: Op) -> Result<Done, StoreError> {
        let (reply, mut answer) = oneshot::channel();
        {
            let mut queue = self.queue.lock();
            // Refusals answered by the lock cache go first: they came before.
            if let Some(cache) = &self.cache {
                let replays = cache.take_pending();
                match &mut op {
                    _ if replays.is_empty() => {}
                    // A flush: they are its whole work.
                    Op::Replay { attempts } if attempts.is_empty() => *attempts = replays,
                    _ => queue.push(Pending {
                        op: Op::Replay { attempts: replays },
                        reply: None,
                    }),
                }
            }
            queue.push(Pending {
                op,
                reply: Some(reply),
            });
        }
        // Either an earlier batch answers for us, or we get the connection.
        let conn = tokio::select! {
            done = &mut answer => {
                return match done {
                    Ok(done) => done.map_err(|e| e.to_store_error()),
                    Err(_) => Err(SqliteError::Abandoned.into()),
                };
            }
            conn = self.lock() => conn,
        };
        match answer.try_recv() {
            Ok(done) => return done.map_err(|e| e.to_store_error()),
            Err(oneshot::error::TryRecvError::Closed) => return Err(SqliteError::Abandoned.into()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        // The previous batch has answered, so our write is still queued.
        let batch = std::mem::take(&mut *self.queue.lock());
        tokio::spawn(run_batch(conn, batch, self.cache.clone()));
        match answer.await {
            Ok(done) => done.map_err(|e| e.to_store_error()),
            Err(_) => Err(SqliteError::Abandoned.into()),
        }
    }
}

impl Drop for Writer {
    /// Writes the refusals the lock cache still holds: on a thread of its
    /// own with a runtime of its own, since the application's runtime may
    /// be shutting down, and only if no batch holds the connection.
    fn drop(&mut self) {
        let Some(cache) = &self.cache else {
            return;
        };
        let replays = cache.take_pending();
        if replays.is_empty() {
            return;
        }
        let Ok(mut conn) = self.conn.clone().try_lock_owned() else {
            return;
        };
        let flush = move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let batch = [Pending {
                    op: Op::Replay { attempts: replays },
                    reply: None,
                }];
                if let Err(e) = apply(&mut conn, &batch, None).await {
                    tracing::debug!(target: "loginguard::sqlite", error = %loginguard_core::error_chain(&e), "refused attempts not written");
                }
            });
        };
        if let Ok(thread) = std::thread::Builder::new()
            .name("loginguard-sqlite-flush".to_owned())
            .spawn(flush)
        {
            let _ = thread.join();
        }
    }
}

async fn run_batch(
    mut conn: OwnedMutexGuard<SqliteConnection>,
    batch: Vec<Pending>,
    cache: Option<Arc<LockCache>>,
) {
    let batch: Vec<Pending> = batch.into_iter().filter(|p| !p.abandoned()).collect();
    if batch.is_empty() {
        return;
    }
    match apply(&mut conn, &batch, cache.as_deref()).await {
        Ok(results) => {
            for (pending, result) in batch.into_iter().zip(results) {
                if let Some(reply) = pending.reply {
                    let _ = reply.send(result.map_err(|e| Shared(Arc::new(e))));
                }
            }
        }
        Err(e) => {
            tracing::debug!(target: "loginguard::sqlite", error = %loginguard_core::error_chain(&e), "write batch rolled back");
            let shared = Shared(Arc::new(e));
            for pending in batch {
                if let Some(reply) = pending.reply {
                    let _ = reply.send(Err(shared.clone()));
                }
            }
        }
    }
}

/// Keys loaded by one `SELECT` at most.
const LOAD_CHUNK: usize = 500;

/// Rows written by one `INSERT` at most (up to 12 bound values each).
const WRITE_CHUNK: usize = 256;

/// Applies a batch in one transaction, in two round trips to SQLite:
/// `BEGIN IMMEDIATE` with one `SELECT` of every key the batch touches; then,
/// after the rules have run in memory in queue order, one script that
/// upserts the changed keys, deletes emptied ones, appends the audit
/// entries, applies log retention and commits. The outer error aborts (and
/// rolls back) the whole batch; an inner error concerns one write only.
async fn apply(
    conn: &mut SqliteConnection,
    batch: &[Pending],
    cache: Option<&LockCache>,
) -> Result<Vec<Result<Done, SqliteError>>, SqliteError> {
    let result = apply_in_transaction(conn, batch, cache).await;
    if result.is_err() {
        // Harmless when the transaction never started.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    result
}

async fn apply_in_transaction(
    conn: &mut SqliteConnection,
    batch: &[Pending],
    cache: Option<&LockCache>,
) -> Result<Vec<Result<Done, SqliteError>>, SqliteError> {
    let ids: Vec<&str> = {
        let mut seen = HashSet::new();
        batch
            .iter()
            .flat_map(|p| -> Box<dyn Iterator<Item = &str> + '_> {
                match &p.op {
                    Op::Begin { steps, .. } => Box::new(steps.iter().map(|s| s.key.id())),
                    Op::Release { releases, .. } => {
                        Box::new(releases.iter().map(|(key, _, _)| key.id()))
                    }
                    Op::Replay { attempts } => Box::new(
                        attempts
                            .iter()
                            .flat_map(|a| a.steps.iter().map(|s| s.key.id())),
                    ),
                    Op::Append { .. } => Box::new(std::iter::empty()),
                }
            })
            .filter(|id| seen.insert(*id))
            .collect()
    };
    let mut rows = load(conn, &ids).await?;

    let mut out = Vec::with_capacity(batch.len());
    // Keys to write back, in first-touched order, with the limits of their last write.
    let mut dirty: Vec<(&Key, &Limits)> = Vec::new();
    let mut successes = Vec::new();
    let mut failures = Vec::new();
    let mut retention = Retention::default();
    // Keys of the attempts refused in this batch: the lock cache takes them.
    let mut refused: HashSet<&str> = HashSet::new();
    for pending in batch {
        let result = match &pending.op {
            Op::Begin { steps, now } => begin(&mut rows, &mut dirty, &mut refused, steps, *now),
            Op::Replay { attempts } => {
                for replay in attempts {
                    replay_one(&mut rows, &mut dirty, &mut refused, replay);
                }
                Ok(Done::Unit)
            }
            Op::Release { releases, now } => release(&mut rows, &mut dirty, releases, *now),
            Op::Append {
                entry,
                retention: r,
            } => {
                retention.note(entry, r);
                match entry.kind {
                    AuditKind::Success => successes.push(entry),
                    AuditKind::Failure => failures.push(entry),
                }
                Ok(Done::Unit)
            }
        };
        out.push(result);
    }

    let mut upserts: Vec<(&Key, &KeyRecord, &Limits)> = Vec::new();
    let mut deletes: Vec<&str> = Vec::new();
    for (key, limits) in &dirty {
        if let Some(Ok(Some(rec))) = rows.get(key.id()) {
            if rec.is_empty() {
                deletes.push(key.id());
            } else {
                upserts.push((key, rec, limits));
            }
        }
    }

    let mut script = QueryBuilder::<Sqlite>::new("");
    for chunk in upserts.chunks(WRITE_CHUNK) {
        push_upsert(&mut script, chunk);
        script.push("; ");
    }
    for chunk in deletes.chunks(WRITE_CHUNK) {
        script.push("DELETE FROM loginguard_keys WHERE id IN (");
        let mut list = script.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        script.push("); ");
    }
    for chunk in successes.chunks(WRITE_CHUNK) {
        push_append(&mut script, AuditKind::Success, chunk);
        script.push("; ");
    }
    for chunk in failures.chunks(WRITE_CHUNK) {
        push_append(&mut script, AuditKind::Failure, chunk);
        script.push("; ");
    }
    retention.push(&mut script);
    script.push("COMMIT");
    script
        .build()
        .execute(&mut *conn)
        .await
        .map_err(SqliteError::driver("writing and committing a batch"))?;
    if let Some(cache) = cache {
        let written = upserts
            .iter()
            .map(|(key, rec, _)| (key.id(), Some(*rec)))
            .chain(deletes.iter().map(|id| (*id, None)));
        cache.committed(written, &refused);
    }
    Ok(out)
}

/// An attempt's step on the loaded rows; every key's row must be readable.
/// The keys of a refused attempt are added to `refused`.
fn begin<'a>(
    rows: &mut Loaded,
    dirty: &mut Vec<(&'a Key, &'a Limits)>,
    refused: &mut HashSet<&'a str>,
    steps: &'a [Step],
    now: i64,
) -> Result<Done, SqliteError> {
    let key_steps: Vec<KeyStep<'_>> = steps.iter().map(Step::as_step).collect();
    begin_steps(rows, dirty, refused, steps, &key_steps, now)
}

/// [`begin`] with the steps' [`KeyStep`]s (`key_steps[i]` of `steps[i]`).
fn begin_steps<'a>(
    rows: &mut Loaded,
    dirty: &mut Vec<(&'a Key, &'a Limits)>,
    refused: &mut HashSet<&'a str>,
    steps: &'a [Step],
    key_steps: &[KeyStep<'_>],
    now: i64,
) -> Result<Done, SqliteError> {
    let mut records = Vec::with_capacity(steps.len());
    for step in steps {
        match rows.get_mut(step.key.id()) {
            Some(Err(what)) => return Err(corrupt(&step.key, what)),
            Some(Ok(slot)) => records.push(slot.take().unwrap_or_default()),
            None => records.push(KeyRecord::default()),
        }
    }
    let begun = begin_records(&mut records, key_steps, now);
    if begun.iter().any(Begun::is_locked) {
        refused.extend(steps.iter().map(|s| s.key.id()));
    }
    for ((step, rec), b) in steps.iter().zip(records).zip(&begun) {
        // A skipped key keeps its row as it was (or stays absent).
        let keep = !matches!(b, Begun::Skipped) || !rec.is_empty();
        if keep {
            match rows.get_mut(step.key.id()) {
                Some(slot) => *slot = Ok(Some(rec)),
                None => {
                    rows.insert(step.key.id().to_owned(), Ok(Some(rec)));
                }
            }
        }
        if !matches!(b, Begun::Skipped) {
            mark(dirty, &step.key, &step.limits);
        }
    }
    Ok(Done::Begun(begun))
}

/// A refusal answered by the lock cache, begun on its keys as it would have
/// been then, if they still refuse it (a key reset since is left alone).
fn replay_one<'a>(
    rows: &mut Loaded,
    dirty: &mut Vec<(&'a Key, &'a Limits)>,
    refused: &mut HashSet<&'a str>,
    replay: &'a Replay,
) {
    let key_steps: Vec<KeyStep<'_>> = replay.steps.iter().map(Step::as_step).collect();
    let still = locks::refused(
        |id| match rows.get(id) {
            Some(Ok(Some(rec))) => Some(rec),
            _ => None,
        },
        &key_steps,
        replay.now,
    );
    if still {
        // Every row it needs was readable (the check above saw them).
        let _ = begin_steps(rows, dirty, refused, &replay.steps, &key_steps, replay.now);
    }
}

/// Releases on the loaded rows: every readable key is settled; the first
/// unreadable one is the answer.
fn release<'a>(
    rows: &mut Loaded,
    dirty: &mut Vec<(&'a Key, &'a Limits)>,
    releases: &'a [(Key, Release, Limits)],
    now: i64,
) -> Result<Done, SqliteError> {
    let mut first = Ok(Done::Unit);
    for (key, release, limits) in releases {
        match rows.get_mut(key.id()) {
            Some(Err(what)) => {
                if first.is_ok() {
                    first = Err(corrupt(key, what));
                }
            }
            Some(Ok(Some(rec))) => {
                record::release(rec, limits, release, now);
                mark(dirty, key, limits);
            }
            Some(Ok(None)) | None => {}
        }
    }
    first
}

fn corrupt(key: &Key, what: &str) -> SqliteError {
    SqliteError::Corrupt {
        id: key.id().to_owned(),
        what: what.to_owned(),
    }
}

fn mark<'a>(dirty: &mut Vec<(&'a Key, &'a Limits)>, key: &'a Key, limits: &'a Limits) {
    match dirty.iter_mut().find(|(k, _)| k.id() == key.id()) {
        Some(entry) => entry.1 = limits,
        None => dirty.push((key, limits)),
    }
}

/// A key's row as loaded: `Ok(None)` when absent, `Err(why)` when unreadable.
type Loaded = HashMap<String, Result<Option<KeyRecord>, String>>;

/// Starts the transaction and loads the rows of `ids` (absent keys load as
/// `Ok(None)`).
async fn load(conn: &mut SqliteConnection, ids: &[&str]) -> Result<Loaded, SqliteError> {
    let mut rows: Loaded = ids.iter().map(|id| ((*id).to_owned(), Ok(None))).collect();
    let mut chunks = ids.chunks(LOAD_CHUNK);
    let mut first = true;
    loop {
        let chunk = chunks.next();
        let mut qb = QueryBuilder::<Sqlite>::new(if first { "BEGIN IMMEDIATE; " } else { "" });
        first = false;
        let Some(chunk) = chunk else {
            if qb.sql().is_empty() {
                break;
            }
            qb.build()
                .execute(&mut *conn)
                .await
                .map_err(SqliteError::driver("starting a write transaction"))?;
            break;
        };
        qb.push(SELECT_RECORDS);
        let mut list = qb.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        qb.push(")");
        let fetched = qb
            .build()
            .fetch_all(&mut *conn)
            .await
            .map_err(SqliteError::driver(
                "starting a write transaction and reading keys",
            ))?;
        for row in fetched {
            let id: String = row
                .try_get(0)
                .map_err(SqliteError::driver("reading keys"))?;
            let rec = match record_from_row(&row, &id) {
                Ok(rec) => Ok(Some(rec)),
                Err(e) => Err(e.to_string()),
            };
            rows.insert(id, rec);
        }
    }
    Ok(rows)
}

fn push_upsert<'a>(
    qb: &mut QueryBuilder<'a, Sqlite>,
    rows: &[(&'a Key, &'a KeyRecord, &'a Limits)],
) {
    qb.push(
        "INSERT INTO loginguard_keys \
         (id, scope, ip, username, user_agent, failures, failure_count, locked, locked_until, lock_count, updated_at, expires_at, refused, tags) ",
    );
    qb.push_values(rows, |mut b, (key, rec, limits)| {
        b.push_bind(key.id())
            .push_bind(key.scope())
            .push_bind(key.ip())
            .push_bind(key.username())
            .push_bind(key.user_agent())
            .push_bind(encode_failures(&rec.failures))
            .push_bind(i64::try_from(rec.failures.len()).unwrap_or(i64::MAX))
            .push_bind(rec.locked)
            .push_bind(rec.locked_until)
            .push_bind(i64::from(rec.lock_count))
            .push_bind(rec.updated_at)
            .push_bind(rec.expires_at(limits))
            .push_bind(i64::from(rec.refused))
            .push_bind(encode_tags(&rec.tags));
    });
    qb.push(
        " ON CONFLICT (id) DO UPDATE SET failures = excluded.failures, failure_count = excluded.failure_count, \
         locked = excluded.locked, locked_until = excluded.locked_until, lock_count = excluded.lock_count, \
         updated_at = excluded.updated_at, expires_at = excluded.expires_at, \
         refused = excluded.refused, tags = excluded.tags",
    );
}

fn push_append<'a>(qb: &mut QueryBuilder<'a, Sqlite>, kind: AuditKind, entries: &[&'a AuditEntry]) {
    qb.push(match kind {
        AuditKind::Success => {
            "INSERT INTO loginguard_access_log (scope, username, ip, user_agent, method, path, time) "
        }
        AuditKind::Failure => {
            "INSERT INTO loginguard_failure_log (scope, username, ip, user_agent, method, path, time, locked_out) "
        }
    });
    qb.push_values(entries, |mut b, entry| {
        b.push_bind(&entry.scope)
            .push_bind(&entry.username)
            .push_bind(&entry.ip)
            .push_bind(&entry.user_agent)
            .push_bind(&entry.method)
            .push_bind(&entry.path)
            .push_bind(to_ms(entry.time));
        if kind == AuditKind::Failure {
            b.push_bind(entry.locked_out);
        }
    });
}

/// Retention work gathered over a batch and done once at its end.
#[derive(Debug, Default)]
struct Retention {
    /// Entries before this time (ms) go.
    floor: Option<i64>,
    /// Failure-log caps per username.
    caps: Vec<(Option<String>, u32)>,
}

impl Retention {
    fn note(&mut self, entry: &AuditEntry, retention: &LogRetention) {
        if let Some(max_age) = retention.max_age {
            let floor = to_ms(entry.time).saturating_sub(record::duration_ms(max_age));
            self.floor = Some(self.floor.map_or(floor, |f| f.max(floor)));
        }
        if let (Some(cap), AuditKind::Failure) = (retention.max_failures_per_user, entry.kind) {
            match self.caps.iter_mut().find(|(u, _)| *u == entry.username) {
                Some((_, c)) => *c = (*c).min(cap),
                None => self.caps.push((entry.username.clone(), cap)),
            }
        }
    }

    /// Appends the retention statements, each followed by `; `.
    fn push<'a>(&'a self, qb: &mut QueryBuilder<'a, Sqlite>) {
        if let Some(floor) = self.floor {
            qb.push("DELETE FROM loginguard_access_log WHERE time < ")
                .push_bind(floor)
                .push("; DELETE FROM loginguard_failure_log WHERE time < ")
                .push_bind(floor)
                .push("; ");
        }
        for (username, cap) in &self.caps {
            qb.push(
                "DELETE FROM loginguard_failure_log WHERE id IN \
                 (SELECT id FROM loginguard_failure_log WHERE username IS ",
            )
            .push_bind(username.as_deref())
            .push(" ORDER BY time DESC, id DESC LIMIT -1 OFFSET ")
            .push_bind(i64::from(*cap))
            .push("); ");
        }
    }
}

//! An attempt in one statement: the calls of `lg_begin_all` and
//! `lg_release_all` (migration 0003), which run the rules of
//! [`loginguard_core::batch`] and [`loginguard_core::record`] on every key
//! of the attempt inside the server.

use loginguard_core::batch::{Begun, KeyRelease, KeyStep};
use loginguard_core::record::{duration_ms, KeyVerdict, Limits};
use loginguard_core::Key;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::PostgresStoreError;

/// Tries of a statement that the server aborted to break a deadlock or
/// because its keys kept changing under it (it changed nothing).
const TRIES: usize = 3;

/// The limits of several keys, one array per field, as the functions take
/// them (durations in ms, `None` as NULL).
#[derive(Default)]
struct LimitColumns {
    failure_limits: Vec<i64>,
    windows: Vec<Option<i64>>,
    cool_offs: Vec<Option<i64>>,
    multipliers: Vec<f64>,
    cool_off_maxes: Vec<Option<i64>>,
    count_during_lockouts: Vec<bool>,
    lock_outs: Vec<bool>,
    remembers: Vec<i64>,
}

impl LimitColumns {
    fn push(&mut self, limits: &Limits) {
        self.failure_limits.push(i64::from(limits.failure_limit));
        self.windows.push(limits.failure_window.map(duration_ms));
        self.cool_offs.push(limits.cool_off.map(duration_ms));
        self.multipliers.push(limits.cool_off_multiplier);
        self.cool_off_maxes
            .push(limits.cool_off_max.map(duration_ms));
        self.count_during_lockouts.push(limits.count_during_lockout);
        self.lock_outs.push(limits.lock_out);
        self.remembers.push(i64::from(limits.remember));
    }
}

impl LimitColumns {
    /// Binds the eight columns, in the order both functions take them.
    fn bind<'q>(&'q self, query: PgQuery<'q>) -> PgQuery<'q> {
        query
            .bind(&self.failure_limits)
            .bind(&self.windows)
            .bind(&self.cool_offs)
            .bind(&self.multipliers)
            .bind(&self.cool_off_maxes)
            .bind(&self.count_during_lockouts)
            .bind(&self.lock_outs)
            .bind(&self.remembers)
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Runs `statement` again, up to [`TRIES`] in all, while the server aborts
/// it as [`retryable`]; `what` names it in the error.
async fn retrying<T, F, Fut>(what: &'static str, mut statement: F) -> Result<T, PostgresStoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match statement().await {
            Ok(done) => return Ok(done),
            Err(e) if tries < TRIES && retryable(&e) => {}
            Err(e) => return Err(PostgresStoreError::query(what)(e)),
        }
    }
}

/// A tag as the functions take it: the u64's bits as a signed bigint.
fn tag_bits(tag: Option<u64>) -> Option<i64> {
    tag.map(|t| t as i64)
}

/// Whether the server aborted the statement to break a deadlock (40P01) or
/// as a serialization failure (40001): nothing was written, and the same
/// statement may be sent again.
fn retryable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// `batch::begin_records` on the attempt's rows, in one statement.
pub(crate) async fn begin_all(
    pool: &PgPool,
    steps: &[KeyStep<'_>],
    now: i64,
) -> Result<Vec<Begun>, PostgresStoreError> {
    let n = steps.len();
    // The distinct keys, sorted by id in byte order (the order the function
    // locks and inserts them in), and each step's key among them.
    let mut keys: Vec<&Key> = steps.iter().map(|s| s.key).collect();
    keys.sort_unstable_by(|a, b| a.id().cmp(b.id()));
    keys.dedup_by(|a, b| a.id() == b.id());
    let mut step_keys = Vec::with_capacity(n);
    for step in steps {
        let at = keys
            .binary_search_by(|k| k.id().cmp(step.key.id()))
            .map_err(|_| PostgresStoreError::Corrupt(format!("{} lost", step.key)))?;
        step_keys.push(i32::try_from(at + 1).unwrap_or(i32::MAX));
    }
    let ids: Vec<&str> = keys.iter().map(|k| k.id()).collect();
    let scopes: Vec<&str> = keys.iter().map(|k| k.scope()).collect();
    let ips: Vec<Option<&str>> = keys.iter().map(|k| k.ip()).collect();
    let usernames: Vec<Option<&str>> = keys.iter().map(|k| k.username()).collect();
    let agents: Vec<Option<&str>> = keys.iter().map(|k| k.user_agent()).collect();
    let mut limits = LimitColumns::default();
    let (mut tags, mut sprays) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for step in steps {
        limits.push(step.limits);
        tags.push(tag_bits(step.tag));
        sprays.push(step.spray);
    }
    let rows = retrying("begin_attempt", || {
        let query = sqlx::query(
            "SELECT step, verdict, counted, failure_count, remaining, locks_on_failure, \
             lock_until FROM lg_begin_all($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17)",
        )
        .bind(&ids)
        .bind(&scopes)
        .bind(&ips)
        .bind(&usernames)
        .bind(&agents)
        .bind(&step_keys);
        limits
            .bind(query)
            .bind(&tags)
            .bind(&sprays)
            .bind(now)
            .fetch_all(pool)
    })
    .await?;
    let mut begun: Vec<Option<Begun>> = vec![None; n];
    for row in &rows {
        let (step, b) = decode_begun(row)?;
        match usize::try_from(step)
            .ok()
            .and_then(|s| s.checked_sub(1))
            .and_then(|s| begun.get_mut(s))
        {
            Some(slot) => *slot = Some(b),
            None => {
                return Err(PostgresStoreError::Corrupt(format!(
                    "lg_begin_all answered for step {step} of {n}"
                )))
            }
        }
    }
    begun
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            b.ok_or_else(|| {
                PostgresStoreError::Corrupt(format!(
                    "lg_begin_all gave no answer for step {}",
                    i + 1
                ))
            })
        })
        .collect()
}

/// One row of `lg_begin_all`: its step (1-based) and what the step did.
fn decode_begun(row: &PgRow) -> Result<(i32, Begun), PostgresStoreError> {
    let q = PostgresStoreError::query("decode");
    let step: i32 = row.try_get("step").map_err(q)?;
    let verdict: i16 = row.try_get("verdict").map_err(q)?;
    let failures = count(row.try_get("failure_count").map_err(q)?);
    let until: Option<i64> = row.try_get("lock_until").map_err(q)?;
    let begun = match verdict {
        0 => Begun::Verdict(KeyVerdict::Locked { until, failures }),
        1 => Begun::Verdict(KeyVerdict::Allowed {
            counted: row.try_get("counted").map_err(q)?,
            failures,
            remaining: count(row.try_get("remaining").map_err(q)?),
            locks_on_failure: row.try_get("locks_on_failure").map_err(q)?,
            until,
        }),
        2 => Begun::Skipped,
        other => {
            return Err(PostgresStoreError::Corrupt(format!(
                "lg_begin_all verdict {other}"
            )))
        }
    };
    Ok((step, begun))
}

/// A count the functions keep within u32.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// `record::release` on several keys' rows, in one statement.
pub(crate) async fn release_all(
    pool: &PgPool,
    releases: &[KeyRelease<'_>],
    now: i64,
) -> Result<(), PostgresStoreError> {
    let n = releases.len();
    let mut limits = LimitColumns::default();
    let (mut ids, mut resets, mut times, mut undo, mut tags) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for r in releases {
        ids.push(r.key.id());
        resets.push(r.release.reset);
        times.push(r.release.attempt_time);
        undo.push(r.release.undo_lock);
        tags.push(tag_bits(r.release.tag));
        limits.push(r.limits);
    }
    retrying("release", || {
        let query = sqlx::query(
            "SELECT lg_release_all($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&ids)
        .bind(&resets)
        .bind(&times)
        .bind(&undo)
        .bind(&tags);
        limits.bind(query).bind(now).execute(pool)
    })
    .await?;
    Ok(())
}

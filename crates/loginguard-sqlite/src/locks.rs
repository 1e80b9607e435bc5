//! The lock cache: attempts refused by a lock this process has seen are
//! answered from memory, and written a moment later, while any write by
//! another process is noticed on the next attempt.
//!
//! A locked-out attacker's attempts are the bulk of a store's traffic under
//! attack, and each one would otherwise cost a write transaction (a refused
//! attempt is still counted on its keys). The cache holds the records of
//! the keys of refused attempts, as the write path committed them. An
//! attempt all of whose keys are cached, and which one of them refuses
//! (its lock is in force), runs the counting rules on the cached records —
//! the same [`begin_records`](loginguard_core::batch::begin_records) as the
//! write path — and is answered at once; the attempt is queued and replayed
//! through the write path within [`FLUSH_DELAY`], before any later write of
//! this process, so the database ends up exactly where one write per
//! attempt would have left it. Every other attempt goes to the write path.
//!
//! Coherence with other processes sharing the file: every commit changes
//! the header of the write-ahead log's index (the `-shm` file, see
//! <https://www.sqlite.org/walformat.html>), which each cached answer reads
//! first (one `pread` of 48 bytes). When it has moved, the write connection's
//! `PRAGMA data_version` tells whether another connection committed: if so
//! the cache is cleared (a `loginguard reset` from the command line is
//! seen by the next attempt); if the commits were this process's own, the
//! cache stays. A replayed attempt whose keys are no longer locked when it
//! is applied (a reset came in between) changes nothing.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use loginguard_core::batch::{begin_records, Begun, KeyStep};
use loginguard_core::record::{self, KeyRecord};
use loginguard_core::Key;

use crate::writer::Step;

/// How long a refusal answered from the cache waits, at most, before it is
/// written (with the others queued meanwhile, in one transaction).
pub(crate) const FLUSH_DELAY: Duration = Duration::from_millis(5);

/// Refusals queued at most; beyond it attempts take the write path.
const MAX_PENDING: usize = 4_096;

/// Keys cached at most; beyond it no new key is cached.
const MAX_KEYS: usize = 65_536;

/// Bytes of the WAL-index header that every commit changes (its first copy).
const HEADER: usize = 48;

/// One refused attempt answered from the cache, to replay.
#[derive(Debug)]
pub(crate) struct Replay {
    pub(crate) steps: Vec<Step>,
    pub(crate) now: i64,
}

/// What the cache did with an attempt.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Refused from the cache; `flush`: a flush must be scheduled.
    Refused { begun: Vec<Begun>, flush: bool },
    /// The database changed since the cache was last confirmed.
    Moved,
    /// Not for the cache: the write path answers.
    Pass,
}

#[derive(Debug)]
struct State {
    /// The WAL-index header when the cache was last confirmed.
    header: [u8; HEADER],
    /// The write connection's `data_version` then.
    version: i64,
    records: HashMap<String, Cached, ahash::RandomState>,
    pending: Vec<Replay>,
    flush_scheduled: bool,
}

/// A cached key.
#[derive(Debug)]
struct Cached {
    /// Its record as committed, with the refusals answered since.
    rec: KeyRecord,
    /// The key, shared by the refusals queued for it.
    key: Option<Arc<Key>>,
}

impl Cached {
    /// The key to queue a refusal of `step` with.
    fn key(&mut self, step: &KeyStep<'_>) -> Arc<Key> {
        self.key
            .get_or_insert_with(|| Arc::new(step.key.clone()))
            .clone()
    }
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct LockCache {
    shm: File,
    state: parking_lot::Mutex<State>,
}

impl LockCache {
    /// The cache of the database at `db`, whose write connection is open
    /// in WAL mode with `data_version` `version`; `None` when its `-shm`
    /// file cannot be read (then every attempt takes the write path).
    pub(crate) fn open(db: &Path, version: i64) -> Option<LockCache> {
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        let shm = File::open(Path::new(&name)).ok()?;
        let cache = LockCache {
            shm,
            state: parking_lot::Mutex::new(State {
                header: [0; HEADER],
                version,
                records: HashMap::default(),
                pending: Vec::new(),
                flush_scheduled: false,
            }),
        };
        let header = cache.header()?;
        cache.state.lock().header = header;
        Some(cache)
    }

    fn header(&self) -> Option<[u8; HEADER]> {
        let mut buf = [0; HEADER];
        self.shm.read_exact_at(&mut buf, 0).ok()?;
        Some(buf)
    }

    /// Answers the attempt from the cache when it can (see the module docs).
    pub(crate) fn refuse(&self, steps: &[KeyStep<'_>], now: i64) -> Answer {
        let mut state = self.state.lock();
        if state.pending.len() >= MAX_PENDING
            || !refused(|id| state.records.get(id).map(|c| &c.rec), steps, now)
        {
            return Answer::Pass;
        }
        match self.header() {
            Some(header) if header == state.header => {}
            _ => return Answer::Moved,
        }
        let (begun, queued) = match steps {
            // One key, locked (`refused` says so): `begin_records` is
            // `record::begin` alone.
            [step] => {
                let Some(cached) = state.records.get_mut(step.key.id()) else {
                    return Answer::Pass;
                };
                let verdict = record::begin(&mut cached.rec, step.limits, step.tag, now);
                let queued = vec![Step::shared(cached.key(step), step)];
                (vec![Begun::Verdict(verdict)], queued)
            }
            _ => {
                let mut records = Vec::with_capacity(steps.len());
                let mut queued = Vec::with_capacity(steps.len());
                for step in steps {
                    match state.records.get_mut(step.key.id()) {
                        Some(cached) => {
                            records.push(std::mem::take(&mut cached.rec));
                            queued.push(Step::shared(cached.key(step), step));
                        }
                        // A spray key that the lock skips.
                        None => {
                            records.push(KeyRecord::default());
                            queued.push(Step::of(step));
                        }
                    }
                }
                let begun = begin_records(&mut records, steps, now);
                // Every record goes back (a skipped key's untouched).
                for (step, rec) in steps.iter().zip(records) {
                    if let Some(cached) = state.records.get_mut(step.key.id()) {
                        cached.rec = rec;
                    }
                }
                (begun, queued)
            }
        };
        state.pending.push(Replay { steps: queued, now });
        let flush = !state.flush_scheduled;
        state.flush_scheduled = true;
        Answer::Refused { begun, flush }
    }

    /// The header as it is now, to confirm against `data_version`; `None`
    /// when the last confirmed one is still current (another attempt has
    /// just confirmed it) or it cannot be read.
    pub(crate) fn moved_header(&self) -> Option<[u8; HEADER]> {
        let header = self.header()?;
        (header != self.state.lock().header).then_some(header)
    }

    /// Confirms the cache after the header moved to `header` (read before
    /// `version`, the write connection's `data_version`, was): another
    /// connection's commit clears the cache. Called holding the write
    /// connection, so no batch commits meanwhile.
    pub(crate) fn confirm(&self, header: [u8; HEADER], version: i64) {
        let mut state = self.state.lock();
        if state.version != version {
            state.records.clear();
            state.version = version;
        }
        state.header = header;
    }

    /// Forgets every cached record (this process reset keys).
    pub(crate) fn clear(&self) {
        self.state.lock().records.clear();
    }

    /// Whether refusals wait to be written.
    pub(crate) fn has_pending(&self) -> bool {
        !self.state.lock().pending.is_empty()
    }

    /// The refusals to replay, oldest first; the next one schedules a flush.
    pub(crate) fn take_pending(&self) -> Vec<Replay> {
        let mut state = self.state.lock();
        state.flush_scheduled = false;
        std::mem::take(&mut state.pending)
    }

    /// After a commit of the write path: the written keys' records as
    /// committed (`None`: deleted). Cached keys are updated; keys of
    /// attempts refused in the batch (`refused`) are added.
    pub(crate) fn committed<'a>(
        &self,
        written: impl Iterator<Item = (&'a str, Option<&'a KeyRecord>)>,
        refused: &HashSet<&str>,
    ) {
        let mut state = self.state.lock();
        for (id, rec) in written {
            match rec {
                None => {
                    state.records.remove(id);
                }
                Some(rec) => {
                    if let Some(cached) = state.records.get_mut(id) {
                        cached.rec.clone_from(rec);
                    } else if refused.contains(id) && state.records.len() < MAX_KEYS {
                        let cached = Cached {
                            rec: rec.clone(),
                            key: None,
                        };
                        state.records.insert(id.to_owned(), cached);
                    }
                }
            }
        }
    }
}

/// Whether the attempt is refused by the rules on the records `record`
/// finds by key id: every key it would begin is there, and one that comes
/// before any password spray key is locked at `now` (so the spray keys are
/// skipped). A key that is not locked never answers `Locked` on this
/// attempt, so this is exactly whether [`begin_records`] refuses it.
pub(crate) fn refused<'r>(
    record: impl Fn(&str) -> Option<&'r KeyRecord>,
    steps: &[KeyStep<'_>],
    now: i64,
) -> bool {
    let mut locked = false;
    for step in steps {
        if step.skipped_after(locked) {
            continue;
        }
        if step.spray {
            return false;
        }
        match record(step.key.id()) {
            Some(rec) => locked |= rec.lock_active(now),
            None => return false,
        }
    }
    locked
}

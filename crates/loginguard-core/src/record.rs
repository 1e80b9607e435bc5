//! The counting rules for one key, as pure functions over a [`KeyRecord`].
//!
//! Every store runs exactly these rules inside its one atomic step: the
//! memory store under a shard lock, the SQL stores inside one transaction,
//! and the Redis store in a Lua script that mirrors them (the shared store
//! test suite checks that all agree). Times are milliseconds since the Unix
//! epoch so that they fit any database column.
//!
//! ```
//! use loginguard_core::record::{begin, KeyRecord, KeyVerdict, Limits};
//!
//! let limits = Limits::new(2);
//! let mut record = KeyRecord::default();
//! assert!(matches!(begin(&mut record, &limits, None, 0), KeyVerdict::Allowed { remaining: 1, .. }));
//! assert!(matches!(begin(&mut record, &limits, None, 1), KeyVerdict::Allowed { locks_on_failure: true, .. }));
//! assert!(matches!(begin(&mut record, &limits, None, 2), KeyVerdict::Locked { .. }));
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest cool-off the engine will compute (100 years), so that
/// progressive multiplication never overflows.
pub const MAX_COOL_OFF_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// A truncated keyed hash that identifies what an attempt tried without
/// revealing it: the submitted password (so a repeated wrong password
/// counts once), or the account a sprayed password was tried on (so a
/// password key counts distinct accounts). Never an unkeyed hash.
pub type Tag = u64;

/// How many failed passwords' tags a key remembers by default
/// (`ignore_repeated_password`): the last three, as Entra ID does.
pub const REMEMBERED_PASSWORDS: u32 = 3;

/// The per-key settings a store needs for its atomic step, derived from the
/// [`Policy`](crate::Policy) (and the per-request failure-limit hook).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// Failures before the key is locked (at least 1).
    pub failure_limit: u32,
    /// Failures older than this are forgotten. `None`: never.
    pub failure_window: Option<Duration>,
    /// How long the first lock lasts. `None`: until reset.
    pub cool_off: Option<Duration>,
    /// Each further lock of the same key lasts this many times longer (>= 1).
    pub cool_off_multiplier: f64,
    /// Cap for progressive cool-offs.
    pub cool_off_max: Option<Duration>,
    /// Whether an attempt refused during a lock counts as a failure and
    /// restarts the cool-off.
    pub count_during_lockout: bool,
    /// `false`: monitor only — count, never lock.
    pub lock_out: bool,
    /// How many tags of counted attempts the key remembers: an attempt
    /// whose tag is remembered counts nothing. 0: none (every attempt
    /// counts).
    pub remember: u32,
}

impl Limits {
    /// Limits with `failure_limit` and every other setting at its default.
    pub fn new(failure_limit: u32) -> Limits {
        Limits {
            failure_limit: failure_limit.max(1),
            failure_window: None,
            cool_off: None,
            cool_off_multiplier: 1.0,
            cool_off_max: None,
            count_during_lockout: true,
            lock_out: true,
            remember: 0,
        }
    }

    /// Sets how many tags the key remembers (see [`Limits::remember`]).
    #[must_use]
    pub fn with_remember(mut self, tags: u32) -> Limits {
        self.remember = tags;
        self
    }

    /// Sets the failure window.
    #[must_use]
    pub fn with_failure_window(mut self, window: Option<Duration>) -> Limits {
        self.failure_window = window;
        self
    }

    /// Sets the cool-off.
    #[must_use]
    pub fn with_cool_off(mut self, cool_off: Option<Duration>) -> Limits {
        self.cool_off = cool_off;
        self
    }

    /// Sets progressive cool-off.
    #[must_use]
    pub fn with_progression(mut self, multiplier: f64, max: Option<Duration>) -> Limits {
        self.cool_off_multiplier = if multiplier.is_finite() && multiplier >= 1.0 {
            multiplier
        } else {
            1.0
        };
        self.cool_off_max = max;
        self
    }

    /// Sets whether refused attempts count during a lock.
    #[must_use]
    pub fn with_count_during_lockout(mut self, on: bool) -> Limits {
        self.count_during_lockout = on;
        self
    }

    /// Sets monitor-only mode (`false`).
    #[must_use]
    pub fn with_lock_out(mut self, on: bool) -> Limits {
        self.lock_out = on;
        self
    }

    /// The cool-off of the `nth` lock of a key (1-based), in milliseconds;
    /// `None` when locks last until reset.
    pub fn cool_off_ms(&self, nth: u32) -> Option<i64> {
        let base = duration_ms(self.cool_off?);
        let factor = self
            .cool_off_multiplier
            .powi(i32::try_from(nth.saturating_sub(1)).unwrap_or(i32::MAX));
        let mut ms = (base as f64 * factor).min(MAX_COOL_OFF_MS as f64) as i64;
        if let Some(max) = self.cool_off_max {
            ms = ms.min(duration_ms(max));
        }
        Some(ms.clamp(0, MAX_COOL_OFF_MS))
    }

    fn window_ms(&self) -> Option<i64> {
        self.failure_window.map(duration_ms)
    }
}

/// The stored state of one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRecord {
    /// Times of counted failures (ms), oldest first; at most
    /// `failure_limit` are kept.
    pub failures: Vec<i64>,
    /// Whether a lock was set (it may have ended: see [`KeyRecord::lock_active`]).
    pub locked: bool,
    /// When the lock ends (ms); `None` with `locked`: until reset.
    pub locked_until: Option<i64>,
    /// How many times this key has been locked (drives progressive cool-off).
    pub lock_count: u32,
    /// Time of the last attempt (ms).
    pub updated_at: i64,
    /// Attempts refused since the current lock was set (0 when not locked).
    pub refused: u32,
    /// Tags of counted attempts with their begin times (ms), oldest first:
    /// at most [`Limits::remember`], inside the window, cleared when a lock
    /// ends or no failure is left.
    pub tags: Vec<(i64, Tag)>,
}

/// What a store's atomic step says about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyVerdict {
    /// Not locked; the attempt may go on to the password check.
    Allowed {
        /// Whether the attempt was counted; `false` when its tag was
        /// remembered (the same wrong password again): nothing to release.
        counted: bool,
        /// Counted failures, including this attempt.
        failures: u32,
        /// Tries left after this one before the key locks.
        remaining: u32,
        /// This attempt reached the limit and set the lock: if the password
        /// turns out wrong the lock stands, if right it is given back.
        locks_on_failure: bool,
        /// When the lock set by this attempt ends (ms); `None` when no lock
        /// was set or it lasts until reset.
        until: Option<i64>,
    },
    /// Locked; the attempt must be refused without checking the password.
    Locked {
        /// When the lock ends (ms since the epoch); `None`: until reset.
        until: Option<i64>,
        /// Counted failures.
        failures: u32,
    },
}

/// How to settle an attempt that was allowed: the password was right (or the
/// attempt was refused on another key and is being handed back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Release {
    /// Forget every failure and lock of the key (`reset_on_success`).
    pub reset: bool,
    /// The attempt's own begin time (ms): that failure entry is removed.
    pub attempt_time: i64,
    /// The attempt set the lock (`locks_on_failure`): lift it again if the
    /// count is back under the limit.
    pub undo_lock: bool,
    /// The attempt's tag, forgotten with it: a right password is never
    /// remembered as a wrong one.
    pub tag: Option<Tag>,
}

impl Release {
    /// Gives back one attempt begun at `attempt_time` (ms).
    pub fn give_back(attempt_time: i64, undo_lock: bool) -> Release {
        Release {
            reset: false,
            attempt_time,
            undo_lock,
            tag: None,
        }
    }

    /// Also forgets the attempt's tag.
    #[must_use]
    pub fn with_tag(mut self, tag: Option<Tag>) -> Release {
        self.tag = tag;
        self
    }

    /// Clears the key entirely.
    pub fn reset(attempt_time: i64) -> Release {
        Release {
            reset: true,
            attempt_time,
            undo_lock: true,
            tag: None,
        }
    }
}

impl KeyRecord {
    /// Whether a lock is in force at `now`.
    pub fn lock_active(&self, now: i64) -> bool {
        self.locked && self.locked_until.is_none_or(|until| until > now)
    }

    /// Failures still inside the window at `now`.
    pub fn live_failures(&self, limits: &Limits, now: i64) -> u32 {
        let floor = limits
            .window_ms()
            .map_or(i64::MIN, |w| now.saturating_sub(w));
        count(self.failures.iter().filter(|&&t| t > floor).count())
    }

    /// Whether the record holds nothing worth keeping.
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty() && !self.locked && self.lock_count == 0
    }

    /// Whether `tag` is among the remembered tags.
    pub fn remembers(&self, tag: Option<Tag>) -> bool {
        tag.is_some_and(|tag| self.tags.iter().any(|&(_, t)| t == tag))
    }

    /// When the record can be deleted without changing any verdict (ms);
    /// `None` while it must be kept (a lock until reset, or failures with no
    /// window). A key with a progressive lock history is kept until its
    /// longest cool-off has passed since the last attempt, so repeat
    /// offenders keep their longer locks.
    pub fn expires_at(&self, limits: &Limits) -> Option<i64> {
        let mut end = self.updated_at;
        if self.locked {
            end = end.max(self.locked_until?);
        }
        if !self.failures.is_empty() && !self.locked {
            if let Some(last) = self.failures.last() {
                end = end.max(last.saturating_add(limits.window_ms()?));
            }
        }
        if self.lock_count > 0 && limits.cool_off_multiplier > 1.0 {
            let longest = limits.cool_off_ms(u32::MAX).unwrap_or(0);
            end = end.max(self.updated_at.saturating_add(longest));
        }
        Some(end)
    }

    fn prune(&mut self, limits: &Limits, now: i64) {
        if let Some(window) = limits.window_ms() {
            let floor = now.saturating_sub(window);
            self.failures.retain(|&t| t > floor);
            self.tags.retain(|&(t, _)| t > floor);
        }
        // Tags go with the failures they were counted with: a tag is never
        // newer than the newest failure, so it needs no expiry of its own.
        if self.failures.is_empty() {
            self.tags.clear();
        }
    }

    fn push_tag(&mut self, limits: &Limits, tag: Option<Tag>, now: i64) {
        let Some(tag) = tag else { return };
        if limits.remember == 0 {
            return;
        }
        self.tags.push((now, tag));
        let cap = usize::try_from(limits.remember).unwrap_or(usize::MAX);
        if self.tags.len() > cap {
            let extra = self.tags.len() - cap;
            self.tags.drain(..extra);
        }
    }

    fn push_failure(&mut self, limits: &Limits, now: i64) {
        self.failures.push(now);
        let cap = usize::try_from(limits.failure_limit.max(1)).unwrap_or(usize::MAX);
        if self.failures.len() > cap {
            let extra = self.failures.len() - cap;
            self.failures.drain(..extra);
        }
    }
}

/// The atomic step: if the key is locked, say so (counting the refused
/// attempt and restarting the cool-off when `count_during_lockout`);
/// otherwise count the attempt and set the lock when it reaches the limit.
///
/// An attempt whose `tag` the key remembers (the same wrong password again,
/// or the same account on a password key) counts nothing: it is allowed
/// uncounted, or refused during a lock without restarting the cool-off.
/// A counted attempt's tag is remembered (when [`Limits::remember`] > 0).
pub fn begin(record: &mut KeyRecord, limits: &Limits, tag: Option<Tag>, now: i64) -> KeyVerdict {
    record.prune(limits, now);
    record.updated_at = now;
    let remembered = limits.remember > 0 && record.remembers(tag);
    if record.lock_active(now) {
        record.refused = record.refused.saturating_add(1);
        if limits.count_during_lockout && !remembered {
            record.push_failure(limits, now);
            if record.locked_until.is_some() {
                record.locked_until = limits
                    .cool_off_ms(record.lock_count.max(1))
                    .map(|ms| now.saturating_add(ms));
            }
        }
        return KeyVerdict::Locked {
            until: record.locked_until,
            failures: count(record.failures.len()),
        };
    }
    if record.locked {
        // The cool-off has ended: the key starts afresh.
        record.locked = false;
        record.locked_until = None;
        record.failures.clear();
        record.tags.clear();
        record.refused = 0;
    } else if remembered {
        let failures = count(record.failures.len());
        return KeyVerdict::Allowed {
            counted: false,
            failures,
            remaining: limits.failure_limit.saturating_sub(failures),
            locks_on_failure: false,
            until: None,
        };
    }
    record.push_failure(limits, now);
    record.push_tag(limits, tag, now);
    let failures = count(record.failures.len());
    let locks_on_failure = limits.lock_out && failures >= limits.failure_limit;
    if locks_on_failure {
        record.locked = true;
        record.refused = 0;
        record.lock_count = record.lock_count.saturating_add(1);
        record.locked_until = limits
            .cool_off_ms(record.lock_count)
            .map(|ms| now.saturating_add(ms));
    }
    KeyVerdict::Allowed {
        counted: true,
        failures,
        remaining: limits.failure_limit.saturating_sub(failures),
        locks_on_failure,
        until: if locks_on_failure {
            record.locked_until
        } else {
            None
        },
    }
}

/// Settles an allowed attempt whose password was right (or that is handed
/// back because another key refused it).
pub fn release(record: &mut KeyRecord, limits: &Limits, release: &Release, now: i64) {
    if release.reset {
        *record = KeyRecord {
            updated_at: now,
            ..KeyRecord::default()
        };
        return;
    }
    if let Some(pos) = record
        .failures
        .iter()
        .rposition(|&t| t == release.attempt_time)
    {
        record.failures.remove(pos);
    }
    if let Some(tag) = release.tag {
        if let Some(pos) = record
            .tags
            .iter()
            .rposition(|&(t, g)| t == release.attempt_time && g == tag)
        {
            record.tags.remove(pos);
        }
    }
    record.prune(limits, now);
    if release.undo_lock
        && record.locked
        && record.live_failures(limits, now) < limits.failure_limit
    {
        record.locked = false;
        record.locked_until = None;
        record.lock_count = record.lock_count.saturating_sub(1);
        record.refused = 0;
    }
}

/// Milliseconds since the Unix epoch (negative before it).
pub fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => duration_ms(d),
        Err(e) => duration_ms(e.duration()).saturating_neg(),
    }
}

/// The time `ms` milliseconds after the Unix epoch.
pub fn from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// A duration in whole milliseconds, saturating.
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_failure_that_reaches_the_limit_sets_the_lock() {
        let limits = Limits::new(3);
        let mut r = KeyRecord::default();
        for (i, remaining) in [2, 1, 0].into_iter().enumerate() {
            let v = begin(&mut r, &limits, None, i as i64);
            assert_eq!(
                v,
                KeyVerdict::Allowed {
                    counted: true,
                    failures: i as u32 + 1,
                    remaining,
                    locks_on_failure: remaining == 0,
                    until: None,
                }
            );
        }
        assert!(matches!(
            begin(&mut r, &limits, None, 10),
            KeyVerdict::Locked { until: None, .. }
        ));
    }

    #[test]
    fn success_gives_the_count_and_the_lock_back() {
        let limits = Limits::new(2).with_cool_off(Some(secs(60)));
        let mut r = KeyRecord::default();
        begin(&mut r, &limits, None, 0);
        begin(&mut r, &limits, None, 1);
        assert!(r.lock_active(2));
        release(&mut r, &limits, &Release::give_back(1, true), 2);
        assert!(!r.lock_active(2));
        assert_eq!(r.failures, vec![0]);
        assert_eq!(r.lock_count, 0);
    }

    #[test]
    fn cool_off_ends_and_counting_restarts() {
        let limits = Limits::new(1).with_cool_off(Some(secs(10)));
        let mut r = KeyRecord::default();
        begin(&mut r, &limits, None, 0);
        assert!(matches!(
            begin(&mut r, &limits, None, 9_999),
            KeyVerdict::Locked { .. }
        ));
        // The refused attempt restarted the cool-off.
        assert!(matches!(
            begin(&mut r, &limits, None, 10_001),
            KeyVerdict::Locked {
                until: Some(20_001),
                ..
            }
        ));
        assert!(matches!(
            begin(&mut r, &limits, None, 20_001),
            KeyVerdict::Allowed { failures: 1, .. }
        ));
    }

    #[test]
    fn progressive_cool_off_grows_and_caps() {
        let limits = Limits::new(1)
            .with_cool_off(Some(secs(10)))
            .with_progression(2.0, Some(secs(30)))
            .with_count_during_lockout(false);
        assert_eq!(limits.cool_off_ms(1), Some(10_000));
        assert_eq!(limits.cool_off_ms(2), Some(20_000));
        assert_eq!(limits.cool_off_ms(3), Some(30_000));
        assert_eq!(limits.cool_off_ms(u32::MAX), Some(30_000));
        let mut r = KeyRecord::default();
        begin(&mut r, &limits, None, 0);
        assert_eq!(r.locked_until, Some(10_000));
        begin(&mut r, &limits, None, 10_000);
        assert_eq!(r.locked_until, Some(30_000));
    }

    #[test]
    fn window_forgets_old_failures() {
        let limits = Limits::new(2).with_failure_window(Some(secs(60)));
        let mut r = KeyRecord::default();
        begin(&mut r, &limits, None, 0);
        assert!(matches!(
            begin(&mut r, &limits, None, 60_000),
            KeyVerdict::Allowed {
                failures: 1,
                locks_on_failure: false,
                ..
            }
        ));
    }

    #[test]
    fn monitor_only_never_locks() {
        let limits = Limits::new(1).with_lock_out(false);
        let mut r = KeyRecord::default();
        for t in 0..5 {
            assert!(matches!(
                begin(&mut r, &limits, None, t),
                KeyVerdict::Allowed {
                    locks_on_failure: false,
                    ..
                }
            ));
        }
        assert_eq!(r.failures.len(), 1);
    }

    #[test]
    fn a_remembered_tag_counts_nothing_and_a_new_one_counts() {
        let limits = Limits::new(3).with_remember(REMEMBERED_PASSWORDS);
        let mut r = KeyRecord::default();
        assert!(matches!(
            begin(&mut r, &limits, Some(7), 0),
            KeyVerdict::Allowed {
                counted: true,
                failures: 1,
                ..
            }
        ));
        for t in 1..20 {
            assert_eq!(
                begin(&mut r, &limits, Some(7), t),
                KeyVerdict::Allowed {
                    counted: false,
                    failures: 1,
                    remaining: 2,
                    locks_on_failure: false,
                    until: None,
                }
            );
        }
        begin(&mut r, &limits, Some(8), 20);
        assert!(matches!(
            begin(&mut r, &limits, Some(9), 21),
            KeyVerdict::Allowed {
                counted: true,
                locks_on_failure: true,
                ..
            }
        ));
        assert_eq!(r.tags, vec![(0, 7), (20, 8), (21, 9)]);
    }

    #[test]
    fn only_the_last_tags_are_remembered_and_none_without_remember() {
        let limits = Limits::new(10).with_remember(2);
        let mut r = KeyRecord::default();
        for (t, tag) in [1, 2, 3].into_iter().enumerate() {
            begin(&mut r, &limits, Some(tag), t as i64);
        }
        assert_eq!(r.tags, vec![(1, 2), (2, 3)]);
        assert!(matches!(
            begin(&mut r, &limits, Some(1), 9),
            KeyVerdict::Allowed {
                counted: true,
                failures: 4,
                ..
            }
        ));
        let plain = Limits::new(10);
        let mut r = KeyRecord::default();
        begin(&mut r, &plain, Some(1), 0);
        assert!(matches!(
            begin(&mut r, &plain, Some(1), 1),
            KeyVerdict::Allowed {
                counted: true,
                failures: 2,
                ..
            }
        ));
        assert!(r.tags.is_empty());
    }

    #[test]
    fn a_remembered_tag_during_a_lock_is_refused_without_restarting_the_cool_off() {
        let limits = Limits::new(1)
            .with_cool_off(Some(secs(10)))
            .with_remember(REMEMBERED_PASSWORDS);
        let mut r = KeyRecord::default();
        begin(&mut r, &limits, Some(5), 0);
        assert_eq!(
            begin(&mut r, &limits, Some(5), 5_000),
            KeyVerdict::Locked {
                until: Some(10_000),
                failures: 1
            }
        );
        assert!(matches!(
            begin(&mut r, &limits, Some(6), 6_000),
            KeyVerdict::Locked {
                until: Some(16_000),
                ..
            }
        ));
        assert_eq!(r.refused, 2);
        // The lock ends: counting and remembering start afresh.
        assert!(matches!(
            begin(&mut r, &limits, Some(5), 16_000),
            KeyVerdict::Allowed { counted: true, .. }
        ));
        assert_eq!(r.refused, 0);
        assert_eq!(r.tags, vec![(16_000, 5)]);
    }

    #[test]
    fn tags_leave_with_the_window_and_with_a_right_password() {
        let limits = Limits::new(5)
            .with_failure_window(Some(secs(60)))
            .with_remember(REMEMBERED_PASSWORDS);
        let mut r = KeyRecord::default();
        begin(&mut r, &limits, Some(1), 0);
        assert!(matches!(
            begin(&mut r, &limits, Some(1), 60_000),
            KeyVerdict::Allowed {
                counted: true,
                failures: 1,
                ..
            }
        ));
        begin(&mut r, &limits, Some(2), 60_001);
        release(
            &mut r,
            &limits,
            &Release::give_back(60_001, false).with_tag(Some(2)),
            60_002,
        );
        assert_eq!(r.tags, vec![(60_000, 1)]);
        assert_eq!(r.failures, vec![60_000]);
        assert_eq!(r.expires_at(&limits), Some(120_000));
    }

    #[test]
    fn refusals_are_counted_from_the_lock_on() {
        let limits = Limits::new(2).with_count_during_lockout(false);
        let mut r = KeyRecord::default();
        begin(&mut r, &limits, None, 0);
        begin(&mut r, &limits, None, 1);
        for t in 2..9 {
            begin(&mut r, &limits, None, t);
        }
        assert_eq!((r.refused, r.failures.len()), (7, 2));
    }

    #[test]
    fn expiry() {
        let limits = Limits::new(3).with_failure_window(Some(secs(1)));
        let mut r = KeyRecord::default();
        begin(&mut r, &limits, None, 100);
        assert_eq!(r.expires_at(&limits), Some(1_100));
        let forever = Limits::new(1);
        let mut r = KeyRecord::default();
        begin(&mut r, &forever, None, 0);
        assert_eq!(r.expires_at(&forever), None);
    }
}

//! The rules that join the keys of one attempt into one store step.
//!
//! An attempt has one key per lockout criterion (and a password's spray key
//! with `spray_limit`). A store begins them all in one step
//! ([`Store::begin_all`](crate::Store::begin_all)): each key runs
//! [`record::begin`](crate::record::begin) in order, a spray key is skipped
//! once an earlier key is locked, and when any key is locked the attempt is
//! refused and the keys that counted it give it back in the same step (all
//! of them unless refused attempts count, and a spray key always). Stores
//! that hold the records of the attempt at once run [`begin_records`]; the
//! Redis and PostgreSQL stores mirror it in their one server-side call.
//!
//! ```
//! use loginguard_core::batch::{begin_records, Begun, KeyStep};
//! use loginguard_core::record::{KeyRecord, KeyVerdict, Limits};
//! use loginguard_core::Key;
//!
//! let limits = Limits::new(1).with_count_during_lockout(false);
//! let (ip, user) = (Key::new("default").with_ip("203.0.113.9"), Key::new("default").with_username("alice"));
//! let steps = [KeyStep::new(&ip, &limits), KeyStep::new(&user, &limits)];
//! let mut records = [KeyRecord::default(), KeyRecord::default()];
//! begin_records(&mut records[..1], &steps[..1], 0); // the IP is now locked
//! let begun = begin_records(&mut records, &steps, 1);
//! assert!(matches!(begun[0], Begun::Verdict(KeyVerdict::Locked { .. })));
//! // alice's key counted the attempt and gave it back in the same step.
//! assert!(records[1].failures.is_empty());
//! ```

use crate::key::Key;
use crate::record::{self, KeyRecord, KeyVerdict, Limits, Release, Tag};
use crate::store::StoreError;

/// One key of an attempt, as [`Store::begin_all`](crate::Store::begin_all)
/// takes it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct KeyStep<'a> {
    /// The key.
    pub key: &'a Key,
    /// Its limits.
    pub limits: &'a Limits,
    /// The attempt's tag on this key (see [`record::begin`]).
    pub tag: Option<Tag>,
    /// A password's spray key: begun only when no earlier key of the
    /// attempt is locked, and always given back when the attempt is refused.
    pub spray: bool,
}

impl<'a> KeyStep<'a> {
    /// An account key (not a spray key) without a tag.
    pub fn new(key: &'a Key, limits: &'a Limits) -> KeyStep<'a> {
        KeyStep {
            key,
            limits,
            tag: None,
            spray: false,
        }
    }

    /// Sets the attempt's tag on this key.
    #[must_use]
    pub fn with_tag(mut self, tag: Option<Tag>) -> KeyStep<'a> {
        self.tag = tag;
        self
    }

    /// Marks the key as a password's spray key.
    #[must_use]
    pub fn spray(mut self) -> KeyStep<'a> {
        self.spray = true;
        self
    }

    /// Whether this key is skipped, `locked` saying whether an earlier key
    /// of the attempt is locked.
    pub fn skipped_after(&self, locked: bool) -> bool {
        self.spray && locked
    }

    /// How this key gives back an attempt it counted (`verdict`), when the
    /// attempt is refused on another key; `None` when it keeps the count
    /// (refused attempts count) or counted nothing.
    pub fn refusal_release(&self, verdict: &Begun, now: i64) -> Option<Release> {
        if !self.spray && self.limits.count_during_lockout {
            return None;
        }
        self.give_back(verdict, now)
    }

    /// How this key gives back the attempt it counted (`verdict`); `None`
    /// when it counted nothing.
    pub fn give_back(&self, verdict: &Begun, now: i64) -> Option<Release> {
        match verdict {
            Begun::Verdict(KeyVerdict::Allowed {
                counted: true,
                locks_on_failure,
                ..
            }) => Some(Release::give_back(now, *locks_on_failure).with_tag(self.tag)),
            _ => None,
        }
    }
}

/// What a store's [`begin_all`](crate::Store::begin_all) did with one key of
/// the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    /// The key's verdict. When any key of the attempt is
    /// [`KeyVerdict::Locked`], the keys whose [`KeyStep::refusal_release`]
    /// is some have already given the attempt back.
    Verdict(KeyVerdict),
    /// Not begun: a spray key after a locked key.
    Skipped,
    /// The store is full and could not take this new key (the fields of
    /// [`StoreError::Full`](crate::StoreError::Full)).
    Full {
        /// Records in the full part of the store.
        live_keys: usize,
        /// Shards the store is split into.
        shards: usize,
        /// The store's bound on tracked keys.
        max_keys: usize,
    },
}

impl Begun {
    /// Whether the key is locked.
    pub fn is_locked(&self) -> bool {
        matches!(self, Begun::Verdict(KeyVerdict::Locked { .. }))
    }

    /// The key's step as [`Store::begin_tagged`](crate::Store::begin_tagged)
    /// answered it: a full store is [`Begun::Full`], any other error is the
    /// attempt's error.
    pub fn from_result(result: Result<KeyVerdict, StoreError>) -> Result<Begun, StoreError> {
        match result {
            Ok(verdict) => Ok(Begun::Verdict(verdict)),
            Err(StoreError::Full {
                live_keys,
                shards,
                max_keys,
            }) => Ok(Begun::Full {
                live_keys,
                shards,
                max_keys,
            }),
            Err(e) => Err(e),
        }
    }

    /// The error a [`Begun::Full`] stands for.
    pub fn full_error(&self) -> Option<StoreError> {
        match *self {
            Begun::Full {
                live_keys,
                shards,
                max_keys,
            } => Some(StoreError::Full {
                live_keys,
                shards,
                max_keys,
            }),
            _ => None,
        }
    }
}

/// One key's settlement, as [`Store::release_all`](crate::Store::release_all)
/// takes it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct KeyRelease<'a> {
    /// The key.
    pub key: &'a Key,
    /// How to settle it.
    pub release: Release,
    /// Its limits.
    pub limits: &'a Limits,
}

impl<'a> KeyRelease<'a> {
    /// Settles `key` with `release`.
    pub fn new(key: &'a Key, release: Release, limits: &'a Limits) -> KeyRelease<'a> {
        KeyRelease {
            key,
            release,
            limits,
        }
    }
}

/// The settlements that give an attempt back on the keys that counted it
/// (`begun[i]` answering `steps[i]`): [`KeyStep::refusal_release`] when
/// `refused`, else [`KeyStep::give_back`].
pub fn give_backs<'a>(
    steps: &[KeyStep<'a>],
    begun: &[Begun],
    now: i64,
    refused: bool,
) -> Vec<KeyRelease<'a>> {
    steps
        .iter()
        .zip(begun)
        .filter_map(|(s, b)| {
            let release = if refused {
                s.refusal_release(b, now)
            } else {
                s.give_back(b, now)
            };
            Some(KeyRelease::new(s.key, release?, s.limits))
        })
        .collect()
}

/// The attempt's step on records held at once: `records[i]` is the record
/// of `steps[i].key` (a default record for a new key). Records of skipped
/// keys are left untouched.
pub fn begin_records(records: &mut [KeyRecord], steps: &[KeyStep<'_>], now: i64) -> Vec<Begun> {
    let mut begun = Vec::with_capacity(steps.len());
    let mut locked = false;
    for (rec, step) in records.iter_mut().zip(steps) {
        if step.skipped_after(locked) {
            begun.push(Begun::Skipped);
            continue;
        }
        let verdict = record::begin(rec, step.limits, step.tag, now);
        locked |= matches!(verdict, KeyVerdict::Locked { .. });
        begun.push(Begun::Verdict(verdict));
    }
    if locked {
        for ((rec, step), verdict) in records.iter_mut().zip(steps).zip(&begun) {
            if let Some(release) = step.refusal_release(verdict, now) {
                record::release(rec, step.limits, &release, now);
            }
        }
    }
    begun
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> [Key; 3] {
        [
            Key::new("s").with_ip("203.0.113.9"),
            Key::new("s").with_username("alice"),
            Key::new("s").with_password("spray"),
        ]
    }

    #[test]
    fn a_spray_key_after_a_lock_is_skipped_and_the_others_give_back_unless_refusals_count() {
        let [ip, user, spray] = keys();
        for count in [false, true] {
            let limits = Limits::new(1).with_count_during_lockout(count);
            let spray_limits = Limits::new(5);
            let steps = [
                KeyStep::new(&ip, &limits),
                KeyStep::new(&user, &limits),
                KeyStep::new(&spray, &spray_limits)
                    .spray()
                    .with_tag(Some(7)),
            ];
            let mut records = [
                KeyRecord::default(),
                KeyRecord::default(),
                KeyRecord::default(),
            ];
            begin_records(&mut records[..1], &steps[..1], 0);
            let begun = begin_records(&mut records, &steps, 1);
            assert!(begun[0].is_locked());
            assert!(matches!(
                begun[1],
                Begun::Verdict(KeyVerdict::Allowed { counted: true, .. })
            ));
            assert_eq!(begun[2], Begun::Skipped);
            assert_eq!(records[1].failures.len(), usize::from(count));
            assert_eq!(records[1].lock_active(1), count);
            assert_eq!(records[2], KeyRecord::default());
        }
    }

    #[test]
    fn without_a_lock_every_key_counts() {
        let [ip, user, spray] = keys();
        let limits = Limits::new(3);
        let steps = [
            KeyStep::new(&ip, &limits),
            KeyStep::new(&user, &limits),
            KeyStep::new(&spray, &limits).spray(),
        ];
        let mut records = [
            KeyRecord::default(),
            KeyRecord::default(),
            KeyRecord::default(),
        ];
        let begun = begin_records(&mut records, &steps, 5);
        assert!(begun
            .iter()
            .all(|b| matches!(b, Begun::Verdict(KeyVerdict::Allowed { failures: 1, .. }))));
        assert!(records.iter().all(|r| r.failures == [5]));
    }
}

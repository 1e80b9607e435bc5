//! The conformance suite every loginguard [`Store`] runs.
//!
//! A store crate implements [`Harness`] (how to open fresh, isolated
//! handles onto its backend) and expands [`store_tests!`] in a file under
//! `tests/`:
//!
//! ```ignore
//! struct Memory;
//! #[async_trait::async_trait]
//! impl loginguard_store_tests::Harness for Memory {
//!     async fn open(&self, handles: usize) -> Option<Vec<Arc<dyn Store>>> {
//!         let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//!         Some(vec![store; handles])
//!     }
//! }
//! loginguard_store_tests::store_tests!(Memory);
//! ```
//!
//! A harness that returns `None` (no server configured) makes every test
//! print `skipped: …` and pass.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod outage;

use async_trait::async_trait;
use loginguard_core::audit::{AuditEntry, AuditKind, LogQuery, LogRetention};
use loginguard_core::record::{to_ms, KeyVerdict, Limits, Release, Tag};
use loginguard_core::{Begun, Key, KeyFilter, KeyRelease, KeyStep, ListQuery, Store};

pub use tokio;

/// Opens stores for the suite.
#[async_trait]
pub trait Harness: Send + Sync {
    /// `handles` separate handles (each with its own connections, as
    /// separate app servers would have) onto one fresh, empty namespace
    /// (its own key prefix, schema or file). `None`: skip, after printing why.
    async fn open(&self, handles: usize) -> Option<Vec<Arc<dyn Store>>>;
}

/// Runs one suite test on a multi-threaded runtime.
pub fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// Expands one `#[test]` per rule of the suite for a harness expression.
#[macro_export]
macro_rules! store_tests {
    ($harness:expr) => {
        $crate::store_tests!(@each $harness;
            counts_until_the_limit_then_locks,
            refused_attempts_count_and_restart_the_cool_off,
            refused_attempts_do_not_count_when_configured_off,
            cool_off_ends_the_lock,
            progressive_cool_off_grows_and_caps,
            sliding_window_forgets_old_failures,
            monitor_only_never_locks,
            release_gives_the_attempt_back,
            release_with_reset_clears_the_key,
            reset_by_ip_username_both_and_all,
            keys_and_scopes_are_independent,
            list_reports_locked_and_failing_keys,
            purge_removes_only_expired_records,
            exactness_one_key_across_handles,
            exactness_mixed_keys,
            remembered_tags_count_once_and_leave_with_a_right_password,
            a_remembered_tag_during_a_lock_neither_counts_nor_restarts_it,
            list_counts_refusals_since_the_lock,
            device_and_spray_keys_round_trip_and_reset_apart,
            an_attempt_begins_all_its_keys_in_one_step,
            release_all_settles_every_key,
            exactness_attempts_on_two_keys_give_back_what_they_counted,
            exactness_with_tags_at_most_the_limit_distinct_tags_checked,
            awkward_key_values_round_trip,
            audit_log_appends_filters_caps_and_purges,
            migrate_is_idempotent_and_health_answers,
        );
    };
    (@each $harness:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::run(async { $crate::suite::$name(&$harness).await });
            }
        )*
    };
}

/// The rules, one function each.
pub mod suite {
    use super::*;

    /// A base time near the real clock (so stores with server-side TTLs
    /// behave), whole milliseconds.
    fn t0() -> SystemTime {
        let ms = to_ms(SystemTime::now());
        UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap())
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    async fn one(h: &dyn Harness) -> Option<Arc<dyn Store>> {
        let mut stores = h.open(1).await?;
        stores.pop()
    }

    fn key(name: &str) -> Key {
        Key::new("login").with_username(name)
    }

    fn allowed(v: KeyVerdict) -> bool {
        matches!(v, KeyVerdict::Allowed { .. })
    }

    pub async fn counts_until_the_limit_then_locks(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(3);
        let k = key("alice");
        for (i, remaining) in [2u32, 1, 0].into_iter().enumerate() {
            let v = s
                .begin_attempt(&k, &limits, now + secs(i as u64))
                .await
                .unwrap();
            assert_eq!(
                v,
                KeyVerdict::Allowed {
                    counted: true,
                    failures: i as u32 + 1,
                    remaining,
                    locks_on_failure: remaining == 0,
                    until: None
                },
                "attempt {i}"
            );
        }
        let v = s.begin_attempt(&k, &limits, now + secs(5)).await.unwrap();
        assert!(matches!(v, KeyVerdict::Locked { until: None, .. }), "{v:?}");
    }

    pub async fn refused_attempts_count_and_restart_the_cool_off(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(1).with_cool_off(Some(secs(60)));
        let k = key("bob");
        let v = s.begin_attempt(&k, &limits, now).await.unwrap();
        let expected_until = to_ms(now + secs(60));
        assert!(
            matches!(v, KeyVerdict::Allowed { locks_on_failure: true, until: Some(u), .. } if u == expected_until),
            "{v:?}"
        );
        let v = s.begin_attempt(&k, &limits, now + secs(30)).await.unwrap();
        assert!(
            matches!(v, KeyVerdict::Locked { until: Some(u), .. } if u == to_ms(now + secs(90))),
            "{v:?}"
        );
        // Still locked at +61s because the refusal restarted the cool-off.
        let v = s.begin_attempt(&k, &limits, now + secs(61)).await.unwrap();
        assert!(matches!(v, KeyVerdict::Locked { .. }), "{v:?}");
    }

    pub async fn refused_attempts_do_not_count_when_configured_off(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(1)
            .with_cool_off(Some(secs(60)))
            .with_count_during_lockout(false);
        let k = key("carol");
        s.begin_attempt(&k, &limits, now).await.unwrap();
        let v = s.begin_attempt(&k, &limits, now + secs(30)).await.unwrap();
        assert!(
            matches!(v, KeyVerdict::Locked { until: Some(u), failures: 1 } if u == to_ms(now + secs(60))),
            "{v:?}"
        );
        let v = s.begin_attempt(&k, &limits, now + secs(61)).await.unwrap();
        assert!(
            matches!(v, KeyVerdict::Allowed { failures: 1, .. }),
            "{v:?}"
        );
    }

    pub async fn cool_off_ends_the_lock(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(2).with_cool_off(Some(secs(10)));
        let k = key("dave");
        s.begin_attempt(&k, &limits, now).await.unwrap();
        s.begin_attempt(&k, &limits, now).await.unwrap();
        let v = s.begin_attempt(&k, &limits, now + secs(11)).await.unwrap();
        assert!(
            matches!(
                v,
                KeyVerdict::Allowed {
                    failures: 1,
                    remaining: 1,
                    ..
                }
            ),
            "the lock ended and counting restarted: {v:?}"
        );
    }

    pub async fn progressive_cool_off_grows_and_caps(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let mut now = t0();
        let limits = Limits::new(1)
            .with_cool_off(Some(secs(10)))
            .with_progression(3.0, Some(secs(60)))
            .with_count_during_lockout(false);
        let k = key("erin");
        for expected in [10u64, 30, 60, 60] {
            let v = s.begin_attempt(&k, &limits, now).await.unwrap();
            assert!(
                matches!(v, KeyVerdict::Allowed { until: Some(u), .. } if u == to_ms(now + secs(expected))),
                "expected a {expected}s lock: {v:?}"
            );
            now += secs(expected);
        }
    }

    pub async fn sliding_window_forgets_old_failures(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(3).with_failure_window(Some(secs(100)));
        let k = key("frank");
        s.begin_attempt(&k, &limits, now).await.unwrap();
        s.begin_attempt(&k, &limits, now + secs(50)).await.unwrap();
        // At +101s the first failure has left the window: 2 counted, not 3.
        let v = s.begin_attempt(&k, &limits, now + secs(101)).await.unwrap();
        assert!(
            matches!(
                v,
                KeyVerdict::Allowed {
                    failures: 2,
                    remaining: 1,
                    ..
                }
            ),
            "{v:?}"
        );
        // At +120s three failures are inside the window (50, 101, 120): locked.
        let v = s.begin_attempt(&k, &limits, now + secs(120)).await.unwrap();
        assert!(
            matches!(
                v,
                KeyVerdict::Allowed {
                    locks_on_failure: true,
                    ..
                }
            ),
            "{v:?}"
        );
    }

    pub async fn monitor_only_never_locks(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(2).with_lock_out(false);
        let k = key("gina");
        for i in 0..6 {
            let v = s.begin_attempt(&k, &limits, now + secs(i)).await.unwrap();
            assert!(
                matches!(
                    v,
                    KeyVerdict::Allowed {
                        locks_on_failure: false,
                        ..
                    }
                ),
                "{v:?}"
            );
        }
    }

    pub async fn release_gives_the_attempt_back(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(2);
        let k = key("hank");
        s.begin_attempt(&k, &limits, now).await.unwrap();
        let t1 = now + secs(1);
        let v = s.begin_attempt(&k, &limits, t1).await.unwrap();
        assert!(matches!(
            v,
            KeyVerdict::Allowed {
                locks_on_failure: true,
                ..
            }
        ));
        // The password was right: the lock this attempt set is lifted.
        s.release(&k, &Release::give_back(to_ms(t1), true), &limits, t1)
            .await
            .unwrap();
        let v = s.begin_attempt(&k, &limits, now + secs(2)).await.unwrap();
        assert!(
            matches!(v, KeyVerdict::Allowed { failures: 2, .. }),
            "{v:?}"
        );
    }

    pub async fn release_with_reset_clears_the_key(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(3);
        let k = key("iris");
        s.begin_attempt(&k, &limits, now).await.unwrap();
        s.begin_attempt(&k, &limits, now).await.unwrap();
        s.release(&k, &Release::reset(to_ms(now)), &limits, now)
            .await
            .unwrap();
        let v = s.begin_attempt(&k, &limits, now + secs(1)).await.unwrap();
        assert!(
            matches!(v, KeyVerdict::Allowed { failures: 1, .. }),
            "{v:?}"
        );
    }

    pub async fn reset_by_ip_username_both_and_all(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(1);
        let keys = [
            Key::new("login").with_ip("10.0.0.1"),
            Key::new("login").with_ip("10.0.0.2"),
            Key::new("login").with_username("alice"),
            Key::new("login").with_username("alice").with_ip("10.0.0.1"),
            Key::new("login").with_username("alice").with_ip("10.0.0.2"),
            Key::new("otp").with_ip("10.0.0.1"),
        ];
        for k in &keys {
            s.begin_attempt(k, &limits, now).await.unwrap();
        }
        let locked = |v: KeyVerdict| matches!(v, KeyVerdict::Locked { .. });
        let n = s
            .reset(
                &KeyFilter::all()
                    .scope("login")
                    .ip("10.0.0.1")
                    .username("alice"),
            )
            .await
            .unwrap();
        assert_eq!(n, 3, "ip=10.0.0.1, username=alice and their pair");
        for (k, still) in keys.iter().zip([false, true, false, false, true, true]) {
            let v = s.begin_attempt(k, &limits, now).await.unwrap();
            assert_eq!(locked(v), still, "{k}: {v:?}");
        }
        assert_eq!(s.reset(&KeyFilter::all().ip("10.0.0.2")).await.unwrap(), 2);
        assert_eq!(s.reset(&KeyFilter::all()).await.unwrap(), 4);
        assert_eq!(s.reset(&KeyFilter::all()).await.unwrap(), 0);
    }

    pub async fn keys_and_scopes_are_independent(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(1);
        let a = Key::new("login").with_ip("10.0.0.1");
        s.begin_attempt(&a, &limits, now).await.unwrap();
        for other in [
            Key::new("otp").with_ip("10.0.0.1"),
            Key::new("login").with_ip("10.0.0.10"),
            Key::new("login").with_ip("10.0.0.1").with_username("x"),
        ] {
            let v = s.begin_attempt(&other, &limits, now).await.unwrap();
            assert!(allowed(v), "{other} was affected");
        }
    }

    pub async fn list_reports_locked_and_failing_keys(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(2).with_cool_off(Some(secs(600)));
        let locked = key("locked");
        let failing = key("failing");
        s.begin_attempt(&locked, &limits, now).await.unwrap();
        s.begin_attempt(&locked, &limits, now + secs(1))
            .await
            .unwrap();
        s.begin_attempt(&failing, &limits, now + secs(2))
            .await
            .unwrap();
        let all = s.list(&ListQuery::all(), now + secs(3)).await.unwrap();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[0].key, failing, "most recent first");
        assert_eq!(all[0].failures, 1);
        assert!(!all[0].locked);
        assert_eq!(all[1].key, locked);
        assert!(all[1].locked);
        assert_eq!(all[1].failures, 2);
        assert_eq!(all[1].locked_until.map(to_ms), Some(to_ms(now + secs(601))));
        let only = s
            .list(&ListQuery::all().locked_only(true), now + secs(3))
            .await
            .unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].key, locked);
        let filtered = s
            .list(
                &ListQuery::all().filter(KeyFilter::all().username("failing")),
                now + secs(3),
            )
            .await
            .unwrap();
        assert_eq!(filtered.len(), 1);
        assert_eq!(
            s.list(&ListQuery::all().limit(1), now + secs(3))
                .await
                .unwrap()
                .len(),
            1
        );
        // After the cool-off the lock is no longer reported as locked.
        let later = s
            .list(&ListQuery::all().locked_only(true), now + secs(700))
            .await
            .unwrap();
        assert!(later.is_empty(), "{later:?}");
    }

    pub async fn purge_removes_only_expired_records(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let windowed = Limits::new(5).with_failure_window(Some(secs(10)));
        let forever = Limits::new(5);
        let short = key("short");
        let long = key("long");
        s.begin_attempt(&short, &windowed, now).await.unwrap();
        s.begin_attempt(&long, &forever, now).await.unwrap();
        let purged = s.purge_expired(now + secs(11)).await.unwrap();
        assert_eq!(purged, 1);
        let left = s.list(&ListQuery::all(), now + secs(11)).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].key, long);
    }

    async fn hammer(stores: &[Arc<dyn Store>], keys: &[Key], per_key: usize, limit: u32) {
        let limits = Limits::new(limit);
        let now = t0();
        let mut tasks = Vec::new();
        for i in 0..per_key {
            for (j, k) in keys.iter().enumerate() {
                let store = stores[(i + j) % stores.len()].clone();
                let k = k.clone();
                let limits = limits.clone();
                tasks.push(tokio::spawn(async move {
                    let v = store.begin_attempt(&k, &limits, now).await.unwrap();
                    (k, allowed(v))
                }));
            }
        }
        let mut through = std::collections::HashMap::new();
        for t in tasks {
            let (k, ok) = t.await.unwrap();
            *through.entry(k).or_insert(0u32) += u32::from(ok);
        }
        for k in keys {
            assert_eq!(
                through.get(k).copied().unwrap_or(0),
                limit,
                "{k}: exactly failure_limit attempts may reach the password check"
            );
        }
    }

    pub async fn exactness_one_key_across_handles(h: &dyn Harness) {
        let Some(stores) = h.open(2).await else {
            return;
        };
        hammer(&stores, &[key("target")], 1_000, 3).await;
    }

    pub async fn exactness_mixed_keys(h: &dyn Harness) {
        let Some(stores) = h.open(2).await else {
            return;
        };
        let keys: Vec<Key> = (0..10)
            .map(|i| {
                Key::new("login")
                    .with_ip(format!("10.1.0.{i}"))
                    .with_username("u")
            })
            .collect();
        hammer(&stores, &keys, 100, 5).await;
    }

    pub async fn awkward_key_values_round_trip(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(1);
        let k = Key::new("login")
            .with_username("a&b=c/%{x}🙂 ' \" ; -- DROP TABLE")
            .with_ip("2001:db8::/64")
            .with_user_agent("Mozilla/5.0 (X11)");
        s.begin_attempt(&k, &limits, now).await.unwrap();
        let listed = s.list(&ListQuery::all(), now).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, k);
        let v = s.begin_attempt(&k, &limits, now).await.unwrap();
        assert!(matches!(v, KeyVerdict::Locked { .. }));
        let n = s
            .reset(&KeyFilter::all().username("a&b=c/%{x}🙂 ' \" ; -- DROP TABLE"))
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    pub async fn audit_log_appends_filters_caps_and_purges(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        // A store without an audit log (Redis) has nothing to check here:
        // not a skip, so `LOGINGUARD_TEST_REQUIRE=1` does not fail it.
        let Some(log) = s.audit() else {
            return;
        };
        let now = t0();
        let entry = |kind, user: &str, ip: &str, at: u64| {
            AuditEntry::new(
                kind,
                "login",
                Some(user.to_owned()),
                Some(ip.to_owned()),
                Some("curl/8".to_owned()),
                "POST",
                "/login",
                now + secs(at),
            )
        };
        let cap = LogRetention::new(None, Some(3));
        for i in 0..5 {
            log.append(&entry(AuditKind::Failure, "mallory", "10.0.0.66", i), &cap)
                .await
                .unwrap();
        }
        log.append(&entry(AuditKind::Failure, "bob", "10.0.0.2", 10), &cap)
            .await
            .unwrap();
        log.append(&entry(AuditKind::Success, "alice", "10.0.0.1", 20), &cap)
            .await
            .unwrap();
        let all = log.query(&LogQuery::all()).await.unwrap();
        assert_eq!(all.len(), 5, "mallory capped at 3 + bob + alice: {all:?}");
        assert_eq!(all[0].username.as_deref(), Some("alice"), "newest first");
        let mallory = log
            .query(&LogQuery::all().username("mallory"))
            .await
            .unwrap();
        assert_eq!(mallory.len(), 3);
        assert_eq!(mallory[2].time, now + secs(2), "the oldest rows went first");
        let successes = log
            .query(&LogQuery::all().kind(AuditKind::Success))
            .await
            .unwrap();
        assert_eq!(successes.len(), 1);
        assert_eq!(successes[0].user_agent.as_deref(), Some("curl/8"));
        assert_eq!(successes[0].path, "/login");
        let by_ip = log.query(&LogQuery::all().ip("10.0.0.2")).await.unwrap();
        assert_eq!(by_ip.len(), 1);
        let since = log
            .query(&LogQuery::all().since(now + secs(10)))
            .await
            .unwrap();
        assert_eq!(since.len(), 2);
        let page = log
            .query(&LogQuery::all().limit(2).offset(1))
            .await
            .unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].username.as_deref(), Some("bob"));
        let purged = log.purge(now + secs(10)).await.unwrap();
        assert_eq!(purged, 3);
        assert_eq!(log.query(&LogQuery::all()).await.unwrap().len(), 2);
    }

    pub async fn migrate_is_idempotent_and_health_answers(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        s.migrate().await.unwrap();
        s.migrate().await.unwrap();
        let health = s.health().await.unwrap();
        assert!(health.pending_migrations.is_empty(), "{health:?}");
        assert!(!health.description.is_empty());
    }

    fn counted(v: KeyVerdict) -> Option<bool> {
        match v {
            KeyVerdict::Allowed { counted, .. } => Some(counted),
            KeyVerdict::Locked { .. } => None,
        }
    }

    pub async fn remembered_tags_count_once_and_leave_with_a_right_password(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(3)
            .with_failure_window(Some(secs(600)))
            .with_remember(3);
        let k = key("stale-phone");
        for i in 0..12 {
            let v = s
                .begin_tagged(&k, &limits, Some(0xdead_beef), now + secs(i))
                .await
                .unwrap();
            assert_eq!(counted(v), Some(i == 0), "attempt {i}: {v:?}");
        }
        let listed = s.list(&ListQuery::all(), now + secs(12)).await.unwrap();
        assert_eq!(listed[0].failures, 1, "the same wrong password counts once");
        // A right password (tag 2) is forgotten with its attempt: the same
        // password again counts afresh.
        let t = now + secs(13);
        s.begin_tagged(&k, &limits, Some(2), t).await.unwrap();
        s.release(
            &k,
            &Release::give_back(to_ms(t), false).with_tag(Some(2)),
            &limits,
            t,
        )
        .await
        .unwrap();
        let v = s
            .begin_tagged(&k, &limits, Some(2), now + secs(14))
            .await
            .unwrap();
        assert_eq!(counted(v), Some(true));
        // A third distinct wrong password reaches the limit.
        let v = s
            .begin_tagged(&k, &limits, Some(3), now + secs(15))
            .await
            .unwrap();
        assert!(matches!(
            v,
            KeyVerdict::Allowed {
                counted: true,
                locks_on_failure: true,
                ..
            }
        ));
        // The window forgets the tags with the failures.
        let v = s
            .begin_tagged(&k, &limits, Some(0xdead_beef), now + secs(2_000))
            .await
            .unwrap();
        assert!(matches!(v, KeyVerdict::Locked { .. }), "{v:?}");
    }

    pub async fn a_remembered_tag_during_a_lock_neither_counts_nor_restarts_it(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(2)
            .with_cool_off(Some(secs(60)))
            .with_remember(3);
        let k = key("locked-with-tags");
        s.begin_tagged(&k, &limits, Some(1), now).await.unwrap();
        s.begin_tagged(&k, &limits, Some(2), now).await.unwrap();
        let until = Some(to_ms(now + secs(60)));
        let v = s
            .begin_tagged(&k, &limits, Some(1), now + secs(30))
            .await
            .unwrap();
        assert_eq!(v, KeyVerdict::Locked { until, failures: 2 });
        let v = s
            .begin_tagged(&k, &limits, Some(9), now + secs(40))
            .await
            .unwrap();
        assert_eq!(
            v,
            KeyVerdict::Locked {
                until: Some(to_ms(now + secs(100))),
                failures: 2
            },
            "a new password during the lock counts and restarts the cool-off"
        );
    }

    pub async fn list_counts_refusals_since_the_lock(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(2)
            .with_cool_off(Some(secs(600)))
            .with_count_during_lockout(false);
        let k = key("hammered");
        for i in 0..9 {
            s.begin_attempt(&k, &limits, now + secs(i)).await.unwrap();
        }
        let listed = s.list(&ListQuery::all(), now + secs(9)).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].locked);
        assert_eq!((listed[0].failures, listed[0].refused), (2, 7));
        // A new lock starts its own count.
        s.reset(&KeyFilter::all()).await.unwrap();
        for i in 0..3 {
            s.begin_attempt(&k, &limits, now + secs(20 + i))
                .await
                .unwrap();
        }
        let listed = s.list(&ListQuery::all(), now + secs(30)).await.unwrap();
        assert_eq!(listed[0].refused, 1);
    }

    /// 1,000 concurrent attempts on one key, with tags drawn from 40 values
    /// (passwords on a device key, accounts on a password key): at most
    /// `limit` distinct tags ever reach the password check, and exactly
    /// `limit` when there are enough.
    pub async fn exactness_with_tags_at_most_the_limit_distinct_tags_checked(h: &dyn Harness) {
        let Some(stores) = h.open(2).await else {
            return;
        };
        // A trusted device's key (tags: passwords) and a password's spray
        // key (tags: accounts).
        let device = Key::new("login")
            .with_username("alice")
            .with_device("0123456789abcdef0123456789abcdef");
        let spray = Key::new("login").with_password("0123456789abcdef");
        for k in [device, spray] {
            tagged_hammer(&stores, k).await;
        }
    }

    async fn tagged_hammer(stores: &[Arc<dyn Store>], k: Key) {
        let limit = 5u32;
        let limits = Limits::new(limit).with_remember(limit);
        let now = t0();
        let mut tasks = Vec::new();
        for i in 0..1_000u64 {
            let store = stores[(i % 2) as usize].clone();
            let (k, limits) = (k.clone(), limits.clone());
            let tag: Tag = i % 40;
            tasks.push(tokio::spawn(async move {
                let v = store
                    .begin_tagged(&k, &limits, Some(tag), now)
                    .await
                    .unwrap();
                (tag, counted(v))
            }));
        }
        let mut checked = std::collections::BTreeSet::new();
        let mut counted_n = 0;
        for t in tasks {
            let (tag, c) = t.await.unwrap();
            if let Some(c) = c {
                checked.insert(tag);
                counted_n += u32::from(c);
            }
        }
        assert_eq!(
            counted_n, limit,
            "{k}: exactly failure_limit attempts counted"
        );
        assert_eq!(
            checked.len(),
            limit as usize,
            "{k}: only the counted tags were checked again: {checked:?}"
        );
    }

    pub async fn device_and_spray_keys_round_trip_and_reset_apart(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(1);
        let shared = key("alice");
        let device = key("alice").with_device("0123456789abcdef0123456789abcdef");
        let spray = Key::new("login").with_password("00ff00ff00ff00ff");
        let other_scope = Key::new("otp").with_password("00ff00ff00ff00ff");
        for k in [&shared, &device, &spray, &other_scope] {
            s.begin_attempt(k, &limits, now).await.unwrap();
        }
        let listed = s.list(&ListQuery::all(), now).await.unwrap();
        assert_eq!(listed.len(), 4, "{listed:?}");
        for k in [&shared, &device, &spray, &other_scope] {
            assert!(listed.iter().any(|l| &l.key == k), "{k} round-trips");
        }
        let sprayed = s
            .list(&ListQuery::all().filter(KeyFilter::all().sprayed()), now)
            .await
            .unwrap();
        assert_eq!(sprayed.len(), 2, "{sprayed:?}");
        // A username's reset clears its device keys, never a password's key.
        assert_eq!(
            s.reset(&KeyFilter::all().username("alice")).await.unwrap(),
            2
        );
        assert_eq!(
            s.reset(&KeyFilter::all().scope("login").sprayed())
                .await
                .unwrap(),
            1
        );
        let left = s.list(&ListQuery::all(), now).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].key, other_scope);
    }

    fn failures_of(listed: &[loginguard_core::KeyStatus], k: &Key) -> u32 {
        listed
            .iter()
            .find(|l| &l.key == k)
            .map_or(0, |l| l.failures)
    }

    pub async fn an_attempt_begins_all_its_keys_in_one_step(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let ip = Key::new("login").with_ip("203.0.113.7");
        let spray = Key::new("login").with_password("00ff00ff00ff00ff");
        let spray_limits = Limits::new(10).with_remember(10);
        for count in [false, true] {
            s.reset(&KeyFilter::all()).await.unwrap();
            let user = key(if count { "carol" } else { "bob" });
            let limits = Limits::new(1).with_count_during_lockout(count);
            // The IP locks on its own first.
            let v = s.begin_attempt(&ip, &limits, now).await.unwrap();
            assert!(matches!(
                v,
                KeyVerdict::Allowed {
                    locks_on_failure: true,
                    ..
                }
            ));
            let steps = [
                KeyStep::new(&ip, &limits),
                KeyStep::new(&user, &limits),
                KeyStep::new(&spray, &spray_limits)
                    .with_tag(Some(9))
                    .spray(),
            ];
            let begun = s.begin_all(&steps, now + secs(1)).await.unwrap();
            assert_eq!(begun.len(), 3);
            assert!(begun[0].is_locked(), "{begun:?}");
            assert!(
                matches!(
                    begun[1],
                    Begun::Verdict(KeyVerdict::Allowed { counted: true, .. })
                ),
                "{begun:?}"
            );
            assert_eq!(
                begun[2],
                Begun::Skipped,
                "a spray key after a lock is not begun"
            );
            let listed = s.list(&ListQuery::all(), now + secs(1)).await.unwrap();
            assert_eq!(
                failures_of(&listed, &user),
                u32::from(count),
                "the username keeps the refused attempt only when refused attempts count"
            );
            assert!(
                listed.iter().all(|l| l.key != spray),
                "the spray key was never touched: {listed:?}"
            );
            let user_locked = listed.iter().any(|l| l.key == user && l.locked);
            assert_eq!(user_locked, count, "{listed:?}");
        }
        // Without a lock every key counts, the spray key included.
        s.reset(&KeyFilter::all()).await.unwrap();
        let limits = Limits::new(3);
        let user = key("dave");
        let steps = [
            KeyStep::new(&ip, &limits),
            KeyStep::new(&user, &limits),
            KeyStep::new(&spray, &spray_limits)
                .with_tag(Some(9))
                .spray(),
        ];
        let begun = s.begin_all(&steps, now).await.unwrap();
        assert!(
            begun
                .iter()
                .all(|b| matches!(b, Begun::Verdict(KeyVerdict::Allowed { failures: 1, .. }))),
            "{begun:?}"
        );
        let listed = s.list(&ListQuery::all(), now).await.unwrap();
        for k in [&ip, &user, &spray] {
            assert_eq!(failures_of(&listed, k), 1, "{k}");
        }
    }

    pub async fn release_all_settles_every_key(h: &dyn Harness) {
        let Some(s) = one(h).await else { return };
        let now = t0();
        let limits = Limits::new(2);
        let (a, b, c) = (key("a"), key("b"), key("c"));
        for k in [&a, &b, &c] {
            s.begin_attempt(k, &limits, now).await.unwrap();
            s.begin_attempt(k, &limits, now + secs(1)).await.unwrap();
        }
        let at = to_ms(now + secs(1));
        let unseen = key("never-seen");
        let releases = [
            KeyRelease::new(&a, Release::give_back(at, true), &limits),
            KeyRelease::new(&b, Release::reset(at), &limits),
            KeyRelease::new(&unseen, Release::give_back(at, true), &limits),
        ];
        s.release_all(&releases, now + secs(2)).await.unwrap();
        let listed = s.list(&ListQuery::all(), now + secs(2)).await.unwrap();
        assert_eq!(failures_of(&listed, &a), 1, "a's second attempt given back");
        assert!(
            listed.iter().any(|l| l.key == a && !l.locked),
            "a's lock lifted"
        );
        assert!(listed.iter().all(|l| l.key != b), "b reset: {listed:?}");
        assert!(listed.iter().any(|l| l.key == c && l.locked), "c untouched");
        assert_eq!(listed.len(), 2, "{listed:?}");
    }

    /// Attempts on a username and one of ten IPs at once: at most the limit
    /// reach the password check on each key, and once every attempt is
    /// settled each IP holds exactly the attempts that were let through
    /// from it (every refused attempt was given back).
    pub async fn exactness_attempts_on_two_keys_give_back_what_they_counted(h: &dyn Harness) {
        let Some(stores) = h.open(2).await else {
            return;
        };
        let limit = 5u32;
        let limits = Limits::new(limit).with_count_during_lockout(false);
        let ip_limits = Limits::new(1_000).with_count_during_lockout(false);
        let now = t0();
        let user = key("target");
        let mut tasks = Vec::new();
        for i in 0..400usize {
            let store = stores[i % 2].clone();
            let (user, limits, ip_limits) = (user.clone(), limits.clone(), ip_limits.clone());
            let ip = Key::new("login").with_ip(format!("10.2.0.{}", i % 10));
            tasks.push(tokio::spawn(async move {
                let steps = [KeyStep::new(&ip, &ip_limits), KeyStep::new(&user, &limits)];
                let begun = store.begin_all(&steps, now).await.unwrap();
                let through = !begun.iter().any(Begun::is_locked);
                (ip, through)
            }));
        }
        let mut per_ip = std::collections::HashMap::new();
        let mut through = 0u32;
        for t in tasks {
            let (ip, ok) = t.await.unwrap();
            through += u32::from(ok);
            *per_ip.entry(ip).or_insert(0u32) += u32::from(ok);
        }
        assert_eq!(
            through, limit,
            "exactly failure_limit attempts reach the check"
        );
        let listed = stores[0].list(&ListQuery::all(), now).await.unwrap();
        for (ip, n) in per_ip {
            assert_eq!(
                failures_of(&listed, &ip),
                n,
                "{ip} holds only attempts let through"
            );
        }
    }
}

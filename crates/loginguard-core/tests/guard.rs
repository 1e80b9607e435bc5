//! The engine's rules, as a user of `Guard` sees them.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use loginguard_core::audit::{AuditKind, LogQuery};
use loginguard_core::record::{KeyVerdict, Limits, Release};
use loginguard_core::{
    Attempt, Criterion, Decision, Event, FakeClock, Field, Guard, Key, KeyFilter, KeyStatus,
    ListQuery, LockReason, MemoryStore, OnStoreError, Policy, Store, StoreError, StoreHealth,
    Verdict,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn attempt(user: &str, from: &str) -> Attempt {
    Attempt::new("POST", "/login").username(user).ip(ip(from))
}

fn guard(policy: Policy) -> (Arc<Guard>, FakeClock) {
    let clock = FakeClock::new();
    let store = Arc::new(MemoryStore::new().with_audit_log(10_000));
    let guard = Guard::builder(policy, store).clock(clock.clone()).build();
    (Arc::new(guard), clock)
}

/// Runs one attempt whose password is `ok`; returns whether the password was
/// checked and the final answer.
#[derive(Debug, PartialEq, Eq)]
enum Said {
    Allowed(Option<u32>),
    Locked(LockReason),
}

async fn login(guard: &Guard, a: Attempt, ok: bool) -> (bool, Said) {
    match guard.begin(a).await.unwrap() {
        Decision::Refused(l) => (false, Said::Locked(l.reason)),
        Decision::Proceed(t) => {
            if ok {
                let remaining = t.remaining();
                guard.success(t).await;
                (true, Said::Allowed(remaining))
            } else {
                match guard.failure(t).await {
                    Verdict::Allowed { remaining } => (true, Said::Allowed(remaining)),
                    Verdict::LockedOut(l) => (true, Said::Locked(l.reason)),
                    _ => unreachable!(),
                }
            }
        }
    }
}

async fn hammer(guard: Arc<Guard>, attempts: Vec<Attempt>) -> Vec<(Attempt, bool)> {
    let tasks: Vec<_> = attempts
        .into_iter()
        .map(|a| {
            let guard = guard.clone();
            tokio::spawn(async move {
                let (checked, _) = login(&guard, a.clone(), false).await;
                (a, checked)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_attempts_on_one_key_check_the_password_exactly_limit_times() {
    let (guard, _) = guard(Policy::builder().failure_limit(3).build().unwrap());
    let results = hammer(
        guard,
        (0..1_000)
            .map(|_| attempt("alice", "198.51.100.1"))
            .collect(),
    )
    .await;
    let checked = results.iter().filter(|(_, c)| *c).count();
    assert_eq!(checked, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_attempts_on_a_mix_of_keys_are_exact_per_key() {
    let (guard, _) = guard(
        Policy::builder()
            .failure_limit(3)
            .lockout_parameters(vec![Criterion::all_of([Field::Username, Field::Ip])])
            .build()
            .unwrap(),
    );
    let attempts: Vec<Attempt> = (0..1_000)
        .map(|i| attempt(&format!("user{}", i % 10), &format!("10.0.0.{}", i % 7)))
        .collect();
    let results = hammer(guard, attempts).await;
    let mut per_key = std::collections::HashMap::new();
    for (a, checked) in results {
        *per_key.entry((a.username.clone(), a.ip)).or_insert(0) += u32::from(checked);
    }
    assert_eq!(per_key.len(), 70);
    assert!(per_key.values().all(|&n| n == 3), "{per_key:?}");
}

#[tokio::test]
async fn the_failure_that_reaches_the_limit_is_answered_with_the_lockout() {
    let (guard, _) = guard(Policy::default());
    assert_eq!(
        login(&guard, attempt("a", "10.0.0.1"), false).await,
        (true, Said::Allowed(Some(2)))
    );
    assert_eq!(
        login(&guard, attempt("a", "10.0.0.1"), false).await,
        (true, Said::Allowed(Some(1)))
    );
    assert_eq!(
        login(&guard, attempt("a", "10.0.0.1"), false).await,
        (true, Said::Locked(LockReason::Locked))
    );
    // Refused before the password check, even with the right password.
    assert_eq!(
        login(&guard, attempt("a", "10.0.0.1"), true).await,
        (false, Said::Locked(LockReason::Locked))
    );
}

#[tokio::test]
async fn retry_after_is_the_time_remaining() {
    let (guard, clock) = guard(
        Policy::builder()
            .failure_limit(1)
            .cool_off(Duration::from_secs(600))
            .reset_cool_off_on_failure_during_lockout(false)
            .build()
            .unwrap(),
    );
    let Decision::Proceed(t) = guard.begin(attempt("a", "10.0.0.1")).await.unwrap() else {
        panic!("first attempt refused")
    };
    let Verdict::LockedOut(l) = guard.failure(t).await else {
        panic!("not locked")
    };
    assert_eq!(l.retry_after_secs(), Some(600));
    clock.advance(Duration::from_secs(240));
    let Decision::Refused(l) = guard.begin(attempt("a", "10.0.0.1")).await.unwrap() else {
        panic!("not refused")
    };
    assert_eq!(l.retry_after_secs(), Some(360));
    assert!(l.message.contains("6 minutes"), "{}", l.message);
    clock.advance(Duration::from_secs(361));
    assert!(login(&guard, attempt("a", "10.0.0.1"), true).await.0);
}

#[tokio::test]
async fn a_failure_during_a_lock_restarts_the_cool_off() {
    let (guard, clock) = guard(
        Policy::builder()
            .failure_limit(1)
            .cool_off(Duration::from_secs(60))
            .build()
            .unwrap(),
    );
    login(&guard, attempt("a", "10.0.0.1"), false).await;
    clock.advance(Duration::from_secs(50));
    assert!(!login(&guard, attempt("a", "10.0.0.1"), false).await.0);
    clock.advance(Duration::from_secs(50));
    assert!(
        !login(&guard, attempt("a", "10.0.0.1"), true).await.0,
        "still locked 100s after the first failure"
    );
    clock.advance(Duration::from_secs(61));
    assert!(login(&guard, attempt("a", "10.0.0.1"), true).await.0);
}

#[tokio::test]
async fn success_gives_the_attempt_back_and_reset_on_success_clears() {
    for reset in [false, true] {
        let (guard, _) = guard(Policy::builder().reset_on_success(reset).build().unwrap());
        login(&guard, attempt("a", "10.0.0.1"), false).await;
        login(&guard, attempt("a", "10.0.0.1"), false).await;
        login(&guard, attempt("a", "10.0.0.1"), true).await;
        // Without reset two failures remain, so one more try is left.
        let expected = if reset { Some(2) } else { Some(0) };
        let (_, r) = login(&guard, attempt("a", "10.0.0.1"), false).await;
        let remaining = match r {
            Said::Allowed(n) => n,
            Said::Locked(_) => Some(0),
        };
        assert_eq!(remaining, expected, "reset_on_success = {reset}");
    }
}

#[tokio::test]
async fn or_list_locks_on_either_field() {
    let (guard, _) = guard(
        Policy::builder()
            .lockout_parameters(vec![
                Criterion::one(Field::Username),
                Criterion::one(Field::Ip),
            ])
            .build()
            .unwrap(),
    );
    for i in 0..3 {
        login(&guard, attempt("victim", &format!("10.0.0.{i}")), false).await;
    }
    assert_eq!(
        login(&guard, attempt("victim", "10.9.9.9"), true).await,
        (false, Said::Locked(LockReason::Locked)),
        "username locked from any IP"
    );
    for u in ["x", "y", "z"] {
        login(&guard, attempt(u, "10.5.5.5"), false).await;
    }
    assert!(
        !login(&guard, attempt("fresh", "10.5.5.5"), true).await.0,
        "IP locked for any user"
    );
    assert!(login(&guard, attempt("fresh", "10.6.6.6"), true).await.0);
}

#[tokio::test]
async fn and_criterion_locks_only_the_pair() {
    let (guard, _) = guard(
        Policy::builder()
            .lockout_parameters(vec![Criterion::all_of([Field::Username, Field::Ip])])
            .build()
            .unwrap(),
    );
    for _ in 0..3 {
        login(&guard, attempt("alice", "10.0.0.1"), false).await;
    }
    assert!(!login(&guard, attempt("alice", "10.0.0.1"), true).await.0);
    assert!(login(&guard, attempt("alice", "10.0.0.2"), true).await.0);
    assert!(login(&guard, attempt("bob", "10.0.0.1"), true).await.0);
}

#[tokio::test]
async fn three_typos_a_month_apart_never_lock_with_a_window() {
    let (guard, clock) = guard(
        Policy::builder()
            .failure_window(Some(Duration::from_secs(24 * 3600)))
            .build()
            .unwrap(),
    );
    for _ in 0..10 {
        assert!(login(&guard, attempt("a", "10.0.0.1"), false).await.0);
        clock.advance(Duration::from_secs(30 * 24 * 3600));
    }
}

#[tokio::test]
async fn monitor_only_counts_and_reports_but_never_blocks() {
    let (guard, _) = guard(
        Policy::builder()
            .lock_out_at_failure(false)
            .build()
            .unwrap(),
    );
    let mut events = guard.subscribe();
    for _ in 0..10 {
        assert!(login(&guard, attempt("a", "10.0.0.1"), false).await.0);
    }
    let mut monitor_lockouts = 0;
    while let Ok(e) = events.try_recv() {
        if let Event::Lockout {
            monitor_only: true, ..
        } = e
        {
            monitor_lockouts += 1;
        }
    }
    assert!(monitor_lockouts >= 1);
    assert_eq!(guard.metrics().snapshot().rejections, 0);
}

#[tokio::test]
async fn allow_list_deny_list_and_only_allow_listed() {
    let (guard, _) = guard(
        Policy::builder()
            .allow_list(vec!["10.0.0.0/8".parse().unwrap()])
            .deny_list(vec!["192.0.2.0/24".parse().unwrap()])
            .build()
            .unwrap(),
    );
    for _ in 0..10 {
        assert!(
            login(&guard, attempt("a", "10.1.2.3"), false).await.0,
            "allow-listed never locked"
        );
    }
    assert_eq!(
        login(&guard, attempt("a", "192.0.2.5"), true).await,
        (false, Said::Locked(LockReason::DenyListed))
    );
    let (guard, _) = self::guard(
        Policy::builder()
            .allow_list(vec!["10.0.0.0/8".parse().unwrap()])
            .only_allow_listed(true)
            .build()
            .unwrap(),
    );
    assert_eq!(
        login(&guard, attempt("a", "203.0.113.1"), true).await,
        (false, Said::Locked(LockReason::NotAllowListed))
    );
    assert!(login(&guard, attempt("a", "10.0.0.1"), true).await.0);
}

#[tokio::test]
async fn never_lockout_get_lets_get_through() {
    let (guard, _) = guard(
        Policy::builder()
            .failure_limit(1)
            .never_lockout_get(true)
            .build()
            .unwrap(),
    );
    login(&guard, attempt("a", "10.0.0.1"), false).await;
    assert!(!login(&guard, attempt("a", "10.0.0.1"), true).await.0);
    let get = Attempt::new("GET", "/login").ip(ip("10.0.0.1"));
    assert!(login(&guard, get, true).await.0);
}

#[tokio::test]
async fn hooks_allow_list_a_request_and_choose_the_limit() {
    let clock = FakeClock::new();
    let guard = Guard::builder(Policy::default(), Arc::new(MemoryStore::new()))
        .clock(clock)
        .allow_if(|a| a.username.as_deref() == Some("never-lock"))
        .failure_limit_with(|a| {
            (a.username.as_deref() == Some("strict")).then_some(NonZeroU32::MIN)
        })
        .build();
    for _ in 0..5 {
        assert!(
            login(&guard, attempt("never-lock", "10.0.0.1"), false)
                .await
                .0
        );
    }
    assert_eq!(
        login(&guard, attempt("strict", "10.0.0.2"), false).await,
        (true, Said::Locked(LockReason::Locked))
    );
}

#[tokio::test]
async fn disabled_guard_does_nothing() {
    let (guard, _) = guard(
        Policy::builder()
            .enabled(false)
            .failure_limit(1)
            .build()
            .unwrap(),
    );
    for _ in 0..5 {
        assert!(login(&guard, attempt("a", "10.0.0.1"), false).await.0);
    }
    assert!(guard
        .store()
        .list(&ListQuery::all(), SystemTime::now())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn refused_attempts_count_on_other_keys_only_when_configured() {
    for count in [true, false] {
        let (guard, _) = guard(
            Policy::builder()
                .lockout_parameters(vec![
                    Criterion::one(Field::Username),
                    Criterion::one(Field::Ip),
                ])
                .reset_cool_off_on_failure_during_lockout(count)
                .build()
                .unwrap(),
        );
        for i in 0..3 {
            login(&guard, attempt("victim", &format!("10.0.0.{i}")), false).await;
        }
        // Refused on the username; does the IP key count it?
        login(&guard, attempt("victim", "10.7.7.7"), false).await;
        login(&guard, attempt("victim", "10.7.7.7"), false).await;
        let (checked, r) = login(&guard, attempt("other", "10.7.7.7"), false).await;
        assert!(checked);
        let locked_now = r == Said::Locked(LockReason::Locked);
        assert_eq!(locked_now, count, "count_during_lockout = {count}");
    }
}

#[tokio::test]
async fn case_insensitive_usernames_share_a_key_and_bad_ones_are_refused() {
    let (guard, _) = guard(
        Policy::builder()
            .lockout_parameters(vec![Criterion::one(Field::Username)])
            .username_case_insensitive(true)
            .build()
            .unwrap(),
    );
    for u in ["Alice", " alice", "ALICE "] {
        login(&guard, attempt(u, "10.0.0.1"), false).await;
    }
    assert!(!login(&guard, attempt("aLiCe", "10.0.0.9"), true).await.0);
    assert!(guard
        .begin(attempt(&"x".repeat(300), "10.0.0.1"))
        .await
        .is_err());
}

#[tokio::test]
async fn ipv6_attackers_are_grouped_by_prefix() {
    let (guard, _) = guard(Policy::builder().ipv6_prefix(64).build().unwrap());
    for i in 1..=3 {
        login(&guard, attempt("a", &format!("2001:db8::{i}")), false).await;
    }
    assert!(
        !login(&guard, attempt("a", "2001:db8::ffff:1"), true)
            .await
            .0
    );
    assert!(login(&guard, attempt("a", "2001:db8:0:1::1"), true).await.0);
}

#[tokio::test]
async fn progressive_cool_off_makes_each_lock_longer() {
    let (guard, clock) = guard(
        Policy::builder()
            .failure_limit(1)
            .cool_off(Duration::from_secs(60))
            .cool_off_progression(2.0, Some(Duration::from_secs(200)))
            .build()
            .unwrap(),
    );
    let mut waits = Vec::new();
    for _ in 0..4 {
        let Decision::Proceed(t) = guard.begin(attempt("a", "10.0.0.1")).await.unwrap() else {
            panic!("refused")
        };
        let Verdict::LockedOut(l) = guard.failure(t).await else {
            panic!("not locked")
        };
        let secs = l.retry_after_secs().unwrap();
        waits.push(secs);
        clock.advance(Duration::from_secs(secs));
    }
    assert_eq!(waits, vec![60, 120, 200, 200]);
}

#[tokio::test]
async fn scopes_count_separately() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let login_guard = Guard::new(Policy::default(), store.clone());
    let otp_guard = Guard::new(
        Policy::builder().scope("otp".into()).build().unwrap(),
        store,
    );
    for _ in 0..3 {
        login(&login_guard, attempt("a", "10.0.0.1"), false).await;
    }
    assert!(!login(&login_guard, attempt("a", "10.0.0.1"), true).await.0);
    assert!(login(&otp_guard, attempt("a", "10.0.0.1"), true).await.0);
}

#[tokio::test]
async fn events_reach_callbacks_and_channels() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let guard = Guard::builder(Policy::default(), Arc::new(MemoryStore::new()))
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build();
    let mut rx = guard.subscribe();
    for _ in 0..3 {
        login(&guard, attempt("a", "10.0.0.1"), false).await;
    }
    login(&guard, attempt("a", "10.0.0.1"), false).await;
    login(&guard, attempt("b", "10.0.0.2"), true).await;
    assert_eq!(
        guard.reset(&KeyFilter::all().ip("10.0.0.1")).await.unwrap(),
        1
    );
    let kinds: Vec<&str> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| match e {
            Event::Failure { .. } => "failure",
            Event::Lockout { .. } => "lockout",
            Event::Refused { .. } => "refused",
            Event::Success { .. } => "success",
            Event::Reset { .. } => "reset",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["failure", "failure", "failure", "lockout", "refused", "success", "reset"]
    );
    let mut from_channel = 0;
    while rx.try_recv().is_ok() {
        from_channel += 1;
    }
    assert_eq!(from_channel, kinds.len());
    let m = guard.metrics().snapshot();
    assert_eq!(
        (m.failures, m.lockouts, m.rejections, m.successes),
        (3, 1, 1, 1)
    );
}

#[tokio::test]
async fn audit_log_records_successes_and_failures_without_passwords() {
    let (guard, _) = guard(Policy::default());
    login(&guard, attempt("a", "10.0.0.1").user_agent("curl/8"), false).await;
    login(&guard, attempt("b", "10.0.0.2"), true).await;
    let log = guard.store().audit().unwrap();
    let failures = log
        .query(&LogQuery::all().kind(AuditKind::Failure))
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].username.as_deref(), Some("a"));
    assert_eq!(failures[0].user_agent.as_deref(), Some("curl/8"));
    let successes = log
        .query(&LogQuery::all().kind(AuditKind::Success))
        .await
        .unwrap();
    assert_eq!(successes.len(), 1);
}

/// A store that fails every call, to check `on_store_error`.
#[derive(Debug)]
struct Down;

#[async_trait]
impl Store for Down {
    async fn begin_tagged(
        &self,
        _: &Key,
        _: &Limits,
        _: Option<u64>,
        _: SystemTime,
    ) -> Result<KeyVerdict, StoreError> {
        Err(StoreError::Unavailable {
            message: "connection refused".into(),
            source: None,
        })
    }
    async fn release(
        &self,
        _: &Key,
        _: &Release,
        _: &Limits,
        _: SystemTime,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable {
            message: "connection refused".into(),
            source: None,
        })
    }
    async fn reset(&self, _: &KeyFilter) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable {
            message: "connection refused".into(),
            source: None,
        })
    }
    async fn list(&self, _: &ListQuery, _: SystemTime) -> Result<Vec<KeyStatus>, StoreError> {
        Err(StoreError::Unavailable {
            message: "connection refused".into(),
            source: None,
        })
    }
    async fn purge_expired(&self, _: SystemTime) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn health(&self) -> Result<StoreHealth, StoreError> {
        Err(StoreError::Unavailable {
            message: "connection refused".into(),
            source: None,
        })
    }
}

#[tokio::test]
async fn store_failure_fails_closed_by_default_and_open_when_asked() {
    let deny = Guard::new(Policy::default(), Arc::new(Down));
    assert_eq!(
        login(&deny, attempt("a", "10.0.0.1"), true).await,
        (false, Said::Locked(LockReason::StoreUnavailable))
    );
    let allow = Guard::new(
        Policy::builder()
            .on_store_error(OnStoreError::Allow)
            .build()
            .unwrap(),
        Arc::new(Down),
    );
    assert!(login(&allow, attempt("a", "10.0.0.1"), true).await.0);
    assert!(deny.metrics().snapshot().store_errors >= 1);
}

#[tokio::test]
async fn attempts_without_a_username_count_on_ip_criteria_only() {
    let (guard, _) = guard(
        Policy::builder()
            .lockout_parameters(vec![
                Criterion::one(Field::Username),
                Criterion::one(Field::Ip),
            ])
            .build()
            .unwrap(),
    );
    let no_user = || Attempt::new("POST", "/login").ip(ip("10.0.0.1"));
    assert_eq!(guard.keys_for(&no_user()).len(), 1);
    for _ in 0..3 {
        login(&guard, no_user(), false).await;
    }
    assert!(!login(&guard, no_user(), true).await.0);
}

#[tokio::test]
async fn refusals_of_a_locked_key_reach_the_failure_log_once_per_second() {
    let (guard, clock) = guard(Policy::default());
    for _ in 0..3 {
        login(&guard, attempt("a", "10.0.0.1"), false).await;
    }
    for _ in 0..100 {
        assert!(!login(&guard, attempt("a", "10.0.0.1"), true).await.0);
    }
    let log = guard.store().audit().unwrap();
    let refused =
        |entries: Vec<loginguard_core::AuditEntry>| entries.iter().filter(|e| e.locked_out).count();
    let q = LogQuery::all().kind(AuditKind::Failure);
    assert_eq!(refused(log.query(&q).await.unwrap()), 1);
    clock.advance(Duration::from_millis(1_000));
    login(&guard, attempt("a", "10.0.0.1"), true).await;
    login(&guard, attempt("a", "10.0.0.1"), true).await;
    assert_eq!(refused(log.query(&q).await.unwrap()), 2);
    assert_eq!(guard.metrics().snapshot().rejections, 102);
}

#[tokio::test(flavor = "current_thread")]
async fn expired_records_are_purged_by_later_attempts_without_an_operator() {
    let clock = FakeClock::new();
    let store = Arc::new(MemoryStore::new());
    let policy = Policy::builder()
        .failure_window(Some(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let guard = Guard::builder(policy, store.clone() as Arc<dyn Store>)
        .clock(clock.clone())
        .build();
    // A spray: one attempt from each of 200 fresh IPs.
    for i in 0..200u32 {
        let from = format!("10.0.{}.{}", i / 256, i % 256);
        let (checked, _) = login(&guard, attempt("alice", &from), false).await;
        assert!(checked);
    }
    tokio::task::yield_now().await;
    assert_eq!(store.len(), 200, "nothing has expired yet");
    // One window (and a purge interval) later, the next attempt starts a purge.
    clock.advance(Duration::from_secs(3600) + loginguard_core::PURGE_INTERVAL);
    login(&guard, attempt("alice", "10.9.9.9"), false).await;
    for _ in 0..100 {
        if store.len() == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(store.len(), 1, "only the newest attempt's key is left");
    // And again a window later: the purge keeps running by itself.
    for i in 0..10u32 {
        login(&guard, attempt("alice", &format!("10.1.0.{i}")), false).await;
    }
    clock.advance(Duration::from_secs(3601));
    login(&guard, attempt("alice", "10.9.9.8"), false).await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(store.len(), 1, "a second spray is purged too");
}

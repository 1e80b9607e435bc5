//! Repeated wrong passwords forgiven and sprayed passwords locked, as a
//! user of `Guard` sees them.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use loginguard_core::{
    Attempt, Clock, Criterion, Decision, FakeClock, Field, Guard, ListQuery, LockReason,
    MemoryStore, Policy, Secret, Store, Verdict,
};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

fn ip(n: u32) -> IpAddr {
    IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n))
}

fn attempt(user: &str, password: &str, from: IpAddr) -> Attempt {
    Attempt::new("POST", "/login")
        .username(user)
        .ip(from)
        .password(password)
}

fn guard(policy: Policy) -> (Arc<Guard>, Arc<MemoryStore>, FakeClock) {
    let clock = FakeClock::new();
    let store = Arc::new(MemoryStore::new());
    let guard = Guard::builder(policy, store.clone())
        .clock(clock.clone())
        .build();
    (Arc::new(guard), store, clock)
}

/// Whether the password was checked, and whether the answer was a lockout.
async fn login(guard: &Guard, a: Attempt, right: bool) -> (bool, bool) {
    match guard.begin(a).await.unwrap() {
        Decision::Refused(l) => {
            assert_eq!(l.reason, LockReason::Locked);
            (false, true)
        }
        Decision::Proceed(t) if right => {
            guard.success(t).await;
            (true, false)
        }
        Decision::Proceed(t) => {
            let locked = matches!(guard.failure(t).await, Verdict::LockedOut(_));
            (true, locked)
        }
    }
}

fn by_username(limit: u32) -> loginguard_core::PolicyBuilder {
    Policy::builder()
        .failure_limit(limit)
        .lockout_parameters(vec![Criterion::one(Field::Username)])
        .cool_off(Duration::from_secs(60))
}

#[tokio::test]
async fn a_stale_saved_password_never_locks_its_owner() {
    let policy = by_username(5)
        .secret(Some(Secret::new(SECRET).unwrap()))
        .ignore_repeated_password(true)
        .build()
        .unwrap();
    let (guard, _, _) = guard(policy);
    for i in 0..12 {
        let (checked, locked) = login(&guard, attempt("alice", "old-password", ip(1)), false).await;
        assert!(checked && !locked, "retry {i} of the old password");
    }
    assert_eq!(
        login(&guard, attempt("alice", "wonderland", ip(1)), true).await,
        (true, false),
        "her right password still gets in"
    );
}

#[tokio::test]
async fn distinct_wrong_passwords_still_lock_at_the_limit() {
    let policy = by_username(3)
        .secret(Some(Secret::new(SECRET).unwrap()))
        .ignore_repeated_password(true)
        .build()
        .unwrap();
    let (guard, _, _) = guard(policy);
    for (i, pw) in ["a", "a", "b", "a", "b"].into_iter().enumerate() {
        assert_eq!(
            login(&guard, attempt("bob", pw, ip(2)), false).await,
            (true, false),
            "{i}"
        );
    }
    assert_eq!(
        login(&guard, attempt("bob", "c", ip(2)), false).await,
        (true, true),
        "the third distinct wrong password locks"
    );
    assert_eq!(
        login(&guard, attempt("bob", "a", ip(2)), false).await,
        (false, true)
    );
}

#[tokio::test]
async fn without_a_secret_every_failure_counts() {
    let policy = by_username(3)
        .ignore_repeated_password(true)
        .spray_limit(Some(2))
        .build()
        .unwrap();
    assert!(!policy.needs_password());
    let (guard, _, _) = guard(policy);
    login(&guard, attempt("carol", "x", ip(3)), false).await;
    login(&guard, attempt("carol", "x", ip(3)), false).await;
    assert_eq!(
        login(&guard, attempt("carol", "x", ip(3)), false).await,
        (true, true)
    );
}

fn spray_policy(limit: u32) -> Policy {
    // One IP per attempt, by IP only: no per-key limit is ever reached.
    Policy::builder()
        .failure_limit(5)
        .secret(Some(Secret::new(SECRET).unwrap()))
        .spray_limit(Some(limit))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_password_sprayed_over_accounts_is_refused_on_the_next_one() {
    let (guard, store, clock) = guard(spray_policy(10));
    let mut n = 100;
    let mut next_ip = || {
        n += 1;
        ip(n)
    };
    // The same account failing the same password again counts once.
    for _ in 0..20 {
        login(&guard, attempt("user0", "123456", next_ip()), false).await;
    }
    for u in 1..9 {
        let (checked, _) = login(
            &guard,
            attempt(&format!("user{u}"), "123456", next_ip()),
            false,
        )
        .await;
        assert!(checked, "account {u}: below the spray limit");
    }
    assert_eq!(
        login(&guard, attempt("user9", "123456", next_ip()), false).await,
        (true, true),
        "the tenth account locks the password"
    );
    // alice's real password is the sprayed one: refused before the check.
    assert_eq!(
        login(&guard, attempt("alice", "123456", next_ip()), true).await,
        (false, true)
    );
    // Another password is not affected.
    assert_eq!(
        login(&guard, attempt("alice", "wonderland", next_ip()), true).await,
        (true, false)
    );
    // Lists show the password's key without its hash.
    let keys = store
        .list(&ListQuery::all().locked_only(true), clock.now())
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].key.is_spray());
    assert_eq!(keys[0].key.label(), "login/password=(hidden)");
    // spray_cool_off (1h by default) ends the lock.
    clock.advance(Duration::from_secs(3_601));
    assert_eq!(
        login(&guard, attempt("alice", "123456", next_ip()), true).await,
        (true, false)
    );
}

#[tokio::test]
async fn a_right_password_is_given_back_to_the_spray_count() {
    let (guard, _, _) = guard(spray_policy(2));
    // Two accounts whose password happens to be the same log in: no lock.
    for u in ["dave", "erin", "frank"] {
        assert_eq!(
            login(&guard, attempt(u, "sunshine", ip(7)), true).await,
            (true, false),
            "{u}"
        );
    }
    login(&guard, attempt("gina", "sunshine", ip(8)), false).await;
    assert_eq!(
        login(&guard, attempt("hank", "sunshine", ip(9)), false).await,
        (true, true)
    );
}

#[tokio::test]
async fn a_refused_attempt_does_not_count_on_the_spray_key() {
    // ip(1) is locked after one failure: its later attempts are refused
    // and their passwords never checked, so they must not count as spray.
    let policy = Policy::builder()
        .failure_limit(1)
        .secret(Some(Secret::new(SECRET).unwrap()))
        .spray_limit(Some(2))
        .build()
        .unwrap();
    let (guard, _, _) = guard(policy);
    login(&guard, attempt("ivy", "hunter2", ip(1)), false).await;
    for u in ["jack", "kim", "lee"] {
        assert_eq!(
            login(&guard, attempt(u, "hunter2", ip(1)), false).await,
            (false, true)
        );
    }
    assert_eq!(
        login(&guard, attempt("mia", "hunter2", ip(2)), true).await,
        (true, false),
        "one account failed the password: below the limit of 2"
    );
}

#[tokio::test]
async fn concurrent_sprays_check_at_most_the_limit_of_accounts() {
    let (guard, _, _) = guard(spray_policy(5));
    let tasks: Vec<_> = (0..1_000u32)
        .map(|i| {
            let guard = guard.clone();
            tokio::spawn(async move {
                let user = format!("acct{}", i % 200);
                let checked = login(&guard, attempt(&user, "letmein", ip(1_000 + i)), false)
                    .await
                    .0;
                (user, checked)
            })
        })
        .collect();
    let mut accounts = std::collections::BTreeSet::new();
    for t in tasks {
        let (user, checked) = t.await.unwrap();
        if checked {
            accounts.insert(user);
        }
    }
    assert_eq!(accounts.len(), 5, "{accounts:?}");
}

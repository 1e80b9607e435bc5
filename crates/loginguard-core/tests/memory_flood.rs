//! A flood of fresh keys against a small memory store, as a user of `Guard`
//! sees it: the guessed account keeps its count, fresh keys beyond the
//! bound are answered by `on_store_error`, and capacity comes back once the
//! flood's window has passed.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use loginguard_core::{
    Attempt, Criterion, Decision, FakeClock, Field, Guard, LockReason, MemoryStore, OnStoreError,
    Policy, Verdict,
};

const MAX_KEYS: usize = 32;

fn guard(on_error: OnStoreError) -> (Guard, FakeClock) {
    let policy = Policy::builder()
        .failure_limit(3)
        .failure_window(Some(Duration::from_secs(600)))
        .lockout_parameters(vec![
            Criterion::one(Field::Username),
            Criterion::one(Field::Ip),
        ])
        .on_store_error(on_error)
        .build()
        .unwrap();
    let clock = FakeClock::new();
    let store = Arc::new(MemoryStore::with_max_keys(MAX_KEYS));
    (
        Guard::builder(policy, store).clock(clock.clone()).build(),
        clock,
    )
}

fn attempt(user: &str, ip: IpAddr) -> Attempt {
    Attempt::new("POST", "/login").username(user).ip(ip)
}

fn fresh_ip(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))
}

/// One wrong password for `user` from `ip`: the verdict, or the reason it
/// was refused before the password check.
async fn wrong_password(guard: &Guard, user: &str, ip: IpAddr) -> Result<Verdict, LockReason> {
    match guard.begin(attempt(user, ip)).await.unwrap() {
        Decision::Proceed(ticket) => Ok(guard.failure(ticket).await),
        Decision::Refused(lockout) => Err(lockout.reason),
    }
}

/// Floods with `10 * MAX_KEYS` wrong passwords, each from a fresh IP for a
/// fresh username; returns how many reached the password check.
async fn flood(guard: &Guard, clock: &FakeClock, on_error: OnStoreError) -> usize {
    let mut checked = 0;
    for i in 0..(10 * MAX_KEYS as u32) {
        clock.advance(Duration::from_millis(5));
        match wrong_password(guard, &format!("user{i}"), fresh_ip(i)).await {
            Ok(_) => checked += 1,
            Err(reason) => {
                assert_eq!(on_error, OnStoreError::Deny);
                assert_eq!(reason, LockReason::StoreUnavailable);
            }
        }
    }
    checked
}

#[tokio::test]
async fn a_flood_of_fresh_keys_cannot_wipe_the_count_of_the_guessed_account() {
    for on_error in [OnStoreError::Deny, OnStoreError::Allow] {
        let (guard, clock) = guard(on_error);
        let home: IpAddr = "203.0.113.9".parse().unwrap();
        for _ in 0..2 {
            assert!(matches!(
                wrong_password(&guard, "alice", home).await,
                Ok(Verdict::Allowed { .. })
            ));
        }
        let checked = flood(&guard, &clock, on_error).await;
        match on_error {
            // alice's two keys hold 2 slots; each flood attempt needs 2 more.
            OnStoreError::Deny => assert_eq!(checked, (MAX_KEYS - 2) / 2),
            // Beyond the bound, attempts go through, uncounted on the keys
            // the store cannot take.
            OnStoreError::Allow => assert_eq!(checked, 10 * MAX_KEYS),
        }
        assert!(guard.metrics().snapshot().store_errors > 0);
        // The third failure on alice still reaches the limit. From a new
        // IP (a key the full store cannot take), deny refuses before the
        // password check and hands alice's count back untouched; allow
        // counts it on her username key, which the store tracks.
        let other: IpAddr = "198.51.100.7".parse().unwrap();
        let third = wrong_password(&guard, "alice", other).await;
        match on_error {
            OnStoreError::Deny => {
                assert_eq!(third, Err(LockReason::StoreUnavailable));
                let third = wrong_password(&guard, "alice", home).await;
                assert!(matches!(third, Ok(Verdict::LockedOut(_))), "{third:?}");
            }
            OnStoreError::Allow => {
                assert!(matches!(third, Ok(Verdict::LockedOut(_))), "{third:?}");
            }
        }
        assert_eq!(
            wrong_password(&guard, "alice", home).await,
            Err(LockReason::Locked)
        );
        // Her lock wins over the full store, from any IP.
        assert_eq!(
            wrong_password(&guard, "alice", other).await,
            Err(LockReason::Locked)
        );

        // After the window, the flood's records go and fresh keys count.
        clock.advance(Duration::from_secs(601));
        let fresh = wrong_password(&guard, "bob", fresh_ip(1_000_000)).await;
        assert!(
            matches!(fresh, Ok(Verdict::Allowed { remaining: Some(2) })),
            "{fresh:?}"
        );
    }
}

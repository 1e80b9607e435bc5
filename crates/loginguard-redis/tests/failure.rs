//! Store failure for real: a private `redis-server` on a free port is
//! killed and restarted. While it is down, `on_store_error = deny` refuses
//! within a bounded time (also when it hangs rather than dies) and `allow` lets attempts through; once it is back
//! the store recovers by itself. Skipped without `redis-server`.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use loginguard_core::{Attempt, Decision, Guard, LockReason, OnStoreError, Policy, Store, Verdict};
use loginguard_redis::{RedisOptions, RedisStore};
use support::Server;

fn attempt(user: &str) -> Attempt {
    Attempt::new("POST", "/login")
        .ip("203.0.113.9".parse().unwrap())
        .username(user)
}

fn guard(store: &Arc<dyn Store>, on_error: OnStoreError) -> Guard {
    let policy = Policy::builder()
        .failure_limit(3)
        .lockout_parameters(vec![loginguard_core::Criterion::one(
            loginguard_core::Field::Username,
        )])
        .on_store_error(on_error)
        .build()
        .unwrap();
    Guard::new(policy, store.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_is_answered_by_on_store_error_and_recovery_is_automatic() {
    if !support::redis_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let timeout = Duration::from_millis(500);
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::connect(
            &server.url(),
            RedisOptions::new()
                .prefix(support::random_prefix())
                .timeout(timeout),
        )
        .await
        .unwrap(),
    );
    let deny = guard(&store, OnStoreError::Deny);
    let allow = guard(&store, OnStoreError::Allow);
    assert!(matches!(
        deny.begin(attempt("alice")).await.unwrap(),
        Decision::Proceed(_)
    ));

    // A server that hangs (frozen, connections open) is as good as dead,
    // but only for the store timeout, not forever.
    server.freeze(true);
    let started = Instant::now();
    let decision = deny.begin(attempt("alice")).await.unwrap();
    let took = started.elapsed();
    server.freeze(false);
    assert!(
        matches!(&decision, Decision::Refused(l) if l.reason == LockReason::StoreUnavailable),
        "{decision:?}"
    );
    assert!(
        took >= timeout && took < timeout * 4,
        "refused after {took:?}"
    );

    server.kill();
    for _ in 0..3 {
        let started = Instant::now();
        match deny.begin(attempt("alice")).await.unwrap() {
            Decision::Refused(lockout) => assert_eq!(lockout.reason, LockReason::StoreUnavailable),
            Decision::Proceed(_) => panic!("deny must refuse while Redis is down"),
        }
        let took = started.elapsed();
        assert!(
            took < timeout * 4,
            "refused after {took:?}: not bounded by the store timeout"
        );
        let started = Instant::now();
        assert!(
            matches!(
                allow.begin(attempt("alice")).await.unwrap(),
                Decision::Proceed(_)
            ),
            "allow lets attempts through while Redis is down"
        );
        assert!(started.elapsed() < timeout * 4);
    }
    assert!(deny.metrics().snapshot().store_errors >= 3);

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match deny.begin(attempt("bob")).await.unwrap() {
            Decision::Proceed(ticket) => {
                deny.success(ticket).await;
                break;
            }
            Decision::Refused(_) => {
                assert!(Instant::now() < deadline, "the store did not recover");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // Counting works again: three failures lock bob (the restarted server
    // came back empty).
    let mut last = None;
    for _ in 0..3 {
        let Decision::Proceed(ticket) = deny.begin(attempt("bob")).await.unwrap() else {
            panic!("bob is not locked yet");
        };
        last = Some(deny.failure(ticket).await);
    }
    assert!(matches!(last, Some(Verdict::LockedOut(_))), "{last:?}");
    match deny.begin(attempt("bob")).await.unwrap() {
        Decision::Refused(lockout) => assert_eq!(lockout.reason, LockReason::Locked),
        Decision::Proceed(_) => panic!("bob must be locked"),
    }
}

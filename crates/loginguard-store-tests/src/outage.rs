//! The outage drill: a bounded stream of attempts through a [`Guard`] while
//! the store's server is stopped and started again on the same port.
//!
//! A store crate wraps its private server in [`Server`] and calls
//! [`drill`]; it checks that no attempt panics or outlasts the store
//! timeout (once per store call it makes, plus a margin), that `on_store_error = "deny"` refuses every attempt made while
//! the server is down, that attempts get through again by themselves once
//! it is back, and that counting is exact again afterwards.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loginguard_core::{
    Attempt, Criterion, Decision, Field, Guard, LockReason, OnStoreError, Policy, Store,
};

/// A store's server that the drill may stop and start.
pub trait Server: Send {
    /// Stops the server (as a crash would) and returns once it is gone.
    fn stop(&mut self);
    /// Starts it again on the same port and returns once it answers.
    fn start(&mut self);
}

/// Concurrent tasks in the stream.
pub const TASKS: usize = 8;
/// Most attempts one task makes.
pub const MAX_PER_TASK: usize = 5_000;
/// Pause between two attempts of one task.
pub const PAUSE: Duration = Duration::from_millis(5);
/// How long the server stays down.
pub const OUTAGE: Duration = Duration::from_secs(2);
/// Extra time allowed beyond the store timeout on a loaded machine.
pub const MARGIN: Duration = Duration::from_millis(1_500);
/// Longest wait for the first attempt to get through after the restart.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(20);

/// What the drill saw.
#[derive(Debug, Clone)]
pub struct Report {
    /// Attempts that got through before the server was stopped.
    pub before: usize,
    /// Attempts begun and answered while the server was down.
    pub during: usize,
    /// The median answer (`begin`) while the server was down.
    pub median_during: Duration,
    /// The slowest answer (`begin`) while the server was down.
    pub slowest_during: Duration,
    /// The slowest `begin` of the whole stream (one store call: one key).
    pub slowest_begin: Duration,
    /// The slowest `success` of the whole stream (two store calls: the
    /// release and the access log, where the store keeps one).
    pub slowest_success: Duration,
    /// From the restart command to the end of the first attempt that got
    /// through again.
    pub recovery_from_restart: Duration,
    /// From the server answering again (the restart command returned) to
    /// the end of the first attempt that got through.
    pub recovery_from_up: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    begin: Duration,
    settle: Duration,
    refused: Option<LockReason>,
}

impl Sample {
    fn end(&self) -> Instant {
        self.at + self.begin
    }
}

fn guard(store: Arc<dyn Store>) -> Arc<Guard> {
    let policy = Policy::builder()
        .failure_limit(3)
        .lockout_parameters(vec![Criterion::one(Field::Username)])
        .on_store_error(OnStoreError::Deny)
        .build()
        .expect("drill policy");
    Arc::new(Guard::new(policy, store))
}

fn attempt(user: &str) -> Attempt {
    Attempt::new("POST", "/login")
        .ip("203.0.113.9".parse().expect("ip"))
        .username(user)
}

/// Runs the drill on `store`, whose calls are bounded by `timeout`, and
/// asserts its rules (see the module). Needs a multi-threaded runtime: the
/// server is stopped and started on the test's own thread.
pub async fn drill(store: Arc<dyn Store>, timeout: Duration, server: &mut dyn Server) -> Report {
    let guard = guard(store);
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let proceeded = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (guard, samples, proceeded, stop) = (
                guard.clone(),
                samples.clone(),
                proceeded.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                for i in 0..MAX_PER_TASK {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let at = Instant::now();
                    let decision = guard
                        .begin(attempt(&format!("u{task}_{i}")))
                        .await
                        .expect("a valid attempt");
                    let begin = at.elapsed();
                    let mut sample = Sample {
                        at,
                        begin,
                        settle: Duration::ZERO,
                        refused: None,
                    };
                    match decision {
                        Decision::Proceed(ticket) => {
                            let settle = Instant::now();
                            guard.success(ticket).await;
                            sample.settle = settle.elapsed();
                            proceeded.fetch_add(1, Ordering::Relaxed);
                        }
                        Decision::Refused(lockout) => sample.refused = Some(lockout.reason),
                    }
                    samples.lock().expect("samples").push(sample);
                    tokio::time::sleep(PAUSE).await;
                }
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(20);
    while proceeded.load(Ordering::Relaxed) < 50 {
        assert!(
            Instant::now() < deadline,
            "the stream never got through before the outage"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::task::block_in_place(|| server.stop());
    let down = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    let restart = Instant::now();
    tokio::task::block_in_place(|| server.start());
    let up = Instant::now();

    let first_through = loop {
        let found = samples
            .lock()
            .expect("samples")
            .iter()
            .filter(|s| s.at >= up && s.refused.is_none())
            .map(Sample::end)
            .min();
        if let Some(end) = found {
            break end;
        }
        assert!(
            up.elapsed() < RECOVERY_LIMIT,
            "no attempt got through within {RECOVERY_LIMIT:?} of the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("no attempt panics");
    }

    let samples = samples.lock().expect("samples").clone();
    let slowest_begin = samples.iter().map(|s| s.begin).max().unwrap_or_default();
    assert!(
        slowest_begin <= timeout + MARGIN,
        "a begin took {slowest_begin:?}: not bounded by the store timeout {timeout:?}"
    );
    let slowest_success = samples.iter().map(|s| s.settle).max().unwrap_or_default();
    assert!(
        slowest_success <= 2 * timeout + MARGIN,
        "a success took {slowest_success:?}: not bounded by two store timeouts of {timeout:?}"
    );
    let before = samples
        .iter()
        .filter(|s| s.end() <= down && s.refused.is_none())
        .count();
    let outage: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= down && s.end() <= restart)
        .collect();
    assert!(
        outage.len() >= 20,
        "only {} attempts during the outage",
        outage.len()
    );
    for s in &outage {
        assert_eq!(
            s.refused,
            Some(LockReason::StoreUnavailable),
            "on_store_error = deny refuses every attempt while the store is down"
        );
    }
    let mut during: Vec<Duration> = outage.iter().map(|s| s.begin).collect();
    during.sort();

    // Counting is exact again: of 40 concurrent wrong passwords on one
    // account, exactly `failure_limit` reach the password check.
    let tries: Vec<_> = (0..40)
        .map(|_| {
            let guard = guard.clone();
            tokio::spawn(async move {
                match guard.begin(attempt("victim")).await.expect("valid") {
                    Decision::Proceed(ticket) => {
                        guard.failure(ticket).await;
                        None
                    }
                    Decision::Refused(lockout) => Some(lockout.reason),
                }
            })
        })
        .collect();
    let mut checked = 0;
    for t in tries {
        match t.await.expect("no attempt panics") {
            None => checked += 1,
            Some(reason) => assert_eq!(reason, LockReason::Locked),
        }
    }
    assert_eq!(checked, 3, "exactly failure_limit attempts are checked");

    Report {
        before,
        during: outage.len(),
        median_during: during[during.len() / 2],
        slowest_during: during[during.len() - 1],
        slowest_begin,
        slowest_success,
        recovery_from_restart: first_through.saturating_duration_since(restart),
        recovery_from_up: first_through.saturating_duration_since(up),
    }
}

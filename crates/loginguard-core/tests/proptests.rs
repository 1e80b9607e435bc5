//! Random sequences of attempts, outcomes, clock moves and resets: the
//! engine must agree with a plain reference model of DESIGN.md's rules.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use loginguard_core::{
    Attempt, Criterion, Decision, FakeClock, Field, Guard, KeyFilter, MemoryStore, Policy, Verdict,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Try { user: u8, ok: bool },
    Wait(u64),
    Reset(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, prop::bool::weighted(0.2)).prop_map(|(user, ok)| Op::Try { user, ok }),
        3 => (0u64..40).prop_map(Op::Wait),
        1 => (0u8..3).prop_map(Op::Reset),
    ]
}

#[derive(Debug, Clone)]
struct Settings {
    limit: u32,
    cool_off: Option<u64>,
    multiplier: f64,
    max: Option<u64>,
    window: Option<u64>,
    count_during_lockout: bool,
    reset_on_success: bool,
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        1u32..5,
        prop::option::of(5u64..60),
        prop_oneof![Just(1.0), Just(2.0)],
        prop::option::of(20u64..200),
        prop::option::of(10u64..100),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(limit, cool_off, multiplier, max, window, count_during_lockout, reset_on_success)| {
                Settings {
                    limit,
                    cool_off,
                    multiplier,
                    max,
                    window,
                    count_during_lockout,
                    reset_on_success,
                }
            },
        )
}

/// The rules in their plainest form: every counted failure is remembered,
/// and a lock is a start plus an optional end.
#[derive(Debug, Default, Clone)]
struct ModelKey {
    failures: Vec<u64>,
    lock: Option<Option<u64>>,
    locks: u32,
}

#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Refused,
    Allowed(u32),
    LockedOut,
    LoggedIn,
}

fn cool_off_secs(s: &Settings, nth: u32) -> Option<u64> {
    let base = s.cool_off? as f64;
    let mut d = base * s.multiplier.powi(nth as i32 - 1);
    if let Some(max) = s.max {
        d = d.min(max as f64);
    }
    Some(d as u64)
}

impl ModelKey {
    fn live(&self, s: &Settings, now: u64) -> usize {
        self.failures
            .iter()
            .filter(|&&t| s.window.is_none_or(|w| t + w > now))
            .count()
    }

    fn locked(&self, now: u64) -> bool {
        matches!(self.lock, Some(None)) || matches!(self.lock, Some(Some(end)) if end > now)
    }

    fn attempt(&mut self, s: &Settings, now: u64, ok: bool) -> Answer {
        if self.locked(now) {
            if s.count_during_lockout {
                self.failures.push(now);
                if let Some(Some(_)) = self.lock {
                    self.lock = Some(cool_off_secs(s, self.locks.max(1)).map(|c| now + c));
                }
            }
            return Answer::Refused;
        }
        if self.lock.is_some() {
            self.lock = None;
            self.failures.clear();
        }
        self.failures.push(now);
        let count = self.live(s, now) as u32;
        let locks_now = count >= s.limit;
        if locks_now {
            self.locks += 1;
            self.lock = Some(cool_off_secs(s, self.locks).map(|c| now + c));
        }
        if ok {
            if s.reset_on_success {
                *self = ModelKey::default();
            } else {
                if let Some(pos) = self.failures.iter().rposition(|&t| t == now) {
                    self.failures.remove(pos);
                }
                if locks_now && (self.live(s, now) as u32) < s.limit {
                    self.lock = None;
                    self.locks -= 1;
                }
            }
            Answer::LoggedIn
        } else if locks_now {
            Answer::LockedOut
        } else {
            Answer::Allowed(s.limit - count)
        }
    }
}

fn run(s: Settings, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut builder = Policy::builder()
            .failure_limit(s.limit)
            .failure_window(s.window.map(Duration::from_secs))
            .cool_off_progression(s.multiplier, s.max.map(Duration::from_secs))
            .reset_cool_off_on_failure_during_lockout(s.count_during_lockout)
            .reset_on_success(s.reset_on_success)
            .lockout_parameters(vec![Criterion::one(Field::Username)]);
        if let Some(c) = s.cool_off {
            builder = builder.cool_off(Duration::from_secs(c));
        }
        let clock = FakeClock::new();
        let guard = Guard::builder(builder.build().unwrap(), Arc::new(MemoryStore::new()))
            .clock(clock.clone())
            .build();
        let mut model: HashMap<u8, ModelKey> = HashMap::new();
        let mut now = 0u64;
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Wait(secs) => {
                    now += secs;
                    clock.advance(Duration::from_secs(secs));
                }
                Op::Reset(user) => {
                    model.remove(&user);
                    guard
                        .reset(&KeyFilter::all().username(format!("u{user}")))
                        .await
                        .unwrap();
                }
                Op::Try { user, ok } => {
                    let expected = model.entry(user).or_default().attempt(&s, now, ok);
                    let a = Attempt::new("POST", "/login").username(format!("u{user}"));
                    let got = match guard.begin(a).await.unwrap() {
                        Decision::Refused(_) => Answer::Refused,
                        Decision::Proceed(t) if ok => {
                            guard.success(t).await;
                            Answer::LoggedIn
                        }
                        Decision::Proceed(t) => match guard.failure(t).await {
                            Verdict::Allowed { remaining } => Answer::Allowed(remaining.unwrap()),
                            Verdict::LockedOut(_) => Answer::LockedOut,
                            _ => unreachable!(),
                        },
                    };
                    prop_assert_eq!(got, expected, "step {} at t={}s", i, now);
                }
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn engine_agrees_with_the_reference_model(s in settings(), ops in prop::collection::vec(op(), 1..80)) {
        run(s, ops)?;
    }
}

//! Time as an input: the engine reads a [`Clock`], so tests move a fake clock
//! instead of sleeping.
//!
//! ```
//! use std::time::Duration;
//! use loginguard_core::{Clock, FakeClock};
//!
//! let clock = FakeClock::new();
//! let start = clock.now();
//! clock.advance(Duration::from_secs(90));
//! assert_eq!(clock.now().duration_since(start).unwrap(), Duration::from_secs(90));
//! ```

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::record::{duration_ms, from_ms, to_ms};

/// A source of the current time.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct FakeClock {
    ms: Arc<AtomicI64>,
}

impl Default for FakeClock {
    fn default() -> Self {
        FakeClock::new()
    }
}

impl FakeClock {
    /// A clock standing at 2030-01-01T00:00:00Z.
    pub fn new() -> FakeClock {
        FakeClock::at(from_ms(1_893_456_000_000))
    }

    /// A clock standing at `t` (millisecond precision).
    pub fn at(t: SystemTime) -> FakeClock {
        FakeClock {
            ms: Arc::new(AtomicI64::new(to_ms(t))),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.ms.fetch_add(duration_ms(d), Ordering::SeqCst);
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: SystemTime) {
        self.ms.store(to_ms(t), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        from_ms(self.ms.load(Ordering::SeqCst))
    }
}

//! The Redis store's record value: any record, under any limits, encodes
//! to a (version 2) value that decodes to it, with the expiry the limits
//! give and a TTL the store can set; any text, version 1 and 2 values
//! among them, either decodes (to a record that round-trips) or is
//! refused, never a panic.
#![no_main]

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use loginguard_core::record::{KeyRecord, Limits};
use loginguard_redis::fuzzing::{decode, encode, MIN_TTL_MS};

/// Times within about 1100 years of the epoch, as the store's clock
/// gives them (the TTL is computed against now).
const MAX_TIME_MS: i64 = 1 << 45;

#[derive(Debug, Arbitrary)]
struct Input {
    failures: Vec<u64>,
    locked: bool,
    locked_until: Option<u64>,
    lock_count: u32,
    updated_at: u64,
    refused: u32,
    tags: Vec<(u64, u64)>,
    now: u64,
    failure_limit: u32,
    failure_window_s: Option<u32>,
    cool_off_s: Option<u32>,
    multiplier: u8,
    cool_off_max_s: Option<u32>,
    retention_ms: u32,
}

fn time(t: u64) -> i64 {
    i64::try_from(t % MAX_TIME_MS.unsigned_abs()).unwrap_or(0)
}

fn secs(s: Option<u32>) -> Option<Duration> {
    s.map(|s| Duration::from_secs(u64::from(s)))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some((record, _expires)) = decode(text) {
            let limits = Limits::new(5);
            let (again, _) = encode(&record, &limits, record.updated_at, 1);
            let (decoded, _) = decode(&again).unwrap_or_else(|| panic!("{again:?}"));
            assert_eq!(decoded, record, "{text:?}");
        }
    }

    let mut u = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut u) else {
        return;
    };
    let record = KeyRecord {
        failures: input.failures.iter().copied().map(time).collect(),
        locked: input.locked,
        locked_until: input.locked_until.map(time),
        lock_count: input.lock_count,
        updated_at: time(input.updated_at),
        refused: input.refused,
        tags: input.tags.iter().map(|&(t, tag)| (time(t), tag)).collect(),
    };
    let limits = Limits::new(input.failure_limit)
        .with_failure_window(secs(input.failure_window_s))
        .with_cool_off(secs(input.cool_off_s))
        .with_progression(
            1.0 + f64::from(input.multiplier) / 16.0,
            secs(input.cool_off_max_s),
        );
    let now = time(input.now);
    let retention = i64::from(input.retention_ms.max(1));
    let (value, ttl) = encode(&record, &limits, now, retention);
    assert!(value.starts_with("2|"), "{value:?}");
    let (decoded, expires) = decode(&value).unwrap_or_else(|| panic!("{value:?}"));
    assert_eq!(decoded, record, "{value:?}");
    assert_eq!(expires, record.expires_at(&limits), "{value:?}");
    match expires {
        Some(_) => assert!(ttl >= MIN_TTL_MS, "TTL {ttl} for {value:?}"),
        None => assert_eq!(ttl, retention),
    }
});

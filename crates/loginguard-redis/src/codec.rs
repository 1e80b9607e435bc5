//! Redis key names and the record format shared with the Lua scripts.
//!
//! A lockout key with id `login/ip=10.0.0.1` under prefix `loginguard` is
//! the Redis key `loginguard:{login/ip=10.0.0.1}`: the whole id is the hash
//! tag (ids never contain `{` or `}`), so its record has one slot. The value
//! is `2|locked|until|lock_count|updated_at|expires_at|refused|t1:tag1,…|f1,f2,…`
//! (times in ms since the epoch, empty for none; tags in 16 hex digits),
//! written only by `record.lua` (and, for a new key, by [`encode`]).
//! Version 1 values (`1|…|f1,f2,…`, no refusals and no tags) are still read.

use loginguard_core::record::{KeyRecord, Limits, Tag};
use loginguard_core::stored;

/// A tag as the scripts compare it ([`stored::tag_hex`]); `""` for none.
pub(crate) fn tag_arg(tag: Option<Tag>) -> String {
    tag.map(stored::tag_hex).unwrap_or_default()
}

/// The Redis key of a lockout key id.
pub(crate) fn redis_key(prefix: &str, id: &str) -> String {
    let mut key = String::with_capacity(prefix.len() + id.len() + 3);
    key.push_str(prefix);
    key.push_str(":{");
    key.push_str(id);
    key.push('}');
    key
}

/// The lockout key id inside a Redis key of this prefix, if it is one.
pub(crate) fn key_id<'a>(prefix: &str, redis_key: &'a str) -> Option<&'a str> {
    redis_key
        .strip_prefix(prefix)?
        .strip_prefix(":{")?
        .strip_suffix('}')
}

/// A `SCAN … MATCH` pattern for every record of this prefix.
pub(crate) fn scan_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 4);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str(":{*");
    pattern
}

/// A decoded record and when it expires (ms; `None`: never by itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub(crate) record: KeyRecord,
    pub(crate) expires_at: Option<i64>,
}

/// Decodes a record value; `None` when it is not in the expected format.
pub(crate) fn decode(value: &str) -> Option<Stored> {
    let parts: Vec<&str> = value.split('|').collect();
    let (locked, until, count, updated, expires, refused, tags, failures) = match parts.as_slice() {
        ["1", locked, until, count, updated, expires, failures] => (
            *locked, *until, *count, *updated, *expires, "0", "", *failures,
        ),
        ["2", locked, until, count, updated, expires, refused, tags, failures] => (
            *locked, *until, *count, *updated, *expires, *refused, *tags, *failures,
        ),
        _ => return None,
    };
    let opt = |s: &str| -> Option<Option<i64>> {
        if s.is_empty() {
            Some(None)
        } else {
            s.parse().ok().map(Some)
        }
    };
    Some(Stored {
        record: KeyRecord {
            failures: stored::decode_times(failures)?,
            locked: locked == "1",
            locked_until: opt(until)?,
            lock_count: count.parse().ok()?,
            updated_at: updated.parse().ok()?,
            refused: refused.parse().ok()?,
            tags: stored::decode_tags(tags)?,
        },
        expires_at: opt(expires)?,
    })
}

/// A TTL is never shorter than this (ms), as in `record.lua`.
pub(crate) const MIN_TTL_MS: i64 = 1000;

/// The stored form of `rec` and its TTL in ms (`retention_ms` when it
/// never expires by itself), exactly as `record.lua` writes them.
pub(crate) fn encode(
    rec: &KeyRecord,
    limits: &Limits,
    now: i64,
    retention_ms: i64,
) -> (String, i64) {
    let expires = rec.expires_at(limits);
    let ttl = expires.map_or(retention_ms, |e| e.saturating_sub(now).max(MIN_TTL_MS));
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let value = format!(
        "2|{}|{}|{}|{}|{}|{}|{}|{}",
        u8::from(rec.locked),
        opt(rec.locked_until),
        rec.lock_count,
        rec.updated_at,
        opt(expires),
        rec.refused,
        stored::encode_tags(&rec.tags),
        stored::encode_times(&rec.failures)
    );
    (value, ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_round_trip() {
        let k = redis_key("lg", "login/username=a%7Bb");
        assert_eq!(k, "lg:{login/username=a%7Bb}");
        assert_eq!(key_id("lg", &k), Some("login/username=a%7Bb"));
        assert_eq!(key_id("lgx", &k), None);
        assert_eq!(key_id("l", &k), None);
    }

    #[test]
    fn scan_patterns_escape_glob_characters() {
        assert_eq!(scan_pattern("a*b?[c]"), "a\\*b\\?\\[c\\]:{*");
    }

    #[test]
    fn encoded_records_decode_to_themselves() {
        let limits = Limits::new(1).with_cool_off(Some(std::time::Duration::from_secs(60)));
        let mut rec = KeyRecord::default();
        let limits = limits.with_remember(3);
        loginguard_core::record::begin(&mut rec, &limits, Some(0xab), 1_700_000_000_000);
        let (value, ttl) = encode(&rec, &limits, 1_700_000_000_000, 5);
        assert_eq!(
            value,
            "2|1|1700000060000|1|1700000000000|1700000060000|0|1700000000000:00000000000000ab|1700000000000"
        );
        assert_eq!(ttl, 60_000);
        let back = decode(&value).unwrap();
        assert_eq!(back.record, rec);
        let forever = Limits::new(3);
        let mut rec = KeyRecord::default();
        loginguard_core::record::begin(&mut rec, &forever, None, 7);
        assert_eq!(
            encode(&rec, &forever, 7, 5).1,
            5,
            "no expiry: the retention"
        );
    }

    #[test]
    fn records_decode() {
        let s = decode("1|1|1700000060000|2|1700000000000||1699999999000,1700000000000").unwrap();
        assert!(s.record.locked);
        assert_eq!(s.record.locked_until, Some(1_700_000_060_000));
        assert_eq!(s.record.lock_count, 2);
        assert_eq!(
            s.record.failures,
            vec![1_699_999_999_000, 1_700_000_000_000]
        );
        assert_eq!(s.expires_at, None);
        let s = decode("1|0||0|5|15|").unwrap();
        assert!(s.record.failures.is_empty());
        assert_eq!(s.expires_at, Some(15));
        assert!(decode("2|0||0|5|15|").is_none());
        let s = decode("2|1||1|5||4|3:ffffffffffffffff|3").unwrap();
        assert_eq!(
            (s.record.refused, s.record.tags.clone()),
            (4, vec![(3, u64::MAX)])
        );
        assert!(decode("2|1||1|5||4|3:fff|3").is_none());
        assert!(
            decode("2|1||1|5||4|3:FFFFFFFFFFFFFFFF|3").is_none(),
            "the scripts compare tags as lower-case text"
        );
        assert!(decode("3|1||1|5||4||3").is_none());
        assert!(decode("1|0|x|0|5|15|").is_none());
    }
}

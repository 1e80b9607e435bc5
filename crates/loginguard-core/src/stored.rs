//! The text form in which stores keep a record's lists: failure times as
//! comma-separated milliseconds (`t1,t2`) and remembered tags as
//! `time:tag` pairs (`t1:00000000000000ab,t2:…`), oldest first, each tag in
//! 16 lower-case hex digits (the form the Redis scripts compare as text).
//! Decoding is strict: anything else is `None`, never guessed at.
//!
//! ```
//! use loginguard_core::stored::{decode_tags, encode_tags};
//!
//! let text = encode_tags(&[(5, 0xab)]);
//! assert_eq!(text, "5:00000000000000ab");
//! assert_eq!(decode_tags(&text), Some(vec![(5, 0xab)]));
//! assert_eq!(decode_tags("5:AB"), None);
//! ```

use std::fmt::Write;

use crate::record::Tag;

/// A tag as stored: 16 lower-case hex digits.
pub fn tag_hex(tag: Tag) -> String {
    format!("{tag:016x}")
}

/// Failure times as stored: `t1,t2`, empty for none.
pub fn encode_times(times: &[i64]) -> String {
    let mut out = String::with_capacity(times.len() * 14);
    for (i, t) in times.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{t}");
    }
    out
}

/// Failure times written by [`encode_times`].
pub fn decode_times(text: &str) -> Option<Vec<i64>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(|t| t.parse().ok()).collect()
}

/// Remembered tags as stored: `time:tag,…`, empty for none.
pub fn encode_tags(tags: &[(i64, Tag)]) -> String {
    let mut out = String::with_capacity(tags.len() * 31);
    for (i, (t, tag)) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{t}:{tag:016x}");
    }
    out
}

/// Tags written by [`encode_tags`].
pub fn decode_tags(text: &str) -> Option<Vec<(i64, Tag)>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|pair| {
            let (t, tag) = pair.split_once(':')?;
            if tag.len() != 16 || !tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return None;
            }
            Some((t.parse().ok()?, Tag::from_str_radix(tag, 16).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_anything_else_is_refused() {
        for times in [vec![], vec![0], vec![-5, 1_700_000_000_000, i64::MAX]] {
            assert_eq!(decode_times(&encode_times(&times)), Some(times));
        }
        assert_eq!(decode_times("1,x"), None);
        for tags in [
            vec![],
            vec![(0, 0)],
            vec![(-5, u64::MAX), (1_700_000_000_000, 42)],
        ] {
            assert_eq!(decode_tags(&encode_tags(&tags)), Some(tags));
        }
        for bad in [
            "1",
            "1:",
            "x:0000000000000000",
            "1:00000000000000001",
            "1:+000000000000000",
            "1:FFFFFFFFFFFFFFFF",
        ] {
            assert_eq!(decode_tags(bad), None, "{bad}");
        }
        assert_eq!(tag_hex(0xab), "00000000000000ab");
    }
}

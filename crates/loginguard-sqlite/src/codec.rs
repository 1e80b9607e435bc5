//! Turning a key's row into a [`KeyRecord`] and back.
//!
//! Failure times are kept as comma-separated milliseconds, oldest first: at
//! most `failure_limit` of them, so the text stays short. Tags are kept the
//! same way as `time:tag` pairs, the tag in 16 hex digits.

use loginguard_core::record::{KeyRecord, Tag};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::error::SqliteError;

/// Reads key rows in the column order [`record_from_row`] expects; the
/// caller appends the ids and the closing parenthesis.
pub(crate) const SELECT_RECORDS: &str =
    "SELECT id, failures, locked, locked_until, lock_count, updated_at, refused, tags \
     FROM loginguard_keys WHERE id IN (";

/// Encodes failure times.
pub(crate) fn encode_failures(failures: &[i64]) -> String {
    let mut out = String::with_capacity(failures.len() * 14);
    for (i, t) in failures.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&t.to_string());
    }
    out
}

/// Decodes failure times written by [`encode_failures`].
pub(crate) fn decode_failures(text: &str) -> Option<Vec<i64>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(|t| t.parse().ok()).collect()
}

/// Encodes remembered tags.
pub(crate) fn encode_tags(tags: &[(i64, Tag)]) -> String {
    let mut out = String::with_capacity(tags.len() * 31);
    for (i, (t, tag)) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("{t}:{tag:016x}"));
    }
    out
}

/// Decodes tags written by [`encode_tags`].
pub(crate) fn decode_tags(text: &str) -> Option<Vec<(i64, Tag)>> {
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

/// Reads a row fetched by [`SELECT_RECORDS`].
pub(crate) fn record_from_row(row: &SqliteRow, id: &str) -> Result<KeyRecord, SqliteError> {
    let corrupt = |what: String| SqliteError::Corrupt {
        id: id.to_owned(),
        what,
    };
    let get_err = |e: sqlx::Error| corrupt(e.to_string());
    let failures: String = row.try_get(1).map_err(get_err)?;
    let locked: bool = row.try_get(2).map_err(get_err)?;
    let locked_until: Option<i64> = row.try_get(3).map_err(get_err)?;
    let lock_count: i64 = row.try_get(4).map_err(get_err)?;
    let updated_at: i64 = row.try_get(5).map_err(get_err)?;
    let refused: i64 = row.try_get(6).map_err(get_err)?;
    let tags: String = row.try_get(7).map_err(get_err)?;
    Ok(KeyRecord {
        failures: decode_failures(&failures)
            .ok_or_else(|| corrupt(format!("bad failure times {failures:?}")))?,
        locked,
        locked_until,
        lock_count: u32::try_from(lock_count).unwrap_or(u32::MAX),
        updated_at,
        refused: u32::try_from(refused).unwrap_or(u32::MAX),
        tags: decode_tags(&tags).ok_or_else(|| corrupt(format!("bad tags {tags:?}")))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_times_round_trip() {
        for times in [vec![], vec![0], vec![-5, 1_700_000_000_000, i64::MAX]] {
            assert_eq!(decode_failures(&encode_failures(&times)), Some(times));
        }
        assert_eq!(decode_failures("1,x"), None);
    }

    #[test]
    fn tags_round_trip() {
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
        ] {
            assert_eq!(decode_tags(bad), None, "{bad}");
        }
    }
}

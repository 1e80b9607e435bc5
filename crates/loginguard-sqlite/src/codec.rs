//! Turning a key's row into a [`KeyRecord`] and back.
//!
//! Failure times are kept as comma-separated milliseconds, oldest first: at
//! most `failure_limit` of them, so the text stays short.

use loginguard_core::record::KeyRecord;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::error::SqliteError;

/// Reads key rows in the column order [`record_from_row`] expects; the
/// caller appends the ids and the closing parenthesis.
pub(crate) const SELECT_RECORDS: &str =
    "SELECT id, failures, locked, locked_until, lock_count, updated_at \
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
    Ok(KeyRecord {
        failures: decode_failures(&failures)
            .ok_or_else(|| corrupt(format!("bad failure times {failures:?}")))?,
        locked,
        locked_until,
        lock_count: u32::try_from(lock_count).unwrap_or(u32::MAX),
        updated_at,
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
}

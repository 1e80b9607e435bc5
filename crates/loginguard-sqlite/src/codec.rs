//! Turning a key's row into a [`KeyRecord`] and back.
//!
//! Failure times and tags are kept in the text form of
//! [`loginguard_core::stored`]: at most `failure_limit` times and
//! `remember` tags, so the text stays short.

use loginguard_core::record::KeyRecord;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::error::SqliteError;

/// Reads key rows in the column order [`record_from_row`] expects; the
/// caller appends the ids and the closing parenthesis.
pub(crate) const SELECT_RECORDS: &str =
    "SELECT id, failures, locked, locked_until, lock_count, updated_at, refused, tags \
     FROM loginguard_keys WHERE id IN (";

pub(crate) use loginguard_core::stored::{
    decode_tags, decode_times as decode_failures, encode_tags, encode_times as encode_failures,
};

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

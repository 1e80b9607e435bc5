//! [`SchemaState`]: where a SQL store's schema stands against the
//! migrations a build embeds (shared by the SQLite and PostgreSQL stores).

use crate::store::StoreError;

/// A database's applied migrations compared with the ones this build knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaState {
    /// The newest migration applied (0: none).
    pub found: i64,
    /// The newest migration this build knows.
    pub expected: i64,
    /// Known migrations not applied yet, each as the store labels it
    /// (e.g. `0001 keys and audit logs`).
    pub pending: Vec<String>,
    /// Applied migrations this build does not know (a newer build ran).
    pub unknown: Vec<i64>,
}

impl SchemaState {
    /// Compares the `applied` versions with `known` (version, label) pairs.
    ///
    /// ```
    /// use loginguard_core::schema::SchemaState;
    ///
    /// let known = [(1, "0001 keys".to_owned()), (2, "0002 logs".to_owned())];
    /// let state = SchemaState::compare(known, &[1]);
    /// assert_eq!((state.found, state.expected), (1, 2));
    /// assert_eq!(state.pending, ["0002 logs"]);
    /// assert!(state.unknown.is_empty());
    /// ```
    pub fn compare(known: impl IntoIterator<Item = (i64, String)>, applied: &[i64]) -> SchemaState {
        let known: Vec<(i64, String)> = known.into_iter().collect();
        SchemaState {
            found: applied.iter().copied().max().unwrap_or(0),
            expected: known.iter().map(|(v, _)| *v).max().unwrap_or(0),
            unknown: applied
                .iter()
                .copied()
                .filter(|v| !known.iter().any(|(k, _)| k == v))
                .collect(),
            pending: known
                .into_iter()
                .filter(|(v, _)| !applied.contains(v))
                .map(|(_, label)| label)
                .collect(),
        }
    }

    /// [`StoreError::SchemaTooNew`] when a newer build migrated the database.
    pub fn refuse_too_new(&self) -> Result<(), StoreError> {
        if self.unknown.is_empty() {
            Ok(())
        } else {
            Err(StoreError::SchemaTooNew {
                found: self.found,
                expected: self.expected,
            })
        }
    }

    /// [`StoreError::SchemaOutdated`] when migrations are pending.
    pub fn refuse_outdated(&self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::SchemaOutdated {
                found: self.found,
                expected: self.expected,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_database_is_refused_before_an_outdated_one_is() {
        let known = || [(1, "1 a".to_owned()), (2, "2 b".to_owned())];
        let newer = SchemaState::compare(known(), &[1, 2, 3]);
        assert_eq!(newer.unknown, [3]);
        assert!(matches!(
            newer.refuse_too_new(),
            Err(StoreError::SchemaTooNew {
                found: 3,
                expected: 2
            })
        ));
        let empty = SchemaState::compare(known(), &[]);
        assert!(empty.refuse_too_new().is_ok());
        assert!(matches!(
            empty.refuse_outdated(),
            Err(StoreError::SchemaOutdated {
                found: 0,
                expected: 2
            })
        ));
        let current = SchemaState::compare(known(), &[1, 2]);
        assert!(current.refuse_too_new().is_ok() && current.refuse_outdated().is_ok());
    }
}

//! The demo's secret: created in a file beside its database on first start
//! (mode 0600) and reused afterwards, so device cookies and password hashes
//! stay valid across restarts.

use std::io::Write;
use std::path::{Path, PathBuf};

use loginguard_core::{Config, Secret};

use crate::DemoError;

/// Where the demo keeps its secret: `<database>.secret` for an SQLite
/// store, else `loginguard.secret` in the working directory.
pub(crate) fn secret_path(store: &str) -> PathBuf {
    let db = store
        .strip_prefix("sqlite://")
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && *path != ":memory:");
    match db {
        Some(path) => PathBuf::from(format!("{path}.secret")),
        None => PathBuf::from("loginguard.secret"),
    }
}

/// The configured secret, or the demo's own (read, or created on first start).
pub(crate) fn demo_secret(config: &Config) -> Result<(Secret, Option<PathBuf>), DemoError> {
    if let Some(secret) = &config.policy.secret {
        return Ok((secret.clone(), None));
    }
    let path = secret_path(&config.store);
    if !path.exists() {
        create(&path)?;
    }
    let secret = loginguard_core::config::read_secret_file(&path)
        .map_err(|e| DemoError::Secret(e.to_string()))?;
    Ok((secret, Some(path)))
}

/// Writes a new random secret to `path`, readable by its owner only. Two
/// demos starting at once: the one that loses the race reads the other's.
fn create(path: &Path) -> Result<(), DemoError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => {
            return Err(DemoError::Secret(format!(
                "cannot create the secret file {}: {e} (set `secret` or `secret_file` instead)",
                path.display()
            )))
        }
    };
    let hex = Secret::generate_hex();
    file.write_all(hex.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .map_err(|e| DemoError::Secret(format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(target: "loginguard::demo", path = %path.display(), "created a secret file (mode 0600)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_lives_beside_the_database() {
        assert_eq!(
            secret_path("sqlite://data/lg.db"),
            PathBuf::from("data/lg.db.secret")
        );
        assert_eq!(
            secret_path("sqlite://lg.db?mode=rwc"),
            PathBuf::from("lg.db.secret")
        );
        assert_eq!(secret_path("redis://x"), PathBuf::from("loginguard.secret"));
        assert_eq!(
            secret_path("sqlite://:memory:"),
            PathBuf::from("loginguard.secret")
        );
    }

    #[test]
    fn it_is_created_once_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lg.db");
        let mut config = Config::default();
        config.store = format!("sqlite://{}", db.display());
        let (first, path) = demo_secret(&config).unwrap();
        let path = path.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, _) = demo_secret(&config).unwrap();
        assert_eq!(
            first.password_tag("login", "a", b"p"),
            again.password_tag("login", "a", b"p"),
            "the same secret after a restart"
        );
    }
}

//! Exit codes, and errors printed as one line plus a hint.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (`check`: no errors; warnings may have been printed) |
//! | 1 | the store failed: unreachable, locked by another process past `store_timeout`, I/O |
//! | 2 | bad command line: unknown subcommand or flag, bad flag value |
//! | 3 | bad configuration: missing or unreadable file, unknown key, bad value, bad `store` URL |
//! | 4 | the schema needs attention: no database yet or pending migrations (run `loginguard migrate`), or newer than this build |
//! | 5 | `check --strict` found warnings |

use std::process::ExitCode;

use loginguard::{Origin, PolicyError, StoreError};

pub(crate) const OK: u8 = 0;
pub(crate) const STORE: u8 = 1;
pub(crate) const USAGE: u8 = 2;
pub(crate) const CONFIG: u8 = 3;
pub(crate) const SCHEMA: u8 = 4;
pub(crate) const WARNINGS: u8 = 5;

/// The exit codes, for `--help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (check: no errors; warnings may have been printed)
  1  the store failed (unreachable, locked by another process, I/O)
  2  bad command line (unknown flag, bad value)
  3  bad configuration (missing file, unknown key, bad value, bad store URL)
  4  the schema needs attention (no database yet or pending migrations: run `loginguard migrate`; or newer than this build)
  5  check --strict found warnings";

/// Errors of the command itself (not of the library).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// `check` found migrations to apply.
    #[error("{store} has {count} pending migration(s): {list}")]
    PendingMigrations {
        store: String,
        count: usize,
        list: String,
    },
    /// `check --strict` found warnings.
    #[error("{0} warning(s) found and --strict is set")]
    Warnings(usize),
    /// The store keeps no audit log.
    #[error("the store {0} keeps no audit log")]
    NoAuditLog(String),
    /// A `--username` the engine would refuse, so no key can hold it.
    #[error("invalid value for '--username': {reason}")]
    BadUsername { reason: loginguard::UsernameError },
}

/// Prints `err` as `error: …` (one line) and `hint: …`, and returns its exit code.
pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    let (code, hint) = classify(err);
    eprintln!("error: {}", one_line(&format!("{err:#}")));
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(code)
}

/// Prints a command-line error as one line plus a hint; exit code 2.
pub(crate) fn usage(err: &clap::Error) -> ExitCode {
    let text = err.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid command line");
    let message = first.strip_prefix("error: ").unwrap_or(first);
    let tip = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("tip: "))
        .map(str::to_owned);
    let hint = tip.unwrap_or_else(|| {
        let sub = std::env::args()
            .skip(1)
            .find(|a| !a.starts_with('-'))
            .filter(|a| SUBCOMMANDS.contains(&a.as_str()));
        match sub {
            Some(sub) => format!("see `loginguard {sub} --help`"),
            None => "see `loginguard --help`".to_owned(),
        }
    });
    eprintln!("error: {message}");
    eprintln!("hint: {hint}");
    ExitCode::from(USAGE)
}

const SUBCOMMANDS: &[&str] = &[
    "check",
    "migrate",
    "list",
    "reset",
    "logs",
    "purge-logs",
    "demo",
    "admin",
];

/// Collapses a multi-line message (a TOML parse error with its source
/// snippet) into one line, dropping the snippet.
pub(crate) fn one_line(text: &str) -> String {
    let is_snippet = |l: &str| {
        l.starts_with('|')
            || l.starts_with('^')
            || l.split_once(" |")
                .is_some_and(|(n, _)| n.trim().parse::<u32>().is_ok())
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_snippet(l))
        .collect::<Vec<_>>()
        .join(": ")
}

fn classify(err: &anyhow::Error) -> (u8, Option<String>) {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return match e {
                CliError::PendingMigrations { .. } => (
                    SCHEMA,
                    Some("run `loginguard migrate` (or set auto_migrate = true)".to_owned()),
                ),
                CliError::Warnings(_) => (
                    WARNINGS,
                    Some("fix the settings warned about above, or drop --strict".to_owned()),
                ),
                CliError::BadUsername { .. } => (
                    USAGE,
                    Some("give the username as it is typed at the login form; usernames the engine refuses are never stored".to_owned()),
                ),
                CliError::NoAuditLog(_) => (
                    STORE,
                    Some(
                        "use a store with an audit log, e.g. store = \"sqlite://loginguard.db\""
                            .to_owned(),
                    ),
                ),
            };
        }
        if let Some(e) = cause.downcast_ref::<PolicyError>() {
            return (CONFIG, Some(policy_hint(e)));
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return store_hint(e);
        }
        let bind = match cause.downcast_ref::<loginguard_demo::DemoError>() {
            Some(loginguard_demo::DemoError::Bind { addr, source }) => Some((addr, source)),
            _ => match cause.downcast_ref::<loginguard_admin::AdminError>() {
                Some(loginguard_admin::AdminError::Bind { addr, source }) => Some((addr, source)),
                _ => None,
            },
        };
        if let Some((addr, source)) = bind {
            return (STORE, Some(bind_hint(Some(addr), source)));
        }
        // A listener the command binds itself (`proxy`).
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            if matches!(
                e.kind(),
                std::io::ErrorKind::AddrInUse | std::io::ErrorKind::AddrNotAvailable
            ) {
                return (STORE, Some(bind_hint(None, e)));
            }
        }
    }
    (STORE, None)
}

fn policy_hint(err: &PolicyError) -> String {
    match err {
        PolicyError::File { path, .. } if path == loginguard::DEFAULT_CONFIG_FILE => {
            format!("make ./{path} readable, or pass another file with --config")
        }
        PolicyError::File { .. } => {
            "pass an existing, readable file with --config (or LOGINGUARD_CONFIG), or leave it out to use ./loginguard.toml when present".to_owned()
        }
        PolicyError::Syntax { path, .. } => {
            format!("fix {path} at the line and column shown: each key once, strings in quotes")
        }
        PolicyError::UnknownKey {
            origin: Origin::Env(var),
            suggestion,
            ..
        } => match suggestion {
            Some(name) => format!(
                "rename {var} to LOGINGUARD_{}, or unset it; only LOGINGUARD_CONFIG, LOGINGUARD_LOG, LOGINGUARD_TEST_* and LOGINGUARD_PROXY_* are not settings",
                name.to_ascii_uppercase()
            ),
            None => format!(
                "unset {var}; only LOGINGUARD_CONFIG, LOGINGUARD_LOG, LOGINGUARD_TEST_* and LOGINGUARD_PROXY_* are not settings, and the README lists every setting"
            ),
        },
        PolicyError::UnknownKey { .. } => {
            "check the spelling of the key in the file; the README lists every setting".to_owned()
        }
        PolicyError::Invalid {
            origin: Origin::Env(var),
            ..
        } => format!("fix or unset {var}, then run `loginguard check`"),
        PolicyError::Invalid {
            key,
            origin: origin @ Origin::File(_),
            ..
        } => format!("fix `{key}`{origin}, then run `loginguard check`"),
        _ => "fix the value in the configuration file or its LOGINGUARD_* variable, then run `loginguard check`".to_owned(),
    }
}

fn bind_hint(addr: Option<&std::net::SocketAddr>, err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let other = "choose another --addr (port 0 picks a free one)";
    let addr = addr.map_or_else(|| "that address".to_owned(), ToString::to_string);
    match err.kind() {
        ErrorKind::AddrInUse => {
            format!("another program is listening on {addr}: stop it, or {other}")
        }
        ErrorKind::PermissionDenied => {
            format!("ports below 1024 need extra privileges: {other}")
        }
        ErrorKind::AddrNotAvailable => {
            format!("{addr} is not an address of this machine: {other}")
        }
        _ => other.to_owned(),
    }
}

fn store_hint(err: &StoreError) -> (u8, Option<String>) {
    match err {
        StoreError::SchemaOutdated { .. } => (
            SCHEMA,
            Some("run `loginguard migrate` with the same configuration (or set auto_migrate = true)".to_owned()),
        ),
        StoreError::SchemaTooNew { .. } => (
            SCHEMA,
            Some("a newer loginguard migrated this database; run that version or upgrade this one".to_owned()),
        ),
        StoreError::NotCreated { .. } => (
            SCHEMA,
            Some("`loginguard migrate` creates it with this configuration (or set auto_migrate = true); if it should already exist, check `store`".to_owned()),
        ),
        StoreError::Config(_) => (
            CONFIG,
            Some("set `store` in loginguard.toml or LOGINGUARD_STORE, e.g. store = \"sqlite://loginguard.db\"; run `loginguard migrate` to create a new database".to_owned()),
        ),
        StoreError::Unavailable { .. } => (
            STORE,
            Some("another process may be holding the database's write lock, or the server is down; retry, or raise store_timeout".to_owned()),
        ),
        _ => (STORE, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_snippets_are_dropped() {
        let text = "cannot read configuration x.toml: TOML parse error at line 1, column 17\n  |\n1 | failure_limit = \n  |                 ^\nstring values must be quoted";
        assert_eq!(
            one_line(text),
            "cannot read configuration x.toml: TOML parse error at line 1, column 17: string values must be quoted"
        );
    }
}

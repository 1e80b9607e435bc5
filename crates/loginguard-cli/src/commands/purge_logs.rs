//! `loginguard purge-logs`: deletes old audit-log entries.

use std::time::{Duration, SystemTime};

use loginguard::open_store;

use crate::cli::Global;
use crate::exit::CliError;
use crate::output::{parse_duration, plural, time};

/// Delete access-log and failure-log entries older than a duration.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Entries older than this go, e.g. 30d, 12h, 90m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) older_than: Duration,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let store = open_store(&config).await?;
    let description = store.health().await?.description;
    let log = store.audit().ok_or(CliError::NoAuditLog(description))?;
    let before = SystemTime::now()
        .checked_sub(args.older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let deleted = log.purge(before).await?;
    println!(
        "deleted {} older than {} (before {})",
        plural(deleted, "log entry", "log entries"),
        humantime::format_duration(args.older_than),
        time(before)
    );
    Ok(())
}

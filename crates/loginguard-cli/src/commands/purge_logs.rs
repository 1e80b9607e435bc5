//! `loginguard purge-logs`: deletes old audit-log entries.

use std::time::SystemTime;

use loginguard::open_store;

use crate::cli::Global;
use crate::exit::CliError;
use crate::output::{parse_span, plural, time, Span};

/// Delete access-log and failure-log entries older than a duration.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Entries older than this go, e.g. 30d, 12h, 90m.
    #[arg(long, value_name = "DURATION", value_parser = parse_span)]
    pub(crate) older_than: Span,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let store = open_store(&config).await?;
    let description = store.health().await?.description;
    let log = store.audit().ok_or(CliError::NoAuditLog(description))?;
    let before = args.older_than.before(SystemTime::now());
    let deleted = log.purge(before).await?;
    println!(
        "deleted {} older than {} (before {})",
        plural(deleted, "log entry", "log entries"),
        args.older_than.text,
        time(before)
    );
    Ok(())
}

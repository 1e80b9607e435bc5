//! `loginguard logs`: reads the access log and the failure log.

use std::time::SystemTime;

use loginguard::audit::{AuditEntry, AuditKind, LogQuery};
use loginguard::open_store;
use loginguard::record::to_ms;
use serde_json::json;

use crate::cli::Global;
use crate::exit::CliError;
use crate::output::{or_dash, parse_span, time, Span, Table};

/// Show audit-log entries, newest first: successful logins and failed attempts.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only the failure log.
    #[arg(long, conflicts_with = "successes")]
    pub(crate) failures: bool,
    /// Only the access log (successful logins).
    #[arg(long)]
    pub(crate) successes: bool,
    /// Only entries for this username (normalised as the engine stores it).
    #[arg(long, value_name = "NAME")]
    pub(crate) username: Option<String>,
    /// Only entries from this IP.
    #[arg(long, value_name = "IP")]
    pub(crate) ip: Option<String>,
    /// Only entries newer than this, e.g. 1h, 30m, 7d.
    #[arg(long, value_name = "DURATION", value_parser = parse_span)]
    pub(crate) since: Option<Span>,
    /// At most this many entries.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub(crate) limit: usize,
    /// One JSON array, for scripts.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let store = open_store(&config).await?;
    let Some(log) = store.audit() else {
        return Err(CliError::NoAuditLog(store.health().await?.description).into());
    };
    let mut query = LogQuery::all().limit(args.limit);
    if args.failures {
        query = query.kind(AuditKind::Failure);
    }
    if args.successes {
        query = query.kind(AuditKind::Success);
    }
    if let Some(username) = args.username {
        query = query.username(super::username_flag(&config, &username)?);
    }
    if let Some(ip) = args.ip {
        query = query.ip(ip);
    }
    if let Some(since) = args.since {
        query = query.since(since.before(SystemTime::now()));
    }
    let entries = log.query(&query).await?;
    if args.json {
        let items: Vec<_> = entries.iter().map(to_json).collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("no log entries");
        return Ok(());
    }
    let mut table = Table::new(&["TIME", "RESULT", "USERNAME", "IP", "REQUEST", "USER AGENT"]);
    for e in &entries {
        let result = match (e.kind, e.locked_out) {
            (AuditKind::Success, _) => "success",
            (AuditKind::Failure, false) => "failure",
            (AuditKind::Failure, true) => "refused",
        };
        table.row(vec![
            time(e.time),
            result.to_owned(),
            or_dash(e.username.as_deref()),
            or_dash(e.ip.as_deref()),
            format!("{} {} [{}]", e.method, e.path, e.scope),
            or_dash(e.user_agent.as_deref()),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

fn to_json(e: &AuditEntry) -> serde_json::Value {
    json!({
        "time": time(e.time),
        "time_ms": to_ms(e.time),
        "kind": e.kind.as_str(),
        "locked_out": e.locked_out,
        "scope": e.scope,
        "username": e.username,
        "ip": e.ip,
        "user_agent": e.user_agent,
        "method": e.method,
        "path": e.path,
    })
}

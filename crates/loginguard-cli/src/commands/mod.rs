//! One module per subcommand; each has `Args` (its flags) and `run`.
//! They call the library only (`open_store`, `Store`, `AuditLog`), never SQL.

pub(crate) mod admin;
pub(crate) mod check;
pub(crate) mod demo;
pub(crate) mod list;
pub(crate) mod logs;
pub(crate) mod migrate;
pub(crate) mod proxy;
pub(crate) mod purge_logs;
pub(crate) mod reset;

use loginguard::Config;

use crate::cli::{Cli, Command};
use crate::exit::CliError;

/// A `--username` flag, normalised exactly as the engine stores it
/// (trimmed, case-folded when `username_case_insensitive`).
pub(crate) fn username_flag(config: &Config, raw: &str) -> Result<String, CliError> {
    config
        .policy
        .normalize_username(raw)
        .map_err(|reason| CliError::BadUsername { reason })
}

/// Runs the chosen subcommand.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = &cli.global;
    match cli.command {
        Command::Demo(args) => demo::run(global, args).await,
        Command::Check(args) => check::run(global, args).await,
        Command::Migrate(args) => migrate::run(global, args).await,
        Command::List(args) => list::run(global, args).await,
        Command::Reset(args) => reset::run(global, args).await,
        Command::Logs(args) => logs::run(global, args).await,
        Command::PurgeLogs(args) => purge_logs::run(global, args).await,
        Command::Admin(args) => admin::run(global, args).await,
        Command::Proxy(args) => proxy::run(global, args).await,
    }
}

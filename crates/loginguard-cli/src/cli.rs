//! The command line: global options and the subcommand enum. Each
//! subcommand's own flags live beside its code in `commands/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use loginguard::Config;

use crate::commands;
use crate::exit;

/// Brute-force login protection: inspect and administer a loginguard store.
///
/// Reads the same configuration as the library: the file given by
/// --config (default: ./loginguard.toml if present), then LOGINGUARD_*
/// environment variables.
#[derive(Debug, Parser)]
#[command(name = "loginguard", version, arg_required_else_help = true, after_help = exit::EXIT_CODES_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, clap::Args)]
pub(crate) struct Global {
    /// Configuration file (default: ./loginguard.toml if present, else the defaults).
    #[arg(long, global = true, value_name = "PATH", env = "LOGINGUARD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
}

impl Global {
    /// Loads the configuration file and the environment.
    pub(crate) fn load_config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref())?)
    }

    /// Where the configuration came from, in words.
    pub(crate) fn config_origin(&self) -> String {
        match &self.config {
            Some(path) => path.display().to_string(),
            None if Path::new(loginguard::DEFAULT_CONFIG_FILE).exists() => {
                loginguard::DEFAULT_CONFIG_FILE.to_owned()
            }
            None => format!("defaults (no {} here)", loginguard::DEFAULT_CONFIG_FILE),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Demo(commands::demo::Args),
    Check(commands::check::Args),
    Migrate(commands::migrate::Args),
    List(commands::list::Args),
    Reset(commands::reset::Args),
    Logs(commands::logs::Args),
    PurgeLogs(commands::purge_logs::Args),
    Admin(commands::admin::Args),
    Proxy(commands::proxy::Args),
}

/// Parses the command line. Help and version go to stdout with exit code
/// 0; a usage error is printed as one line plus a hint, with exit code 2.
pub(crate) fn parse() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(err) => {
            use clap::error::ErrorKind;
            match err.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = err.print();
                    Err(ExitCode::from(match err.kind() {
                        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::USAGE,
                        _ => exit::OK,
                    }))
                }
                _ => Err(exit::usage(&err)),
            }
        }
    }
}

/// Logs go to stderr; `RUST_LOG` chooses the level (default: warnings).
pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

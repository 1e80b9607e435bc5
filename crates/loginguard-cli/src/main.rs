//! `loginguard`: the operator's command for a loginguard store.
//!
//! Exit codes: see [`exit`].

mod cli;
mod commands;
mod exit;
mod output;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli::init_tracing();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => exit::report(&err),
    }
}

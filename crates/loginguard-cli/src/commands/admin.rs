//! `loginguard admin`: serves the admin web UI (and `/metrics`) on the
//! configured store, or hashes an admin password.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;

use anyhow::Context;
use loginguard::{open_store, PolicyError};
use loginguard_admin::server::AdminServer;
use loginguard_admin::{AdminError, AdminState};

use crate::cli::Global;

/// Serve the admin web UI and /metrics; or hash an admin password.
///
/// The UI opens once admin_password_hash is set (make it with
/// --hash-password); the JSON API under /api once admin_token is set.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8001")]
    pub(crate) addr: SocketAddr,
    /// Read a password (on a terminal: asked twice, not shown; otherwise the
    /// first line of standard input), print its argon2id hash (the value for
    /// admin_password_hash) and exit.
    #[arg(long)]
    pub(crate) hash_password: bool,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    if args.hash_password {
        return hash_password();
    }
    let config = global.load_config()?;
    let store = open_store(&config).await?;
    let state = AdminState::from_config(&config, store).map_err(as_config_error)?;
    if !state.is_open() {
        eprintln!(
            "warning: admin_password_hash is not set, so the admin UI is closed; run `loginguard admin --hash-password`"
        );
    }
    let server = AdminServer::bind(args.addr, state).await?;
    let addr = server.local_addr();
    println!("admin UI on http://{addr}/ (metrics on http://{addr}/metrics); Ctrl-C stops it");
    server.run().await?;
    Ok(())
}

/// On a terminal the password is asked for twice, without echo; otherwise
/// the first line of standard input is the password (`echo … | loginguard
/// admin --hash-password`).
fn hash_password() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let read = |prompt: &str| {
            rpassword::prompt_password(prompt).context("cannot read the password from the terminal")
        };
        let first = read("Admin password (not shown as you type): ")?;
        let again = read("The same password again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing was hashed, run it again");
        }
        first
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let hash = loginguard_admin::hash_password(&password)?;
    println!("{hash}");
    Ok(())
}

/// Secrets refused by the admin UI are configuration errors (exit code 3).
fn as_config_error(err: AdminError) -> anyhow::Error {
    match err {
        AdminError::BadPasswordHash(_) => PolicyError::invalid(
            "admin_password_hash",
            "(hidden)",
            "an argon2 PHC string made by `loginguard admin --hash-password`",
        )
        .into(),
        AdminError::ShortToken => PolicyError::invalid(
            "admin_token",
            "(hidden)",
            "a secret of at least 16 characters",
        )
        .into(),
        other => other.into(),
    }
}

//! `loginguard demo`: the demo site, protected by loginguard on the
//! configured store.

use std::net::SocketAddr;

use loginguard_demo::{Argon2Cost, DemoOptions, DemoServer};

use crate::cli::Global;

/// Run the demo site: a login page protected by loginguard.
///
/// Users alice/wonderland and bob/builder (or --user). Lockouts live in the
/// configured store (default sqlite://loginguard.db, created and migrated
/// on start), so `loginguard reset` with the same configuration unlocks.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to listen (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub(crate) addr: SocketAddr,
    /// A user as NAME:PASSWORD; repeat it. Replaces the default users.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = DemoOptions::parse_user)]
    pub(crate) users: Vec<(String, String)>,
    /// Argon2id memory cost in KiB (19456 is OWASP's recommendation).
    #[arg(long, value_name = "KIB", default_value_t = Argon2Cost::default().memory_kib)]
    pub(crate) argon2_memory_kib: u32,
    /// Argon2id iterations.
    #[arg(long, value_name = "N", default_value_t = Argon2Cost::default().iterations)]
    pub(crate) argon2_iterations: u32,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let mut options = DemoOptions::default();
    options.addr = args.addr;
    if !args.users.is_empty() {
        options.users = args.users;
    }
    options.argon2 = Argon2Cost {
        memory_kib: args.argon2_memory_kib,
        iterations: args.argon2_iterations,
    };
    let names: Vec<&str> = options.users.iter().map(|(n, _)| n.as_str()).collect();
    let names = names.join(", ");
    let server = DemoServer::bind(options, config).await?;
    println!(
        "demo on http://{}/ (users: {names}); Ctrl-C stops it",
        server.local_addr()
    );
    server.run().await?;
    Ok(())
}

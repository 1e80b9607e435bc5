//! `loginguard migrate`: creates or upgrades the store's tables; idempotent.

use loginguard::{open_store_with, OpenMode};

use crate::cli::Global;
use crate::output::plural;

/// Create or upgrade the store's tables (safe to run again).
///
/// Creates the SQLite database file if it does not exist yet.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) async fn run(global: &Global, _args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let store = open_store_with(&config, OpenMode::Migrate).await?;
    let before = store.health().await?;
    store.migrate().await?;
    let after = store.health().await?;
    let applied = before.pending_migrations.len();
    if applied == 0 {
        println!("{}: up to date, nothing to apply", after.description);
    } else {
        println!(
            "{}: applied {}",
            after.description,
            plural(
                u64::try_from(applied).unwrap_or(u64::MAX),
                "migration",
                "migrations"
            )
        );
        for name in &before.pending_migrations {
            println!("  {name}");
        }
    }
    Ok(())
}

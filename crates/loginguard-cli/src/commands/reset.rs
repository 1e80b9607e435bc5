//! `loginguard reset`: clears lockout records (all, or by IP / username / scope).

use loginguard::{open_store, KeyFilter};

use crate::cli::Global;
use crate::output::plural;

/// Clear failure counts and locks: all of them, or those matching the flags.
///
/// With --ip and --username together, clears the IP's keys, the username's
/// keys and their combined keys.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only keys for this client IP (as stored: IPv6 grouped by ipv6_prefix, e.g. 2001:db8::/64).
    #[arg(long, value_name = "IP")]
    pub(crate) ip: Option<String>,
    /// Only keys for this username (normalised as the engine stores it: trimmed, case-folded if configured).
    #[arg(long, value_name = "NAME")]
    pub(crate) username: Option<String>,
    /// Only keys of this scope (guarded endpoint), e.g. login.
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Option<String>,
    /// Only the locks of sprayed passwords (spray_limit).
    #[arg(long, conflicts_with_all = ["ip", "username"])]
    pub(crate) sprayed: bool,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let store = open_store(&config).await?;
    let mut filter = KeyFilter::all();
    let mut what = Vec::new();
    if let Some(ip) = args.ip {
        what.push(format!("ip {ip}"));
        filter = filter.ip(ip);
    }
    if let Some(username) = args.username {
        let username = super::username_flag(&config, &username)?;
        what.push(format!("username {username:?}"));
        filter = filter.username(username);
    }
    if let Some(scope) = args.scope {
        what.push(format!("scope {scope:?}"));
        filter = filter.scope(scope);
    }
    if args.sprayed {
        what.push("sprayed passwords".to_owned());
        filter = filter.sprayed();
    }
    let cleared = store.reset(&filter).await?;
    let what = if what.is_empty() {
        "all keys".to_owned()
    } else {
        what.join(", ")
    };
    println!("cleared {} ({what})", plural(cleared, "record", "records"));
    Ok(())
}

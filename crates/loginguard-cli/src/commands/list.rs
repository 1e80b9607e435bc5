//! `loginguard list`: keys with failures or locks.

use std::time::SystemTime;

use loginguard::record::to_ms;
use loginguard::{open_store, KeyFilter, KeyStatus, ListQuery};
use serde_json::json;

use crate::cli::Global;
use crate::output::{plural, time, until, Table};

/// List locked keys and keys with failures, most recent attempt first.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only keys locked now.
    #[arg(long)]
    pub(crate) locked: bool,
    /// Only keys for this client IP.
    #[arg(long, value_name = "IP")]
    pub(crate) ip: Option<String>,
    /// Only keys for this username (normalised as the engine stores it).
    #[arg(long, value_name = "NAME")]
    pub(crate) username: Option<String>,
    /// Only keys of this scope.
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Option<String>,
    /// At most this many keys.
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// One JSON array, for scripts.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let store = open_store(&config).await?;
    let mut filter = KeyFilter::all();
    if let Some(ip) = args.ip {
        filter = filter.ip(ip);
    }
    if let Some(username) = args.username {
        filter = filter.username(super::username_flag(&config, &username)?);
    }
    if let Some(scope) = args.scope {
        filter = filter.scope(scope);
    }
    let mut query = ListQuery::all().filter(filter).locked_only(args.locked);
    if let Some(n) = args.limit {
        query = query.limit(n);
    }
    let now = SystemTime::now();
    let keys = store.list(&query, now).await?;
    if args.json {
        let items: Vec<_> = keys.iter().map(to_json).collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    if keys.is_empty() {
        println!(
            "{}",
            if args.locked {
                "no locked keys"
            } else {
                "no keys with failures or locks"
            }
        );
        return Ok(());
    }
    let mut table = Table::new(&["KEY", "FAILURES", "REFUSED", "LOCKED UNTIL", "LAST ATTEMPT"]);
    for k in &keys {
        let locked = match (k.locked, k.locked_until) {
            (false, _) => "-".to_owned(),
            (true, None) => "until reset".to_owned(),
            (true, Some(t)) => until(t, now),
        };
        table.row(vec![
            k.key.label().into_owned(),
            k.failures.to_string(),
            if k.locked {
                k.refused.to_string()
            } else {
                "-".to_owned()
            },
            locked,
            time(k.last_attempt),
        ]);
    }
    print!("{}", table.render());
    let locked = keys.iter().filter(|k| k.locked).count();
    println!(
        "{}, {locked} locked",
        plural(u64::try_from(keys.len()).unwrap_or(u64::MAX), "key", "keys")
    );
    Ok(())
}

fn to_json(k: &KeyStatus) -> serde_json::Value {
    json!({
        "key": k.key.label(),
        "scope": k.key.scope(),
        "ip": k.key.ip(),
        "username": k.key.username(),
        "user_agent": k.key.user_agent(),
        "failures": k.failures,
        "locked": k.locked,
        "locked_until": k.locked_until.map(time),
        "locked_until_ms": k.locked_until.map(to_ms),
        "lock_count": k.lock_count,
        "refused": k.refused,
        "last_attempt": time(k.last_attempt),
        "last_attempt_ms": to_ms(k.last_attempt),
    })
}

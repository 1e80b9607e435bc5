//! `loginguard check`: validates the configuration, opens the store, reports
//! pending migrations and warns about risky settings.

use std::time::Duration;

use loginguard::policy::format_wait;
use loginguard::{open_store_with, Config, Field, OnStoreError, OpenMode};

use crate::cli::Global;
use crate::exit::CliError;

/// A failure limit above this is warned about.
const HIGH_FAILURE_LIMIT: u32 = 20;

/// A cool-off below this is warned about.
const SHORT_COOL_OFF: Duration = Duration::from_secs(60);

/// Validate the configuration and the store, and warn about risky settings.
///
/// Exits 0 when there is no error (warnings are printed but do not fail
/// unless --strict), 3 for a bad configuration, 4 when migrations are
/// pending, 1 when the store cannot be reached.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Treat warnings as errors (exit code 5).
    #[arg(long)]
    pub(crate) strict: bool,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    println!(
        "config   ok: {} + LOGINGUARD_* environment",
        global.config_origin()
    );
    println!("policy   {}", summary(&config));
    println!("client   {}", client_ip(&config));
    println!("beyond   {}", beyond(&config));
    let health = async {
        let store = open_store_with(&config, OpenMode::Inspect).await?;
        store.health().await
    }
    .await;
    if let Ok(health) = &health {
        println!("store    {}: reachable", health.description);
        for note in &health.notes {
            println!("         {note}");
        }
    }
    let warnings = warnings(&config);
    for w in &warnings {
        println!("warning: {w}");
    }
    let health = health?;
    if !health.pending_migrations.is_empty() {
        return Err(CliError::PendingMigrations {
            store: health.description,
            count: health.pending_migrations.len(),
            list: health.pending_migrations.join(", "),
        }
        .into());
    }
    if args.strict && !warnings.is_empty() {
        return Err(CliError::Warnings(warnings.len()).into());
    }
    match warnings.len() {
        0 => println!("ok: no problems found"),
        n => println!("ok: no errors, {n} warning(s)"),
    }
    Ok(())
}

/// The policy in one line.
fn summary(config: &Config) -> String {
    let p = &config.policy;
    if !p.enabled {
        return "disabled (enabled = false)".to_owned();
    }
    let by: Vec<String> = p
        .lockout_parameters
        .iter()
        .map(ToString::to_string)
        .collect();
    let lock = match p.cool_off {
        Some(d) => format!("locks last {}", format_wait(d)),
        None => "locks last until reset".to_owned(),
    };
    format!(
        "lock by {} after {} failures; {lock}; scope {:?}",
        by.join(" or "),
        p.failure_limit,
        p.scope
    )
}

/// Where the client IP comes from, in one line.
fn client_ip(config: &Config) -> String {
    let p = &config.policy;
    let grouping = if p.ipv6_prefix >= 128 {
        "each IPv6 address counts apart".to_owned()
    } else {
        format!("IPv6 addresses grouped by /{}", p.ipv6_prefix)
    };
    if p.trusted_proxies.is_empty() {
        return format!(
            "IP of the connecting socket; no forwarding header is read (trusted_proxies is empty); {grouping}"
        );
    }
    let n = p.trusted_proxies.len();
    format!(
        "IP from the `{}` header (client_ip_header), read only when the connection comes from trusted_proxies \
         ({n} {}), from the right past those proxies; every other forwarding header is ignored; {grouping}",
        p.client_ip_header,
        if n == 1 { "range" } else { "ranges" },
    )
}

/// Risky settings, in plain words.
/// What the features beyond django-axes do with this configuration.
pub(crate) fn beyond(config: &Config) -> String {
    let p = &config.policy;
    if p.secret.is_none() {
        return "no secret: ignore_repeated_password and spray_limit are off (set secret, \
                LOGINGUARD_SECRET or secret_file)"
            .to_owned();
    }
    let mut on = Vec::new();
    if p.forgives_repeats() {
        on.push(
            "a repeated wrong password counts once per key (ignore_repeated_password)".to_owned(),
        );
    }
    if let Some(n) = p.spray_lock() {
        on.push(format!(
            "a password failed on {n} accounts within {} is refused for {} (spray_limit)",
            format_wait(p.spray_window),
            p.spray_cool_off
                .map_or_else(|| "until reset".to_owned(), format_wait)
        ));
    }
    if on.is_empty() {
        "secret set; ignore_repeated_password and spray_limit are off".to_owned()
    } else {
        format!("secret set; {}", on.join("; "))
    }
}

pub(crate) fn warnings(config: &Config) -> Vec<String> {
    let p = &config.policy;
    let mut out = Vec::new();
    if !p.enabled {
        out.push(
            "loginguard is turned off (enabled = false): nothing is counted or blocked".to_owned(),
        );
        return out;
    }
    let ip_only = p
        .lockout_parameters
        .iter()
        .any(|c| c.fields() == [Field::Ip]);
    if ip_only && p.cool_off.is_none() && p.lock_out_at_failure {
        out.push(
            "lockout by IP address alone with no cool_off: one attacker can lock out everyone who shares an IP \
             (an office, a school, a mobile carrier's NAT) until an administrator resets it; set cool_off \
             (e.g. \"15m\") or lock by [\"username\", \"ip\"]"
                .to_owned(),
        );
    }
    if p.cool_off.is_none() && p.failure_window.is_none() && p.lock_out_at_failure {
        out.push(
            "neither cool_off nor failure_window is set: locks last until an administrator resets them and \
             failures are never forgotten, so a user's occasional typos add up to a lock; set cool_off \
             (e.g. \"15m\") or failure_window (e.g. \"1h\")"
                .to_owned(),
        );
    }
    if p.uses(Field::Ip) && p.ipv6_prefix > 64 {
        out.push(format!(
            "ipv6_prefix = {}: one IPv6 subscriber holds a whole /64 and can rotate through its addresses, getting a \
             fresh counter each time; 64 (the default) counts the /64 as one client",
            p.ipv6_prefix
        ));
    }
    if p.trusted_proxies.is_empty()
        && (p.uses(Field::Ip) || !p.allow_list.is_empty() || !p.deny_list.is_empty())
    {
        out.push(
            "trusted_proxies is empty, so the client IP is the connecting socket's address: if the app is behind \
             a reverse proxy or load balancer, every user shares the proxy's IP and one attacker locks out everyone; \
             list the proxy's addresses in trusted_proxies"
                .to_owned(),
        );
    }
    if p.secret.is_none() {
        for (set, name) in [
            (
                p.ignore_repeated_password,
                "ignore_repeated_password = true",
            ),
            (p.spray_limit.is_some(), "spray_limit"),
        ] {
            if set {
                out.push(format!(
                    "{name} is set but no secret is: it is off; set secret (at least 32 random bytes, \
                     e.g. `openssl rand -hex 32`) or secret_file"
                ));
            }
        }
    }
    if p.on_store_error == OnStoreError::Allow {
        out.push(
            "on_store_error = \"allow\": while the store is unreachable every attempt goes through uncounted, so an \
             attacker who can slow or break the store gets unlimited guesses; \"deny\" fails closed"
                .to_owned(),
        );
    }
    if !p.lock_out_at_failure {
        out.push(
            "lock_out_at_failure = false: monitor-only mode, failures are counted and logged but nobody is ever locked out"
                .to_owned(),
        );
    }
    if config.store.trim() == "memory" {
        out.push(
            "store = \"memory\": lockouts live in this one process, vanish on restart and are not shared between app \
             servers (and `loginguard` commands cannot see them); use \"sqlite://loginguard.db\" for one server, \
             PostgreSQL or Redis for several"
                .to_owned(),
        );
    }
    if p.failure_limit.get() > HIGH_FAILURE_LIMIT {
        out.push(format!(
            "failure_limit = {}: an attacker gets that many password guesses per key before a lock; \
             3 to 10 is usual",
            p.failure_limit
        ));
    }
    if let Some(cool_off) = p.cool_off {
        if cool_off < SHORT_COOL_OFF && p.cool_off_multiplier <= 1.0 {
            out.push(format!(
                "cool_off = {}: locks this short barely slow a patient attacker; use minutes, or a cool_off_multiplier",
                format_wait(cool_off)
            ));
        }
    }
    if let Some(window) = p.failure_window {
        if window < SHORT_COOL_OFF {
            out.push(format!(
                "failure_window = {}: failures are forgotten that fast, so slow guessing never locks anything",
                format_wait(window)
            ));
        }
    }
    if p.only_allow_listed && p.allow_list.is_empty() {
        out.push(
            "only_allow_listed = true with an empty allow_list: every login attempt is refused"
                .to_owned(),
        );
    }
    if (p.access_log || p.failure_log)
        && p.log_retention.is_none()
        && !config.store.starts_with("memory")
    {
        out.push(
            "log_retention is not set: the audit logs grow without bound; set it (e.g. \"90d\") or run \
             `loginguard purge-logs --older-than 90d` regularly"
                .to_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        Config::from_toml_str(toml).unwrap()
    }

    #[test]
    fn defaults_warn_about_ip_lockout_endless_locks_proxies_and_retention() {
        let w = warnings(&config(""));
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(w[0].contains("IP address alone"));
        assert!(w[1].contains("neither cool_off nor failure_window"));
        assert!(w[2].contains("trusted_proxies"));
        assert!(w[3].contains("log_retention"));
    }

    #[test]
    fn a_failure_window_alone_is_not_an_endless_lock_warning() {
        let w = warnings(&config(
            "failure_window = \"1h\"\nlockout_parameters = [[\"username\", \"ip\"]]",
        ));
        assert!(!w.iter().any(|w| w.contains("neither")), "{w:#?}");
    }

    #[test]
    fn the_client_ip_line_names_the_header_only_with_trusted_proxies() {
        assert_eq!(
            client_ip(&config("")),
            "IP of the connecting socket; no forwarding header is read (trusted_proxies is empty); \
             IPv6 addresses grouped by /64"
        );
        assert_eq!(
            client_ip(&config(
                "trusted_proxies = [\"10.0.0.0/8\"]\nclient_ip_header = \"CF-Connecting-IP\"\nipv6_prefix = 128"
            )),
            "IP from the `cf-connecting-ip` header (client_ip_header), read only when the connection comes from \
             trusted_proxies (1 range), from the right past those proxies; every other forwarding header is ignored; \
             each IPv6 address counts apart"
        );
    }

    #[test]
    fn the_features_beyond_django_axes_say_whether_they_are_on() {
        assert!(beyond(&config(""))
            .starts_with("no secret: ignore_repeated_password and spray_limit are off"));
        let w = warnings(&config("spray_limit = 10"));
        assert!(
            w.iter()
                .any(|w| w.starts_with("spray_limit is set but no secret is: it is off")),
            "{w:?}"
        );
        let on = config(
            "secret = \"0123456789abcdef0123456789abcdef\"\nignore_repeated_password = true\nspray_limit = 10",
        );
        assert_eq!(
            beyond(&on),
            "secret set; a repeated wrong password counts once per key (ignore_repeated_password); \
             a password failed on 10 accounts within 1 hour is refused for 1 hour (spray_limit)"
        );
        assert!(!warnings(&on).iter().any(|w| w.contains("no secret")));
    }

    #[test]
    fn a_careful_setup_has_no_warnings() {
        let w = warnings(&config(
            r#"
            lockout_parameters = [["username", "ip"]]
            cool_off = "15m"
            trusted_proxies = ["10.0.0.1"]
            log_retention = "90d"
            "#,
        ));
        assert!(w.is_empty(), "{w:#?}");
    }

    #[test]
    fn each_risky_setting_is_named() {
        for (toml, needle) in [
            ("on_store_error = \"allow\"", "on_store_error"),
            ("lock_out_at_failure = false", "monitor-only"),
            ("store = \"memory\"", "memory"),
            ("failure_limit = 1000", "failure_limit = 1000"),
            ("cool_off = \"5s\"", "cool_off = 5 seconds"),
            ("enabled = false", "turned off"),
            (
                "ipv6_prefix = 128",
                "ipv6_prefix = 128: one IPv6 subscriber",
            ),
        ] {
            let w = warnings(&config(toml));
            assert!(w.iter().any(|w| w.contains(needle)), "{toml}: {w:#?}");
        }
    }
}

//! Loading settings from a TOML file and `LOGINGUARD_<KEY>` environment
//! variables, shared by the library and the `loginguard` command.
//!
//! Every key of the file can be overridden by the environment variable of
//! the same name upper-cased: `cool_off` by `LOGINGUARD_COOL_OFF`. Lists in
//! the environment are comma-separated (`LOGINGUARD_ALLOW_LIST=10.0.0.0/8,::1`)
//! or TOML arrays; a combined criterion is written `username+ip`.
//!
//! ```
//! use loginguard_core::Config;
//!
//! let config = Config::from_toml_str(r#"
//!     failure_limit = 5
//!     cool_off = "15m"
//!     lockout_parameters = [["username", "ip"]]
//! "#)?;
//! assert_eq!(config.policy.failure_limit.get(), 5);
//! # Ok::<(), loginguard_core::PolicyError>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use toml::Value;

use crate::key::Field;
use crate::policy::{parse_duration, Criterion, OnStoreError, Policy, PolicyBuilder, PolicyError};

/// The default configuration file, read when present.
pub const DEFAULT_CONFIG_FILE: &str = "loginguard.toml";

/// The default store: an SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite://loginguard.db";

/// Everything a loginguard process reads from its configuration: the
/// lockout [`Policy`] plus the store and operator settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The lockout policy.
    pub policy: Policy,
    /// Where state lives: `memory`, `sqlite://path`, `postgres://…`,
    /// `redis://…` (default `sqlite://loginguard.db`).
    pub store: String,
    /// Apply pending migrations when the store is opened (default `false`).
    pub auto_migrate: bool,
    /// Longest wait for the store before `on_store_error` applies (default 2s).
    pub store_timeout: Duration,
    /// Prefix of Redis keys / PostgreSQL schema name (default `loginguard`).
    pub store_prefix: String,
    /// Most keys the memory store tracks (default 100000).
    pub memory_max_keys: usize,
    /// Argon2 hash of the admin UI password (default: none, admin UI closed).
    pub admin_password_hash: Option<String>,
    /// Bearer token for the admin JSON API (default: none).
    pub admin_token: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            policy: Policy::default(),
            store: DEFAULT_STORE.to_owned(),
            auto_migrate: false,
            store_timeout: Duration::from_secs(2),
            store_prefix: "loginguard".to_owned(),
            memory_max_keys: 100_000,
            admin_password_hash: None,
            admin_token: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Count,
    OptCount,
    Float,
    OptDuration,
    Duration,
    Text,
    OptText,
    TextList,
    NetList,
    StatusList,
    Criteria,
    StoreError,
}

/// Every key the configuration accepts, with its kind.
const KEYS: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("failure_limit", Kind::Count),
    ("cool_off", Kind::OptDuration),
    ("cool_off_multiplier", Kind::Float),
    ("cool_off_max", Kind::OptDuration),
    ("failure_window", Kind::OptDuration),
    ("lockout_parameters", Kind::Criteria),
    ("reset_on_success", Kind::Bool),
    ("reset_cool_off_on_failure_during_lockout", Kind::Bool),
    ("lock_out_at_failure", Kind::Bool),
    ("allow_list", Kind::NetList),
    ("deny_list", Kind::NetList),
    ("only_allow_listed", Kind::Bool),
    ("never_lockout_get", Kind::Bool),
    ("trusted_proxies", Kind::NetList),
    ("client_ip_header", Kind::Text),
    ("ipv6_prefix", Kind::Count),
    ("username_field", Kind::Text),
    ("username_case_insensitive", Kind::Bool),
    ("username_max_length", Kind::Count),
    ("body_limit", Kind::Count),
    ("lockout_status", Kind::Count),
    ("lockout_url", Kind::OptText),
    ("lockout_message", Kind::Text),
    ("lockout_message_cool_off", Kind::Text),
    ("on_store_error", Kind::StoreError),
    ("scope", Kind::Text),
    ("access_log", Kind::Bool),
    ("failure_log", Kind::Bool),
    ("log_retention", Kind::OptDuration),
    ("log_max_failures_per_user", Kind::OptCount),
    ("sensitive_fields", Kind::TextList),
    ("failure_statuses", Kind::StatusList),
    ("success_statuses", Kind::StatusList),
    ("failure_location", Kind::OptText),
    ("success_cookie", Kind::OptText),
    ("failure_body_text", Kind::OptText),
    ("store", Kind::Text),
    ("auto_migrate", Kind::Bool),
    ("store_timeout", Kind::Duration),
    ("store_prefix", Kind::Text),
    ("memory_max_keys", Kind::Count),
    ("admin_password_hash", Kind::OptText),
    ("admin_token", Kind::OptText),
];

/// The names of every accepted key, in the order of the reference table.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|(k, _)| *k)
}

impl Config {
    /// Loads `path` if given (it must exist), else `loginguard.toml` if it
    /// exists, else the defaults; then applies `LOGINGUARD_*` variables.
    pub fn load(path: Option<&Path>) -> Result<Config, PolicyError> {
        let (table, origin) = match path {
            Some(path) => (read_file(path)?, format!(" in {}", path.display())),
            None => {
                let default = PathBuf::from(DEFAULT_CONFIG_FILE);
                if default.exists() {
                    (read_file(&default)?, format!(" in {DEFAULT_CONFIG_FILE}"))
                } else {
                    (toml::Table::new(), String::new())
                }
            }
        };
        Config::from_sources(table, &origin, |k| std::env::var(k).ok())
    }

    /// Parses TOML text (no environment).
    pub fn from_toml_str(text: &str) -> Result<Config, PolicyError> {
        let table = parse_table(text, "TOML text")?;
        Config::from_sources(table, "", |_| None)
    }

    /// Builds from a parsed table and an environment lookup (`env("LOGINGUARD_…")`).
    pub fn from_sources(
        mut table: toml::Table,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, PolicyError> {
        for (key, kind) in KEYS {
            let var = format!("LOGINGUARD_{}", key.to_ascii_uppercase());
            if let Some(raw) = env(&var) {
                table.insert((*key).to_owned(), env_value(key, *kind, &raw)?);
            }
        }
        let mut config = Config::default();
        let mut builder = Policy::builder();
        for (key, value) in table {
            let Some((_, kind)) = KEYS.iter().find(|(k, _)| *k == key) else {
                return Err(PolicyError::UnknownKey {
                    key,
                    origin: origin.to_owned(),
                    known: known_keys().collect::<Vec<_>>().join(", "),
                });
            };
            builder = apply(&mut config, builder, &key, *kind, &value)?;
        }
        config.policy = builder.build()?;
        if config.store.trim().is_empty() {
            return Err(PolicyError::invalid(
                "store",
                "\"\"",
                "\"memory\", \"sqlite://path\", \"postgres://…\" or \"redis://…\"",
            ));
        }
        if config.store_timeout.is_zero() {
            return Err(PolicyError::invalid(
                "store_timeout",
                "0s",
                "a positive duration like \"2s\" or \"500ms\"",
            ));
        }
        Ok(config)
    }
}

fn read_file(path: &Path) -> Result<toml::Table, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    parse_table(&text, &path.display().to_string())
}

fn parse_table(text: &str, path: &str) -> Result<toml::Table, PolicyError> {
    text.parse::<toml::Table>().map_err(|e| PolicyError::File {
        path: path.to_owned(),
        message: e.to_string().trim().to_owned(),
    })
}

fn env_value(key: &str, kind: Kind, raw: &str) -> Result<Value, PolicyError> {
    let raw = raw.trim();
    let list = |raw: &str| -> Value {
        if raw.starts_with('[') {
            if let Ok(t) = format!("v = {raw}").parse::<toml::Table>() {
                if let Some(v) = t.get("v") {
                    return v.clone();
                }
            }
        }
        Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        )
    };
    Ok(match kind {
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Boolean(true),
            "false" | "0" | "no" | "off" => Value::Boolean(false),
            _ => return Err(PolicyError::invalid(key, raw, "true or false")),
        },
        Kind::Count | Kind::OptCount => match raw.parse::<i64>() {
            Ok(n) => Value::Integer(n),
            Err(_) if kind == Kind::OptCount && is_none_word(raw) => Value::String(String::new()),
            Err(_) => return Err(PolicyError::invalid(key, raw, "a whole number")),
        },
        Kind::Float => match raw.parse::<f64>() {
            Ok(n) => Value::Float(n),
            Err(_) => return Err(PolicyError::invalid(key, raw, "a number such as 2 or 1.5")),
        },
        Kind::TextList | Kind::NetList => list(raw),
        Kind::StatusList => match list(raw) {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => s.parse::<i64>().map(Value::Integer).map_err(|_| {
                            PolicyError::invalid(
                                key,
                                raw,
                                "a comma-separated list of HTTP statuses",
                            )
                        }),
                        other => Ok(other),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => other,
        },
        Kind::Criteria => match list(raw) {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) if s.contains('+') => Value::Array(
                            s.split('+')
                                .map(|f| Value::String(f.trim().to_owned()))
                                .collect(),
                        ),
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        },
        _ => Value::String(raw.to_owned()),
    })
}

fn is_none_word(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "none" | "off" | "never"
    )
}

fn show(v: &Value) -> String {
    v.to_string()
}

fn apply(
    config: &mut Config,
    b: PolicyBuilder,
    key: &str,
    kind: Kind,
    v: &Value,
) -> Result<PolicyBuilder, PolicyError> {
    let bad = |expected: &str| PolicyError::invalid(key, show(v), expected);
    let as_bool = || v.as_bool().ok_or_else(|| bad("true or false"));
    let as_count = |max: i64| {
        v.as_integer()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| bad(&format!("a whole number from 0 to {max}")))
    };
    let as_text = || v.as_str().map(str::to_owned).ok_or_else(|| bad("a string"));
    let duration = || -> Result<Option<Duration>, PolicyError> {
        let expected =
            "a duration like \"90s\", \"15m\", \"2h\", \"30d\", a number of seconds, or \"none\"";
        match v {
            Value::Integer(n) if *n > 0 => Ok(Some(Duration::from_secs(n.unsigned_abs()))),
            Value::String(s) if is_none_word(s) => Ok(None),
            Value::String(s) => parse_duration(s).map(Some).ok_or_else(|| bad(expected)),
            _ => Err(bad(expected)),
        }
    };
    let texts = || -> Result<Vec<String>, PolicyError> {
        v.as_array()
            .ok_or_else(|| bad("a list of strings"))?
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("a list of strings"))
            })
            .collect()
    };
    let _ = kind;
    Ok(match key {
        "enabled" => b.enabled(as_bool()?),
        "failure_limit" => {
            let n = as_count(i64::from(u32::MAX))?;
            if n == 0 {
                return Err(bad("a whole number of at least 1"));
            }
            b.failure_limit(u32::try_from(n).unwrap_or(u32::MAX))
        }
        "cool_off" => match duration()? {
            Some(d) => b.cool_off(d),
            None => b.no_cool_off(),
        },
        "cool_off_multiplier" => {
            let m = v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .ok_or_else(|| bad("a number of at least 1.0"))?;
            let max = b_policy_max(&b);
            b.cool_off_progression(m, max)
        }
        "cool_off_max" => {
            let d = duration()?;
            let m = b_policy_multiplier(&b);
            b.cool_off_progression(m, d)
        }
        "failure_window" => b.failure_window(duration()?),
        "lockout_parameters" => b.lockout_parameters(criteria(key, v)?),
        "reset_on_success" => b.reset_on_success(as_bool()?),
        "reset_cool_off_on_failure_during_lockout" => {
            b.reset_cool_off_on_failure_during_lockout(as_bool()?)
        }
        "lock_out_at_failure" => b.lock_out_at_failure(as_bool()?),
        "allow_list" => b.allow_list(nets(key, v)?),
        "deny_list" => b.deny_list(nets(key, v)?),
        "only_allow_listed" => b.only_allow_listed(as_bool()?),
        "never_lockout_get" => b.never_lockout_get(as_bool()?),
        "trusted_proxies" => b.trusted_proxies(nets(key, v)?),
        "client_ip_header" => b.client_ip_header(as_text()?.trim().to_ascii_lowercase()),
        "ipv6_prefix" => b.ipv6_prefix(u8::try_from(as_count(255)?).unwrap_or(u8::MAX)),
        "username_field" => b.username_field(as_text()?),
        "username_case_insensitive" => b.username_case_insensitive(as_bool()?),
        "username_max_length" => {
            b.username_max_length(usize::try_from(as_count(1 << 20)?).unwrap_or(usize::MAX))
        }
        "body_limit" => b.body_limit(usize::try_from(as_count(1 << 30)?).unwrap_or(usize::MAX)),
        "lockout_status" => b.lockout_status(u16::try_from(as_count(999)?).unwrap_or(u16::MAX)),
        "lockout_url" => {
            let s = as_text()?;
            b.lockout_url(if is_none_word(&s) { None } else { Some(s) })
        }
        "lockout_message" => b.lockout_message(as_text()?),
        "lockout_message_cool_off" => b.lockout_message_cool_off(as_text()?),
        "on_store_error" => b.on_store_error(match v.as_str() {
            Some("deny") => OnStoreError::Deny,
            Some("allow") => OnStoreError::Allow,
            _ => return Err(bad("\"deny\" (fail closed) or \"allow\" (fail open)")),
        }),
        "scope" => b.scope(as_text()?),
        "access_log" => b.access_log(as_bool()?),
        "failure_log" => b.failure_log(as_bool()?),
        "log_retention" => b.log_retention(duration()?),
        "log_max_failures_per_user" => b.log_max_failures_per_user(match v {
            Value::String(s) if is_none_word(s) => None,
            _ => Some(u32::try_from(as_count(i64::from(u32::MAX))?).unwrap_or(u32::MAX)),
        }),
        "sensitive_fields" => b.sensitive_fields(texts()?),
        "failure_statuses" => b.failure_statuses(statuses(key, v)?),
        "success_statuses" => b.success_statuses(statuses(key, v)?),
        "failure_location" => b.failure_location(opt_text(as_text()?)),
        "success_cookie" => b.success_cookie(opt_text(as_text()?)),
        "failure_body_text" => b.failure_body_text(opt_text(as_text()?)),
        "store" => {
            config.store = as_text()?;
            b
        }
        "auto_migrate" => {
            config.auto_migrate = as_bool()?;
            b
        }
        "store_timeout" => {
            config.store_timeout =
                duration()?.ok_or_else(|| bad("a positive duration like \"2s\" or \"500ms\""))?;
            b
        }
        "store_prefix" => {
            let s = as_text()?;
            if s.is_empty()
                || s.len() > 48
                || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || s.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(bad(
                    "1 to 48 letters, digits or '_', not starting with a digit",
                ));
            }
            config.store_prefix = s;
            b
        }
        "memory_max_keys" => {
            let n = as_count(1 << 32)?;
            if n < 16 {
                return Err(bad("a whole number of at least 16"));
            }
            config.memory_max_keys = usize::try_from(n).unwrap_or(usize::MAX);
            b
        }
        "admin_password_hash" => {
            let s = as_text()?;
            if !s.starts_with("$argon2") {
                return Err(PolicyError::invalid(
                    key,
                    "(hidden)",
                    "an argon2 PHC string starting with \"$argon2\" (make one with `loginguard admin --hash-password`)",
                ));
            }
            config.admin_password_hash = Some(s);
            b
        }
        "admin_token" => {
            let s = as_text()?;
            if s.len() < 16 {
                return Err(PolicyError::invalid(
                    key,
                    "(hidden)",
                    "a secret of at least 16 characters",
                ));
            }
            config.admin_token = Some(s);
            b
        }
        _ => return Err(bad("a known setting")),
    })
}

fn b_policy_max(b: &PolicyBuilder) -> Option<Duration> {
    b.peek().cool_off_max
}

fn b_policy_multiplier(b: &PolicyBuilder) -> f64 {
    b.peek().cool_off_multiplier
}

fn criteria(key: &str, v: &Value) -> Result<Vec<Criterion>, PolicyError> {
    let expected = "a list of \"ip\", \"username\", \"user_agent\" or lists of them (AND), e.g. [\"ip\", [\"username\", \"ip\"]]";
    let field = |item: &Value| -> Result<Field, PolicyError> {
        item.as_str()
            .and_then(Field::parse)
            .ok_or_else(|| PolicyError::invalid(key, show(item), expected))
    };
    let items = match v {
        Value::String(_) => std::slice::from_ref(v),
        Value::Array(items) => items.as_slice(),
        _ => return Err(PolicyError::invalid(key, show(v), expected)),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Array(fields) if !fields.is_empty() => Ok(Criterion::all_of(
                fields.iter().map(field).collect::<Result<Vec<_>, _>>()?,
            )),
            other => Ok(Criterion::one(field(other)?)),
        })
        .collect()
}

/// Each element of the list `v` through `item`; any other shape, or an
/// element `item` refuses, is an error naming `key` and `expected`.
fn list_of<T>(
    key: &str,
    v: &Value,
    expected: &str,
    item: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<T>, PolicyError> {
    v.as_array()
        .ok_or_else(|| PolicyError::invalid(key, show(v), expected))?
        .iter()
        .map(|i| item(i).ok_or_else(|| PolicyError::invalid(key, show(i), expected)))
        .collect()
}

fn nets(key: &str, v: &Value) -> Result<Vec<IpNet>, PolicyError> {
    let expected = "a list of IP addresses or CIDR ranges, e.g. [\"10.0.0.0/8\", \"2001:db8::1\"]";
    list_of(key, v, expected, |i| i.as_str().and_then(parse_net))
}

fn statuses(key: &str, v: &Value) -> Result<Vec<u16>, PolicyError> {
    let expected = "a list of HTTP statuses from 100 to 599, e.g. [401, 403]";
    list_of(key, v, expected, |i| {
        i.as_integer().and_then(|n| u16::try_from(n).ok())
    })
}

fn opt_text(s: String) -> Option<String> {
    if is_none_word(&s) {
        None
    } else {
        Some(s)
    }
}

/// Parses an IP address (as a single-address range) or a CIDR range.
pub fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn every_setting_loads_from_toml() {
        let c = Config::from_toml_str(
            r#"
            enabled = true
            failure_limit = 5
            cool_off = "15m"
            cool_off_multiplier = 2
            cool_off_max = "2h"
            failure_window = "1h"
            lockout_parameters = ["ip", ["username", "ip"], "user_agent"]
            reset_on_success = true
            reset_cool_off_on_failure_during_lockout = false
            lock_out_at_failure = false
            allow_list = ["10.0.0.0/8", "::1"]
            deny_list = ["192.0.2.7"]
            only_allow_listed = false
            never_lockout_get = true
            trusted_proxies = ["127.0.0.1"]
            ipv6_prefix = 64
            username_field = "email"
            username_case_insensitive = true
            username_max_length = 100
            body_limit = 4096
            lockout_status = 403
            lockout_url = "/locked"
            lockout_message = "no"
            lockout_message_cool_off = "wait {retry_after}"
            on_store_error = "allow"
            scope = "otp"
            access_log = false
            failure_log = false
            log_retention = "30d"
            log_max_failures_per_user = 50
            sensitive_fields = ["password", "otp"]
            store = "memory"
            auto_migrate = true
            store_timeout = "500ms"
            store_prefix = "lg_test"
            memory_max_keys = 1000
            admin_token = "0123456789abcdef0123"
            "#,
        )
        .unwrap();
        let p = &c.policy;
        assert_eq!(p.failure_limit.get(), 5);
        assert_eq!(p.cool_off, Some(Duration::from_secs(900)));
        assert_eq!(p.cool_off_multiplier, 2.0);
        assert_eq!(p.cool_off_max, Some(Duration::from_secs(7200)));
        assert_eq!(p.lockout_parameters.len(), 3);
        assert_eq!(p.lockout_parameters[1].to_string(), "ip+username");
        assert_eq!(p.allow_list.len(), 2);
        assert_eq!(p.ipv6_prefix, 64);
        assert_eq!(p.lockout_url.as_deref(), Some("/locked"));
        assert_eq!(p.on_store_error, OnStoreError::Allow);
        assert_eq!(p.log_max_failures_per_user, Some(50));
        assert_eq!(c.store, "memory");
        assert_eq!(c.store_timeout, Duration::from_millis(500));
        assert_eq!(c.memory_max_keys, 1000);
    }

    #[test]
    fn environment_overrides_the_file() {
        let table = "failure_limit = 5\ncool_off = \"1h\"".parse().unwrap();
        let c = Config::from_sources(
            table,
            "",
            env(&[
                ("LOGINGUARD_FAILURE_LIMIT", "7"),
                ("LOGINGUARD_COOL_OFF", "none"),
                ("LOGINGUARD_LOCKOUT_PARAMETERS", "username+ip,ip"),
                ("LOGINGUARD_ALLOW_LIST", "10.0.0.0/8, ::1"),
                ("LOGINGUARD_RESET_ON_SUCCESS", "yes"),
            ]),
        )
        .unwrap();
        assert_eq!(c.policy.failure_limit.get(), 7);
        assert_eq!(c.policy.cool_off, None);
        assert_eq!(c.policy.lockout_parameters[0].to_string(), "ip+username");
        assert_eq!(c.policy.allow_list.len(), 2);
        assert!(c.policy.reset_on_success);
    }

    #[test]
    fn bad_values_name_key_value_and_expectation() {
        for (text, key, value) in [
            ("failure_limit = 0", "failure_limit", "0"),
            ("cool_off = \"soon\"", "cool_off", "soon"),
            (
                "allow_list = [\"10.0.0.0/33\"]",
                "allow_list",
                "10.0.0.0/33",
            ),
            (
                "lockout_parameters = [\"password\"]",
                "lockout_parameters",
                "password",
            ),
            ("on_store_error = \"maybe\"", "on_store_error", "maybe"),
            ("lockout_status = 200", "lockout_status", "200"),
        ] {
            let err = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(
                err.contains(key) && err.contains(value) && err.contains("expected"),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::from_toml_str("failure_limt = 3")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("failure_limt") && err.contains("failure_limit"),
            "{err}"
        );
    }

    #[test]
    fn bad_env_value_is_refused() {
        let err = Config::from_sources(
            toml::Table::new(),
            "",
            env(&[("LOGINGUARD_ENABLED", "perhaps")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("enabled"));
    }

    #[test]
    fn secrets_are_not_echoed() {
        let err = Config::from_toml_str("admin_token = \"short\"")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("short"), "{err}");
    }
}

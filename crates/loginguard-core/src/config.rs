//! Loading settings from a TOML file and `LOGINGUARD_<KEY>` environment
//! variables, shared by the library and the `loginguard` command.
//!
//! Every key of the file can be overridden by the environment variable of
//! the same name upper-cased: `cool_off` by `LOGINGUARD_COOL_OFF`. Lists in
//! the environment are comma-separated (`LOGINGUARD_ALLOW_LIST=10.0.0.0/8,::1`)
//! or TOML arrays; a combined criterion is written `username+ip`.
//!
//! An unknown key in the file and an unknown `LOGINGUARD_*` variable are
//! both refused, naming the closest known setting. `LOGINGUARD_CONFIG`,
//! `LOGINGUARD_LOG`, `LOGINGUARD_TEST_*` and `LOGINGUARD_PROXY_*` are not
//! settings and are left alone.
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

use serde::Deserialize;
use toml::Value;

use crate::policy::{Origin, Policy, PolicyError};
use crate::settings::{self, closest};

pub use crate::settings::parse_net;

/// The default configuration file, read when present.
pub const DEFAULT_CONFIG_FILE: &str = "loginguard.toml";

/// The default store: an SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite://loginguard.db";

/// What `store_prefix` accepts: a name that is safe as a PostgreSQL schema
/// and inside a Redis hash tag.
pub const STORE_PREFIX_RULE: &str =
    "1 to 63 lower-case letters, digits or '_', not starting with a digit or \"pg_\"";

/// Whether `prefix` follows [`STORE_PREFIX_RULE`]. This is the one check of
/// a store prefix: [`Config`] makes it when it loads, and the PostgreSQL
/// and Redis stores' options when they are given one in code.
///
/// ```
/// use loginguard_core::config::is_valid_store_prefix;
///
/// assert!(is_valid_store_prefix("shop_lg"));
/// assert!(!is_valid_store_prefix("Shop-LG"));
/// ```
pub fn is_valid_store_prefix(prefix: &str) -> bool {
    (1..=63).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        && !prefix.starts_with(|c: char| c.is_ascii_digit())
        && !prefix.starts_with("pg_")
}

/// The prefix of every environment variable loginguard reads.
pub const ENV_PREFIX: &str = "LOGINGUARD_";

/// `LOGINGUARD_*` names that are not settings, so never refused: the
/// command's `--config`, test switches, and the flags of `loginguard proxy`.
const NOT_SETTINGS: &[&str] = &["CONFIG", "LOG", "TEST_*", "PROXY_*"];

/// Everything a loginguard process reads from its configuration: the
/// lockout [`Policy`] plus the store and operator settings.
///
/// The store settings deserialize from their keys in `loginguard.toml`
/// (the policy's keys go to [`Policy`]); [`Config::load`] reads both and
/// lays the environment over them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The lockout policy.
    #[serde(skip)]
    pub policy: Policy,
    /// Where state lives: `memory`, `sqlite://path`, `postgres://…`,
    /// `redis://…` (default `sqlite://loginguard.db`).
    #[serde(deserialize_with = "settings::text")]
    pub store: String,
    /// Apply pending migrations when the store is opened (default `false`).
    #[serde(deserialize_with = "settings::bool")]
    pub auto_migrate: bool,
    /// Longest wait for the store before `on_store_error` applies (default 2s).
    #[serde(deserialize_with = "settings::duration")]
    pub store_timeout: Duration,
    /// Prefix of Redis keys / PostgreSQL schema name (default `loginguard`).
    #[serde(deserialize_with = "settings::text")]
    pub store_prefix: String,
    /// Most keys the memory store tracks (default 100000).
    #[serde(deserialize_with = "settings::memory_max_keys")]
    pub memory_max_keys: usize,
    /// Argon2 hash of the admin UI password (default: none, admin UI closed).
    #[serde(deserialize_with = "settings::argon2_hash")]
    pub admin_password_hash: Option<String>,
    /// Bearer token for the admin JSON API (default: none).
    #[serde(deserialize_with = "settings::secret_token")]
    pub admin_token: Option<String>,
    /// A file whose content (trimmed) is the `secret` (default: none).
    #[serde(deserialize_with = "settings::opt_text")]
    pub secret_file: Option<String>,
    /// The `[proxy]` table: the settings of `loginguard proxy`.
    #[serde(skip)]
    pub proxy: ProxyTable,
}

/// The `[proxy]` table of the configuration file: what `loginguard proxy`
/// uses where its flags and `LOGINGUARD_PROXY_*` variables leave a setting
/// unset. The values are text, checked by `loginguard proxy` as its flags
/// are (`upstream = "http://127.0.0.1:8000"`, `login_paths =
/// ["/accounts/login/", "/otp/=otp"]`, `preset = "django"`,
/// `connect_timeout = "5s"`). The outcome rules are the top-level settings
/// (`failure_statuses`, `success_cookie`, …).
///
/// ```
/// use loginguard_core::Config;
///
/// let config = Config::from_toml_str(r#"
///     cool_off = "15m"
///     [proxy]
///     upstream = "http://127.0.0.1:8000"
///     login_paths = ["/accounts/login/"]
///     preset = "django"
/// "#)?;
/// assert_eq!(config.proxy.preset.as_deref(), Some("django"));
/// assert!(Config::from_toml_str("[proxy]\nupstrem = \"x\"").unwrap_err().to_string().contains("upstream"));
/// # Ok::<(), loginguard_core::PolicyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProxyTable {
    /// The app behind the proxy, `http://HOST:PORT`.
    pub upstream: Option<String>,
    /// Where the proxy listens.
    pub addr: Option<String>,
    /// The guarded login paths, `PATH` or `PATH=SCOPE`.
    pub login_paths: Vec<String>,
    /// The preset of outcome rules.
    pub preset: Option<String>,
    /// Longest wait for a connection to the upstream.
    pub connect_timeout: Option<String>,
    /// Longest wait for the upstream's response headers.
    pub response_timeout: Option<String>,
    /// Where the proxy serves its own `/healthz` and `/metrics`.
    pub ops_addr: Option<String>,
    /// How many worker threads serve the proxy (`4` or `"4"`).
    #[serde(deserialize_with = "number_as_text")]
    pub workers: Option<String>,
}

/// A `[proxy]` value written as a number or as text, kept as text.
fn number_as_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Integer(n) => Ok(Some(n.to_string())),
        Value::String(s) => Ok(Some(s)),
        other => Err(serde::de::Error::custom(format!("{other} is not a number"))),
    }
}

/// Reads the `[proxy]` table from `origin`.
fn proxy_table(value: Value, origin: &Origin) -> Result<ProxyTable, PolicyError> {
    let known = settings::field_names::<ProxyTable>();
    let Value::Table(table) = value else {
        return Err(PolicyError::Invalid {
            key: "proxy".to_owned(),
            origin: origin.clone(),
            value: settings::show(&value),
            expected: "a [proxy] table".to_owned(),
        });
    };
    if let Some(key) = table.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(PolicyError::UnknownKey {
            key: format!("proxy.{key}"),
            origin: origin.clone(),
            suggestion: closest(key, known.iter().copied()).map(|k| format!("proxy.{k}")),
        });
    }
    let raw = table.clone();
    serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| {
        let key = e.path().to_string();
        let key = key.split(['.', '[']).next().unwrap_or_default().to_owned();
        let expected = if key == "login_paths" {
            "a list of paths, e.g. [\"/accounts/login/\"]"
        } else if key == "workers" {
            "a number of threads, e.g. 2"
        } else {
            "text, e.g. \"http://127.0.0.1:8000\" or \"5s\""
        };
        PolicyError::Invalid {
            value: raw.get(&key).map(settings::show).unwrap_or_default(),
            key: format!("proxy.{key}"),
            origin: origin.clone(),
            expected: expected.to_owned(),
        }
    })
}

/// The most of a secret file that is read, in bytes.
const SECRET_FILE_MAX_BYTES: u64 = 4096;

/// Reads a secret file: its content, trimmed, is the secret.
pub fn read_secret_file(path: &Path) -> Result<crate::Secret, PolicyError> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| PolicyError::File {
        path: path.display().to_string(),
        message: format!("{e} (secret_file must name a readable file holding the secret)"),
    };
    let mut text = zeroize::Zeroizing::new(String::new());
    // A secret is short: a device or a huge file named by mistake must not
    // hang the load.
    std::fs::File::open(path)
        .and_then(|f| f.take(SECRET_FILE_MAX_BYTES + 1).read_to_string(&mut text))
        .map_err(unreadable)?;
    if text.len() as u64 > SECRET_FILE_MAX_BYTES {
        return Err(PolicyError::File {
            path: path.display().to_string(),
            message: format!(
                "longer than {SECRET_FILE_MAX_BYTES} bytes (secret_file must hold the secret alone, e.g. the output of `openssl rand -hex 32`)"
            ),
        });
    }
    crate::Secret::new(text.trim()).map_err(|_| {
        PolicyError::invalid(
            "secret_file",
            format!("{:?}", path.display().to_string()),
            settings::SECRET,
        )
    })
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
            secret_file: None,
            proxy: ProxyTable::default(),
        }
    }
}

/// The names of every accepted key, in the order of the reference table:
/// the policy's, then the store's.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    settings::field_names::<Policy>()
        .iter()
        .chain(settings::field_names::<Config>())
        .copied()
}

/// Whether `LOGINGUARD_<name>` is left alone (not a setting).
fn is_not_a_setting(name: &str) -> bool {
    NOT_SETTINGS.iter().any(|n| match n.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *n,
    })
}

impl Config {
    /// Loads `path` if given (it must exist), else `loginguard.toml` if it
    /// exists, else the defaults; then applies `LOGINGUARD_*` variables.
    pub fn load(path: Option<&Path>) -> Result<Config, PolicyError> {
        let (table, origin) = match path {
            Some(path) => (
                read_file(path)?,
                Origin::File(path.display().to_string().into()),
            ),
            None => {
                let default = PathBuf::from(DEFAULT_CONFIG_FILE);
                if default.exists() {
                    (
                        read_file(&default)?,
                        Origin::File(DEFAULT_CONFIG_FILE.into()),
                    )
                } else {
                    (toml::Table::new(), Origin::Code)
                }
            }
        };
        Config::from_sources(table, &origin, std::env::vars())
    }

    /// Parses TOML text (no environment).
    pub fn from_toml_str(text: &str) -> Result<Config, PolicyError> {
        let table = parse_table(text, "TOML text")?;
        Config::from_sources(table, &Origin::Code, std::iter::empty())
    }

    /// Builds from a parsed table (read from `origin`, e.g.
    /// `Origin::File("loginguard.toml".into())`) and environment variables: every
    /// `LOGINGUARD_<KEY>` overrides `key`, and any other `LOGINGUARD_*`
    /// variable is refused, except `LOGINGUARD_CONFIG`, `LOGINGUARD_LOG`,
    /// `LOGINGUARD_TEST_*` and `LOGINGUARD_PROXY_*`.
    pub fn from_sources(
        mut table: toml::Table,
        origin: &Origin,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, PolicyError> {
        let known: Vec<&str> = known_keys().collect();
        let unknown = |key: &str, origin: Origin| PolicyError::UnknownKey {
            key: key.to_owned(),
            origin,
            suggestion: closest(key, known.iter().copied()).map(str::to_owned),
        };
        let proxy = match table.remove("proxy") {
            Some(value) => proxy_table(value, origin)?,
            None => ProxyTable::default(),
        };
        if let Some(key) = table.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(unknown(key, origin.clone()));
        }
        let mut from_env = Vec::new();
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(var, _)| {
                var.strip_prefix(ENV_PREFIX)
                    .is_some_and(|name| !is_not_a_setting(name))
            })
            .collect();
        env.sort();
        for (var, raw) in env {
            let key = var[ENV_PREFIX.len()..].to_ascii_lowercase();
            if !known.contains(&key.as_str()) {
                return Err(unknown(&key, Origin::Env(var.into())));
            }
            table.insert(key.clone(), env_value(&raw));
            from_env.push((key, var));
        }
        // A refused value names where it came from.
        let locate = |err: PolicyError| match err {
            PolicyError::Invalid {
                key,
                value,
                expected,
                ..
            } => {
                let origin = match from_env.iter().find(|(k, _)| *k == key) {
                    Some((_, var)) => Origin::Env(var.as_str().into()),
                    None => origin.clone(),
                };
                PolicyError::Invalid {
                    key,
                    origin,
                    value,
                    expected,
                }
            }
            other => other,
        };
        let store_keys = settings::field_names::<Config>();
        let (store, policy): (toml::Table, toml::Table) = table
            .into_iter()
            .partition(|(k, _)| store_keys.contains(&k.as_str()));
        let policy: Policy = deserialize(policy).map_err(locate)?;
        let mut config: Config = deserialize(store).map_err(locate)?;
        let mut policy = policy;
        if let Some(path) = &config.secret_file {
            if policy.secret.is_some() {
                return Err(locate(PolicyError::invalid(
                    "secret_file",
                    format!("{path:?}"),
                    "either `secret` or `secret_file`, not both",
                )));
            }
            policy.secret = Some(read_secret_file(Path::new(path)).map_err(locate)?);
        }
        config.policy = policy.to_builder().build().map_err(locate)?;
        config.check().map_err(locate)?;
        config.proxy = proxy;
        Ok(config)
    }

    /// The rules of the store settings that serde does not express.
    fn check(&self) -> Result<(), PolicyError> {
        if self.store.trim().is_empty() {
            return Err(PolicyError::invalid(
                "store",
                "\"\"",
                "\"memory\", \"sqlite://path\", \"postgres://…\" or \"redis://…\"",
            ));
        }
        if !is_valid_store_prefix(&self.store_prefix) {
            return Err(PolicyError::invalid(
                "store_prefix",
                format!("{:?}", self.store_prefix),
                STORE_PREFIX_RULE,
            ));
        }
        Ok(())
    }
}

/// Deserializes `table`, naming the key and value of a refused setting.
fn deserialize<T: serde::de::DeserializeOwned>(table: toml::Table) -> Result<T, PolicyError> {
    let raw = table.clone();
    serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| {
        let key = e.path().to_string();
        settings::into_policy_error(&key, e.inner().message(), raw.get(&key))
    })
}

fn read_file(path: &Path) -> Result<toml::Table, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    parse_table(&text, &path.display().to_string())
}

fn parse_table(text: &str, path: &str) -> Result<toml::Table, PolicyError> {
    text.parse::<toml::Table>()
        .map_err(|e| PolicyError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim().to_owned(),
        })
}

/// An environment variable's value: a TOML array when it is written as
/// one (`["ip", ["username", "ip"]]`), else its text, which each setting
/// reads as it reads its TOML form (`"15m"`, `"7"`, `"a,b"`, `"username+ip"`).
fn env_value(raw: &str) -> Value {
    let raw = raw.trim();
    if raw.starts_with('[') {
        if let Ok(mut t) = format!("v = {raw}").parse::<toml::Table>() {
            if let Some(v) = t.remove("v") {
                return v;
            }
        }
    }
    Value::String(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::OnStoreError;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
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
            &Origin::Code,
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
            &Origin::Code,
            env(&[("LOGINGUARD_ENABLED", "perhaps")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("enabled"));
    }

    #[test]
    fn zero_and_words_get_the_same_text() {
        for text in ["failure_limit = 0", "failure_limit = \"five\""] {
            let err = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(
                err.ends_with("expected a whole number from 1 to 4294967295"),
                "{err}"
            );
        }
    }

    #[test]
    fn env_lists_may_be_toml_arrays() {
        let c = Config::from_sources(
            toml::Table::new(),
            &Origin::Code,
            env(&[(
                "LOGINGUARD_LOCKOUT_PARAMETERS",
                "[\"ip\", [\"username\", \"ip\"]]",
            )]),
        )
        .unwrap();
        assert_eq!(c.policy.lockout_parameters[1].to_string(), "ip+username");
    }

    #[test]
    fn unknown_env_variables_are_refused_with_a_suggestion() {
        let err = Config::from_sources(
            toml::Table::new(),
            &Origin::Code,
            env(&[("LOGINGUARD_COOLOFF", "15m")]),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "unknown setting `cooloff` (from LOGINGUARD_COOLOFF): did you mean `cool_off`?"
        );
        let ok = Config::from_sources(
            toml::Table::new(),
            &Origin::Code,
            env(&[
                ("LOGINGUARD_CONFIG", "x.toml"),
                ("LOGINGUARD_TEST_REDIS_URL", "redis://x"),
                ("LOGINGUARD_PROXY_LISTEN", "0.0.0.0:80"),
                ("OTHER_COOLOFF", "1"),
            ]),
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn file_typos_suggest_the_setting() {
        let err = Config::from_toml_str("cooloff = \"15m\"")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "unknown setting `cooloff`: did you mean `cool_off`?");
    }

    #[test]
    fn store_prefix_follows_the_one_rule() {
        for bad in ["Shop", "shop-prod", "shop:prod", "1shop", "pg_shop", ""] {
            let err = Config::from_toml_str(&format!("store_prefix = {bad:?}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(STORE_PREFIX_RULE), "{bad}: {err}");
        }
        let c = Config::from_toml_str("store_prefix = \"shop_prod\"").unwrap();
        assert_eq!(c.store_prefix, "shop_prod");
    }

    #[test]
    fn a_secret_file_is_read_trimmed_and_bounded() {
        let dir = std::env::temp_dir().join(format!("lg-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "0123456789abcdef0123456789abcdef\n").unwrap();
        let text = format!("secret_file = {:?}", file.display().to_string());
        assert!(Config::from_toml_str(&text)
            .unwrap()
            .policy
            .secret
            .is_some());
        let both = format!("{text}\nsecret = \"0123456789abcdef0123456789abcdef\"");
        assert!(Config::from_toml_str(&both)
            .unwrap_err()
            .to_string()
            .contains("not both"));
        std::fs::write(&file, "short").unwrap();
        let err = Config::from_toml_str(&text).unwrap_err().to_string();
        assert!(
            err.contains("at least 32") && !err.contains("short"),
            "{err}"
        );
        #[cfg(unix)]
        {
            let zero = "secret_file = \"/dev/zero\"";
            assert!(
                Config::from_toml_str(zero).is_err(),
                "read up to a bound, then refused"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_are_not_echoed() {
        let err = Config::from_toml_str("admin_token = \"short\"")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("short"), "{err}");
    }
}

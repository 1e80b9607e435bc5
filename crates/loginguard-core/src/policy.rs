//! `Policy`: every lockout setting, with a builder that checks each value.
//!
//! The TOML/env loader ([`crate::config`]) ends in the same
//! [`PolicyBuilder::build`], so a value is accepted or refused the same way
//! wherever it comes from.
//!
//! ```
//! use std::time::Duration;
//! use loginguard_core::{Criterion, Field, Policy};
//!
//! let policy = Policy::builder()
//!     .failure_limit(5)
//!     .cool_off(Duration::from_secs(15 * 60))
//!     .lockout_parameters(vec![Criterion::all_of([Field::Username, Field::Ip])])
//!     .build()?;
//! assert_eq!(policy.failure_limit.get(), 5);
//! # Ok::<(), loginguard_core::PolicyError>(())
//! ```

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::key::Field;
use crate::record::Limits;
use crate::secret::Secret;
use crate::settings;

/// One lockout criterion: a set of fields that together identify an
/// attacker (AND). A [`Policy`] holds a list of them (OR).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Criterion {
    fields: Vec<Field>,
}

impl Criterion {
    /// A criterion of one field.
    pub fn one(field: Field) -> Criterion {
        Criterion {
            fields: vec![field],
        }
    }

    /// A criterion combining fields (all must match). Duplicates are
    /// dropped; an empty list is refused by [`PolicyBuilder::build`].
    pub fn all_of(fields: impl IntoIterator<Item = Field>) -> Criterion {
        let mut fields: Vec<Field> = fields.into_iter().collect();
        fields.sort();
        fields.dedup();
        Criterion { fields }
    }

    /// The fields, in canonical order (ip, username, user_agent).
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Whether this criterion uses `field`.
    pub fn uses(&self, field: Field) -> bool {
        self.fields.contains(&field)
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(field.as_str())?;
        }
        Ok(())
    }
}

impl Serialize for Criterion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let [one] = self.fields.as_slice() {
            s.serialize_str(one.as_str())
        } else {
            s.collect_seq(self.fields.iter().map(|f| f.as_str()))
        }
    }
}

/// What to do when the store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStoreError {
    /// Refuse the attempt (fail closed). The default.
    #[default]
    Deny,
    /// Let the attempt through uncounted (fail open).
    Allow,
}

/// Where a setting came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Origin {
    /// Set in code (or from TOML text that is not a file).
    #[default]
    Code,
    /// A key of this configuration file.
    File(Box<str>),
    /// This `LOGINGUARD_*` environment variable.
    Env(Box<str>),
}

impl fmt::Display for Origin {
    /// `""`, `" in loginguard.toml"` or `" (from LOGINGUARD_COOL_OFF)"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Code => Ok(()),
            Origin::File(path) => write!(f, " in {path}"),
            Origin::Env(var) => write!(f, " (from {var})"),
        }
    }
}

/// A setting that was refused, naming the key, the value and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A value outside what the key accepts.
    #[error("invalid value for `{key}`{origin}: {value} — expected {expected}")]
    Invalid {
        /// The setting's name (its TOML key).
        key: String,
        /// Where it came from.
        origin: Origin,
        /// The value given, as written.
        value: String,
        /// What the key accepts.
        expected: String,
    },
    /// A key (or `LOGINGUARD_*` variable) that loginguard does not know.
    #[error("unknown setting `{key}`{origin}{}", match suggestion {
        Some(name) => format!(": did you mean `{name}`?"),
        None => format!(" — known settings: {}", crate::config::known_keys().collect::<Vec<_>>().join(", ")),
    })]
    UnknownKey {
        /// The key as written (for a variable: its name lower-cased,
        /// without `LOGINGUARD_`).
        key: String,
        /// Where it came from.
        origin: Origin,
        /// The known name closest to `key`, when it looks like a typo
        /// (without it, the message lists every known setting).
        suggestion: Option<String>,
    },
    /// The configuration file could not be read.
    #[error("cannot read configuration {path}: {message}")]
    File {
        /// The file's path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The configuration file is not valid TOML (a syntax error, a key
    /// given twice).
    #[error("configuration {path} is not valid TOML: {message}")]
    Syntax {
        /// The file's path.
        path: String,
        /// The parser's message, with the line and column.
        message: String,
    },
}

impl PolicyError {
    /// An [`PolicyError::Invalid`].
    pub fn invalid(
        key: impl Into<String>,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) -> PolicyError {
        PolicyError::Invalid {
            key: key.into(),
            origin: Origin::Code,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

/// Every lockout setting. Build one with [`Policy::builder`] or load it with
/// [`Config::load`](crate::Config::load); see the README's policy reference
/// for each key, its default and its meaning.
///
/// It deserializes from the keys of `loginguard.toml` (every key optional,
/// unknown keys refused); [`Config`](crate::Config) adds the store settings
/// and the environment, and checks the result with [`PolicyBuilder::build`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// `false` turns loginguard off entirely (default `true`).
    #[serde(deserialize_with = "settings::bool")]
    pub enabled: bool,
    /// Failures per key before it is locked (default 3).
    #[serde(deserialize_with = "settings::failure_limit")]
    pub failure_limit: NonZeroU32,
    /// How long a lock lasts; `None` (default): until reset.
    #[serde(serialize_with = "opt_duration::serialize")]
    #[serde(deserialize_with = "settings::opt_duration")]
    pub cool_off: Option<Duration>,
    /// Each further lock of the same key lasts this many times longer (default 1).
    #[serde(deserialize_with = "settings::float")]
    pub cool_off_multiplier: f64,
    /// The longest a progressive cool-off may grow to (default: no cap).
    #[serde(serialize_with = "opt_duration::serialize")]
    #[serde(deserialize_with = "settings::opt_duration")]
    pub cool_off_max: Option<Duration>,
    /// Failures older than this are forgotten (default: never).
    #[serde(serialize_with = "opt_duration::serialize")]
    #[serde(deserialize_with = "settings::opt_duration")]
    pub failure_window: Option<Duration>,
    /// Which fields identify an attacker: OR of AND-combinations (default `["ip"]`).
    #[serde(deserialize_with = "settings::criteria")]
    pub lockout_parameters: Vec<Criterion>,
    /// A successful login clears the key's failures (default `false`).
    #[serde(deserialize_with = "settings::bool")]
    pub reset_on_success: bool,
    /// A refused attempt during a lock counts and restarts the cool-off (default `true`).
    #[serde(deserialize_with = "settings::bool")]
    pub reset_cool_off_on_failure_during_lockout: bool,
    /// `false`: monitor only — count and report, never block (default `true`).
    #[serde(deserialize_with = "settings::bool")]
    pub lock_out_at_failure: bool,
    /// IPs or CIDR ranges that are never locked.
    #[serde(deserialize_with = "settings::nets")]
    pub allow_list: Vec<IpNet>,
    /// IPs or CIDR ranges that are always refused.
    #[serde(deserialize_with = "settings::nets")]
    pub deny_list: Vec<IpNet>,
    /// Refuse every IP not in `allow_list` (default `false`).
    #[serde(deserialize_with = "settings::bool")]
    pub only_allow_listed: bool,
    /// GET requests are never refused (default `false`).
    #[serde(deserialize_with = "settings::bool")]
    pub never_lockout_get: bool,
    /// Proxies whose forwarding headers are believed (default: none).
    #[serde(deserialize_with = "settings::nets")]
    pub trusted_proxies: Vec<IpNet>,
    /// The one forwarding header the trusted proxy writes, read from the
    /// right past `trusted_proxies` (default `x-forwarded-for`; also
    /// `forwarded`, `x-real-ip`, or a single-address header such as
    /// `cf-connecting-ip`). Every other forwarding header is ignored.
    #[serde(deserialize_with = "settings::header_name")]
    pub client_ip_header: String,
    /// IPv6 clients are grouped by this prefix length (default 64: one
    /// subscriber's /64 is one client, however often it rotates addresses;
    /// 128 counts each address apart).
    #[serde(deserialize_with = "settings::ipv6_prefix")]
    pub ipv6_prefix: u8,
    /// The form or JSON field holding the username (default `username`).
    #[serde(deserialize_with = "settings::text")]
    pub username_field: String,
    /// Usernames are case-folded before counting (default `false`).
    #[serde(deserialize_with = "settings::bool")]
    pub username_case_insensitive: bool,
    /// Usernames longer than this many characters are refused with 400 (default 256).
    #[serde(deserialize_with = "settings::username_max_length")]
    pub username_max_length: usize,
    /// Largest request body read to find the username, in bytes (default 65536).
    #[serde(deserialize_with = "settings::body_limit")]
    pub body_limit: usize,
    /// HTTP status of the lockout response (default 429).
    #[serde(deserialize_with = "settings::lockout_status")]
    pub lockout_status: u16,
    /// Redirect locked-out clients here instead of answering (default: none).
    #[serde(deserialize_with = "settings::opt_text")]
    pub lockout_url: Option<String>,
    /// Message shown to a locked-out client when the lock has no end.
    #[serde(deserialize_with = "settings::text")]
    pub lockout_message: String,
    /// Message when the lock ends by itself; `{retry_after}` becomes the wait.
    #[serde(deserialize_with = "settings::text")]
    pub lockout_message_cool_off: String,
    /// What to do when the store cannot answer (default `deny`).
    #[serde(deserialize_with = "settings::on_store_error")]
    pub on_store_error: OnStoreError,
    /// Name of the guarded endpoint; separate scopes count separately (default `login`).
    #[serde(deserialize_with = "settings::text")]
    pub scope: String,
    /// Keep an access log of successful logins (default `true`).
    #[serde(deserialize_with = "settings::bool")]
    pub access_log: bool,
    /// Keep a log of failed attempts (default `true`). Attempts refused
    /// during a lock are logged at most once per key per second by each
    /// server, so an attack at line rate cannot flood the log; every one
    /// is still counted and reported in events and metrics.
    #[serde(deserialize_with = "settings::bool")]
    pub failure_log: bool,
    /// Audit entries older than this are deleted (default: kept).
    #[serde(serialize_with = "opt_duration::serialize")]
    #[serde(deserialize_with = "settings::opt_duration")]
    pub log_retention: Option<Duration>,
    /// At most this many failure-log rows per username (default: no cap).
    #[serde(deserialize_with = "settings::log_max_failures")]
    pub log_max_failures_per_user: Option<u32>,
    /// Outcome rule: statuses of the login handler's response that mean a
    /// wrong password (default `[401, 403, 422]`).
    #[serde(deserialize_with = "settings::statuses")]
    pub failure_statuses: Vec<u16>,
    /// Outcome rule: statuses that mean a right password (default: none
    /// listed, so every 2xx and 3xx not otherwise ruled a failure).
    #[serde(deserialize_with = "settings::statuses")]
    pub success_statuses: Vec<u16>,
    /// Outcome rule: a redirect whose `Location` matches this pattern (`*`
    /// matches any text) is a failure (default: none; a redirect back to
    /// the login path itself is always a failure).
    #[serde(deserialize_with = "settings::opt_text")]
    pub failure_location: Option<String>,
    /// Outcome rule: only a response setting a cookie of this name (`*`
    /// matches any text, e.g. `wordpress_logged_in_*`) is a success; any
    /// other 2xx/3xx is a failure (default: none).
    #[serde(deserialize_with = "settings::opt_text")]
    pub success_cookie: Option<String>,
    /// Outcome rule: a response whose first bytes of body contain this text
    /// is a failure, whatever its status (default: none).
    #[serde(deserialize_with = "settings::opt_text")]
    pub failure_body_text: Option<String>,
    /// The secret keying the password hashes and device cookies (at least
    /// 32 bytes, the same on every server; `secret_file` reads it from a
    /// file). Without it `ignore_repeated_password`, `spray_limit` and
    /// `device_cookies` are off.
    #[serde(deserialize_with = "settings::secret")]
    pub secret: Option<Secret>,
    /// Earlier secrets, still accepted for device cookies while they are
    /// rotated out (default: none).
    #[serde(deserialize_with = "settings::secrets")]
    pub previous_secrets: Vec<Secret>,
    /// The form or JSON field holding the password, read only to compute
    /// its keyed hash (default `password`).
    #[serde(deserialize_with = "settings::text")]
    pub password_field: String,
    /// A key remembers keyed hashes of its last three failed passwords,
    /// and the same wrong password again counts nothing on it (default
    /// `false`; needs `secret`).
    #[serde(deserialize_with = "settings::bool")]
    pub ignore_repeated_password: bool,
    /// Lock a password once it has failed on this many distinct accounts
    /// inside `spray_window` (default: off; needs `secret`).
    #[serde(deserialize_with = "settings::opt_limit")]
    pub spray_limit: Option<u32>,
    /// How long a password's failures over accounts are remembered (default 1h).
    #[serde(serialize_with = "humantime_serialize")]
    #[serde(deserialize_with = "settings::duration")]
    pub spray_window: Duration,
    /// How long a sprayed password stays locked; `none`: until reset (default 1h).
    #[serde(serialize_with = "opt_duration::serialize")]
    #[serde(deserialize_with = "settings::opt_duration")]
    pub spray_cool_off: Option<Duration>,
    /// A successful login gets a signed cookie binding the username to the
    /// browser; that browser's attempts for the username count on its own
    /// key, so a lock of the username's shared key does not refuse it
    /// (default `false`; needs `secret`).
    #[serde(deserialize_with = "settings::bool")]
    pub device_cookies: bool,
    /// The device cookie's name (default `loginguard_device`).
    #[serde(deserialize_with = "settings::text")]
    pub device_cookie_name: String,
    /// How long a device cookie is valid, checked on the server (default 90d).
    #[serde(serialize_with = "humantime_serialize")]
    #[serde(deserialize_with = "settings::duration")]
    pub device_cookie_max_age: Duration,
}

fn humantime_serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            enabled: true,
            failure_limit: NonZeroU32::MIN.saturating_add(2),
            cool_off: None,
            cool_off_multiplier: 1.0,
            cool_off_max: None,
            failure_window: None,
            lockout_parameters: vec![Criterion::one(Field::Ip)],
            reset_on_success: false,
            reset_cool_off_on_failure_during_lockout: true,
            lock_out_at_failure: true,
            allow_list: Vec::new(),
            deny_list: Vec::new(),
            only_allow_listed: false,
            never_lockout_get: false,
            trusted_proxies: Vec::new(),
            client_ip_header: "x-forwarded-for".to_owned(),
            ipv6_prefix: 64,
            username_field: "username".to_owned(),
            username_case_insensitive: false,
            username_max_length: 256,
            body_limit: 64 * 1024,
            lockout_status: 429,
            lockout_url: None,
            lockout_message: "Account locked: too many login attempts. Contact an administrator to unlock your account.".to_owned(),
            lockout_message_cool_off: "Account locked: too many login attempts. Please try again in {retry_after}.".to_owned(),
            on_store_error: OnStoreError::Deny,
            scope: "login".to_owned(),
            access_log: true,
            failure_log: true,
            log_retention: None,
            log_max_failures_per_user: None,
            failure_statuses: vec![401, 403, 422],
            success_statuses: Vec::new(),
            failure_location: None,
            success_cookie: None,
            failure_body_text: None,
            secret: None,
            previous_secrets: Vec::new(),
            password_field: "password".to_owned(),
            ignore_repeated_password: false,
            spray_limit: None,
            spray_window: Duration::from_secs(3600),
            spray_cool_off: Some(Duration::from_secs(3600)),
            device_cookies: false,
            device_cookie_name: "loginguard_device".to_owned(),
            device_cookie_max_age: Duration::from_secs(90 * 86_400),
        }
    }
}

impl Policy {
    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Policy::default(),
            bad_limit: false,
        }
    }

    /// A builder starting from this policy (to change a few settings).
    pub fn to_builder(&self) -> PolicyBuilder {
        PolicyBuilder {
            policy: self.clone(),
            bad_limit: false,
        }
    }

    /// The per-key limits for the store, with `failure_limit` as given
    /// (the policy's own, or one chosen by the per-request hook).
    pub fn limits(&self, failure_limit: NonZeroU32) -> Limits {
        Limits::new(failure_limit.get())
            .with_failure_window(self.failure_window)
            .with_cool_off(self.cool_off)
            .with_progression(self.cool_off_multiplier, self.cool_off_max)
            .with_count_during_lockout(self.reset_cool_off_on_failure_during_lockout)
            .with_lock_out(self.lock_out_at_failure)
            .with_remember(if self.forgives_repeats() {
                crate::record::REMEMBERED_PASSWORDS
            } else {
                0
            })
    }

    /// Whether the failures of repeated passwords are forgiven (the setting
    /// is on and a secret keys the hashes).
    pub fn forgives_repeats(&self) -> bool {
        self.ignore_repeated_password && self.secret.is_some()
    }

    /// The spray lock's limit, when it is on (set, and a secret keys it).
    pub fn spray_lock(&self) -> Option<u32> {
        self.spray_limit.filter(|_| self.secret.is_some())
    }

    /// Whether device cookies are on (set, and a secret signs them).
    pub fn trusts_devices(&self) -> bool {
        self.device_cookies && self.secret.is_some()
    }

    /// Whether the layer must read the password field (to hash it).
    pub fn needs_password(&self) -> bool {
        self.forgives_repeats() || self.spray_lock().is_some()
    }

    /// The per-key limits of a password's spray key: `spray_limit`
    /// distinct accounts inside `spray_window`, locked for `spray_cool_off`.
    pub fn spray_limits(&self, spray_limit: u32) -> Limits {
        Limits::new(spray_limit)
            .with_failure_window(Some(self.spray_window))
            .with_cool_off(self.spray_cool_off)
            .with_count_during_lockout(false)
            .with_lock_out(self.lock_out_at_failure)
            .with_remember(spray_limit)
    }

    /// Whether any criterion uses `field` (so the layer must extract it).
    pub fn uses(&self, field: Field) -> bool {
        self.lockout_parameters.iter().any(|c| c.uses(field))
    }

    /// Whether `ip` is in the allow list.
    pub fn is_allow_listed(&self, ip: std::net::IpAddr) -> bool {
        self.allow_list.iter().any(|net| net.contains(&ip))
    }

    /// Whether `ip` is in the deny list.
    pub fn is_deny_listed(&self, ip: std::net::IpAddr) -> bool {
        self.deny_list.iter().any(|net| net.contains(&ip))
    }

    /// The lockout message for a lock ending in `retry_after` (or never).
    pub fn lockout_message_for(&self, retry_after: Option<Duration>) -> String {
        const PLACEHOLDER: &str = "{retry_after}";
        let Some(d) = retry_after else {
            return self.lockout_message.clone();
        };
        // `str::replace` by hand, looking for `{` alone (no substring
        // searcher to set up): this runs for every refusal in a cool-off.
        let mut rest = self.lockout_message_cool_off.as_str();
        let mut out = String::with_capacity(rest.len() + 32);
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            if rest[i..].starts_with(PLACEHOLDER) {
                push_wait(&mut out, d);
                rest = &rest[i + PLACEHOLDER.len()..];
            } else {
                out.push('{');
                rest = &rest[i + 1..];
            }
        }
        out.push_str(rest);
        out
    }
}

/// A wait in words: "1 hour 5 minutes", "45 seconds".
pub fn format_wait(d: Duration) -> String {
    let mut out = String::with_capacity(32);
    push_wait(&mut out, d);
    out
}

/// Appends [`format_wait`]'s words for `d`.
fn push_wait(out: &mut String, d: Duration) {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    // Written by hand: this runs for every refusal while a cool-off lasts.
    let start = out.len();
    for (n, unit) in [(h, "hour"), (m, "minute"), (s, "second")] {
        if n > 0 {
            if out.len() > start {
                out.push(' ');
            }
            push_number(out, n);
            out.push(' ');
            out.push_str(unit);
            if n != 1 {
                out.push('s');
            }
        }
    }
    if out.len() == start {
        out.push_str("1 second");
    }
}

/// Appends the decimal digits of `n`.
fn push_number(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[i..] {
        out.push(char::from(*d));
    }
}

/// Parses a duration: `"90s"`, `"15m"`, `"2h"`, `"1h 30m"`, `"30d"`, or a
/// bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).ok()
}

/// Checked settings for a [`Policy`].
#[derive(Debug, Clone)]
#[must_use = "call `build()` to get a Policy"]
pub struct PolicyBuilder {
    policy: Policy,
    bad_limit: bool,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.policy.$name = value;
            self
        }
    };
}

impl PolicyBuilder {
    setter!(
        /// `false` turns loginguard off (default `true`).
        enabled: bool
    );
    setter!(
        /// Failures older than this are forgotten (default `None`: never), a
        /// true sliding window.
        failure_window: Option<Duration>
    );
    setter!(
        /// Which fields identify an attacker (default `[ip]`).
        lockout_parameters: Vec<Criterion>
    );
    setter!(
        /// A successful login clears the key's failures (default `false`).
        reset_on_success: bool
    );
    setter!(
        /// A refused attempt during a lock counts and restarts the cool-off
        /// (default `true`).
        reset_cool_off_on_failure_during_lockout: bool
    );
    setter!(
        /// `false`: monitor only (default `true`).
        lock_out_at_failure: bool
    );
    setter!(
        /// IPs/CIDRs never locked.
        allow_list: Vec<IpNet>
    );
    setter!(
        /// IPs/CIDRs always refused.
        deny_list: Vec<IpNet>
    );
    setter!(
        /// Refuse every IP not allow-listed (default `false`).
        only_allow_listed: bool
    );
    setter!(
        /// Never refuse GET requests (default `false`).
        never_lockout_get: bool
    );
    setter!(
        /// ⚠️ Proxies whose `Forwarded`/`X-Forwarded-For`/`X-Real-IP` headers
        /// are believed. Leave empty unless every request passes through
        /// these proxies, or an attacker can choose the IP they are counted as.
        trusted_proxies: Vec<IpNet>
    );
    setter!(
        /// The one forwarding header the trusted proxy writes (default
        /// `x-forwarded-for`; `forwarded`, `x-real-ip`, `cf-connecting-ip`…).
        client_ip_header: String
    );
    setter!(
        /// Group IPv6 clients by this prefix length (default 64; 128: each
        /// address apart, which lets one subscriber rotate through its /64).
        ipv6_prefix: u8
    );
    setter!(
        /// Form or JSON field holding the username (default `username`).
        username_field: String
    );
    setter!(
        /// Case-fold usernames (default `false`).
        username_case_insensitive: bool
    );
    setter!(
        /// Longest accepted username in characters (default 256).
        username_max_length: usize
    );
    setter!(
        /// Largest body read to find the username, in bytes (default 65536).
        body_limit: usize
    );
    setter!(
        /// HTTP status of the lockout response (default 429).
        lockout_status: u16
    );
    setter!(
        /// Redirect locked-out clients here (default none).
        lockout_url: Option<String>
    );
    setter!(
        /// Message for a lock without an end.
        lockout_message: String
    );
    setter!(
        /// Message for a lock with a cool-off; `{retry_after}` becomes the wait.
        lockout_message_cool_off: String
    );
    setter!(
        /// Fail closed (`Deny`, default) or open (`Allow`) when the store fails.
        on_store_error: OnStoreError
    );
    setter!(
        /// Scope name: separate scopes count separately (default `login`).
        scope: String
    );
    setter!(
        /// Keep the access log (default `true`).
        access_log: bool
    );
    setter!(
        /// Keep the failure log (default `true`).
        failure_log: bool
    );
    setter!(
        /// Delete audit entries older than this (default: keep).
        log_retention: Option<Duration>
    );
    setter!(
        /// Cap failure-log rows per username (default: none).
        log_max_failures_per_user: Option<u32>
    );
    setter!(
        /// Response statuses that mean a wrong password (default `[401, 403, 422]`).
        failure_statuses: Vec<u16>
    );
    setter!(
        /// Response statuses that mean a right password (default: every
        /// 2xx/3xx not ruled a failure).
        success_statuses: Vec<u16>
    );
    setter!(
        /// A redirect to a `Location` matching this pattern (`*`: any text)
        /// is a failure (default none).
        failure_location: Option<String>
    );
    setter!(
        /// Only a response setting this cookie (`*`: any text) is a success
        /// (default none).
        success_cookie: Option<String>
    );
    setter!(
        /// A body starting with bytes that contain this text is a failure
        /// (default none).
        failure_body_text: Option<String>
    );
    setter!(
        /// The secret keying password hashes and device cookies (default
        /// none: those features off).
        secret: Option<Secret>
    );
    setter!(
        /// Earlier secrets still accepted for device cookies.
        previous_secrets: Vec<Secret>
    );
    setter!(
        /// Form or JSON field holding the password (default `password`).
        password_field: String
    );
    setter!(
        /// The same wrong password again counts nothing (default `false`).
        ignore_repeated_password: bool
    );
    setter!(
        /// Lock a password failed on this many accounts (default off).
        spray_limit: Option<u32>
    );
    setter!(
        /// Window of the spray count (default 1h).
        spray_window: Duration
    );
    setter!(
        /// How long a sprayed password stays locked (default 1h; `None`: until reset).
        spray_cool_off: Option<Duration>
    );
    setter!(
        /// Trust the browsers users have logged in from (default `false`).
        device_cookies: bool
    );
    setter!(
        /// The device cookie's name (default `loginguard_device`).
        device_cookie_name: String
    );
    setter!(
        /// How long a device cookie is valid (default 90 days).
        device_cookie_max_age: Duration
    );

    /// Failures per key before it is locked (default 3). `0` is refused by
    /// [`build`](Self::build).
    pub fn failure_limit(mut self, n: u32) -> Self {
        match NonZeroU32::new(n) {
            Some(n) => self.policy.failure_limit = n,
            None => self.bad_limit = true,
        }
        self
    }

    /// How long a lock lasts (default: until an administrator resets it).
    pub fn cool_off(mut self, d: Duration) -> Self {
        self.policy.cool_off = Some(d);
        self
    }

    /// Locks last until reset (the default).
    pub fn no_cool_off(mut self) -> Self {
        self.policy.cool_off = None;
        self
    }

    /// Progressive cool-off: each further lock of a key lasts `multiplier`
    /// times longer, up to `max` (defaults 1 and none).
    pub fn cool_off_progression(mut self, multiplier: f64, max: Option<Duration>) -> Self {
        self.policy.cool_off_multiplier = multiplier;
        self.policy.cool_off_max = max;
        self
    }

    /// Checks every value and returns the policy.
    pub fn build(self) -> Result<Policy, PolicyError> {
        let p = self.policy;
        if self.bad_limit {
            return Err(PolicyError::invalid(
                "failure_limit",
                0,
                settings::FAILURE_LIMIT.expected,
            ));
        }
        if !p.cool_off_multiplier.is_finite() || p.cool_off_multiplier < 1.0 {
            return Err(PolicyError::invalid(
                "cool_off_multiplier",
                p.cool_off_multiplier,
                settings::MULTIPLIER,
            ));
        }
        for (key, d) in [
            ("cool_off", p.cool_off),
            ("cool_off_max", p.cool_off_max),
            ("failure_window", p.failure_window),
        ] {
            if d == Some(Duration::ZERO) {
                return Err(PolicyError::invalid(
                    key,
                    "0s",
                    "a positive duration like \"90s\", \"15m\", \"2h\", or no value",
                ));
            }
        }
        if p.lockout_parameters.is_empty()
            || p.lockout_parameters.iter().any(|c| c.fields.is_empty())
        {
            return Err(PolicyError::invalid(
                "lockout_parameters",
                "[]",
                "a non-empty list of \"ip\", \"username\", \"user_agent\" or lists of them, e.g. [\"ip\", [\"username\", \"ip\"]]",
            ));
        }
        settings::IPV6_PREFIX.check("ipv6_prefix", u64::from(p.ipv6_prefix))?;
        if p.username_field.trim().is_empty() {
            return Err(PolicyError::invalid(
                "username_field",
                "\"\"",
                "a non-empty field name",
            ));
        }
        settings::USERNAME_MAX_LENGTH.check("username_max_length", p.username_max_length as u64)?;
        settings::BODY_LIMIT.check("body_limit", p.body_limit as u64)?;
        settings::LOCKOUT_STATUS.check("lockout_status", u64::from(p.lockout_status))?;
        if let Some(url) = &p.lockout_url {
            if url.is_empty() || url.chars().any(|c| c.is_control() || c == ' ') {
                return Err(PolicyError::invalid(
                    "lockout_url",
                    format!("{url:?}"),
                    "a path or URL without spaces, e.g. \"/locked\"",
                ));
            }
        }
        if p.scope.is_empty()
            || p.scope.len() > 64
            || !p
                .scope
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(PolicyError::invalid(
                "scope",
                format!("{:?}", p.scope),
                "1 to 64 characters of letters, digits, '-', '_' or '.'",
            ));
        }
        let header = p.client_ip_header.as_str();
        if header.is_empty()
            || header.len() > 64
            || !header
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            return Err(PolicyError::invalid(
                "client_ip_header",
                format!("{header:?}"),
                "a lower-case header name such as \"x-forwarded-for\", \"forwarded\", \"x-real-ip\" or \"cf-connecting-ip\"",
            ));
        }
        for (key, list) in [
            ("failure_statuses", &p.failure_statuses),
            ("success_statuses", &p.success_statuses),
        ] {
            if let Some(bad) = list.iter().find(|s| !(100..=599).contains(*s)) {
                return Err(PolicyError::invalid(
                    key,
                    bad,
                    "a list of HTTP statuses from 100 to 599, e.g. [401, 403]",
                ));
            }
        }
        if let Some(both) = p
            .failure_statuses
            .iter()
            .find(|s| p.success_statuses.contains(s))
        {
            return Err(PolicyError::invalid(
                "success_statuses",
                both,
                "statuses that are not also in `failure_statuses`",
            ));
        }
        for (key, text) in [
            ("failure_location", &p.failure_location),
            ("success_cookie", &p.success_cookie),
            ("failure_body_text", &p.failure_body_text),
        ] {
            if text.as_deref() == Some("") {
                return Err(PolicyError::invalid(
                    key,
                    "\"\"",
                    "a non-empty text, or no value to turn the rule off",
                ));
            }
        }
        if p.password_field.trim().is_empty() {
            return Err(PolicyError::invalid(
                "password_field",
                "\"\"",
                "a non-empty field name",
            ));
        }
        let cookie = p.device_cookie_name.as_str();
        if cookie.is_empty()
            || cookie.len() > 64
            || !cookie
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        {
            return Err(PolicyError::invalid(
                "device_cookie_name",
                format!("{cookie:?}"),
                "1 to 64 letters, digits, '_', '-' or '.'",
            ));
        }
        if p.spray_limit == Some(0) {
            return Err(PolicyError::invalid(
                "spray_limit",
                0,
                "a whole number from 1 to 4294967295, or \"off\"",
            ));
        }
        for (key, d) in [
            ("spray_window", Some(p.spray_window)),
            ("spray_cool_off", p.spray_cool_off),
        ] {
            if d == Some(Duration::ZERO) {
                return Err(PolicyError::invalid(
                    key,
                    "0s",
                    "a positive duration like \"15m\" or \"1h\"",
                ));
            }
        }
        if let Some(n) = p.log_max_failures_per_user {
            settings::LOG_MAX_FAILURES.check("log_max_failures_per_user", u64::from(n))?;
        }
        Ok(p)
    }
}

mod opt_duration {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(
        d: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_written_in_words() {
        for (secs, words) in [
            (0, "1 second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (61, "1 minute 1 second"),
            (3_900, "1 hour 5 minutes"),
            (7_322, "2 hours 2 minutes 2 seconds"),
            (36_000_000_000, "10000000 hours"),
        ] {
            assert_eq!(format_wait(Duration::from_secs(secs)), words);
        }
        assert_eq!(format_wait(Duration::from_millis(1_500)), "2 seconds");
    }

    #[test]
    fn defaults_match_the_design() {
        let p = Policy::default();
        assert_eq!(p.failure_limit.get(), 3);
        assert_eq!(p.cool_off, None);
        assert_eq!(p.lockout_parameters, vec![Criterion::one(Field::Ip)]);
        assert!(!p.reset_on_success);
        assert!(p.reset_cool_off_on_failure_during_lockout);
        assert_eq!(p.lockout_status, 429);
        assert_eq!(p.on_store_error, OnStoreError::Deny);
        assert_eq!(p.ipv6_prefix, 64);
    }

    #[test]
    fn zero_limit_is_refused_with_its_key() {
        let err = Policy::builder().failure_limit(0).build().unwrap_err();
        assert!(err.to_string().contains("failure_limit"), "{err}");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30d"), Some(Duration::from_secs(30 * 86400)));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn lockout_message_names_the_wait() {
        let p = Policy::default();
        assert!(p
            .lockout_message_for(Some(Duration::from_secs(3_900)))
            .contains("1 hour 5 minutes"));
        assert!(p.lockout_message_for(None).contains("administrator"));
    }

    #[test]
    fn every_placeholder_is_filled_and_other_braces_kept() {
        let mut p = Policy::default();
        let wait = Some(Duration::from_secs(61));
        for (template, message) in [
            ("{retry_after}", "1 minute 1 second"),
            ("{{retry_after}} {x}", "{1 minute 1 second} {x}"),
            (
                "Wait {retry_after}, then {retry_after}.",
                "Wait 1 minute 1 second, then 1 minute 1 second.",
            ),
            ("no wait named {", "no wait named {"),
            ("{retry_afte", "{retry_afte"),
        ] {
            p.lockout_message_cool_off = template.to_owned();
            assert_eq!(p.lockout_message_for(wait), message, "{template}");
            assert_eq!(
                message,
                template.replace("{retry_after}", "1 minute 1 second")
            );
        }
    }
}

//! How each setting's value is read: the `deserialize_with` functions named
//! on the fields of [`Policy`](crate::Policy) and [`Config`](crate::Config).
//!
//! Each function accepts the TOML form of its value and the text form an
//! environment variable gives (`"true"`, `"7"`, `"15m"`, `"a,b"`), so a value
//! is read the same way wherever it comes from. A refused value becomes an
//! error of the form `<value> — expected <what is accepted>`, which the
//! loader turns into [`PolicyError::Invalid`] naming the key.

use std::fmt::Display;
use std::time::Duration;

use ipnet::IpNet;
use serde::de::{self, Deserialize, Deserializer};
use toml::Value;

use crate::key::Field;
use crate::policy::{parse_duration, Criterion, OnStoreError, PolicyError};

/// Between the value and what is accepted in a refused value's message.
const EXPECTED: &str = " — expected ";

/// A whole-number setting's accepted range and its description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub(crate) min: u64,
    pub(crate) max: u64,
    pub(crate) expected: &'static str,
}

impl Bounds {
    /// Refuses `n` outside the range, naming `key`.
    pub(crate) fn check(&self, key: &str, n: u64) -> Result<(), PolicyError> {
        if (self.min..=self.max).contains(&n) {
            Ok(())
        } else {
            Err(PolicyError::invalid(key, n, self.expected))
        }
    }

    /// Reads a whole number in the range (from an integer or its text).
    fn read<E: de::Error>(&self, v: &Value) -> Result<u64, E> {
        let n = match v {
            Value::Integer(n) => u64::try_from(*n).ok(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        n.filter(|n| (self.min..=self.max).contains(n))
            .ok_or_else(|| bad(show(v), self.expected))
    }
}

/// The error for a refused value.
fn bad<E: de::Error>(value: impl Display, expected: &str) -> E {
    E::custom(format_args!("{value}{EXPECTED}{expected}"))
}

/// A value as written in TOML (strings quoted).
pub(crate) fn show(v: &Value) -> String {
    v.to_string()
}

/// Turns a deserialization error at `key` into a [`PolicyError`]; `value`
/// is the raw value, shown when the message does not carry one.
pub(crate) fn into_policy_error(key: &str, message: &str, value: Option<&Value>) -> PolicyError {
    if let Some((value, expected)) = message.rsplit_once(EXPECTED) {
        return PolicyError::invalid(key, value, expected);
    }
    let expected = message
        .split_once(", expected ")
        .map_or(message, |(_, e)| e);
    PolicyError::invalid(key, value.map(show).unwrap_or_default(), expected)
}

/// Words meaning "no value" for optional settings.
pub(crate) fn is_none_word(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "" | "none" | "off" | "never"
    )
}

fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Value::deserialize(d)
}

/// `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0` as text).
pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = value(d)?;
    match &v {
        Value::Boolean(b) => Ok(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(bad(show(&v), "true or false")),
        },
        _ => Err(bad(show(&v), "true or false")),
    }
}

/// A string.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = value(d)?;
    match v {
        Value::String(s) => Ok(s),
        other => Err(bad(show(&other), "a string")),
    }
}

/// A header name, trimmed and lower-cased.
pub(crate) fn header_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text(d).map(|s| s.trim().to_ascii_lowercase())
}

/// A string, or `none`/`off`/`""` for no value.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = text(d)?;
    Ok(if is_none_word(&s) { None } else { Some(s) })
}

/// What `cool_off_multiplier` accepts.
pub(crate) const MULTIPLIER: &str = "a number of at least 1.0 (1.0: every lock lasts `cool_off`)";

/// A number such as `2` or `1.5`.
pub(crate) fn float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = value(d)?;
    let n = match &v {
        Value::Float(f) => Some(*f),
        Value::Integer(i) => Some(*i as f64),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| bad(show(&v), MULTIPLIER))
}

const DURATION: &str =
    "a duration like \"90s\", \"15m\", \"2h\", \"30d\", a number of seconds, or \"none\"";

fn read_duration<E: de::Error>(v: &Value) -> Result<Option<Duration>, E> {
    match v {
        Value::Integer(n) if *n >= 0 => Ok(Some(Duration::from_secs(n.unsigned_abs()))),
        Value::String(s) if is_none_word(s) => Ok(None),
        Value::String(s) => parse_duration(s)
            .map(Some)
            .ok_or_else(|| bad(show(v), DURATION)),
        _ => Err(bad(show(v), DURATION)),
    }
}

/// A duration (`"15m"`, `"2h"`, seconds), or `none` for no value.
pub(crate) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    read_duration(&value(d)?)
}

/// A whole number from 1, or `none`/`off` for no value (`spray_limit`).
pub(crate) fn opt_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = value(d)?;
    const EXPECTED_LIMIT: &str = "a whole number from 1 to 4294967295, or \"off\"";
    match &v {
        Value::String(s) if is_none_word(s) => Ok(None),
        Value::Integer(n) => u32::try_from(*n)
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| bad(show(&v), EXPECTED_LIMIT)),
        Value::String(s) => s
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| bad(show(&v), EXPECTED_LIMIT)),
        _ => Err(bad(show(&v), EXPECTED_LIMIT)),
    }
}

/// A positive duration (`"2s"`, `"500ms"`).
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = value(d)?;
    const POSITIVE: &str = "a positive duration like \"2s\" or \"500ms\"";
    match read_duration::<D::Error>(&v) {
        Ok(Some(d)) if !d.is_zero() => Ok(d),
        _ => Err(bad(show(&v), POSITIVE)),
    }
}

/// `"deny"` or `"allow"`.
pub(crate) fn on_store_error<'de, D: Deserializer<'de>>(d: D) -> Result<OnStoreError, D::Error> {
    let v = value(d)?;
    match v.as_str().map(str::trim) {
        Some("deny") => Ok(OnStoreError::Deny),
        Some("allow") => Ok(OnStoreError::Allow),
        _ => Err(bad(
            show(&v),
            "\"deny\" (fail closed) or \"allow\" (fail open)",
        )),
    }
}

/// The items of a list: a TOML array, or comma-separated text.
fn items(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) => Some(items),
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        _ => None,
    }
}

/// Each item of a list through `item`; a refused item is named.
fn list_of<T, E: de::Error>(
    v: Value,
    expected: &str,
    item: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<T>, E> {
    let shown = show(&v);
    items(v)
        .ok_or_else(|| bad(shown, expected))?
        .iter()
        .map(|i| item(i).ok_or_else(|| bad(show(i), expected)))
        .collect()
}

/// An argon2 PHC string (never shown in errors).
pub(crate) fn argon2_hash<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match text(d) {
        Ok(s) if s.starts_with("$argon2") => Ok(Some(s)),
        _ => Err(bad(
            "(hidden)",
            "an argon2 PHC string starting with \"$argon2\" (make one with `loginguard admin --hash-password`)",
        )),
    }
}

/// A secret of at least 16 characters (never shown in errors).
pub(crate) fn secret_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match text(d) {
        Ok(s) if s.chars().count() >= 16 => Ok(Some(s)),
        _ => Err(bad("(hidden)", "a secret of at least 16 characters")),
    }
}

/// The secret keying password hashes and device cookies: at least 32
/// bytes (never shown in errors).
pub(crate) fn secret<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::secret::Secret>, D::Error> {
    let s = text(d).map_err(|_: D::Error| bad("(hidden)", SECRET))?;
    if is_none_word(&s) {
        return Ok(None);
    }
    crate::secret::Secret::new(s.trim())
        .map(Some)
        .map_err(|_| bad("(hidden)", SECRET))
}

/// Older secrets still accepted for device cookies (never shown in errors).
pub(crate) fn secrets<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<crate::secret::Secret>, D::Error> {
    let expected = "a list of secrets of at least 32 bytes each";
    let v = value(d)?;
    let items: Vec<String> = match &v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| bad("(hidden)", expected))?,
        Value::String(s) if s.trim().is_empty() => Vec::new(),
        Value::String(s) => s.split(',').map(str::to_owned).collect(),
        _ => return Err(bad("(hidden)", expected)),
    };
    items
        .iter()
        .map(|s| crate::secret::Secret::new(s.trim()).map_err(|_| bad("(hidden)", expected)))
        .collect()
}

/// What `secret` accepts.
pub(crate) const SECRET: &str =
    "at least 32 random bytes, e.g. the 64 hex digits of `openssl rand -hex 32`";

/// A list of IP addresses or CIDR ranges.
pub(crate) fn nets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let expected = "a list of IP addresses or CIDR ranges, e.g. [\"10.0.0.0/8\", \"2001:db8::1\"]";
    list_of(value(d)?, expected, |i| i.as_str().and_then(parse_net))
}

/// A list of HTTP statuses.
pub(crate) fn statuses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
    let expected = "a list of HTTP statuses from 100 to 599, e.g. [401, 403]";
    list_of(value(d)?, expected, |i| match i {
        Value::Integer(n) => u16::try_from(*n).ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Lockout criteria: `["ip", ["username", "ip"]]`, or `ip,username+ip` as text.
pub(crate) fn criteria<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Criterion>, D::Error> {
    let expected = "a list of \"ip\", \"username\", \"user_agent\" or lists of them (AND), e.g. [\"ip\", [\"username\", \"ip\"]]";
    let field = |item: &Value| -> Result<Field, D::Error> {
        item.as_str()
            .and_then(|s| Field::parse(s.trim()))
            .ok_or_else(|| bad(show(item), expected))
    };
    let fields = |items: &[Value]| -> Result<Criterion, D::Error> {
        Ok(Criterion::all_of(
            items.iter().map(field).collect::<Result<Vec<_>, _>>()?,
        ))
    };
    let v = value(d)?;
    let shown = show(&v);
    items(v)
        .ok_or_else(|| bad(shown, expected))?
        .iter()
        .map(|item| match item {
            Value::Array(all) if !all.is_empty() => fields(all),
            Value::String(s) if s.contains('+') => fields(
                &s.split('+')
                    .map(|f| Value::String(f.to_owned()))
                    .collect::<Vec<_>>(),
            ),
            other => Ok(Criterion::one(field(other)?)),
        })
        .collect()
}

macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident: $ty:ty = $bounds:expr, $convert:expr) => {
        $(#[$doc])*
        pub(crate) fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            let n = $bounds.read::<D::Error>(&value(d)?)?;
            let convert: fn(u64) -> Option<$ty> = $convert;
            convert(n).ok_or_else(|| bad(n, $bounds.expected))
        }
    };
}

/// `failure_limit`.
pub(crate) const FAILURE_LIMIT: Bounds = Bounds {
    min: 1,
    max: u32::MAX as u64,
    expected: "a whole number from 1 to 4294967295",
};
/// `ipv6_prefix`.
pub(crate) const IPV6_PREFIX: Bounds = Bounds {
    min: 1,
    max: 128,
    expected: "a prefix length from 1 to 128",
};
/// `username_max_length`.
pub(crate) const USERNAME_MAX_LENGTH: Bounds = Bounds {
    min: 1,
    max: 4096,
    expected: "a length from 1 to 4096 characters",
};
/// `body_limit`.
pub(crate) const BODY_LIMIT: Bounds = Bounds {
    min: 64,
    max: 16 * 1024 * 1024,
    expected: "a size in bytes from 64 to 16777216",
};
/// `lockout_status`.
pub(crate) const LOCKOUT_STATUS: Bounds = Bounds {
    min: 400,
    max: 599,
    expected: "an HTTP error status from 400 to 599",
};
/// `log_max_failures_per_user`.
pub(crate) const LOG_MAX_FAILURES: Bounds = Bounds {
    min: 1,
    max: u32::MAX as u64,
    expected: "a whole number from 1 to 4294967295, or \"none\" for no cap",
};
/// `memory_max_keys`.
pub(crate) const MEMORY_MAX_KEYS: Bounds = Bounds {
    min: 16,
    max: 1 << 32,
    expected: "a whole number from 16 to 4294967296",
};

bounded!(
    /// `failure_limit`.
    failure_limit: std::num::NonZeroU32 = FAILURE_LIMIT,
    |n| u32::try_from(n).ok().and_then(std::num::NonZeroU32::new)
);
bounded!(
    /// `ipv6_prefix`.
    ipv6_prefix: u8 = IPV6_PREFIX,
    |n| u8::try_from(n).ok()
);
bounded!(
    /// `username_max_length`.
    username_max_length: usize = USERNAME_MAX_LENGTH,
    |n| usize::try_from(n).ok()
);
bounded!(
    /// `body_limit`.
    body_limit: usize = BODY_LIMIT,
    |n| usize::try_from(n).ok()
);
bounded!(
    /// `lockout_status`.
    lockout_status: u16 = LOCKOUT_STATUS,
    |n| u16::try_from(n).ok()
);
bounded!(
    /// `memory_max_keys`.
    memory_max_keys: usize = MEMORY_MAX_KEYS,
    |n| usize::try_from(n).ok()
);

/// `log_max_failures_per_user`: a whole number, or `none`.
pub(crate) fn log_max_failures<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = value(d)?;
    if v.as_str().is_some_and(is_none_word) {
        return Ok(None);
    }
    let n = LOG_MAX_FAILURES.read::<D::Error>(&v)?;
    u32::try_from(n)
        .map(Some)
        .map_err(|_| bad(n, LOG_MAX_FAILURES.expected))
}

/// Parses an IP address (as a single-address range) or a CIDR range.
pub fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// The field names of a struct deriving `Deserialize`, read from the list
/// serde hands to `deserialize_struct`, so they are declared only once.
pub(crate) fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// The known name closest to `name`, if it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_setting() {
        let known = ["cool_off", "cool_off_max", "failure_limit", "store"];
        assert_eq!(closest("cooloff", known), Some("cool_off"));
        assert_eq!(closest("failure_limt", known), Some("failure_limit"));
        assert_eq!(closest("colour", known), None);
    }
}

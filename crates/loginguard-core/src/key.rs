//! Keys: the value of one lockout criterion for one attempt, and filters over them.
//!
//! A [`Key`] names what a failure counter belongs to: a scope (which guarded
//! endpoint) and one or more field values (`ip`, `username`, `user_agent`).
//! Its canonical text form, [`Key::id`], is what stores index by:
//!
//! ```
//! use loginguard_core::Key;
//!
//! let key = Key::new("login").with_username("alice").with_ip("10.0.0.1");
//! assert_eq!(key.id(), "login/ip=10.0.0.1&username=alice");
//! assert_eq!(Key::parse(key.id()).unwrap(), key);
//! ```

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One identifying field of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The client IP (after proxy resolution and IPv6 prefix grouping).
    Ip,
    /// The username as typed, normalised.
    Username,
    /// The `User-Agent` header.
    UserAgent,
}

impl Field {
    /// Every field, in canonical order.
    pub const ALL: [Field; 3] = [Field::Ip, Field::Username, Field::UserAgent];

    /// The name used in configuration and in key ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Ip => "ip",
            Field::Username => "username",
            Field::UserAgent => "user_agent",
        }
    }

    /// Parses a field name (`ip`, `username`, `user_agent`).
    pub fn parse(s: &str) -> Option<Field> {
        match s {
            "ip" => Some(Field::Ip),
            "username" => Some(Field::Username),
            "user_agent" => Some(Field::UserAgent),
            _ => None,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of one lockout criterion for one attempt, e.g. `username=alice`
/// in scope `login`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    id: String,
    /// Shared: the keys of one guard all hold its scope.
    scope: Arc<str>,
    ip: Option<String>,
    username: Option<String>,
    user_agent: Option<String>,
    /// The components beyond the criteria's fields, boxed: most keys have
    /// none, and a key travels in every refusal.
    extra: Option<Box<Extra>>,
}

/// A key's components that no lockout criterion names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Extra {
    /// A trusted device's nonce: the username counted on that device's own key.
    device: Option<String>,
    /// A password's spray id (a keyed hash, see [`Secret::spray_id`](crate::Secret::spray_id)).
    password: Option<String>,
}

/// Why a key id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed key id {id:?}: expected `scope/field=value&...` with fields ip, username, user_agent, device, password")]
pub struct KeyParseError {
    id: String,
}

impl Key {
    /// A key in `scope` with no fields yet; add them with the `with_*` methods.
    pub fn new(scope: impl Into<String>) -> Key {
        let mut key = Key {
            id: String::new(),
            scope: Arc::from(scope.into()),
            ip: None,
            username: None,
            user_agent: None,
            extra: None,
        };
        key.rebuild_id();
        key
    }

    /// A key built from all its parts at once (cheaper than chaining the
    /// `with_*` methods, which rebuild the id each time).
    pub fn from_parts(
        scope: impl Into<String>,
        ip: Option<String>,
        username: Option<String>,
        user_agent: Option<String>,
    ) -> Key {
        Key::from_shared_parts(Arc::from(scope.into()), ip, username, user_agent)
    }

    /// [`Key::from_parts`] with a scope the caller shares among its keys
    /// (no copy of the scope per key).
    pub(crate) fn from_shared_parts(
        scope: Arc<str>,
        ip: Option<String>,
        username: Option<String>,
        user_agent: Option<String>,
    ) -> Key {
        let mut key = Key {
            id: String::new(),
            scope,
            ip,
            username,
            user_agent,
            extra: None,
        };
        key.rebuild_id();
        key
    }

    /// The key of a trusted device of `username`: the username's failures
    /// from that device count here, apart from its shared key.
    #[must_use]
    pub fn with_device(mut self, nonce: impl Into<String>) -> Key {
        self.extra.get_or_insert_with(Box::default).device = Some(nonce.into());
        self.rebuild_id();
        self
    }

    /// The key of one password across accounts (its spray id).
    #[must_use]
    pub fn with_password(mut self, spray_id: impl Into<String>) -> Key {
        self.extra.get_or_insert_with(Box::default).password = Some(spray_id.into());
        self.rebuild_id();
        self
    }

    /// The device component, if this is a trusted device's key.
    pub fn device(&self) -> Option<&str> {
        self.extra.as_ref()?.device.as_deref()
    }

    /// Whether this is a password's spray key.
    pub fn is_spray(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.password.is_some())
    }

    /// The id as shown to people (lists, events, logs): a spray key's
    /// keyed hash is replaced by `(hidden)`, so no view ever shows a value
    /// derived from a password.
    pub fn label(&self) -> std::borrow::Cow<'_, str> {
        match self.id.rsplit_once("password=") {
            Some((head, _)) if self.is_spray() => {
                std::borrow::Cow::Owned(format!("{head}password=(hidden)"))
            }
            _ => std::borrow::Cow::Borrowed(&self.id),
        }
    }

    /// Sets the `ip` component.
    #[must_use]
    pub fn with_ip(mut self, ip: impl Into<String>) -> Key {
        self.ip = Some(ip.into());
        self.rebuild_id();
        self
    }

    /// Sets the `username` component.
    #[must_use]
    pub fn with_username(mut self, username: impl Into<String>) -> Key {
        self.username = Some(username.into());
        self.rebuild_id();
        self
    }

    /// Sets the `user_agent` component.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Key {
        self.user_agent = Some(user_agent.into());
        self.rebuild_id();
        self
    }

    /// Sets one component by field.
    #[must_use]
    pub fn with(self, field: Field, value: impl Into<String>) -> Key {
        match field {
            Field::Ip => self.with_ip(value),
            Field::Username => self.with_username(value),
            Field::UserAgent => self.with_user_agent(value),
        }
    }

    fn rebuild_id(&mut self) {
        let mut id = String::with_capacity(self.scope.len() + 32);
        escape_into(&self.scope, &mut id);
        id.push('/');
        let mut first = true;
        for field in Field::ALL {
            if let Some(value) = self.get(field) {
                if !first {
                    id.push('&');
                }
                first = false;
                id.push_str(field.as_str());
                id.push('=');
                escape_into(value, &mut id);
            }
        }
        let extra = self.extra.as_deref();
        for (name, value) in [
            ("device", extra.and_then(|e| e.device.as_deref())),
            ("password", extra.and_then(|e| e.password.as_deref())),
        ] {
            if let Some(value) = value {
                if !first {
                    id.push('&');
                }
                first = false;
                id.push_str(name);
                id.push('=');
                escape_into(value, &mut id);
            }
        }
        self.id = id;
    }

    /// The canonical text form: `scope/ip=…&username=…&user_agent=…`, with
    /// `%`, `/`, `&`, `=`, `{`, `}` and control characters percent-escaped.
    /// Fields always appear in the order ip, username, user_agent.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The scope (guarded endpoint) this key counts for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The `ip` component, if the key has one.
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    /// The `username` component, if the key has one.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The `user_agent` component, if the key has one.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// One component by field.
    pub fn get(&self, field: Field) -> Option<&str> {
        match field {
            Field::Ip => self.ip(),
            Field::Username => self.username(),
            Field::UserAgent => self.user_agent(),
        }
    }

    /// Parses a canonical id produced by [`Key::id`].
    pub fn parse(id: &str) -> Result<Key, KeyParseError> {
        let err = || KeyParseError { id: id.to_owned() };
        let (scope, rest) = id.split_once('/').ok_or_else(err)?;
        let mut key = Key::new(unescape(scope).ok_or_else(err)?);
        if !rest.is_empty() {
            for part in rest.split('&') {
                let (name, value) = part.split_once('=').ok_or_else(err)?;
                let value = unescape(value).ok_or_else(err)?;
                match name {
                    "device" | "password" => {
                        let extra = key.extra.get_or_insert_with(Box::default);
                        let slot = if name == "device" {
                            &mut extra.device
                        } else {
                            &mut extra.password
                        };
                        if slot.replace(value).is_some() {
                            return Err(err());
                        }
                    }
                    _ => {
                        let field = Field::parse(name).ok_or_else(err)?;
                        if key.get(field).is_some() {
                            return Err(err());
                        }
                        key = key.with(field, value);
                    }
                }
            }
        }
        key.rebuild_id();
        if key.id != id {
            return Err(err());
        }
        Ok(key)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// Characters a key id carries percent-escaped.
fn needs_escape(c: char) -> bool {
    matches!(c, '%' | '/' | '&' | '=' | '{' | '}') || c.is_control()
}

fn escape_into(value: &str, out: &mut String) {
    // Most values (IPs, usernames, scopes) are ASCII and need no escaping
    // at all: checked byte by byte, as this runs for every attempt.
    if value.bytes().all(|b| PLAIN[usize::from(b)]) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        if needs_escape(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        } else {
            out.push(c);
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The bytes written as they are: the ASCII characters [`needs_escape`]
/// lets through.
const PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        plain[b] = !matches!(b as u8, b'%' | b'/' | b'&' | b'=' | b'{' | b'}');
        b += 1;
    }
    plain
};

fn unescape(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Which keys an administrator's reset (or a listing) applies to.
///
/// A key matches when it has at least one of the given fields, and every
/// given field that the key has is equal. So `ip=10.0.0.1, username=alice`
/// matches the keys `ip=10.0.0.1`, `username=alice` and
/// `ip=10.0.0.1&username=alice`, but not `ip=10.0.0.2&username=alice`.
/// An empty filter matches every key (of the scope, if one is given).
///
/// ```
/// use loginguard_core::{Key, KeyFilter};
///
/// let filter = KeyFilter::all().ip("10.0.0.1").username("alice");
/// assert!(filter.matches(&Key::new("login").with_ip("10.0.0.1")));
/// assert!(!filter.matches(&Key::new("login").with_ip("10.0.0.2").with_username("alice")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyFilter {
    /// Only keys of this scope.
    pub scope: Option<String>,
    /// Keys whose ip component is this.
    pub ip: Option<String>,
    /// Keys whose username component is this.
    pub username: Option<String>,
    /// Only the keys of sprayed passwords (see [`Key::is_spray`]); the ip
    /// and username are then not looked at.
    pub sprayed: bool,
}

impl KeyFilter {
    /// Matches every key.
    pub fn all() -> KeyFilter {
        KeyFilter::default()
    }

    /// Restricts to keys of one scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> KeyFilter {
        self.scope = Some(scope.into());
        self
    }

    /// Restricts to keys with this ip component (see the type docs).
    #[must_use]
    pub fn ip(mut self, ip: impl Into<String>) -> KeyFilter {
        self.ip = Some(ip.into());
        self
    }

    /// Restricts to keys with this username component (see the type docs).
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> KeyFilter {
        self.username = Some(username.into());
        self
    }

    /// Restricts to the keys of sprayed passwords.
    #[must_use]
    pub fn sprayed(mut self) -> KeyFilter {
        self.sprayed = true;
        self
    }

    /// Whether `key` matches this filter.
    pub fn matches(&self, key: &Key) -> bool {
        if let Some(scope) = &self.scope {
            if scope != key.scope() {
                return false;
            }
        }
        if self.sprayed {
            return key.is_spray();
        }
        let checks = [(&self.ip, key.ip()), (&self.username, key.username())];
        let mut any_given = false;
        let mut any_shared = false;
        for (wanted, have) in checks {
            if let Some(wanted) = wanted {
                any_given = true;
                if let Some(have) = have {
                    if have != wanted {
                        return false;
                    }
                    any_shared = true;
                }
            }
        }
        !any_given || any_shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_orders_fields_canonically() {
        let a = Key::new("s").with_username("bob").with_ip("1.2.3.4");
        let b = Key::new("s").with_ip("1.2.3.4").with_username("bob");
        assert_eq!(a, b);
        assert_eq!(a.id(), "s/ip=1.2.3.4&username=bob");
    }

    #[test]
    fn special_characters_round_trip() {
        let key = Key::new("a/b")
            .with_username("x&y=z%{}/\n")
            .with_user_agent("Mozilla/5.0");
        assert!(!key.id()[4..].contains('{'));
        assert_eq!(Key::parse(key.id()).unwrap(), key);
    }

    proptest::proptest! {
        #[test]
        fn any_values_round_trip_through_the_id(
            scope in ".{0,12}",
            user in proptest::option::of(".{0,12}"),
            agent in proptest::option::of("[ -~\u{80}-\u{a0}]{0,12}"),
        ) {
            let mut key = Key::new(scope.as_str()).with_ip("2001:db8::/64");
            if let Some(u) = &user {
                key = key.with_username(u.as_str());
            }
            if let Some(a) = &agent {
                key = key.with_user_agent(a.as_str());
            }
            let parsed = Key::parse(key.id()).unwrap();
            proptest::prop_assert_eq!(&parsed, &key);
            proptest::prop_assert_eq!(parsed.username(), user.as_deref());
            proptest::prop_assert_eq!(parsed.user_agent(), agent.as_deref());
            let (head, fields) = key.id().split_once('/').unwrap();
            let separators = ['&', '=', '{', '}'];
            let braces = ['{', '}'];
            proptest::prop_assert!(!head.contains(separators), "scope part {}", head);
            proptest::prop_assert!(!fields.contains(braces), "fields part {}", fields);
            proptest::prop_assert!(!key.id().chars().any(char::is_control));
        }
    }

    #[test]
    fn device_and_spray_keys_round_trip_and_hide_the_hash() {
        let device = Key::new("login").with_username("alice").with_device("00ff");
        assert_eq!(device.id(), "login/username=alice&device=00ff");
        assert_eq!(Key::parse(device.id()).unwrap(), device);
        assert!(KeyFilter::all().username("alice").matches(&device));
        let spray = Key::new("login").with_password("0123456789abcdef");
        assert_eq!(spray.id(), "login/password=0123456789abcdef");
        assert_eq!(Key::parse(spray.id()).unwrap(), spray);
        assert!(spray.is_spray());
        assert_eq!(spray.label(), "login/password=(hidden)");
        assert_eq!(device.label(), device.id());
        assert!(Key::parse("login/password=1&password=2").is_err());
        assert!(
            Key::parse("login/device=1&username=a").is_err(),
            "not canonical"
        );
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in ["noslash", "s/bogus=1", "s/ip", "s/ip=1&ip=2", "s/ip=%zz"] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filter_semantics() {
        let f = KeyFilter::all().ip("1").username("a");
        assert!(f.matches(&Key::new("s").with_ip("1")));
        assert!(f.matches(&Key::new("s").with_username("a")));
        assert!(f.matches(&Key::new("s").with_username("a").with_ip("1")));
        assert!(!f.matches(&Key::new("s").with_username("a").with_ip("2")));
        assert!(!f.matches(&Key::new("s").with_user_agent("x")));
        assert!(KeyFilter::all().matches(&Key::new("s").with_user_agent("x")));
        assert!(!KeyFilter::all()
            .scope("t")
            .matches(&Key::new("s").with_ip("1")));
    }
}

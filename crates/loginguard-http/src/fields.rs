//! The username in a request body: the kind of body announced by
//! `Content-Type`, and the username field of a form-encoded or JSON body,
//! read strictly (a field given twice or not UTF-8 is refused rather than
//! guessed at).
//!
//! ```
//! use http::{header, HeaderMap};
//! use loginguard_http::{body_kind, read_field, BodyKind};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
//! let kind = body_kind(&headers);
//! assert_eq!(kind, BodyKind::Json);
//! let body = br#"{"username":"alice","password":"wonderland"}"#;
//! assert_eq!(read_field(kind, body, "username"), Ok(Some("alice".to_owned())));
//! ```

use std::fmt;

use http::{header, HeaderMap};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The body formats a username can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json` or any `…+json` type.
    Json,
    /// Anything else (no username is read from it).
    Other,
}

/// Why the username could not be read from a body: the client's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than the limit: answer 413
    /// ([`too_large`](crate::too_large)).
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes (`body_limit`).
        limit: usize,
    },
    /// The body or the username in it is unusable: answer 400
    /// ([`bad_request`](crate::bad_request)) with this message.
    #[error("{0}")]
    Bad(String),
}

/// The kind of body announced by `Content-Type` (parameters such as
/// `charset` are ignored, and so is the case).
pub fn body_kind(headers: &HeaderMap) -> BodyKind {
    let Some(mime) = mime_type(headers) else {
        return BodyKind::Other;
    };
    if mime == b"application/x-www-form-urlencoded"
        || mime.eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
    {
        BodyKind::Form
    } else if is_json(mime) {
        BodyKind::Json
    } else {
        BodyKind::Other
    }
}

/// Whether the request body is JSON (`body_kind(headers) == BodyKind::Json`).
pub(crate) fn is_json_body(headers: &HeaderMap) -> bool {
    mime_type(headers).is_some_and(is_json)
}

/// The media type of `Content-Type`, without its parameters. Bytes, not
/// text: the types compared are ASCII, so a value that is not text could
/// not match one of them anyway.
fn mime_type(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::CONTENT_TYPE)?.as_bytes();
    let mime = value
        .iter()
        .position(|&b| b == b';')
        .map_or(value, |end| &value[..end]);
    Some(mime.trim_ascii())
}

fn is_json(mime: &[u8]) -> bool {
    mime.eq_ignore_ascii_case(b"application/json")
        || (mime.len() > 5 && mime[mime.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

/// The value of `field` in a body of `kind`: [`form_field`] or
/// [`json_field`]; `None` for [`BodyKind::Other`].
pub fn read_field(kind: BodyKind, body: &[u8], field: &str) -> Result<Option<String>, BodyError> {
    match kind {
        BodyKind::Form => form_field(body, field),
        BodyKind::Json => json_field(body, field),
        BodyKind::Other => Ok(None),
    }
}

/// The credentials of a login body, as the engine takes them: the
/// username (`custom`, when a closure of the app read it, else the policy's
/// `username_field`), normalised and checked
/// ([`Policy::normalize_username`](loginguard_core::Policy::normalize_username));
/// and the password (`password_field`), read only when the policy keys a
/// hash of it ([`Policy::needs_password`](loginguard_core::Policy::needs_password)).
/// A field given twice or not UTF-8 is refused, never guessed at.
///
/// ```
/// use loginguard_core::{Policy, Secret};
/// use loginguard_http::{credentials, BodyKind};
///
/// let policy = Policy::builder()
///     .secret(Some(Secret::new("0123456789abcdef0123456789abcdef")?))
///     .ignore_repeated_password(true)
///     .build()?;
/// let (user, password) = credentials(&policy, BodyKind::Form, b"username=Alice&password=x", None)?;
/// assert_eq!(user.as_deref(), Some("Alice"));
/// assert!(password.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn credentials(
    policy: &loginguard_core::Policy,
    kind: BodyKind,
    body: &[u8],
    custom: Option<Option<String>>,
) -> Result<(Option<String>, Option<loginguard_core::Password>), BodyError> {
    let username = match custom {
        Some(found) => found,
        None => read_field(kind, body, &policy.username_field)?,
    };
    let username = username
        .map(|name| policy.normalize_username(&name))
        .transpose()
        .map_err(|e| BodyError::Bad(e.to_string()))?;
    let password = if policy.needs_password() {
        // The string's buffer becomes the password's: no copy is left behind.
        read_field(kind, body, &policy.password_field)?
            .map(|p| loginguard_core::Password::new(p.into_bytes()))
    } else {
        None
    };
    Ok((username, password))
}

/// The value of `field` in a form-encoded body. `None` when absent; an
/// error when it is given twice or is not UTF-8 once percent-decoded.
pub fn form_field(body: &[u8], field: &str) -> Result<Option<String>, BodyError> {
    let mut found: Option<String> = None;
    for pair in body.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let matches = if name.iter().any(|b| matches!(b, b'%' | b'+')) {
            percent_decode(name) == field.as_bytes()
        } else {
            name == field.as_bytes()
        };
        if !matches {
            continue;
        }
        if found.is_some() {
            return Err(BodyError::Bad(format!(
                "the field `{field}` is given more than once"
            )));
        }
        let value = String::from_utf8(percent_decode(value))
            .map_err(|_| BodyError::Bad(format!("the field `{field}` is not valid UTF-8")))?;
        found = Some(value);
    }
    Ok(found)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a
/// byte; a `%` not followed by two hex digits stays as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The value of `field` in a JSON object body. `None` when absent or
/// `null`; an error for malformed JSON, a body that is not an object, a
/// field given twice, or a value that is not a string.
pub fn json_field(body: &[u8], field: &str) -> Result<Option<String>, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let found = FieldSeed { field }
        .deserialize(&mut de)
        .and_then(|found| de.end().map(|()| found))
        .map_err(|e| BodyError::Bad(format!("malformed JSON body: {e}")))?;
    Ok(found)
}

struct FieldSeed<'a> {
    field: &'a str,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: Option<Option<String>> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != self.field {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if found.is_some() {
                return Err(serde::de::Error::custom(format_args!(
                    "the field `{}` is given more than once",
                    self.field
                )));
            }
            found = Some(map.next_value::<Option<StringOnly>>()?.map(|s| s.0));
        }
        Ok(found.flatten())
    }
}

/// A JSON string, with a clear error for anything else.
struct StringOnly(String);

impl<'de> serde::Deserialize<'de> for StringOnly {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StringOnly;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the username as a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StringOnly, E> {
                Ok(StringOnly(v.to_owned()))
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert_eq!(body_kind(&h), BodyKind::Other);
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(body_kind(&h), BodyKind::Form);
        h.insert(
            header::CONTENT_TYPE,
            "application/vnd.api+json".parse().unwrap(),
        );
        assert_eq!(body_kind(&h), BodyKind::Json);
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(body_kind(&h), BodyKind::Other);
        assert_eq!(
            read_field(BodyKind::Other, b"username=a", "username"),
            Ok(None)
        );
    }

    #[test]
    fn form_field_is_decoded() {
        assert_eq!(
            form_field(b"password=x&username=al%69ce+b", "username"),
            Ok(Some("alice b".into()))
        );
        assert_eq!(form_field(b"password=x", "username"), Ok(None));
        assert_eq!(form_field(b"username", "username"), Ok(Some(String::new())));
        assert_eq!(
            form_field(b"user%6eame=bob", "username"),
            Ok(Some("bob".into()))
        );
        assert_eq!(
            form_field(b"username=100%&x=%zz%4", "username"),
            Ok(Some("100%".into()))
        );
    }

    #[test]
    fn form_field_refuses_twice_and_bad_utf8() {
        assert!(matches!(
            form_field(b"username=a&username=b", "username"),
            Err(BodyError::Bad(_))
        ));
        assert!(matches!(
            form_field(b"username=%ff%fe", "username"),
            Err(BodyError::Bad(_))
        ));
        // Bad bytes in another field are none of our business.
        assert_eq!(
            form_field(b"password=%ff&username=a", "username"),
            Ok(Some("a".into()))
        );
    }

    #[test]
    fn json_field_reads_strings_only() {
        assert_eq!(
            json_field(br#"{"password":[1,{"a":2}],"username":"bob"}"#, "username"),
            Ok(Some("bob".into()))
        );
        assert_eq!(json_field(br#"{"username":null}"#, "username"), Ok(None));
        assert_eq!(json_field(br#"{"email":"x"}"#, "username"), Ok(None));
        for bad in [
            &br#"{"username":5}"#[..],
            b"[1]",
            b"{",
            br#"{"username":"a"} x"#,
            br#"{"username":"a","username":"b"}"#,
            b"{\"username\":\"\xff\"}",
            br#"{"username":"\ud800"}"#,
        ] {
            assert!(
                matches!(json_field(bad, "username"), Err(BodyError::Bad(_))),
                "{bad:?}"
            );
        }
    }
}

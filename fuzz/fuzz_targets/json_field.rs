//! `json_field` against `serde_json::Value`: on raw bytes that parse as a
//! JSON value, the field read agrees with the parsed object; on objects
//! written by `serde_json`, a string field reads back as written, `null`
//! or absent as none, and anything else is refused.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use loginguard_http::{json_field, BodyError};
use serde_json::{Map, Value};

const FIELDS: [&str; 3] = ["username", "email", "usér"];

fuzz_target!(|data: &[u8]| {
    for field in FIELDS {
        check_raw(data, field);
    }
    let mut u = Unstructured::new(data);
    if let Ok(written) = Written::arbitrary(&mut u) {
        check_written(&written);
    }
});

fn check_raw(body: &[u8], field: &str) {
    let got = json_field(body, field);
    // `json_field` skips other values without building them, so it may
    // accept a body `Value` refuses (a number out of f64 range); only a
    // body `Value` parses is compared.
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Value::Object(object) = value else {
        assert!(matches!(got, Err(BodyError::Bad(_))), "{body:?}: {got:?}");
        return;
    };
    match object.get(field) {
        None | Some(Value::Null) => {
            // `null` given twice is refused too; `Value` keeps the last.
            if got != Ok(None) {
                assert!(matches!(got, Err(BodyError::Bad(_))), "{body:?}: {got:?}");
            }
        }
        Some(Value::String(s)) => match &got {
            Ok(Some(v)) => assert_eq!(v, s, "{body:?}"),
            // Given more than once (`Value` keeps the last).
            Err(BodyError::Bad(_)) => {}
            other => panic!("{body:?}: {other:?}"),
        },
        // Not a string (given once, or last of several): refused.
        Some(_) => assert!(matches!(got, Err(BodyError::Bad(_))), "{body:?}: {got:?}"),
    }
    if object.get(field).is_none() {
        // An object without the field reads as none, whatever else it holds.
        assert_eq!(got, Ok(None), "{body:?}");
    }
}

#[derive(Debug, Arbitrary)]
enum Leaf {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<String>),
    Object(Vec<(String, u8)>),
}

impl Leaf {
    fn to_value(&self) -> Value {
        match self {
            Leaf::Null => Value::Null,
            Leaf::Bool(b) => Value::Bool(*b),
            Leaf::Int(n) => Value::from(*n),
            Leaf::Text(s) => Value::String(s.clone()),
            Leaf::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
            Leaf::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(*v)))
                    .collect(),
            ),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Written {
    pairs: Vec<(String, Leaf)>,
    field: String,
    pretty: bool,
}

fn check_written(w: &Written) {
    let object: Map<String, Value> = w
        .pairs
        .iter()
        .map(|(k, v)| (k.clone(), v.to_value()))
        .collect();
    let value = Value::Object(object.clone());
    let body = if w.pretty {
        serde_json::to_vec_pretty(&value)
    } else {
        serde_json::to_vec(&value)
    }
    .unwrap_or_default();
    let names = std::iter::once(w.field.as_str()).chain(object.keys().map(String::as_str));
    for name in names {
        let got = json_field(&body, name);
        match object.get(name) {
            None | Some(Value::Null) => assert_eq!(got, Ok(None), "{name:?} in {value}"),
            Some(Value::String(s)) => assert_eq!(got, Ok(Some(s.clone())), "{name:?} in {value}"),
            Some(_) => assert!(
                matches!(got, Err(BodyError::Bad(_))),
                "{name:?} in {value}: {got:?}"
            ),
        }
    }
}

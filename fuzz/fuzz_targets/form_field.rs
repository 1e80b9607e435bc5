//! `form_field` against the `form_urlencoded` crate's decoding: on raw
//! bytes it finds the field exactly when that decoder does, refuses it
//! when given twice, and decodes the same value; on bodies written by that
//! crate's serializer it reads back what was written.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use loginguard_http::{form_field, BodyError};

/// Field names tried on raw bodies: plain, one needing `+`/`%20`, one
/// outside ASCII, and the escape character itself.
const FIELDS: [&str; 4] = ["username", "user name", "usérname", "%"];

fuzz_target!(|data: &[u8]| {
    for field in FIELDS {
        check_raw(data, field);
    }
    let mut u = Unstructured::new(data);
    if let Ok(written) = Written::arbitrary(&mut u) {
        check_written(&written);
    }
});

/// Any bytes, checked against `form_urlencoded::parse` (which decodes
/// lossily; the field names tried have no U+FFFD, so a name it decodes to
/// one of them was valid UTF-8).
fn check_raw(body: &[u8], field: &str) {
    let got = form_field(body, field);
    let values: Vec<String> = form_urlencoded::parse(body)
        .filter(|(name, _)| name == field)
        .map(|(_, value)| value.into_owned())
        .collect();
    match values.as_slice() {
        [] => assert_eq!(got, Ok(None), "{body:?}"),
        [value] => match &got {
            Ok(Some(v)) => assert_eq!(v, value, "{body:?}"),
            // Only a value that is not UTF-8 is refused.
            Err(BodyError::Bad(_)) => assert!(value.contains('\u{fffd}'), "{body:?}"),
            other => panic!("{body:?}: {other:?}"),
        },
        _ => assert!(matches!(got, Err(BodyError::Bad(_))), "{body:?}: {got:?}"),
    }
}

#[derive(Debug, Arbitrary)]
struct Written {
    pairs: Vec<(String, String)>,
    field: String,
}

/// A body a browser would send for these pairs.
fn check_written(w: &Written) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&w.pairs)
        .finish();
    let names = std::iter::once(w.field.as_str()).chain(w.pairs.iter().map(|(n, _)| n.as_str()));
    for name in names {
        let values: Vec<&str> = w
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        let got = form_field(body.as_bytes(), name);
        match values.as_slice() {
            [] => assert_eq!(got, Ok(None), "{body:?} {name:?}"),
            [value] => assert_eq!(got, Ok(Some((*value).to_owned())), "{body:?} {name:?}"),
            _ => assert!(matches!(got, Err(BodyError::Bad(_))), "{body:?} {name:?}"),
        }
    }
}

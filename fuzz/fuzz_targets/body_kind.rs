//! `body_kind` on any `Content-Type` value, and `read_field` dispatching
//! on its answer: a form or JSON type (any case, any parameters) is read,
//! anything else is not.
#![no_main]

use http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use loginguard_http::{body_kind, form_field, json_field, read_field, BodyKind};

fuzz_target!(|input: (Vec<u8>, Vec<u8>, String)| {
    let (content_type, body, field) = input;
    let mut headers = HeaderMap::new();
    let Ok(value) = HeaderValue::from_bytes(&content_type) else {
        assert_eq!(body_kind(&headers), BodyKind::Other);
        return;
    };
    headers.insert(header::CONTENT_TYPE, value);
    let kind = body_kind(&headers);

    // The expected kind, written independently: the media type before any
    // `;`, trimmed, compared without case.
    let expected = match std::str::from_utf8(&content_type) {
        Ok(text)
            if text
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) =>
        {
            let mime = text
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if mime == "application/x-www-form-urlencoded" {
                BodyKind::Form
            } else if mime == "application/json" || (mime.len() > 5 && mime.ends_with("+json")) {
                BodyKind::Json
            } else {
                BodyKind::Other
            }
        }
        _ => BodyKind::Other,
    };
    assert_eq!(kind, expected, "Content-Type {content_type:?}");

    let read = read_field(kind, &body, &field);
    match kind {
        BodyKind::Form => assert_eq!(read, form_field(&body, &field)),
        BodyKind::Json => assert_eq!(read, json_field(&body, &field)),
        _ => assert_eq!(read, Ok(None)),
    }
});

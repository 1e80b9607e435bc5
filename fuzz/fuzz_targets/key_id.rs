//! Key ids: `Key::parse(key.id()) == key` for keys of any parts (the
//! criteria's fields, a trusted device, a password's spray id), built
//! either way; any text `Key::parse` accepts is a canonical id, which the
//! key it gives writes back exactly; and a spray key's label hides its
//! spray id.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use loginguard_core::{Field, Key};

#[derive(Debug, Arbitrary)]
struct Parts {
    scope: String,
    ip: Option<String>,
    username: Option<String>,
    user_agent: Option<String>,
    device: Option<String>,
    password: Option<String>,
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = Key::parse(text) {
            assert_eq!(key.id(), text, "accepted a non-canonical id");
            assert_eq!(Key::parse(key.id()).as_ref(), Ok(&key));
            if !key.is_spray() {
                assert_eq!(key.label(), key.id());
            }
        }
    }

    let mut u = Unstructured::new(data);
    let Ok(parts) = Parts::arbitrary(&mut u) else {
        return;
    };
    let mut key = Key::from_parts(
        parts.scope.as_str(),
        parts.ip.clone(),
        parts.username.clone(),
        parts.user_agent.clone(),
    );
    if let Some(d) = &parts.device {
        key = key.with_device(d.as_str());
    }
    if let Some(p) = &parts.password {
        key = key.with_password(p.as_str());
    }
    // The builder in any order gives the same key.
    let mut chained = Key::new(parts.scope.as_str());
    if let Some(p) = &parts.password {
        chained = chained.with_password(p.as_str());
    }
    for (field, value) in [
        (Field::UserAgent, &parts.user_agent),
        (Field::Ip, &parts.ip),
        (Field::Username, &parts.username),
    ] {
        if let Some(v) = value {
            chained = chained.with(field, v.as_str());
        }
    }
    if let Some(d) = &parts.device {
        chained = chained.with_device(d.as_str());
    }
    assert_eq!(chained, key);

    let id = key.id();
    assert!(
        !id.chars().any(char::is_control),
        "control character in {id:?}"
    );
    let (head, fields) = id
        .split_once('/')
        .unwrap_or_else(|| panic!("no '/' in {id:?}"));
    assert!(!head.contains(['&', '=', '{', '}']), "scope part {head:?}");
    assert!(!fields.contains(['{', '}']), "fields part {fields:?}");
    let parsed = Key::parse(id).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, key);
    assert_eq!(parsed.scope(), parts.scope);
    assert_eq!(parsed.ip(), parts.ip.as_deref());
    assert_eq!(parsed.username(), parts.username.as_deref());
    assert_eq!(parsed.user_agent(), parts.user_agent.as_deref());
    assert_eq!(parsed.device(), parts.device.as_deref());
    assert_eq!(parsed.is_spray(), parts.password.is_some());

    // The label is the id, but for a spray key's spray id.
    let label = key.label();
    match &parts.password {
        Some(_) => {
            let (head, _) = id
                .rsplit_once("password=")
                .unwrap_or_else(|| panic!("{id:?}"));
            assert_eq!(label, format!("{head}password=(hidden)"));
            assert!(head.ends_with(['/', '&']), "{id:?}");
        }
        None => assert_eq!(label, id),
    }
});

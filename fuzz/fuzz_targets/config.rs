//! The configuration loader on any text: `Config::load` of a file holding
//! it (the path `loginguard` takes) never panics, agrees with
//! `Config::from_toml_str`, and a loaded configuration is valid; and every
//! plain setting of the file, given instead as its `LOGINGUARD_<KEY>`
//! variable, loads to the same configuration.
#![no_main]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use loginguard_core::config::is_valid_store_prefix;
use loginguard_core::policy::Origin;
use loginguard_core::Config;
use toml::Value;

/// One scratch file per fuzzing process, in memory where the system has
/// a RAM disk (ten times the runs per second of a disk-backed /tmp).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let dir = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("loginguard-fuzz-{}.toml", std::process::id()))
    })
}

/// What a loaded configuration amounts to, for comparing two loads.
fn summary(c: &Config) -> String {
    format!(
        "{} {:?} {} {:?} {} {} {:?} {:?} {:?} {:?}",
        serde_json::to_string(&c.policy).unwrap_or_default(),
        c.store,
        c.auto_migrate,
        c.store_timeout,
        c.store_prefix,
        c.memory_max_keys,
        c.admin_password_hash,
        c.admin_token,
        c.secret_file,
        c.proxy,
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = scratch();
    let written = std::fs::File::create(path).and_then(|mut f| f.write_all(text.as_bytes()));
    if written.is_err() {
        return;
    }
    let loaded = Config::load(Some(path));
    let _ = std::fs::remove_file(path);
    let from_text = Config::from_toml_str(text);
    match (&loaded, &from_text) {
        (Ok(a), Ok(b)) => assert_eq!(summary(a), summary(b)),
        (Err(a), Err(b)) => {
            assert!(!a.to_string().is_empty());
            assert!(!b.to_string().is_empty());
        }
        _ => panic!("load and from_toml_str disagree: {loaded:?} / {from_text:?}"),
    }
    let Ok(config) = from_text else {
        return;
    };
    // A loaded configuration is one its checks accept.
    assert!(config.policy.to_builder().build().is_ok());
    assert!(is_valid_store_prefix(&config.store_prefix));
    assert!(serde_json::to_value(&config.policy).is_ok());

    check_env(text, &config);
});

/// The file's top-level settings moved to `LOGINGUARD_*` variables.
fn check_env(text: &str, from_file: &Config) {
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return;
    };
    let proxy = table.remove("proxy");
    let mut env = Vec::new();
    for (key, value) in table {
        // A variable name is the key upper-cased; the loader lower-cases it back.
        if !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return;
        }
        let raw = match &value {
            // The environment's text is trimmed, and an array is written `[…]`.
            Value::String(s) if s.trim() == s && !s.starts_with('[') => s.clone(),
            Value::Integer(_) | Value::Boolean(_) | Value::Array(_) => value.to_string(),
            _ => return,
        };
        env.push((format!("LOGINGUARD_{}", key.to_ascii_uppercase()), raw));
    }
    let mut rest = toml::Table::new();
    if let Some(proxy) = proxy {
        rest.insert("proxy".to_owned(), proxy);
    }
    match Config::from_sources(rest, &Origin::Code, env.clone()) {
        Ok(from_env) => assert_eq!(summary(&from_env), summary(from_file), "{env:?}"),
        Err(e) => panic!("{env:?} refused from the environment: {e}"),
    }
}

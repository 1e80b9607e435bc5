//! No password and no other field of the login form (here a one-time
//! code) is ever written to the database file, its write-ahead log, or the
//! logs: only `username_field` is read.
//!
//! A login form is submitted the way an integration handles it: the
//! username is taken from its field, the password and one-time code go to
//! the application's own check. A full round of failures, a lockout, a
//! refusal, a reset and a success runs through a [`Guard`] on an SQLite
//! file, with every `tracing` event captured at TRACE level; then every
//! byte on disk and in the logs is searched for the secrets.

use loginguard_testing::Captured;
use std::sync::Arc;

use loginguard_core::audit::LogQuery;
use loginguard_core::{Attempt, Config, Decision, Guard, KeyFilter, ListQuery};
use loginguard_sqlite::SqliteStore;

const PASSWORD: &str = "Tr0ub4dor&3-SECRET-pw";
const OTP: &str = "914-SECRET-227";

/// What an integration reads from a submitted form: only `username_field`.
fn attempt_from_form(config: &Config, body: &str) -> Attempt {
    let field = |name: &str| {
        body.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.replace("%26", "&"))
    };
    let mut attempt = Attempt::new("POST", "/login")
        .ip("203.0.113.50".parse().unwrap())
        .user_agent("Mozilla/5.0 (X11; Linux x86_64)");
    if let Some(username) = field(&config.policy.username_field) {
        attempt = attempt.username(username);
    }
    for secret in ["password", "otp"] {
        assert!(field(secret).is_some(), "the form carries {secret}");
    }
    attempt
}

#[test]
fn passwords_and_other_form_fields_never_reach_disk_or_logs() {
    let logs = Captured::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .try_init()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lg.db");
    let config = Config::from_toml_str(
        r#"
        failure_limit = 3
        lockout_parameters = ["ip", ["username", "ip"]]
        "#,
    )
    .unwrap();
    let wrong = format!(
        "username=alice&password=wrong-{}&otp={OTP}",
        PASSWORD.replace('&', "%26")
    );
    let right = format!(
        "username=alice&password={}&otp={OTP}",
        PASSWORD.replace('&', "%26")
    );

    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = SqliteStore::builder(&db)
                .auto_migrate(true)
                .open()
                .await
                .unwrap();
            let guard = Guard::new(config.policy.clone(), Arc::new(store.clone()));
            for _ in 0..4 {
                match guard
                    .begin(attempt_from_form(&config, &wrong))
                    .await
                    .unwrap()
                {
                    Decision::Proceed(ticket) => {
                        let _ = guard.failure(ticket).await;
                    }
                    Decision::Refused(lockout) => assert!(lockout.key.is_some()),
                }
            }
            guard
                .reset(&KeyFilter::all().username("alice"))
                .await
                .unwrap();
            guard
                .reset(&KeyFilter::all().ip("203.0.113.50"))
                .await
                .unwrap();
            match guard
                .begin(attempt_from_form(&config, &right))
                .await
                .unwrap()
            {
                Decision::Proceed(ticket) => guard.success(ticket).await,
                Decision::Refused(lockout) => panic!("{lockout:?}"),
            }
            use loginguard_core::{AuditLog, Store};
            let entries = store.query(&LogQuery::all()).await.unwrap();
            assert_eq!(entries.len(), 5, "3 failures, 1 refusal, 1 success");
            let _ = store
                .list(&ListQuery::all(), std::time::SystemTime::now())
                .await
                .unwrap();
            let _ = store.health().await.unwrap();
        });

    let mut disk = Vec::new();
    for file in std::fs::read_dir(dir.path()).unwrap() {
        // SQLite may remove a side file (journal, shm) between the listing
        // and the read; a file that is gone holds nothing to check.
        match std::fs::read(file.unwrap().path()) {
            Ok(bytes) => disk.extend(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("{e}"),
        }
    }
    let logs = logs.bytes();
    for (name, bytes) in [("database files", &disk), ("logs", &logs)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            text.contains("alice"),
            "the search must see the data: {name}"
        );
        for secret in ["SECRET", PASSWORD, OTP, "password=", "otp="] {
            assert!(!text.contains(secret), "{secret:?} found in the {name}");
        }
    }
}

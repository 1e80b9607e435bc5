//! With device cookies, repeated-password forgiveness and the spray lock
//! all on, no password — nor an unkeyed hash of one — is ever written to
//! the database file, its write-ahead log, the logs (every `tracing` event
//! at TRACE), the audit rows, `list` or the responses: only truncated
//! keyed hashes are kept.

use loginguard_testing::Captured;

use loginguard_core::{Config, ListQuery, LogQuery};
use loginguard_demo::{Argon2Cost, DemoOptions, DemoServer};
use sha2::{Digest, Sha256};

const STALE: &str = "Stale-SECRET-pw-1";
const SPRAYED: &str = "Spray-SECRET-pw-2";
const RIGHT: &str = "Right-SECRET-pw-3";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn no_password_or_unkeyed_hash_of_one_is_kept_anywhere() {
    let logs = Captured::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .try_init()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let config = Config::from_toml_str(&format!(
        r#"
        store = "sqlite://{}"
        failure_limit = 3
        lockout_parameters = ["username"]
        cool_off = "10m"
        device_cookies = true
        ignore_repeated_password = true
        spray_limit = 2
        "#,
        db.display()
    ))
    .unwrap();
    let mut options = DemoOptions::default();
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.argon2 = Argon2Cost {
        memory_kib: 64,
        iterations: 1,
    };
    options.users = vec![("alice".to_owned(), RIGHT.to_owned())];
    let mut responses = String::new();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let server = DemoServer::bind(options, config.clone()).await.unwrap();
            let base = format!("http://{}", server.local_addr());
            let (stop, rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(server.run_until(async {
                let _ = rx.await;
            }));
            let c = reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap();
            let post = |user: &'static str, password: &'static str| {
                let c = c.clone();
                let url = format!("{base}/login");
                async move {
                    let res = c
                        .post(url)
                        .form(&[("username", user), ("password", password)])
                        .send()
                        .await
                        .unwrap();
                    let head = format!("{} {:?}", res.status(), res.headers());
                    format!("{head}\n{}\n", res.text().await.unwrap())
                }
            };
            responses += &post("alice", RIGHT).await; // a device cookie
            for _ in 0..5 {
                responses += &post("alice", STALE).await; // counted once
            }
            for user in ["bob", "carol", "dave"] {
                responses += &post(user, SPRAYED).await; // locks the password
            }
            responses += &post("alice", RIGHT).await;
            let store = loginguard::open_store(&config).await.unwrap();
            let listed = store
                .list(&ListQuery::all(), std::time::SystemTime::now())
                .await
                .unwrap();
            assert!(
                listed.iter().any(|k| k.key.is_spray() && k.locked),
                "{listed:?}"
            );
            responses += &format!("{listed:?}");
            let audit = store
                .audit()
                .unwrap()
                .query(&LogQuery::all())
                .await
                .unwrap();
            assert!(audit.len() >= 9, "{audit:?}");
            responses += &format!("{audit:?}");
            let _ = stop.send(());
        });
    let mut disk = Vec::new();
    for file in std::fs::read_dir(dir.path()).unwrap() {
        match std::fs::read(file.unwrap().path()) {
            Ok(bytes) => disk.extend(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("{e}"),
        }
    }
    let logs = logs.bytes();
    assert!(!logs.is_empty(), "the run was traced");
    let haystacks: [(&str, &[u8]); 3] = [
        ("database files", &disk),
        ("logs", &logs),
        ("responses, list and audit rows", responses.as_bytes()),
    ];
    for password in [STALE, SPRAYED, RIGHT] {
        let sha = Sha256::digest(password.as_bytes());
        let needles = [password.to_owned(), hex(&sha), hex(&sha[..8])];
        for (place, hay) in haystacks {
            for needle in &needles {
                assert!(
                    !hay.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{needle:?} (from {password:?}) found in the {place}"
                );
            }
        }
    }
}

//! Beyond django-axes, over real HTTP against the demo: a stale saved
//! password never locks its owner, and a password sprayed over accounts is
//! refused on the next one, whoever sends it.

use std::sync::Arc;

use loginguard_core::{Config, Criterion, Field, MemoryStore, Policy, Secret, Store};
use loginguard_demo::{Argon2Cost, DemoOptions, DemoServer};
use reqwest::StatusCode;

const SECRET: &str = "an http test secret of more than 32 bytes";

fn options() -> DemoOptions {
    let mut options = DemoOptions::default();
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.argon2 = Argon2Cost {
        memory_kib: 64,
        iterations: 1,
    };
    options
        .users
        .push(("carol".to_owned(), "123456".to_owned()));
    options
}

async fn start(server: DemoServer) -> (String, tokio::sync::oneshot::Sender<()>) {
    let base = format!("http://{}", server.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    (base, tx)
}

async fn demo(policy: Policy) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    start(
        DemoServer::bind_with_store(options(), policy, store)
            .await
            .unwrap(),
    )
    .await
}

async fn login(base: &str, user: &str, password: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/login"))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_retrying_an_old_password_never_locks_alice() {
    let policy = Policy::builder()
        .failure_limit(5)
        .lockout_parameters(vec![Criterion::one(Field::Username)])
        .cool_off(std::time::Duration::from_secs(60))
        .secret(Some(Secret::new(SECRET).unwrap()))
        .ignore_repeated_password(true)
        .build()
        .unwrap();
    let (base, _stop) = demo(policy).await;
    for i in 0..12 {
        assert_eq!(
            login(&base, "alice", "old-password").await,
            StatusCode::UNAUTHORIZED,
            "retry {i}"
        );
    }
    assert_eq!(login(&base, "alice", "wonderland").await, StatusCode::OK);
    // Five distinct wrong passwords (the old one counted once) still lock
    // her, as without the setting: the fifth is answered with the lockout.
    for pw in ["a", "b", "c"] {
        assert_eq!(login(&base, "alice", pw).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login(&base, "alice", "d").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login(&base, "alice", "wonderland").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sprayed_password_is_refused_on_its_next_account() {
    // By IP, with a limit no single client reaches: only the spray lock acts.
    let policy = Policy::builder()
        .failure_limit(1_000)
        .secret(Some(Secret::new(SECRET).unwrap()))
        .spray_limit(Some(3))
        .build()
        .unwrap();
    let (base, _stop) = demo(policy).await;
    // erin twice counts once; the third account's failure locks the password.
    for user in ["dave", "erin", "erin"] {
        assert_eq!(
            login(&base, user, "123456").await,
            StatusCode::UNAUTHORIZED,
            "{user}"
        );
    }
    assert_eq!(
        login(&base, "frank", "123456").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // carol's real password is the sprayed one: refused before the check.
    assert_eq!(
        login(&base, "carol", "123456").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other passwords are not affected.
    assert_eq!(login(&base, "alice", "wonderland").await, StatusCode::OK);
    assert_eq!(login(&base, "bob", "nope").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_keeps_its_own_secret_beside_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let config = Config::from_toml_str(&format!(
        "store = \"sqlite://{}\"\nignore_repeated_password = true\nlockout_parameters = [\"username\"]\nfailure_limit = 2",
        db.display()
    ))
    .unwrap();
    let (base, stop) = start(DemoServer::bind(options(), config.clone()).await.unwrap()).await;
    assert_eq!(login(&base, "bob", "stale").await, StatusCode::UNAUTHORIZED);
    drop(stop);
    let secret = std::fs::read_to_string(dir.path().join("demo.db.secret")).unwrap();
    assert_eq!(secret.trim().len(), 64, "32 random bytes in hex");
    // After a restart the same secret recognises the same stale password.
    let (base, _stop) = start(DemoServer::bind(options(), config).await.unwrap()).await;
    for _ in 0..5 {
        assert_eq!(login(&base, "bob", "stale").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&base, "bob", "builder").await, StatusCode::OK);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("demo.db.secret")).unwrap(),
        secret,
        "reused, not replaced"
    );
}

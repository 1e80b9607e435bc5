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

fn device_policy(previous: Vec<Secret>) -> Policy {
    Policy::builder()
        .failure_limit(3)
        .lockout_parameters(vec![Criterion::one(Field::Username)])
        .cool_off(std::time::Duration::from_secs(600))
        .secret(Some(Secret::new(SECRET).unwrap()))
        .previous_secrets(previous)
        .device_cookies(true)
        .build()
        .unwrap()
}

async fn login_with(
    c: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = c
        .post(format!("{base}/login"))
        .form(&[("username", user), ("password", password)]);
    if let Some(cookie) = cookie {
        req = req.header("cookie", format!("loginguard_device={cookie}"));
    }
    req.send().await.unwrap()
}

fn device_cookie_of(res: &reqwest::Response) -> String {
    let line = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("loginguard_device="))
        .expect("a device cookie on a successful login");
    assert!(
        line.contains("; HttpOnly") && line.contains("; SameSite=Lax"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "the demo is plain HTTP: {line}");
    line["loginguard_device=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_locks_alice_out_everywhere_but_her_own_browser() {
    let (base, _stop) = demo(device_policy(Vec::new())).await;
    let plain = reqwest::Client::new();
    let res = login_with(&plain, &base, "alice", "wonderland", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let browser = device_cookie_of(&res);

    // The attacker: 20 wrong passwords, no cookie.
    for _ in 0..20 {
        login_with(&plain, &base, "alice", "guess", None).await;
    }
    let status = |r: reqwest::Response| r.status();
    assert_eq!(
        status(login_with(&plain, &base, "alice", "wonderland", None).await),
        StatusCode::TOO_MANY_REQUESTS,
        "every cookie-less client of alice stays locked"
    );
    let res = login_with(&plain, &base, "alice", "wonderland", Some(&browser)).await;
    assert_eq!(res.status(), StatusCode::OK, "her own browser gets in");
    let renewed = device_cookie_of(&res);
    assert_ne!(renewed, browser, "re-issued on each success");

    // Worth nothing: another user's cookie, a forged one, an expired one,
    // one signed by an unknown secret.
    let bob = device_cookie_of(&login_with(&plain, &base, "bob", "builder", None).await);
    let mut forged = renewed.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let secret = Secret::new(SECRET).unwrap();
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(91 * 86_400);
    let expired = loginguard_core::device::issue(&secret, "login", "alice", long_ago);
    let other = Secret::new("another secret of at least thirty-two bytes").unwrap();
    let unknown =
        loginguard_core::device::issue(&other, "login", "alice", std::time::SystemTime::now());
    for (what, cookie) in [
        ("bob's", &bob),
        ("forged", &forged),
        ("expired", &expired),
        ("unknown secret", &unknown),
    ] {
        assert_eq!(
            status(login_with(&plain, &base, "alice", "wonderland", Some(cookie)).await),
            StatusCode::TOO_MANY_REQUESTS,
            "{what} cookie"
        );
    }

    // Her browser's own key locks at the limit, for that device only.
    for _ in 0..2 {
        let r = login_with(&plain, &base, "alice", "typo", Some(&renewed)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        status(login_with(&plain, &base, "alice", "typo", Some(&renewed)).await),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(login_with(&plain, &base, "alice", "wonderland", Some(&renewed)).await),
        StatusCode::TOO_MANY_REQUESTS
    );
    // bob's own browser is unaffected.
    assert_eq!(
        status(login_with(&plain, &base, "bob", "builder", Some(&bob)).await),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_secret_keeps_devices_while_the_old_one_is_listed() {
    let old = Secret::new("the secret before the rotation, 32+ bytes").unwrap();
    let cookie =
        loginguard_core::device::issue(&old, "login", "alice", std::time::SystemTime::now());
    let plain = reqwest::Client::new();
    for (previous, trusted) in [(vec![old.clone()], true), (Vec::new(), false)] {
        let (base, _stop) = demo(device_policy(previous)).await;
        for _ in 0..3 {
            login_with(&plain, &base, "alice", "guess", None).await;
        }
        let res = login_with(&plain, &base, "alice", "wonderland", Some(&cookie)).await;
        let expected = if trusted {
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(res.status(), expected, "old secret listed: {trusted}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_device_gets_in_with_a_sprayed_password() {
    let policy = Policy::builder()
        .failure_limit(1_000)
        .secret(Some(Secret::new(SECRET).unwrap()))
        .spray_limit(Some(2))
        .device_cookies(true)
        .build()
        .unwrap();
    let (base, _stop) = demo(policy).await;
    let plain = reqwest::Client::new();
    let carol = device_cookie_of(&login_with(&plain, &base, "carol", "123456", None).await);
    for user in ["dave", "erin"] {
        login_with(&plain, &base, user, "123456", None).await;
    }
    assert_eq!(
        login_with(&plain, &base, "carol", "123456", None)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the sprayed password is refused"
    );
    assert_eq!(
        login_with(&plain, &base, "carol", "123456", Some(&carol))
            .await
            .status(),
        StatusCode::OK,
        "except from carol's own browser"
    );
}

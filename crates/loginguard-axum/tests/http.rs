//! The layer over real HTTP: a server on 127.0.0.1:0, reqwest clients bound
//! to different loopback addresses.

mod common;

use std::time::Duration;

use common::{client, client_from, TestServer};
use loginguard_core::{Criterion, Field, Policy};
use reqwest::StatusCode;

fn policy(criteria: Vec<Criterion>) -> Policy {
    Policy::builder()
        .lockout_parameters(criteria)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_by_ip() {
    let server = TestServer::start(policy(vec![Criterion::one(Field::Ip)])).await;
    let attacker = client_from("127.0.0.2");
    for (i, user) in ["alice", "bob", "nobody"].iter().enumerate() {
        let res = server.login_from(&attacker, user, "guess").await;
        let expected = if i < 2 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(res.status(), expected);
    }
    // Locked for every username, even with the right password.
    assert_eq!(
        server.status_from(&attacker, "alice", "wonderland").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(server.checks(), 3);
    // Another IP is not affected.
    assert_eq!(
        server
            .status_from(&client_from("127.0.0.3"), "alice", "wonderland")
            .await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_by_username() {
    let server = TestServer::start(policy(vec![Criterion::one(Field::Username)])).await;
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        server.login_from(&client_from(ip), "alice", "guess").await;
    }
    let fresh = client_from("127.0.0.5");
    assert_eq!(
        server.status_from(&fresh, "alice", "wonderland").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        server.status_from(&fresh, "bob", "builder").await,
        StatusCode::OK
    );
    // The username is normalised (trimmed) before counting.
    assert_eq!(
        server.status_from(&fresh, " alice ", "wonderland").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_by_username_and_ip_together() {
    let server = TestServer::start(policy(vec![Criterion::all_of([
        Field::Username,
        Field::Ip,
    ])]))
    .await;
    let attacker = client_from("127.0.0.2");
    for _ in 0..3 {
        server.login_from(&attacker, "alice", "guess").await;
    }
    assert_eq!(
        server.status_from(&attacker, "alice", "wonderland").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Same user elsewhere, or another user from there: allowed.
    assert_eq!(
        server
            .status_from(&client_from("127.0.0.3"), "alice", "wonderland")
            .await,
        StatusCode::OK
    );
    assert_eq!(
        server.status_from(&attacker, "bob", "builder").await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn or_list_locks_on_either_key() {
    let criteria = vec![Criterion::one(Field::Username), Criterion::one(Field::Ip)];
    let server = TestServer::start(policy(criteria)).await;
    // Three IPs fail once each on alice: the username key locks.
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        server.login_from(&client_from(ip), "alice", "guess").await;
    }
    assert_eq!(
        server
            .status_from(&client_from("127.0.0.9"), "alice", "wonderland")
            .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // One IP fails on three usernames: the IP key locks, bob included.
    let sprayer = client_from("127.0.0.5");
    for user in ["u1", "u2", "u3"] {
        server.login_from(&sprayer, user, "guess").await;
    }
    assert_eq!(
        server.status_from(&sprayer, "bob", "builder").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        server
            .status_from(&client_from("127.0.0.6"), "bob", "builder")
            .await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_cool_off_ends_by_itself() {
    let policy = Policy::builder()
        .cool_off(Duration::from_secs(1))
        .build()
        .unwrap();
    let server = TestServer::start(policy).await;
    for _ in 0..2 {
        server.login("alice", "guess").await;
    }
    let res = server.login("alice", "guess").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry_after, 1);
    assert!(res.text().await.unwrap().contains("try again in 1 second"));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        server.login("alice", "wonderland").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_resets_the_count_when_asked() {
    let resetting = Policy::builder().reset_on_success(true).build().unwrap();
    let server = TestServer::start(resetting).await;
    for _ in 0..2 {
        assert_eq!(
            server.login("alice", "guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        server.login("alice", "wonderland").await.status(),
        StatusCode::OK
    );
    for _ in 0..2 {
        assert_eq!(
            server.login("alice", "guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        server.login("alice", "guess").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Without reset_on_success the earlier failures still count.
    let server = TestServer::start(Policy::default()).await;
    for _ in 0..2 {
        server.login("alice", "guess").await;
    }
    assert_eq!(
        server.login("alice", "wonderland").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        server.login("alice", "guess").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn login_via(server: &TestServer, forwarded_for: &str, password: &str) -> StatusCode {
    client()
        .post(server.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("username", "alice"), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let server = TestServer::start(Policy::default()).await;
    // Each try claims another IP; all are counted on the real peer.
    for (i, spoofed) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .iter()
        .enumerate()
    {
        let expected = if i < 2 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(login_via(&server, spoofed, "guess").await, expected);
    }
    assert_eq!(
        login_via(&server, "203.0.113.4", "wonderland").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_is_honoured() {
    let policy = Policy::builder()
        .trusted_proxies(vec!["127.0.0.1/32".parse().unwrap()])
        .build()
        .unwrap();
    let server = TestServer::start(policy).await;
    for _ in 0..3 {
        login_via(&server, "203.0.113.1", "guess").await;
    }
    assert_eq!(
        login_via(&server, "203.0.113.1", "wonderland").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The client cannot escape by prepending a fake address: the header is
    // read from the right.
    assert_eq!(
        login_via(&server, "198.51.100.1, 203.0.113.1", "wonderland").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the proxy is not affected, nor the proxy itself.
    assert_eq!(
        login_via(&server, "203.0.113.2", "wonderland").await,
        StatusCode::OK
    );
    assert_eq!(
        server.login("alice", "wonderland").await.status(),
        StatusCode::OK
    );
    // Garbage in the header never crashes and is never believed.
    assert_eq!(
        login_via(&server, "not-an-ip", "wonderland").await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_get_at_most_failure_limit_password_checks() {
    let policy = policy(vec![Criterion::one(Field::Username)]);
    let server = TestServer::start_with(policy, Duration::from_millis(20), |l| l).await;
    let client = client();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let client = client.clone();
        let url = server.url("/login");
        tasks.spawn(async move {
            client
                .post(url)
                .form(&[("username", "alice"), ("password", &format!("guess{i}"))])
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(
        server.checks(),
        3,
        "password checks for one user under 64 parallel tries"
    );
    let unauthorized = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let locked = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((unauthorized, locked), (2, 62));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_count_separately_on_one_store() {
    let server = TestServer::start(Policy::default()).await;
    for _ in 0..3 {
        server.login("alice", "guess").await;
    }
    assert_eq!(
        server.login("alice", "wonderland").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let otp = client()
        .post(server.url("/otp"))
        .form(&[("username", "alice"), ("password", "wonderland")])
        .send()
        .await
        .unwrap();
    assert_eq!(otp.status(), StatusCode::OK);
}

/// Status, headers but `date`, and body.
async fn snapshot(res: reqwest::Response) -> (StatusCode, Vec<(String, Vec<u8>)>, Vec<u8>) {
    let status = res.status();
    let mut headers: Vec<(String, Vec<u8>)> = res
        .headers()
        .iter()
        .filter(|(k, _)| *k != "date")
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    headers.sort();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_response_is_identical_for_unknown_users() {
    let server = TestServer::start(policy(vec![Criterion::one(Field::Username)])).await;
    for user in ["alice", "nobody"] {
        for _ in 0..3 {
            server.login(user, "guess").await;
        }
    }
    let checks = server.checks();
    for accept in ["text/html", "application/json"] {
        let mut snaps = Vec::new();
        for user in ["alice", "nobody"] {
            let res = client()
                .post(server.url("/login"))
                .header("accept", accept)
                .form(&[("username", user), ("password", "guess")])
                .send()
                .await
                .unwrap();
            snaps.push(snapshot(res).await);
        }
        assert_eq!(snaps[0].0, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            snaps[0], snaps[1],
            "lockout response differs for an unknown user ({accept})"
        );
    }
    assert_eq!(
        server.checks(),
        checks,
        "a locked attempt reached the password check"
    );
}

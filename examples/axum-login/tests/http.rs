//! HTTP tests of the example: its router, driven in-process, with the
//! inner backend's `authenticate` calls counted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use axum_login::{AuthnBackend, UserId};
use example_axum_login::{app, Backend, BackendError, Credentials, User};
use http_body_util::BodyExt;
use loginguard::{Criterion, Field, Guard, MemoryStore, Policy};
use sqlx::sqlite::SqlitePoolOptions;
use tower::ServiceExt;

/// The example's backend, counting the calls that reach it.
#[derive(Clone)]
struct Counting {
    inner: Backend,
    calls: Arc<AtomicUsize>,
}

impl AuthnBackend for Counting {
    type User = User;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, BackendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.authenticate(creds).await
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, BackendError> {
        self.inner.get_user(id).await
    }
}

struct App {
    router: Router,
    calls: Arc<AtomicUsize>,
}

/// The example app on an in-memory database with alice and bob, argon2id
/// at its cheapest so the tests stay quick.
async fn start(policy: Policy) -> App {
    let db = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let cheap = argon2::Params::new(8, 1, 1, None).unwrap();
    let backend = Backend::new(db.clone(), cheap).await.unwrap();
    backend.set_user("alice", "wonderland").await.unwrap();
    backend.set_user("bob", "builder").await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = Counting {
        inner: backend,
        calls: Arc::clone(&calls),
    };
    let guard = Guard::new(policy, Arc::new(MemoryStore::new()));
    let router = app(db, counting, guard).await.unwrap();
    App { router, calls }
}

fn policy(criteria: Vec<Criterion>) -> Policy {
    Policy::builder()
        .lockout_parameters(criteria)
        .build()
        .unwrap()
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// What the user sees in short: the status and where it sends them.
    fn short(&self) -> String {
        match self.location() {
            Some(to) => format!("{} {to}", self.status.as_u16()),
            None => self.status.as_u16().to_string(),
        }
    }
}

impl App {
    async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `POST /login` with this form body, from `ip`.
    async fn post(&self, ip: [u8; 4], body: impl Into<Body>, accept: Option<&str>) -> Answer {
        let mut req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(accept) = accept {
            req = req.header(header::ACCEPT, accept);
        }
        let mut req = req.body(body.into()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        self.send(req).await
    }

    async fn login(&self, ip: [u8; 4], username: &str, password: &str) -> Answer {
        let body = format!("username={username}&password={password}");
        self.post(ip, body, None).await
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

const A: [u8; 4] = [192, 0, 2, 1];
const B: [u8; 4] = [192, 0, 2, 2];
const C: [u8; 4] = [192, 0, 2, 3];
const D: [u8; 4] = [192, 0, 2, 4];

const WRONG: &str = "303 /login?error=1";
const RIGHT: &str = "303 /";

#[tokio::test]
async fn the_ip_is_locked_whatever_the_usernames() {
    let app = start(Policy::default()).await;
    let mut seen = Vec::new();
    for user in ["alice", "bob", "nobody"] {
        seen.push(app.login(A, user, "guess").await.short());
    }
    seen.push(app.login(A, "alice", "wonderland").await.short());
    assert_eq!(seen, [WRONG, WRONG, "429", "429"]);
    assert_eq!(
        app.calls(),
        3,
        "the refused right password was never checked"
    );
    assert_eq!(app.login(B, "alice", "wonderland").await.short(), RIGHT);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let policy = Policy::builder()
        .trusted_proxies(vec!["192.0.2.0/24".parse().unwrap()])
        .build()
        .unwrap();
    let app = start(policy).await;
    let via_proxy = |client: &str, password: &str| {
        let mut req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-forwarded-for", client)
            .body(Body::from(format!("username=alice&password={password}")))
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((A, 40000))));
        req
    };
    for password in ["a", "b", "c"] {
        app.send(via_proxy("203.0.113.7", password)).await;
    }
    let locked = app.send(via_proxy("203.0.113.7", "wonderland")).await;
    assert_eq!(locked.short(), "429");
    // Another client behind the same proxy is not locked out.
    let other = app.send(via_proxy("203.0.113.8", "wonderland")).await;
    assert_eq!(other.short(), RIGHT);
}

#[tokio::test]
async fn the_username_is_locked_whatever_the_ips() {
    let app = start(policy(vec![Criterion::one(Field::Username)])).await;
    let mut seen = Vec::new();
    for ip in [A, B, C] {
        seen.push(app.login(ip, "alice", "guess").await.short());
    }
    seen.push(app.login(D, "alice", "wonderland").await.short());
    assert_eq!(seen, [WRONG, WRONG, "429", "429"]);
    assert_eq!(app.login(A, "bob", "builder").await.short(), RIGHT);
    // Surrounding spaces make no new username.
    assert_eq!(
        app.login(D, "%20alice%20", "wonderland").await.short(),
        "429"
    );
}

#[tokio::test]
async fn the_combination_locks_that_user_from_that_ip_only() {
    let criterion = Criterion::all_of([Field::Username, Field::Ip]);
    let app = start(policy(vec![criterion])).await;
    for _ in 0..2 {
        assert_eq!(app.login(A, "alice", "guess").await.short(), WRONG);
    }
    assert_eq!(app.login(A, "alice", "guess").await.short(), "429");
    assert_eq!(app.login(A, "alice", "wonderland").await.short(), "429");
    assert_eq!(app.login(B, "alice", "wonderland").await.short(), RIGHT);
    assert_eq!(app.login(A, "bob", "builder").await.short(), RIGHT);
}

#[tokio::test]
async fn a_success_resets_the_failures_and_logs_in() {
    let policy = Policy::builder().reset_on_success(true).build().unwrap();
    let app = start(policy).await;
    assert_eq!(app.login(A, "alice", "a").await.short(), WRONG);
    assert_eq!(app.login(A, "alice", "b").await.short(), WRONG);
    let ok = app.login(A, "alice", "wonderland").await;
    assert_eq!(ok.short(), RIGHT);
    // The session works: `/` greets alice.
    let cookie = ok.headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let home = Request::get("/")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let home = app.send(home).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Hello, alice."), "{}", home.body);
    // Two more failures are allowed again; the third locks.
    assert_eq!(app.login(A, "alice", "c").await.short(), WRONG);
    assert_eq!(app.login(A, "alice", "d").await.short(), WRONG);
    assert_eq!(app.login(A, "alice", "e").await.short(), "429");
}

#[tokio::test]
async fn without_a_session_home_sends_to_the_form() {
    let app = start(Policy::default()).await;
    let res = app
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.short(), "303 /login");
}

#[tokio::test]
async fn the_lockout_response_has_retry_after_and_speaks_json_when_asked() {
    let policy = Policy::builder()
        .cool_off(Duration::from_secs(600))
        .build()
        .unwrap();
    let app = start(policy).await;
    app.login(A, "alice", "a").await;
    app.login(A, "alice", "b").await;
    let locked = app.login(A, "alice", "c").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        locked.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let retry: u64 = locked.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "Retry-After: {retry}");
    assert!(
        locked.body.contains("Too many login attempts"),
        "{}",
        locked.body
    );

    let json = app
        .post(
            A,
            "username=alice&password=wonderland",
            Some("application/json"),
        )
        .await;
    assert_eq!(json.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json.headers[header::CONTENT_TYPE], "application/json");
    assert!(json.headers.contains_key(header::RETRY_AFTER));
    let value: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(value["error"], "locked_out");
    assert!(value["retry_after"]
        .as_u64()
        .is_some_and(|s| (1..=600).contains(&s)));
}

#[tokio::test]
async fn unknown_users_get_the_very_same_answers() {
    // Lock by username, so each user has its own count.
    let app = start(policy(vec![Criterion::one(Field::Username)])).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for password in ["a", "b", "c", "d"] {
        known.push(app.login(A, "alice", password).await);
        unknown.push(app.login(A, "nobody", password).await);
    }
    for (k, u) in known.iter().zip(&unknown) {
        assert_eq!(
            (k.status, &k.headers, &k.body),
            (u.status, &u.headers, &u.body)
        );
    }
    assert_eq!(known[2].status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.calls(), 6, "three checks for each, then none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_parallel_wrong_passwords_get_at_most_the_limit_checked() {
    for criteria in [
        vec![Criterion::one(Field::Ip)],
        vec![Criterion::one(Field::Username)],
    ] {
        let app = Arc::new(start(policy(criteria.clone())).await);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..64u8 {
            let app = Arc::clone(&app);
            // Same IP for the IP criterion; 64 IPs for the username one.
            let ip = if criteria[0] == Criterion::one(Field::Ip) {
                A
            } else {
                [198, 51, 100, i]
            };
            tasks.spawn(async move { app.login(ip, "alice", &format!("guess{i}")).await.status });
        }
        let mut refused = 0;
        while let Some(status) = tasks.join_next().await {
            let status = status.unwrap();
            assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR);
            refused += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
        }
        assert!(
            app.calls() <= 3,
            "{criteria:?}: {} passwords checked",
            app.calls()
        );
        assert_eq!(
            refused,
            64 - 2,
            "{criteria:?}: all but the first two answered 429"
        );
    }
}

#[tokio::test]
async fn bad_input_never_reaches_the_backend_and_never_causes_a_500() {
    let app = start(Policy::default()).await;
    let long = "a".repeat(300);
    let cases: Vec<(&str, Body, &[u16])> = vec![
        ("missing password", Body::from("username=alice"), &[422]),
        ("missing username", Body::from("password=x"), &[422]),
        ("empty body", Body::empty(), &[422]),
        (
            "not UTF-8",
            Body::from(&b"username=\xff\xfe&password=\xff"[..]),
            &[400],
        ),
        (
            "username too long",
            Body::from(format!("username={long}&password=x")),
            &[400],
        ),
        (
            "control characters",
            Body::from("username=al%00ice&password=x"),
            &[400],
        ),
        ("huge body", Body::from(vec![b'a'; 3 << 20]), &[413]),
    ];
    for (what, body, expected) in cases {
        let before = app.calls();
        let res = app.post(B, body, None).await;
        assert!(expected.contains(&res.status.as_u16()), "{what}: {res:?}");
        assert_eq!(app.calls(), before, "{what} reached the backend");
    }
    let mut req = Request::post("/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("username=alice&password=x"))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((B, 1))));
    assert_eq!(
        app.send(req).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(app.calls(), 0, "no bad input reached the backend");
}

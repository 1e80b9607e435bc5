//! The wrapper's counting, called as axum-login calls it: begin before the
//! inner `authenticate`, success on `Ok(Some)`, failure on `Ok(None)`,
//! give-back on `Err`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::connect_info::MockConnectInfo;
use axum::http::Request;
use axum_login::{AuthUser, AuthnBackend, UserId};
use loginguard_axum_login::{LoginContext, LoginCredentials, LoginGuardBackend, LoginGuardError};
use loginguard_core::{Guard, MemoryStore, Policy};

#[derive(Debug, Clone)]
struct User;

impl AuthUser for User {
    type Id = i64;
    fn id(&self) -> i64 {
        1
    }
    fn session_auth_hash(&self) -> &[u8] {
        b"hash"
    }
}

#[derive(Debug, thiserror::Error)]
#[error("database down")]
struct Down;

#[derive(Clone)]
struct Creds(&'static str);

impl LoginCredentials for Creds {
    fn username(&self) -> Option<&str> {
        Some("alice")
    }
    fn password(&self) -> Option<&[u8]> {
        Some(self.0.as_bytes())
    }
}

/// "right" logs in, "down" fails as the database would, anything else is wrong.
#[derive(Clone, Default)]
struct Backend {
    calls: Arc<AtomicUsize>,
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Creds;
    type Error = Down;

    async fn authenticate(&self, creds: Creds) -> Result<Option<User>, Down> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match creds.0 {
            "right" => Ok(Some(User)),
            "down" => Err(Down),
            _ => Ok(None),
        }
    }

    async fn get_user(&self, _: &UserId<Self>) -> Result<Option<User>, Down> {
        Ok(Some(User))
    }
}

fn context() -> LoginContext {
    let (mut parts, ()) = Request::post("/login").body(()).unwrap().into_parts();
    parts
        .extensions
        .insert(MockConnectInfo(SocketAddr::from(([192, 0, 2, 9], 1))));
    LoginContext::from_parts(&parts)
}

fn backend() -> (LoginGuardBackend<Backend>, Arc<AtomicUsize>) {
    backend_with(Policy::default())
}

fn backend_with(policy: Policy) -> (LoginGuardBackend<Backend>, Arc<AtomicUsize>) {
    let inner = Backend::default();
    let calls = Arc::clone(&inner.calls);
    let guard = Guard::new(policy, Arc::new(MemoryStore::new()));
    (LoginGuardBackend::new(inner, guard), calls)
}

/// What the backend answered, in short.
async fn try_password(
    backend: &LoginGuardBackend<Backend>,
    password: &'static str,
) -> &'static str {
    match backend.authenticate(context().with(Creds(password))).await {
        Ok(Some(_)) => "user",
        Ok(None) => "none",
        Err(LoginGuardError::LockedOut(_)) => "locked",
        Err(LoginGuardError::Backend(_)) => "backend error",
        Err(_) => "other",
    }
}

#[tokio::test]
async fn the_failure_reaching_the_limit_is_a_lockout_and_then_the_backend_is_not_called() {
    let (backend, calls) = backend();
    let mut seen = Vec::new();
    for password in ["a", "b", "c", "right"] {
        seen.push(try_password(&backend, password).await);
    }
    assert_eq!(seen, ["none", "none", "locked", "locked"]);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the refused try never reached the backend"
    );
}

#[tokio::test]
async fn a_backend_error_gives_the_attempt_back() {
    let (backend, _) = backend();
    for _ in 0..5 {
        assert_eq!(try_password(&backend, "down").await, "backend error");
    }
    assert_eq!(try_password(&backend, "a").await, "none");
    assert_eq!(try_password(&backend, "b").await, "none");
    assert_eq!(try_password(&backend, "right").await, "user");
}

#[tokio::test]
async fn with_reset_on_success_a_success_clears_the_failures() {
    let policy = Policy::builder().reset_on_success(true).build().unwrap();
    let (backend, _) = backend_with(policy);
    for password in ["a", "b", "right", "c", "d"] {
        let got = try_password(&backend, password).await;
        assert_ne!(got, "locked", "{password}");
    }
    assert_eq!(try_password(&backend, "e").await, "locked");
}

#[tokio::test]
async fn without_reset_on_success_a_success_only_gives_its_own_try_back() {
    let (backend, _) = backend();
    for password in ["a", "b", "right"] {
        assert_ne!(try_password(&backend, password).await, "locked");
    }
    assert_eq!(try_password(&backend, "c").await, "locked");
}

#[tokio::test]
async fn a_repeated_wrong_password_counts_once_when_the_credentials_give_it() {
    let policy = Policy::builder()
        .secret(Some(
            loginguard_core::Secret::new("a test secret of at least 32 bytes!").unwrap(),
        ))
        .ignore_repeated_password(true)
        .build()
        .unwrap();
    let (backend, calls) = backend_with(policy);
    for _ in 0..10 {
        assert_eq!(try_password(&backend, "stale").await, "none");
    }
    assert_eq!(try_password(&backend, "right").await, "user");
    assert_eq!(calls.load(Ordering::SeqCst), 11);
    // Distinct wrong passwords still lock at the limit (3, "stale" once).
    assert_eq!(try_password(&backend, "x").await, "none");
    assert_eq!(try_password(&backend, "y").await, "locked");
}

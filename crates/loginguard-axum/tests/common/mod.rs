//! A guarded login server on 127.0.0.1:0 and clients bound to chosen
//! loopback addresses, for the HTTP tests.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use loginguard_axum::LoginGuardLayer;
use loginguard_core::{Guard, MemoryStore, Policy, Store};

/// What the login handler saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Password checks made (one per handler call).
    pub checks: AtomicUsize,
    /// Calls that carried no readable credentials.
    pub without_credentials: AtomicUsize,
}

struct AppState {
    seen: Arc<Seen>,
    users: HashMap<&'static str, &'static str>,
    delay: Duration,
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    state.seen.checks.fetch_add(1, Ordering::SeqCst);
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let credentials: Option<Credentials> = if content_type.starts_with("application/json") {
        serde_json::from_slice(&body).ok()
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(&body).ok()
    } else {
        None
    };
    let Some(c) = credentials else {
        state
            .seen
            .without_credentials
            .fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::UNAUTHORIZED,
            format!("no credentials in {} bytes", body.len()),
        )
            .into_response();
    };
    if state.users.get(c.username.trim()) == Some(&c.password.as_str()) {
        (StatusCode::OK, format!("welcome {}", c.username.trim())).into_response()
    } else {
        (StatusCode::UNAUTHORIZED, "wrong username or password").into_response()
    }
}

/// A running server with a guarded `POST /login` (users alice/wonderland
/// and bob/builder) and a guarded `POST /otp` (scope `otp`).
pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    pub store: Arc<dyn Store>,
    _served: Served,
}

impl TestServer {
    pub async fn start(policy: Policy) -> TestServer {
        TestServer::start_with(policy, Duration::ZERO, |l| l).await
    }

    pub async fn start_with(
        policy: Policy,
        delay: Duration,
        customize: impl FnOnce(LoginGuardLayer) -> LoginGuardLayer,
    ) -> TestServer {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let seen = Arc::new(Seen::default());
        let state = Arc::new(AppState {
            seen: seen.clone(),
            users: HashMap::from([("alice", "wonderland"), ("bob", "builder")]),
            delay,
        });
        let otp_policy = policy.to_builder().scope("otp".to_owned()).build().unwrap();
        let login_layer = customize(LoginGuardLayer::new(Guard::new(policy, store.clone())));
        let otp_layer = LoginGuardLayer::new(Guard::new(otp_policy, store.clone()));
        let app = Router::new()
            .route("/login", post(login).layer(login_layer))
            .route("/otp", post(login).layer(otp_layer))
            .with_state(state);
        let served = serve(app).await;
        TestServer {
            addr: served.addr,
            seen,
            store,
            _served: served,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn checks(&self) -> usize {
        self.seen.checks.load(Ordering::SeqCst)
    }

    /// `POST /login` with a form from 127.0.0.1.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.login_from(&client(), username, password).await
    }

    pub async fn login_from(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// The status of [`TestServer::login_from`].
    pub async fn status_from(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::StatusCode {
        self.login_from(client, username, password).await.status()
    }
}

/// `app` served on 127.0.0.1:0 with connect info; stopped when dropped.
pub struct Served {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` as an application does: with its socket addresses.
pub async fn serve(app: Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Served { addr, task }
}

/// A client connecting from 127.0.0.1.
pub fn client() -> reqwest::Client {
    client_from("127.0.0.1")
}

/// A client whose connections come from `ip` (any 127.0.0.0/8 address).
pub fn client_from(ip: &str) -> reqwest::Client {
    client_builder(ip).build().unwrap()
}

/// A client from `ip` that shows redirects instead of following them, as
/// a test of a redirecting login handler needs.
pub fn no_redirects_from(ip: &str) -> reqwest::Client {
    client_builder(ip)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn client_builder(ip: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
}

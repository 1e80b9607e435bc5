//! Helpers shared by the admin UI tests: a cheap password hash, an app
//! mounted at a prefix, and a tiny client over `oneshot`.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use loginguard_admin::AdminState;
use loginguard_core::{Attempt, Decision, Guard, MemoryStore, Policy, Store, Verdict};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// An argon2id hash with tiny parameters, so tests stay fast.
pub fn cheap_hash(password: &str) -> String {
    let params = Params::new(8, 1, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(
            password.as_bytes(),
            &SaltString::generate(&mut rand::rngs::OsRng),
        )
        .unwrap()
        .to_string()
}

pub fn audited_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new().with_audit_log(10_000))
}

pub fn state(store: Arc<dyn Store>) -> AdminState {
    AdminState::builder(store)
        .policy(Policy::builder().failure_limit(3).build().unwrap())
        .password_hash(Some(cheap_hash(PASSWORD)))
        .token(Some(TOKEN.to_owned()))
        .page_size(50)
        .build()
        .unwrap()
}

/// The admin router nested at `prefix` ("" for the root), as a client at
/// `peer` would reach it.
pub fn app(state: AdminState, prefix: &str, peer: &str) -> Router {
    let admin = loginguard_admin::router(state);
    let router = if prefix.is_empty() {
        Router::new().merge(admin)
    } else {
        Router::new().nest(prefix, admin)
    };
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    router.layer(MockConnectInfo(peer))
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a csrf field") + marker.len();
        self.body[start..start + 64].to_owned()
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res: Response<Body> = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

pub async fn post_form(
    app: &Router,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Reply {
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    send(app, req.body(Body::from(body)).unwrap()).await
}

pub async fn api(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match json {
        Some(j) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(j.to_owned())
        }
        None => Body::empty(),
    };
    send(app, req.body(body).unwrap()).await
}

/// Signs in at `prefix` and returns the `Cookie` header value to send.
pub async fn sign_in(app: &Router, prefix: &str) -> String {
    let r = post_form(
        app,
        &format!("{prefix}/signin"),
        None,
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let set = r.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

/// Fails `n` logins of `username` from `ip` through an app guard on `store`.
pub async fn fail_logins(guard: &Guard, ip: &str, username: &str, n: usize) {
    for _ in 0..n {
        let attempt = Attempt::new("POST", "/login")
            .ip(ip.parse().unwrap())
            .username(username);
        match guard.begin(attempt).await.unwrap() {
            Decision::Proceed(ticket) => {
                let _: Verdict = guard.failure(ticket).await;
            }
            Decision::Refused(_) => {}
        }
    }
}

/// A guard of the demo-like app: locks by username after 3 failures.
pub fn app_guard(store: Arc<dyn Store>) -> Guard {
    let policy = Policy::builder()
        .failure_limit(3)
        .lockout_parameters(vec![loginguard_core::Criterion::one(
            loginguard_core::Field::Username,
        )])
        .build()
        .unwrap();
    Guard::new(policy, store)
}

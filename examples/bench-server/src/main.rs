//! The server that `bench/http.sh` loads. Not an example to copy: it
//! exposes the same login handler with and without loginguard.
//!
//! ```sh
//! LOGINGUARD_STORE=memory cargo run --release -p example-bench-server -- 127.0.0.1:8080
//! ```
//!
//! | route | what |
//! | --- | --- |
//! | `POST /login` | guarded, lockout by IP (for locked-out rejections) |
//! | `POST /login-users` | guarded, lockout by username (wrong passwords over many users) |
//! | `POST /login-bare` | the same handler, no loginguard |
//! | `GET /` | a small page (for proxies in front, `bench/proxy.sh`) |
//! | `POST /static-429` | the same bytes as the lockout page, static, no loginguard |
//! | `POST /static-429-read-body` | the same, after reading the request body as the layer does |
//!
//! The handler checks the password with argon2id at a cheap cost
//! (`BENCH_ARGON2_KIB`, default 1024 KiB, 1 iteration), and always fails
//! for users other than alice/wonderland.

use std::net::SocketAddr;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use loginguard::axum::LoginGuardLayer;
use loginguard::{open_store, Config, Criterion, Field, Guard};

struct Hashes {
    argon2: Argon2<'static>,
    alice: String,
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(State(hashes): State<Arc<Hashes>>, body: Bytes) -> StatusCode {
    let Ok(form) = serde_urlencoded::from_bytes::<Login>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let ok = tokio::task::spawn_blocking(move || {
        let Ok(hash) = PasswordHash::new(&hashes.alice) else {
            return false;
        };
        let right = hashes
            .argon2
            .verify_password(form.password.as_bytes(), &hash)
            .is_ok();
        right && form.username == "alice"
    })
    .await
    .unwrap_or(false);
    if ok {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// The very bytes of the layer's default lockout page, with no layer work.
const LOCKOUT_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Too many login attempts</title></head>\n<body><main><h1>Too many login attempts</h1>\
<p>Account locked: too many login attempts. Contact an administrator to unlock your account.</p>\
</main></body></html>\n";

async fn static_429() -> impl IntoResponse {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        LOCKOUT_PAGE,
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
        .parse()?;
    let kib: u32 = std::env::var("BENCH_ARGON2_KIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let argon2 = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(kib, 1, 1, None)?,
    );
    let salt = SaltString::encode_b64(b"bench-salt-16byt")?;
    let alice = argon2.hash_password(b"wonderland", &salt)?.to_string();
    let hashes = Arc::new(Hashes { argon2, alice });

    let config = Config::load(None)?;
    let store = open_store(&config).await?;
    let by_ip = config
        .policy
        .to_builder()
        .scope("bench-ip".to_owned())
        .build()?;
    let by_user = config
        .policy
        .to_builder()
        .scope("bench-users".to_owned())
        .lockout_parameters(vec![Criterion::one(Field::Username)])
        .build()?;
    let app = Router::new()
        .route(
            "/login",
            post(login).layer(LoginGuardLayer::new(Guard::new(by_ip, store.clone()))),
        )
        .route(
            "/login-users",
            post(login).layer(LoginGuardLayer::new(Guard::new(by_user, store))),
        )
        .route("/login-bare", post(login))
        .route(
            "/",
            axum::routing::get(|| async { "a page that is not the login\n" }),
        )
        .route("/static-429", post(static_429))
        .route(
            "/static-429-read-body",
            post(|body: Bytes| async move {
                drop(body);
                static_429().await
            }),
        )
        .with_state(hashes);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("bench server on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

//! Protect your login in five lines: an axum app whose `POST /login` is
//! guarded by loginguard.
//!
//! ```sh
//! cargo run -p example-axum
//! # three wrong passwords, then even the right one is refused with 429:
//! for p in a b c wonderland; do
//!   curl -s -o /dev/null -w '%{http_code}\n' -d "username=alice&password=$p" http://127.0.0.1:3000/login
//! done
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::{http::StatusCode, routing::post, Form, Router};
use loginguard::axum::LoginGuardLayer;
use loginguard::{Guard, MemoryStore, Policy};

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// Your login handler, unchanged: 401 for a wrong password.
async fn login(Form(form): Form<Login>) -> StatusCode {
    if form.username == "alice" && form.password == "wonderland" {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

fn app() -> Router {
    // loginguard: a policy (3 failures per IP by default), a store, a layer.
    let guard = Guard::new(Policy::default(), Arc::new(MemoryStore::new()));
    Router::new().route("/login", post(login).layer(LoginGuardLayer::new(guard)))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    // The layer needs the client's address: serve with connect info.
    axum::serve(
        listener,
        app().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, extract::connect_info::MockConnectInfo, http::Request};
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_third_wrong_password_locks_the_ip() {
        let app = app().layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 1], 4000))));
        let mut statuses = Vec::new();
        for password in ["a", "b", "c", "wonderland"] {
            let req = Request::post("/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("username=alice&password={password}")))
                .unwrap();
            statuses.push(app.clone().oneshot(req).await.unwrap().status().as_u16());
        }
        assert_eq!(statuses, [401, 401, 429, 429]);
    }
}

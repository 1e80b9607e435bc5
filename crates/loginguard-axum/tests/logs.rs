//! What the layer logs: one span per guarded request with its fields, and
//! never the password.

use loginguard_testing::Captured;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Router;
use loginguard_axum::LoginGuardLayer;
use loginguard_core::{Guard, MemoryStore, Policy};
use tower::ServiceExt;

#[tokio::test]
async fn spans_carry_the_attempt_but_never_the_password() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let guard = Guard::new(Policy::default(), Arc::new(MemoryStore::new()));
    let app = Router::new()
        .route(
            "/login",
            post(|| async { StatusCode::UNAUTHORIZED }).layer(LoginGuardLayer::new(guard)),
        )
        .layer(MockConnectInfo(
            "203.0.113.77:1234".parse::<SocketAddr>().unwrap(),
        ));
    for _ in 0..4 {
        let req = Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("username=alice&password=hunter2-secret"))
            .unwrap();
        app.clone().oneshot(req).await.unwrap();
    }
    let logs = String::from_utf8(captured.bytes()).unwrap();
    assert!(logs.contains("login_attempt"), "{logs}");
    assert!(
        logs.contains("203.0.113.77") && logs.contains("alice"),
        "{logs}"
    );
    assert!(
        logs.contains("decision=\"refused\"") || logs.contains("decision=refused"),
        "{logs}"
    );
    assert!(
        !logs.contains("hunter2"),
        "the password reached the logs:\n{logs}"
    );
}

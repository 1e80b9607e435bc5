//! An app listening on `[::]` sees its IPv4 clients as IPv4-mapped IPv6
//! addresses (`::ffff:127.0.0.1`): they still match IPv4 CIDRs and are
//! keyed and logged as IPv4.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use common::client_from;
use loginguard_axum::LoginGuardLayer;
use loginguard_core::{Event, Guard, ListQuery, LogQuery, MemoryStore, Policy, Store};

/// Serves `app` on `[::]:0`; `None` (the test is skipped) when this
/// machine has no IPv6.
async fn serve_dual_stack(app: Router) -> Option<SocketAddr> {
    let listener = match tokio::net::TcpListener::bind("[::]:0").await {
        Ok(l) => l,
        Err(e) => {
            loginguard_testing::skip!("no IPv6 listener on this machine ({e})");
            return None;
        }
    };
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_clients_of_a_dual_stack_listener_are_ipv4() {
    let store = Arc::new(MemoryStore::new().with_audit_log(100));
    let policy = Policy::builder()
        .deny_list(vec!["127.0.0.2/32".parse().unwrap()])
        .build()
        .unwrap();
    let guard = Arc::new(Guard::new(policy, store.clone()));
    let mut events = guard.subscribe();
    let app = Router::new().route(
        "/login",
        post(|| async { StatusCode::UNAUTHORIZED }).layer(LoginGuardLayer::new(guard)),
    );
    let Some(addr) = serve_dual_stack(app).await else {
        return;
    };
    let login = |from: &'static str| async move {
        client_from(from)
            .post(format!("http://{addr}/login"))
            .form(&[("username", "alice"), ("password", "guess")])
            .send()
            .await
            .unwrap()
            .status()
    };
    // The IPv4 deny CIDR matches the mapped peer, and the refusal names
    // it as IPv4.
    assert_eq!(login("127.0.0.2").await, StatusCode::TOO_MANY_REQUESTS);
    match events.recv().await.unwrap() {
        Event::Refused { ip, .. } => assert_eq!(ip.as_deref(), Some("127.0.0.2")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Another IPv4 client is counted under its IPv4 form.
    assert_eq!(login("127.0.0.3").await, StatusCode::UNAUTHORIZED);

    let keys = store
        .list(&ListQuery::all(), std::time::SystemTime::now())
        .await
        .unwrap();
    let key_ips: Vec<_> = keys.iter().filter_map(|k| k.key.ip()).collect();
    assert_eq!(key_ips, ["127.0.0.3"]);
    let audit = store.audit().unwrap();
    let logged: Vec<_> = audit
        .query(&LogQuery::all())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.ip.unwrap_or_default())
        .collect();
    assert_eq!(logged, ["127.0.0.3"], "the audit trail has the IPv4 form");
}

//! The JSON API and `/metrics` over `oneshot`.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::Value;

fn json(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[tokio::test]
async fn api_needs_the_bearer_token() {
    let state = state(audited_store());
    for (i, (method, path, body)) in [
        ("GET", "/admin/api/locked", None),
        ("GET", "/admin/api/logs", None),
        ("GET", "/admin/api/policy", None),
        ("POST", "/admin/api/unlock", Some("{\"all\": true}")),
    ]
    .into_iter()
    .enumerate()
    {
        // One client address per route, so wrong tokens stay under the limit.
        let app = app(state.clone(), "/admin", &format!("198.51.100.{}", i + 1));
        let r = api(&app, method, path, None, body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path} without token");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        let r = api(&app, method, path, Some("wrong-token-0123456789"), body).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{path} with a wrong token"
        );
    }
    // A session cookie is no substitute for the token.
    let app = app(state, "/admin", "198.51.100.9");
    let cookie = sign_in(&app, "/admin").await;
    let r = get(&app, "/admin/api/locked", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_tokens_are_locked_out_too() {
    let app = app(state(audited_store()), "", "203.0.113.50");
    for _ in 0..2 {
        let r = api(
            &app,
            "GET",
            "/api/locked",
            Some("not-the-token-at-all"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = api(
        &app,
        "GET",
        "/api/locked",
        Some("not-the-token-at-all"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("retry-after").is_some());
    assert_eq!(json(&r)["error"], "locked_out");
    let r = api(&app, "GET", "/api/locked", Some(TOKEN), None).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "refused before the token is compared"
    );
}

#[tokio::test]
async fn api_is_closed_without_a_token() {
    let state = loginguard_admin::AdminState::builder(audited_store())
        .password_hash(Some(cheap_hash(PASSWORD)))
        .build()
        .unwrap();
    let app = app(state, "", "198.51.100.1");
    let r = api(&app, "GET", "/api/locked", Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(json(&r)["error"], "api_closed");
}

#[tokio::test]
async fn api_lists_unlocks_and_reads_logs() {
    let store = audited_store();
    let guard = app_guard(store.clone());
    // Two more than the limit: refused by the lock.
    fail_logins(&guard, "192.0.2.10", "alice", 5).await;
    fail_logins(&guard, "192.0.2.11", "bob", 3).await;
    let app = app(state(store.clone()), "/admin", "198.51.100.1");

    let r = api(&app, "GET", "/admin/api/locked", Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = json(&r);
    let locked = v["locked"].as_array().unwrap();
    assert_eq!(locked.len(), 2);
    let alice = locked.iter().find(|k| k["username"] == "alice").unwrap();
    assert_eq!(alice["key"], "login/username=alice");
    assert_eq!(alice["failures"], 3);
    assert_eq!(alice["refused"], 2, "refused since the lock");
    let bob = locked.iter().find(|k| k["username"] == "bob").unwrap();
    assert_eq!(bob["refused"], 0);
    assert!(alice["locked_until"].is_null() && alice["retry_after"].is_null());

    let r = api(
        &app,
        "GET",
        "/admin/api/logs?kind=failure&username=bob",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let entries = json(&r)["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 3);
    assert!(entries
        .iter()
        .all(|e| e["username"] == "bob" && e["ip"] == "192.0.2.11"));
    let r = api(
        &app,
        "GET",
        "/admin/api/logs?kind=failure&ip=192.0.2.10&limit=2",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(json(&r)["entries"].as_array().unwrap().len(), 2);
    let r = api(
        &app,
        "GET",
        "/admin/api/logs?kind=success",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(json(&r)["entries"].as_array().unwrap().len(), 0);
    let r = api(&app, "GET", "/admin/api/logs?kind=bogus", Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = api(&app, "POST", "/admin/api/unlock", Some(TOKEN), Some("{}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api(
        &app,
        "POST",
        "/admin/api/unlock",
        Some(TOKEN),
        Some("not json"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api(
        &app,
        "POST",
        "/admin/api/unlock",
        Some(TOKEN),
        Some("{\"username\": \"alice\"}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json(&r)["cleared"], 1);
    let r = api(&app, "GET", "/admin/api/locked", Some(TOKEN), None).await;
    assert_eq!(json(&r)["locked"].as_array().unwrap().len(), 1);
    let r = api(
        &app,
        "POST",
        "/admin/api/unlock",
        Some(TOKEN),
        Some("{\"all\": true}"),
    )
    .await;
    assert_eq!(json(&r)["cleared"], 1);
    let r = api(&app, "GET", "/admin/api/locked", Some(TOKEN), None).await;
    assert!(json(&r)["locked"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn api_policy_has_settings_but_no_secrets() {
    let app = app(state(audited_store()), "", "198.51.100.1");
    let r = api(&app, "GET", "/api/policy", Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = json(&r);
    assert_eq!(v["failure_limit"], 3);
    assert_eq!(v["scope"], "login");
    assert!(v.get("admin_password_hash").is_none() && v.get("admin_token").is_none());
    assert!(!r.body.contains(TOKEN) && !r.body.contains("$argon2"));
}

#[tokio::test]
async fn admin_server_serves_metrics() {
    let store = audited_store();
    let guard = app_guard(store.clone());
    fail_logins(&guard, "192.0.2.10", "alice", 3).await;
    let state = state(store.clone());
    let server = loginguard_admin::server::app(state);
    let wrong = axum::http::Request::post("/signin")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-real-ip", "1.2.3.4")
        .body(axum::body::Body::from("password=nope"))
        .unwrap();
    let r = send(&server, wrong).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = get(&server, "/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(
        r.body.contains("# TYPE loginguard_failures_total counter"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("loginguard_failures_total{guard=\"admin\"} 1"),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains("loginguard_attempts_total{guard=\"admin\"} 1"));
    assert!(
        r.body.contains("loginguard_locked_keys{scope=\"login\"} 1"),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains("loginguard_store_latency_seconds_count{guard=\"admin\"}"));
    let _ = store.audit();
}

#[tokio::test]
async fn metrics_route_serves_an_app_guard() {
    let store = audited_store();
    let guard = app_guard(store);
    fail_logins(&guard, "192.0.2.10", "alice", 4).await;
    let app: axum::Router = axum::Router::new().route(
        "/metrics",
        loginguard_admin::metrics::route(guard.metrics().clone()),
    );
    let r = get(&app, "/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("\nloginguard_attempts_total 4\n"),
        "{}",
        r.body
    );
    assert!(r.body.contains("\nloginguard_failures_total 3\n"));
    assert!(r.body.contains("\nloginguard_lockouts_total 1\n"));
    assert!(r.body.contains("\nloginguard_rejections_total 1\n"));
    assert!(r.body.contains("\nloginguard_store_errors_total 0\n"));
}

#[tokio::test]
async fn a_locked_sign_in_leaves_the_api_open_to_unlock_it() {
    let app = app(state(audited_store()), "", "203.0.113.60");
    for _ in 0..3 {
        post_form(&app, "/signin", None, &[("password", "nope")]).await;
    }
    let r = post_form(&app, "/signin", None, &[("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = api(&app, "GET", "/api/locked", Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::OK, "the API counts on its own scope");
    assert_eq!(json(&r)["locked"][0]["key"], "admin/ip=203.0.113.60");
    let r = api(
        &app,
        "POST",
        "/api/unlock",
        Some(TOKEN),
        Some("{\"ip\": \"203.0.113.60\", \"scope\": \"admin\"}"),
    )
    .await;
    assert_eq!(json(&r)["cleared"], 1);
    let r = post_form(&app, "/signin", None, &[("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

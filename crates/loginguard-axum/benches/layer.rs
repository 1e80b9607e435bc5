//! The layer's own cost, in process (no sockets): a locked-out attempt
//! refused through `LoginGuard`, with and without the failure-log row the
//! engine writes for it, against the same request sent to the bare handler.
//!
//! `cargo bench -p loginguard-axum --bench layer`
#![allow(missing_docs)] // criterion_group! defines an undocumented function

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use criterion::{criterion_group, criterion_main, Criterion};
use loginguard_axum::LoginGuardLayer;
use loginguard_core::{Guard, MemoryStore, Policy};
use tower::{service_fn, Service, ServiceBuilder, ServiceExt};

const BODY: &[u8] = b"username=alice&password=wrong";

fn request() -> Request<Body> {
    Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "bench")
        .body(Body::from(bytes::Bytes::from_static(BODY)))
        .unwrap()
}

async fn handler(_req: Request<Body>) -> Result<Response, Infallible> {
    Ok(StatusCode::UNAUTHORIZED.into_response())
}

fn guarded(
    failure_log: bool,
) -> impl Service<Request<Body>, Response = Response, Error = Infallible, Future: Send> + Clone {
    let policy = Policy::builder().failure_log(failure_log).build().unwrap();
    let store = Arc::new(MemoryStore::new().with_audit_log(10_000));
    ServiceBuilder::new()
        .layer(MockConnectInfo(
            "198.51.100.1:4000".parse::<SocketAddr>().unwrap(),
        ))
        .layer(LoginGuardLayer::new(Guard::new(policy, store)))
        .service(service_fn(handler))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("layer");
    for (name, failure_log) in [
        ("refusal, failure log on", true),
        ("refusal, failure log off", false),
    ] {
        let svc = guarded(failure_log);
        rt.block_on(async {
            for _ in 0..3 {
                svc.clone().oneshot(request()).await.unwrap();
            }
            assert_eq!(svc.clone().oneshot(request()).await.unwrap().status(), 429);
        });
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| svc.clone().oneshot(request()));
        });
    }
    let bare = service_fn(handler);
    group.bench_function("bare handler, same request", |b| {
        b.to_async(&rt).iter(|| bare.oneshot(request()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

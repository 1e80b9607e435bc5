//! The middleware in front of small handlers, without a socket.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use bytes::Bytes;
use loginguard_actix::{LoginGuard, LoginOutcome};
use loginguard_core::{Criterion, Field, Guard, MemoryStore, Policy};

const PEER: &str = "198.51.100.9:5000";

/// An app whose `/login` echoes the body with `status`, counting calls.
async fn app(
    mw: LoginGuard,
    calls: Arc<AtomicUsize>,
    status: StatusCode,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new().service(web::resource("/login").wrap(mw).route(web::route().to(
            move |body: Bytes| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    HttpResponse::build(status).body(body)
                }
            },
        ))),
    )
    .await
}

fn mw(policy: Policy) -> LoginGuard {
    LoginGuard::new(Guard::new(policy, Arc::new(MemoryStore::new())))
}

fn form(body: &'static str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/login")
        .peer_addr(PEER.parse().unwrap())
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body)
}

#[actix_web::test]
async fn the_failure_reaching_the_limit_is_refused_and_then_no_handler_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(
        mw(Policy::default()),
        calls.clone(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = test::call_service(&app, form("username=a&password=x").to_request()).await;
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[actix_web::test]
async fn with_ip_only_criteria_a_locked_client_is_refused_without_reading_its_body() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(
        mw(Policy::default()),
        calls.clone(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    for _ in 0..3 {
        test::call_service(&app, form("username=a").to_request()).await;
    }
    // A chunked body that never ends: waiting for it would hang.
    let req = test::TestRequest::post()
        .uri("/login")
        .peer_addr(PEER.parse().unwrap())
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("transfer-encoding", "chunked"))
        .to_request();
    let endless: Pin<Box<dyn futures_util::Stream<Item = _>>> =
        Box::pin(futures_util::stream::pending());
    let (req, _) = req.replace_payload(Payload::Stream { payload: endless });
    let res = tokio::time::timeout(Duration::from_secs(5), test::call_service(&app, req))
        .await
        .expect("the middleware waited for the body of a locked-out client");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[actix_web::test]
async fn the_handler_gets_the_body_intact_whichever_order_judges() {
    let by_user = Policy::builder()
        .lockout_parameters(vec![Criterion::one(Field::Username)])
        .build()
        .unwrap();
    for policy in [Policy::default(), by_user] {
        let app = app(mw(policy), Arc::default(), StatusCode::OK).await;
        let body = "username=al%69ce&password=p%26ss+word";
        let res = test::call_service(&app, form(body).to_request()).await;
        assert_eq!(test::read_body(res).await, body);
    }
}

#[actix_web::test]
async fn a_marker_beats_the_status() {
    let app = test::init_service(App::new().service(
        web::resource("/login").wrap(mw(Policy::default())).route(
            web::post().to(|| async {
                LoginOutcome::Failure.respond(HttpResponse::Ok().body("try again"))
            }),
        ),
    ))
    .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            test::call_service(&app, form("username=a").to_request())
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 429]);
}

#[actix_web::test]
async fn server_errors_give_the_attempt_back_and_safe_methods_pass_uncounted() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(
        mw(Policy::default()),
        calls.clone(),
        StatusCode::INTERNAL_SERVER_ERROR,
    )
    .await;
    for _ in 0..5 {
        let res = test::call_service(&app, form("username=a").to_request()).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    let app2 = self::app(
        mw(Policy::default()),
        calls.clone(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    for _ in 0..5 {
        let req = test::TestRequest::get()
            .uri("/login")
            .peer_addr(PEER.parse().unwrap());
        assert_eq!(
            test::call_service(&app2, req.to_request()).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 10);
}

#[actix_web::test]
async fn json_clients_get_json_and_html_clients_html() {
    let policy = Policy::builder().failure_limit(1).build().unwrap();
    let app = app(mw(policy), Arc::default(), StatusCode::UNAUTHORIZED).await;
    let req = test::TestRequest::post()
        .uri("/login")
        .peer_addr(PEER.parse().unwrap())
        .insert_header(("content-type", "application/json"))
        .set_payload(r#"{"username":"a","password":"b"}"#);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/json"
    );
    let v: serde_json::Value = serde_json::from_slice(&test::read_body(res).await).unwrap();
    assert_eq!(v["error"], "locked_out");
    let res = test::call_service(&app, form("username=a").to_request()).await;
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(
        String::from_utf8_lossy(&test::read_body(res).await).contains("Too many login attempts")
    );
}

#[actix_web::test]
async fn failure_body_text_reads_the_page_and_hands_it_on() {
    let policy = Policy::builder()
        .failure_limit(2)
        .failure_body_text(Some("Wrong password".into()))
        .build()
        .unwrap();
    let page = "<form></form><p>Wrong password</p>";
    let app = test::init_service(
        App::new().service(
            web::resource("/login")
                .wrap(mw(policy))
                .route(web::post().to(move || async move { HttpResponse::Ok().body(page) })),
        ),
    )
    .await;
    let res = test::call_service(&app, form("username=a").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(test::read_body(res).await, page);
    let res = test::call_service(&app, form("username=a").to_request()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn a_username_closure_reads_a_header() {
    let policy = Policy::builder()
        .lockout_parameters(vec![Criterion::one(Field::Username)])
        .failure_limit(2)
        .build()
        .unwrap();
    let m = mw(policy).username_with(|req, _| {
        req.headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let app = app(m, Arc::default(), StatusCode::UNAUTHORIZED).await;
    let user = |name: &'static str| {
        test::TestRequest::post()
            .uri("/login")
            .peer_addr(PEER.parse().unwrap())
            .insert_header(("x-user", name))
    };
    let mut statuses = Vec::new();
    for name in ["bob", "bob", "bob", "carol"] {
        statuses.push(
            test::call_service(&app, user(name).to_request())
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [401, 429, 429, 401]);
}

#[actix_web::test]
async fn a_custom_lockout_response_is_used() {
    let policy = Policy::builder().failure_limit(1).build().unwrap();
    let m = mw(policy).lockout_response_with(|_, req| {
        HttpResponse::Forbidden().body(format!("nope: {}", req.path()))
    });
    let app = app(m, Arc::default(), StatusCode::UNAUTHORIZED).await;
    for _ in 0..2 {
        let res = test::call_service(&app, form("username=a").to_request()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(test::read_body(res).await, "nope: /login");
    }
}

/// A store that cannot answer.
#[derive(Debug)]
struct DownStore;

#[async_trait::async_trait]
impl loginguard_core::Store for DownStore {
    async fn begin_tagged(
        &self,
        _: &loginguard_core::Key,
        _: &loginguard_core::record::Limits,
        _: Option<u64>,
        _: std::time::SystemTime,
    ) -> Result<loginguard_core::record::KeyVerdict, loginguard_core::StoreError> {
        Err(loginguard_core::StoreError::Config("down".into()))
    }
    async fn release(
        &self,
        _: &loginguard_core::Key,
        _: &loginguard_core::record::Release,
        _: &loginguard_core::record::Limits,
        _: std::time::SystemTime,
    ) -> Result<(), loginguard_core::StoreError> {
        Err(loginguard_core::StoreError::Config("down".into()))
    }
    async fn reset(
        &self,
        _: &loginguard_core::KeyFilter,
    ) -> Result<u64, loginguard_core::StoreError> {
        Err(loginguard_core::StoreError::Config("down".into()))
    }
    async fn list(
        &self,
        _: &loginguard_core::ListQuery,
        _: std::time::SystemTime,
    ) -> Result<Vec<loginguard_core::KeyStatus>, loginguard_core::StoreError> {
        Err(loginguard_core::StoreError::Config("down".into()))
    }
    async fn purge_expired(
        &self,
        _: std::time::SystemTime,
    ) -> Result<u64, loginguard_core::StoreError> {
        Err(loginguard_core::StoreError::Config("down".into()))
    }
    async fn health(&self) -> Result<loginguard_core::StoreHealth, loginguard_core::StoreError> {
        Err(loginguard_core::StoreError::Config("down".into()))
    }
}

#[actix_web::test]
async fn a_store_fault_denies_with_503_or_allows_by_policy() {
    use loginguard_core::OnStoreError;
    for (on_error, expected, handler_calls) in [
        (OnStoreError::Deny, StatusCode::SERVICE_UNAVAILABLE, 0),
        (OnStoreError::Allow, StatusCode::UNAUTHORIZED, 1),
    ] {
        let policy = Policy::builder().on_store_error(on_error).build().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let m = LoginGuard::new(Guard::new(policy, Arc::new(DownStore)));
        let app = app(m, calls.clone(), StatusCode::UNAUTHORIZED).await;
        let res = test::call_service(&app, form("username=a").to_request()).await;
        assert_eq!(res.status(), expected);
        if expected == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(res.headers().get("retry-after").unwrap(), "5");
        }
        assert_eq!(calls.load(Ordering::SeqCst), handler_calls);
    }
}

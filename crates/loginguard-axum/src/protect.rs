//! What the layer does with one guarded request: read the username, ask the
//! engine, refuse or call the handler, then settle the attempt.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request};
use axum::response::Response;
use loginguard_core::{Attempt, Decision, Lockout, Password, Ticket, Verdict};
use loginguard_http::{body_kind, credentials, BodyError, BodyKind, Outcome};
use tower::Service;
use tracing::field::{display, Empty};
use tracing::{Instrument, Span};

use crate::body::read_capped;
use crate::ip::attempt_from_parts;
use crate::layer::Settings;
use crate::response::{bad_input, respond};

/// The future of one guarded request.
pub(crate) type Guarded<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send + 'static>>;

/// Guards one request on its way to `inner` (already ready).
///
/// A plain function rather than an `async fn`: the future it boxes is the
/// request's whole state, and under attack most requests are refusals, so
/// it is built once, in its box, and no wrapper future is moved around it
/// (the span is attached only when a subscriber listens).
pub(crate) fn protect<S>(
    settings: Arc<Settings>,
    req: Request<Body>,
    mut inner: S,
) -> Guarded<S::Error>
where
    S: Service<Request<Body>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    if !settings.guard_safe_methods && loginguard_http::is_safe_method(req.method().as_str()) {
        return Box::pin(inner.call(req));
    }
    // Split here, not in `run`: the arguments of an async fn stay in its
    // future to the end, so the request would be held twice.
    let (parts, body) = req.into_parts();
    if !tracing::dispatcher::has_been_set() {
        // No subscriber was ever set, so none listens: no span to build.
        return Box::pin(run(settings, parts, body, inner));
    }
    let span = tracing::info_span!(
        target: "loginguard",
        "login_attempt",
        scope = %settings.guard.policy().scope,
        method = %parts.method,
        path = %parts.uri.path(),
        ip = Empty,
        username = Empty,
        decision = Empty,
        outcome = Empty,
        status = Empty,
    );
    if span.is_disabled() {
        Box::pin(run(settings, parts, body, inner))
    } else {
        Box::pin(run(settings, parts, body, inner).instrument(span))
    }
}

// Only the engine's step is awaited inline; every path after it is boxed,
// so that the future of the common one (a refusal under attack) stays
// small.
async fn run<S>(
    settings: Arc<Settings>,
    parts: Parts,
    body: Body,
    inner: S,
) -> Result<Response, S::Error>
where
    S: Service<Request<Body>, Response = Response>,
{
    // Every value below is made and moved between two awaits, inside a
    // statement or a block, so that none is kept in the request's future
    // (a local moved from still takes room there until its scope ends).
    if settings.body_first {
        let judged = {
            let attempt = attempt_of(&settings, &parts);
            Box::pin(read_then_judge(&settings, parts, body, attempt, inner))
        };
        return judged.await;
    }
    // Nothing needs the username to judge: judge the attempt before reading
    // the body, so a locked-out client costs no body read at all. Boxed:
    // the engine's step is most of the request's state.
    let begun = Box::pin(settings.guard.begin(attempt_of(&settings, &parts)));
    let next = match begun.await {
        Ok(Decision::Refused(lockout)) => {
            Next::Refused(refused(&settings, &lockout, &parts.headers), body)
        }
        Ok(Decision::Proceed(ticket)) => Next::Proceed(Box::pin(read_after_judging(
            &settings, parts, body, ticket, inner,
        ))),
        // Only a username can be refused as input, and there is none yet.
        Err(e) => return Ok(bad_input(&BodyError::Bad(e.to_string()), &parts.headers)),
    };
    match next {
        Next::Refused(res, body) => {
            crate::drain::drain(body, settings.guard.policy().body_limit).await;
            Ok(res)
        }
        Next::Proceed(proceed) => proceed.await,
    }
}

/// What follows the engine's step in [`run`].
enum Next<F> {
    /// Refused: the response, once the body is drained.
    Refused(Response, Body),
    /// Counted: the rest of the request.
    Proceed(F),
}

/// The request's attempt, without its username.
fn attempt_of(settings: &Settings, parts: &Parts) -> Attempt {
    let mut attempt = attempt_from_parts(parts, &settings.resolver);
    attempt.device_cookie = loginguard_http::device_cookie(settings.guard.policy(), &parts.headers);
    if let Some(ip) = attempt.ip.filter(|_| tracing::dispatcher::has_been_set()) {
        Span::current().record("ip", display(ip));
    }
    attempt
}

/// An attempt judged before its body was read: reads the username (for
/// the audit trail and the handler's ticket), then calls the handler.
async fn read_after_judging<S>(
    settings: &Settings,
    parts: Parts,
    body: Body,
    mut ticket: Ticket,
    inner: S,
) -> Result<Response, S::Error>
where
    S: Service<Request<Body>, Response = Response>,
{
    let (body, username, _) = match read_username(settings, &parts, body).await {
        Ok(found) => found,
        Err(e) => {
            let counted = Counted::Judged(ticket);
            return Ok(count_bad_input(settings, counted, &parts.headers, &e).await);
        }
    };
    if let Some(name) = username {
        ticket.set_username(name);
    }
    finish(settings, parts, body, ticket, inner).await
}

/// An attempt whose judging needs the username (a criterion or a hook of
/// the engine): reads the body first, then asks the engine once.
async fn read_then_judge<S>(
    settings: &Settings,
    parts: Parts,
    body: Body,
    attempt: Attempt,
    inner: S,
) -> Result<Response, S::Error>
where
    S: Service<Request<Body>, Response = Response>,
{
    let (body, username, password) = match read_username(settings, &parts, body).await {
        Ok(found) => found,
        Err(e) => {
            let counted = Counted::NotYet(attempt);
            return Ok(count_bad_input(settings, counted, &parts.headers, &e).await);
        }
    };
    let mut attempt = match username {
        Some(name) => attempt.username(name),
        None => attempt,
    };
    attempt.password = password;
    let ticket = match settings.guard.begin(attempt).await {
        Ok(Decision::Refused(lockout)) => {
            return Ok(refused(settings, &lockout, &parts.headers));
        }
        Ok(Decision::Proceed(ticket)) => ticket,
        // The username was checked by `read_username` already.
        Err(e) => return Ok(bad_input(&BodyError::Bad(e.to_string()), &parts.headers)),
    };
    finish(settings, parts, body, ticket, inner).await
}

/// Calls the handler with the attempt counted, then settles the ticket with
/// the outcome its response shows.
async fn finish<S>(
    settings: &Settings,
    parts: Parts,
    body: Body,
    ticket: Ticket,
    mut inner: S,
) -> Result<Response, S::Error>
where
    S: Service<Request<Body>, Response = Response>,
{
    let span = Span::current();
    let guard = &settings.guard;
    span.record("decision", "proceed");
    if let Some(name) = &ticket.attempt().username {
        span.record("username", name.as_str());
    }
    let headers = parts.headers.clone();
    let uri = parts.uri.clone();
    // Only a device cookie needs to know (for `Secure`).
    let secure = guard.policy().trusts_devices()
        && loginguard_http::is_https(
            uri.scheme_str(),
            &headers,
            crate::ip::peer_is_trusted(&parts, &settings.resolver),
        );
    let res = inner.call(Request::from_parts(parts, body)).await?;
    span.record("status", res.status().as_u16());
    let (mut res, outcome) = settings.outcome.decide(&uri, res).await;
    match outcome {
        Outcome::Success => {
            span.record("outcome", "success");
            if let Some(cookie) = Box::pin(guard.success_with_cookie(ticket)).await {
                loginguard_http::set_device_cookie(res.headers_mut(), &cookie, secure);
            }
        }
        Outcome::Failure => {
            span.record("outcome", "failure");
            if let Verdict::LockedOut(lockout) = Box::pin(guard.failure(ticket)).await {
                span.record("outcome", "locked_out");
                res = refuse(settings, &lockout, &headers);
            }
        }
        _ => {
            span.record("outcome", "skip");
            Box::pin(guard.release(ticket)).await;
        }
    }
    tracing::debug!(target: "loginguard", "attempt settled");
    Ok(res)
}

/// Reads the body when a username may be in it, and checks the username
/// ([`Policy::normalize_username`](loginguard_core::Policy::normalize_username)):
/// an unusable one is bad input like a malformed body. The body handed back
/// is the same bytes.
async fn read_username(
    settings: &Settings,
    parts: &Parts,
    body: Body,
) -> Result<(Body, Option<String>, Option<Password>), BodyError> {
    let kind = body_kind(&parts.headers);
    if settings.username.is_none() && kind == BodyKind::Other {
        return Ok((body, None, None));
    }
    let policy = settings.guard.policy();
    let bytes = read_capped(&parts.headers, body, policy.body_limit).await?;
    let custom = settings.username.as_ref().map(|f| f(parts, &bytes));
    let (username, password) = credentials(policy, kind, &bytes, custom)?;
    Ok((Body::from(bytes), username, password))
}

/// Where an attempt with bad input stands with the engine.
enum Counted {
    /// Judged before its body was read: counted already.
    Judged(Ticket),
    /// Not asked yet: the body was to tell the username.
    NotYet(Attempt),
}

/// The one rule for bad input (a body over `body_limit`, a malformed body,
/// an unusable username): it never reaches the handler, but it is a failed
/// attempt on the keys that need no username (the IP criteria), and a
/// client locked out on them gets the lockout response rather than the
/// 400/413. The engine is asked once, without a username.
async fn count_bad_input(
    settings: &Settings,
    attempt: Counted,
    headers: &HeaderMap,
    error: &BodyError,
) -> Response {
    let span = Span::current();
    span.record("decision", "bad_input");
    let guard = &settings.guard;
    let ticket = match attempt {
        Counted::Judged(ticket) => ticket,
        Counted::NotYet(attempt) => match guard.begin(attempt).await {
            Ok(Decision::Proceed(ticket)) => ticket,
            Ok(Decision::Refused(lockout)) => return refused(settings, &lockout, headers),
            Err(_) => return bad_input(error, headers),
        },
    };
    match guard.failure(ticket).await {
        Verdict::LockedOut(lockout) => {
            span.record("outcome", "locked_out");
            refuse(settings, &lockout, headers)
        }
        _ => bad_input(error, headers),
    }
}

/// A refusal before the handler: recorded on the span, then answered.
fn refused(settings: &Settings, lockout: &Lockout, headers: &HeaderMap) -> Response {
    // Under attack this is most requests: no span lookup when no
    // subscriber was ever set (the event still goes to `log`, if used).
    if tracing::dispatcher::has_been_set() {
        Span::current().record("decision", "refused");
    }
    tracing::debug!(target: "loginguard", reason = ?lockout.reason, "attempt refused");
    refuse(settings, lockout, headers)
}

fn refuse(settings: &Settings, lockout: &Lockout, headers: &HeaderMap) -> Response {
    match &settings.responder {
        Some(f) => f(lockout, headers),
        None => respond(settings.guard.policy(), lockout, headers, &settings.pages),
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::SystemTime;

    use axum::extract::connect_info::MockConnectInfo;
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    use loginguard_core::record::{KeyVerdict, Limits, Release};
    use loginguard_core::{
        Guard, Key, KeyFilter, KeyStatus, ListQuery, MemoryStore, OnStoreError, Policy, Store,
        StoreError, StoreHealth,
    };
    use tower::{service_fn, ServiceBuilder, ServiceExt};

    use super::*;
    use crate::{LoginGuardLayer, LoginOutcome};

    const PEER: &str = "198.51.100.9:5000";

    /// A service guarding a handler that echoes the body and answers
    /// `status`, counting its calls.
    fn app(
        layer: LoginGuardLayer,
        calls: Arc<AtomicUsize>,
        status: StatusCode,
    ) -> impl Service<Request<Body>, Response = Response, Error = Infallible, Future: Send> + Clone
    {
        ServiceBuilder::new()
            .layer(MockConnectInfo(PEER.parse::<SocketAddr>().unwrap()))
            .layer(layer)
            .service(service_fn(move |req: Request<Body>| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    Ok::<_, Infallible>((status, body).into_response())
                }
            }))
    }

    fn layer(policy: Policy) -> LoginGuardLayer {
        LoginGuardLayer::new(Guard::new(policy, Arc::new(MemoryStore::new())))
    }

    fn form(body: &str) -> Request<Body> {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    async fn text(res: Response) -> String {
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_failure_reaching_the_limit_gets_the_lockout_response_and_then_no_handler_runs() {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = app(
            layer(Policy::default()),
            calls.clone(),
            StatusCode::UNAUTHORIZED,
        );
        for _ in 0..2 {
            let res = svc
                .clone()
                .oneshot(form("username=a&password=x"))
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        }
        let res = svc
            .clone()
            .oneshot(form("username=a&password=x"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let res = svc
            .clone()
            .oneshot(form("username=a&password=x"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(text(res).await.contains("Too many login attempts"));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "a locked attempt reached the handler"
        );
    }

    #[tokio::test]
    async fn with_ip_only_criteria_a_locked_client_is_refused_without_reading_its_body() {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = app(
            layer(Policy::default()),
            calls.clone(),
            StatusCode::UNAUTHORIZED,
        );
        for _ in 0..3 {
            svc.clone()
                .oneshot(form("username=a&password=x"))
                .await
                .unwrap();
        }
        // A body that never finishes: reading it would hang the request.
        let (_sender, endless) = http_body_util::channel::Channel::<bytes::Bytes>::new(1);
        let req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::new(endless))
            .unwrap();
        let res = tokio::time::timeout(std::time::Duration::from_secs(5), svc.oneshot(req))
            .await
            .expect("the layer waited for the body of a locked-out client")
            .unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_handler_gets_the_body_intact() {
        let svc = app(layer(Policy::default()), Arc::default(), StatusCode::OK);
        let body = "username=al%69ce&password=p%26ss+word";
        let res = svc.oneshot(form(body)).await.unwrap();
        assert_eq!(text(res).await, body);
    }

    #[tokio::test]
    async fn an_outcome_in_the_response_beats_the_status() {
        let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
        let svc = ServiceBuilder::new()
            .layer(MockConnectInfo(PEER.parse::<SocketAddr>().unwrap()))
            .layer(LoginGuardLayer::new(guard.clone()))
            .service(service_fn(|_req: Request<Body>| async {
                Ok::<_, Infallible>(
                    (StatusCode::OK, LoginOutcome::Failure, "try again").into_response(),
                )
            }));
        for _ in 0..2 {
            assert_eq!(
                svc.clone()
                    .oneshot(form("username=a"))
                    .await
                    .unwrap()
                    .status(),
                StatusCode::OK
            );
        }
        assert_eq!(
            svc.clone()
                .oneshot(form("username=a"))
                .await
                .unwrap()
                .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[tokio::test]
    async fn server_errors_give_the_attempt_back() {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = app(
            layer(Policy::default()),
            calls.clone(),
            StatusCode::INTERNAL_SERVER_ERROR,
        );
        for _ in 0..10 {
            let res = svc.clone().oneshot(form("username=a")).await.unwrap();
            assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 10);
    }

    #[tokio::test]
    async fn safe_methods_pass_through_uncounted() {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = app(
            layer(Policy::default()),
            calls.clone(),
            StatusCode::UNAUTHORIZED,
        );
        for _ in 0..5 {
            let res = svc
                .clone()
                .oneshot(Request::get("/login").body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        }
        let res = svc.clone().oneshot(form("username=a")).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn json_clients_get_json() {
        let policy = Policy::builder().failure_limit(1).build().unwrap();
        let svc = app(layer(policy), Arc::default(), StatusCode::UNAUTHORIZED);
        let json = || {
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"username":"a","password":"b"}"#))
                .unwrap()
        };
        let res = svc.clone().oneshot(json()).await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let v: serde_json::Value = serde_json::from_str(&text(res).await).unwrap();
        assert_eq!(v["error"], "locked_out");
        assert_eq!(v["retry_after"], serde_json::Value::Null);
    }

    #[tokio::test]
    async fn a_custom_lockout_response_is_used() {
        let policy = Policy::builder().failure_limit(1).build().unwrap();
        let layer = layer(policy)
            .lockout_response_with(|_, _| (StatusCode::FORBIDDEN, "nope").into_response());
        let svc = app(layer, Arc::default(), StatusCode::UNAUTHORIZED);
        let res = svc.oneshot(form("username=a")).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(text(res).await, "nope");
    }

    #[tokio::test]
    async fn lockout_url_redirects() {
        let policy = Policy::builder()
            .failure_limit(1)
            .lockout_url(Some("/locked".into()))
            .build()
            .unwrap();
        let svc = app(layer(policy), Arc::default(), StatusCode::UNAUTHORIZED);
        let res = svc.oneshot(form("username=a")).await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[header::LOCATION], "/locked");
    }

    #[tokio::test]
    async fn no_connect_info_does_not_panic_and_counts_the_username() {
        let policy = Policy::builder()
            .lockout_parameters(vec![loginguard_core::Criterion::one(
                loginguard_core::Field::Username,
            )])
            .failure_limit(2)
            .build()
            .unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = ServiceBuilder::new()
            .layer(layer(policy))
            .service(service_fn({
                let calls = calls.clone();
                move |_req: Request<Body>| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { Ok::<_, Infallible>(StatusCode::UNAUTHORIZED.into_response()) }
                }
            }));
        let statuses: Vec<StatusCode> = {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(
                    svc.clone()
                        .oneshot(form("username=bob"))
                        .await
                        .unwrap()
                        .status(),
                );
            }
            v
        };
        assert_eq!(
            statuses,
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn bad_input_asks_the_engine_once_and_counts_on_the_ip() {
        let policy = Policy::builder()
            .lockout_parameters(vec![
                loginguard_core::Criterion::one(loginguard_core::Field::Username),
                loginguard_core::Criterion::one(loginguard_core::Field::Ip),
            ])
            .build()
            .unwrap();
        let guard = Arc::new(Guard::new(policy, Arc::new(MemoryStore::new())));
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = app(
            LoginGuardLayer::new(guard.clone()),
            calls.clone(),
            StatusCode::UNAUTHORIZED,
        );
        let long = format!("username={}", "a".repeat(300));
        let res = svc.clone().oneshot(form(&long)).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let seen = guard.metrics().snapshot();
        assert_eq!((seen.attempts, seen.failures), (1, 1));
        // Both judging paths share the rule: IP-only criteria too.
        let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
        let svc = app(
            LoginGuardLayer::new(guard.clone()),
            calls.clone(),
            StatusCode::UNAUTHORIZED,
        );
        let res = svc.oneshot(form(&long)).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let seen = guard.metrics().snapshot();
        assert_eq!((seen.attempts, seen.failures), (1, 1));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[derive(Debug)]
    struct DownStore;

    #[async_trait::async_trait]
    impl Store for DownStore {
        async fn begin_tagged(
            &self,
            _: &Key,
            _: &Limits,
            _: Option<u64>,
            _: SystemTime,
        ) -> Result<KeyVerdict, StoreError> {
            Err(StoreError::Config("down".into()))
        }
        async fn release(
            &self,
            _: &Key,
            _: &Release,
            _: &Limits,
            _: SystemTime,
        ) -> Result<(), StoreError> {
            Err(StoreError::Config("down".into()))
        }
        async fn reset(&self, _: &KeyFilter) -> Result<u64, StoreError> {
            Err(StoreError::Config("down".into()))
        }
        async fn list(&self, _: &ListQuery, _: SystemTime) -> Result<Vec<KeyStatus>, StoreError> {
            Err(StoreError::Config("down".into()))
        }
        async fn purge_expired(&self, _: SystemTime) -> Result<u64, StoreError> {
            Err(StoreError::Config("down".into()))
        }
        async fn health(&self) -> Result<StoreHealth, StoreError> {
            Err(StoreError::Config("down".into()))
        }
    }

    #[tokio::test]
    async fn a_store_fault_denies_with_503_or_allows_by_policy() {
        for (on_error, expected, handler_calls) in [
            (OnStoreError::Deny, StatusCode::SERVICE_UNAVAILABLE, 0),
            (OnStoreError::Allow, StatusCode::UNAUTHORIZED, 1),
        ] {
            let policy = Policy::builder().on_store_error(on_error).build().unwrap();
            let calls = Arc::new(AtomicUsize::new(0));
            let layer = LoginGuardLayer::new(Guard::new(policy, Arc::new(DownStore)));
            let svc = app(layer, calls.clone(), StatusCode::UNAUTHORIZED);
            let res = svc.oneshot(form("username=a")).await.unwrap();
            assert_eq!(res.status(), expected);
            if expected == StatusCode::SERVICE_UNAVAILABLE {
                assert_eq!(res.headers()[header::RETRY_AFTER], "5");
            }
            assert_eq!(calls.load(Ordering::SeqCst), handler_calls);
        }
    }
}

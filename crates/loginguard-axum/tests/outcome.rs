//! The layer in front of login handlers shaped like real apps' over real
//! HTTP: redirect-on-failure (axum-login, Rails, Passport), a form
//! re-rendered with 200, session cookies, neutral statuses, and the
//! engine's hooks deciding by username.

mod common;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use common::{client_from, no_redirects_from, serve, Served};
use loginguard_axum::{LoginGuardLayer, LoginOutcome, OutcomeRules, BODY_SNIFF_LIMIT};
use loginguard_core::{Guard, MemoryStore, Policy};

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

fn right(c: &Credentials) -> bool {
    c.username == "alice" && c.password == "wonderland"
}

/// A guarded `POST /login` answered by `handler`, counting the password
/// checks it makes.
struct App {
    served: Served,
    checks: Arc<AtomicUsize>,
}

impl App {
    async fn start<H>(layer: LoginGuardLayer, handler: H) -> App
    where
        H: Fn(Credentials) -> Response + Clone + Send + Sync + 'static,
    {
        let checks = Arc::new(AtomicUsize::new(0));
        let counted = checks.clone();
        let route = post(move |Form(c): Form<Credentials>| {
            counted.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            async move { handler(c) }
        });
        let served = serve(Router::new().route("/login", route.layer(layer))).await;
        App { served, checks }
    }

    fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.served.url("/login"))
            .form(&[("username", user), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    async fn status(&self, client: &reqwest::Client, user: &str, password: &str) -> u16 {
        self.post(client, user, password).await.status().as_u16()
    }
}

fn layer(policy: Policy) -> LoginGuardLayer {
    LoginGuardLayer::new(Guard::new(policy, Arc::new(MemoryStore::new())))
}

/// axum-login's examples: 303 back to the form on a wrong password, 303
/// home on a right one.
fn redirecting(c: Credentials) -> Response {
    if right(&c) {
        Redirect::to("/").into_response()
    } else {
        Redirect::to("/login?error=1").into_response()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_back_to_the_form_is_a_failure_and_locks_at_the_limit() {
    let app = App::start(layer(Policy::default()), redirecting).await;
    let browser = no_redirects_from("127.0.0.2");
    for _ in 0..2 {
        let res = app.post(&browser, "alice", "guess").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[header::LOCATION], "/login?error=1");
    }
    assert_eq!(app.status(&browser, "alice", "guess").await, 429);
    assert_eq!(app.status(&browser, "alice", "wonderland").await, 429);
    assert_eq!(
        app.checks(),
        3,
        "a locked attempt reached the password check"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_elsewhere_is_a_success_that_resets_the_count() {
    let policy = Policy::builder().reset_on_success(true).build().unwrap();
    let app = App::start(layer(policy), redirecting).await;
    let browser = no_redirects_from("127.0.0.2");
    for _ in 0..2 {
        assert_eq!(app.status(&browser, "alice", "guess").await, 303);
    }
    let res = app.post(&browser, "alice", "wonderland").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/");
    // The count started again: two more wrong passwords, then the lock.
    for _ in 0..2 {
        assert_eq!(app.status(&browser, "alice", "guess").await, 303);
    }
    assert_eq!(app.status(&browser, "alice", "guess").await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_re_rendered_with_200_and_the_failure_marker_locks() {
    let app = App::start(layer(Policy::default()), |c| {
        if right(&c) {
            (LoginOutcome::Success, Html("welcome")).into_response()
        } else {
            (LoginOutcome::Failure, Html("<form>…wrong password</form>")).into_response()
        }
    })
    .await;
    let browser = client_from("127.0.0.2");
    for _ in 0..2 {
        assert_eq!(app.status(&browser, "alice", "guess").await, 200);
    }
    assert_eq!(app.status(&browser, "alice", "guess").await, 429);
    assert_eq!(app.checks(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_body_text_finds_a_200_re_render_and_leaves_the_page_whole() {
    let policy = Policy::builder()
        .failure_body_text(Some("Wrong password".into()))
        .build()
        .unwrap();
    // A page larger than what is looked at, the text near its top.
    let page = format!(
        "<p>Wrong password</p>{}<p>end</p>",
        "x".repeat(3 * BODY_SNIFF_LIMIT)
    );
    let expected = page.clone();
    let app = App::start(layer(policy), move |c| {
        if right(&c) {
            Html(format!(
                "<p>Welcome</p>{}",
                "y".repeat(3 * BODY_SNIFF_LIMIT)
            ))
            .into_response()
        } else {
            Html(page.clone()).into_response()
        }
    })
    .await;
    let browser = client_from("127.0.0.2");
    let res = app.post(&browser, "alice", "wonderland").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap().len(), 14 + 3 * BODY_SNIFF_LIMIT);
    for _ in 0..2 {
        let res = app.post(&browser, "alice", "guess").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.text().await.unwrap(), expected);
    }
    assert_eq!(app.status(&browser, "alice", "guess").await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_overload_and_server_errors_give_the_attempt_back() {
    let app = App::start(layer(Policy::default()), |c| {
        let status = match c.username.as_str() {
            "bad" => StatusCode::BAD_REQUEST,
            "busy" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        status.into_response()
    })
    .await;
    let client = client_from("127.0.0.2");
    for user in ["bad", "busy", "broken"] {
        for _ in 0..5 {
            let expected = match user {
                "bad" => 400,
                "busy" => 429,
                _ => 500,
            };
            assert_eq!(app.status(&client, user, "x").await, expected, "{user}");
        }
    }
    assert_eq!(app.checks(), 15, "an attempt given back was counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_cookie_set_in_code_tells_a_login_from_a_200_without_one() {
    let rules = OutcomeRules::default().success_cookie(Some("session_*".into()));
    let policy = Policy::builder().reset_on_success(true).build().unwrap();
    let app = App::start(layer(policy).outcome_rules(rules), |c| {
        if right(&c) {
            (
                [(header::SET_COOKIE, "session_id=s3cr3t; HttpOnly; Path=/")],
                Html("welcome"),
            )
                .into_response()
        } else {
            (
                [(header::SET_COOKIE, "csrf=abc; Path=/")],
                Html("<form>…</form>"),
            )
                .into_response()
        }
    })
    .await;
    let browser = client_from("127.0.0.2");
    for _ in 0..2 {
        assert_eq!(app.status(&browser, "alice", "guess").await, 200);
    }
    assert_eq!(app.status(&browser, "alice", "wonderland").await, 200);
    for _ in 0..2 {
        assert_eq!(app.status(&browser, "alice", "guess").await, 200);
    }
    assert_eq!(app.status(&browser, "alice", "guess").await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_cookie_from_the_policy_applies_without_code() {
    let policy = Policy::builder()
        .success_cookie(Some("sid".into()))
        .build()
        .unwrap();
    let app = App::start(layer(policy), |c| {
        if right(&c) {
            ([(header::SET_COOKIE, "sid=1")], "ok").into_response()
        } else {
            "try again".into_response()
        }
    })
    .await;
    let client = client_from("127.0.0.2");
    for _ in 0..2 {
        assert_eq!(app.status(&client, "alice", "guess").await, 200);
    }
    assert_eq!(app.status(&client, "alice", "guess").await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_location_catches_a_redirect_to_an_error_page() {
    let policy = Policy::builder()
        .failure_location(Some("*/signin?*failed*".into()))
        .build()
        .unwrap();
    let app = App::start(layer(policy), |c| {
        if right(&c) {
            Redirect::to("/home").into_response()
        } else {
            Redirect::to("https://auth.example.com/signin?reason=failed").into_response()
        }
    })
    .await;
    let browser = no_redirects_from("127.0.0.2");
    assert_eq!(app.status(&browser, "alice", "wonderland").await, 303);
    for _ in 0..2 {
        assert_eq!(app.status(&browser, "alice", "guess").await, 303);
    }
    assert_eq!(app.status(&browser, "alice", "guess").await, 429);
}

/// The README's hooks, with the default `["ip"]` criteria.
fn hooked_layer() -> LoginGuardLayer {
    let guard = Guard::builder(Policy::default(), Arc::new(MemoryStore::new()))
        // A user flagged "never lock" (say, a monitoring probe):
        .allow_if(|attempt| attempt.username.as_deref() == Some("probe"))
        // Administrators get a single try:
        .failure_limit_with(|attempt| match attempt.username.as_deref() {
            Some("admin") => NonZeroU32::new(1),
            _ => None,
        })
        .build();
    LoginGuardLayer::new(guard)
}

fn unauthorized(c: Credentials) -> Response {
    if right(&c) {
        StatusCode::OK.into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_if_sees_the_username_on_the_ip_only_path() {
    let app = App::start(hooked_layer(), unauthorized).await;
    let probe = client_from("127.0.0.2");
    for _ in 0..6 {
        assert_eq!(app.status(&probe, "probe", "wrong").await, 401);
    }
    // The probe's failures were never counted on its IP.
    assert_eq!(app.status(&probe, "alice", "wonderland").await, 200);
    // Anyone else from another IP is limited as usual.
    let other = client_from("127.0.0.3");
    for _ in 0..2 {
        assert_eq!(app.status(&other, "mallory", "wrong").await, 401);
    }
    assert_eq!(app.status(&other, "mallory", "wrong").await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_limit_with_sees_the_username_on_the_ip_only_path() {
    let app = App::start(hooked_layer(), unauthorized).await;
    let client = client_from("127.0.0.4");
    // One wrong password on "admin" reaches its limit of 1.
    assert_eq!(app.status(&client, "admin", "wrong").await, 429);
    assert_eq!(app.checks(), 1);
    let other = client_from("127.0.0.5");
    assert_eq!(app.status(&other, "alice", "wrong").await, 401);
    assert_eq!(app.status(&other, "alice", "wrong").await, 401);
    assert_eq!(app.status(&other, "alice", "wrong").await, 429);
}

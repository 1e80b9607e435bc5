//! The proxy in front of a real HTTP app (an axum app on loopback): login
//! attempts are judged before the app sees them, everything else streams
//! through unchanged.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message as WsMessage, WebSocketUpgrade};
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use loginguard_core::{Criterion, Field, ListQuery, MemoryStore, Policy, Store};
use loginguard_proxy::{Listeners, LoginPath, Preset, Proxy, ProxyOptions};
use tokio::sync::Semaphore;

const MB: usize = 1024 * 1024;

struct App {
    /// Login POSTs that reached the app.
    logins: AtomicUsize,
    /// Lets the SSE stream send its next event.
    next_event: Semaphore,
    /// A permit each time `/held` is entered.
    held_arrived: Semaphore,
    /// Lets `/held` answer.
    held_release: Semaphore,
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// Django's stock `LoginView` in miniature: a wrong password re-renders
/// the form with 200, the right one redirects and sets `sessionid`.
impl Default for App {
    fn default() -> App {
        App {
            logins: AtomicUsize::new(0),
            next_event: Semaphore::new(0),
            held_arrived: Semaphore::new(0),
            held_release: Semaphore::new(0),
        }
    }
}

async fn login(State(app): State<Arc<App>>, Form(c): Form<Credentials>) -> Response {
    app.logins.fetch_add(1, Ordering::SeqCst);
    if c.username == "alice" && c.password == "wonderland" {
        (
            StatusCode::FOUND,
            [
                (header::LOCATION, "/accounts/profile/"),
                (header::SET_COOKIE, "sessionid=s3cr3t; HttpOnly; Path=/"),
            ],
        )
            .into_response()
    } else {
        "<form>Please enter a correct username and password.</form>".into_response()
    }
}

async fn echo_headers(headers: HeaderMap) -> String {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    format!(
        "xff={} proto={} host={} fwd_host={} connection={}",
        get("x-forwarded-for"),
        get("x-forwarded-proto"),
        get("host"),
        get("x-forwarded-host"),
        get("connection")
    )
}

async fn upload(body: Body) -> String {
    let mut stream = body.into_data_stream();
    let mut n = 0usize;
    while let Some(chunk) = stream.next().await {
        n += chunk.unwrap().len();
    }
    n.to_string()
}

async fn download() -> Body {
    let chunk = Bytes::from(vec![7u8; MB]);
    Body::from_stream(futures_util::stream::iter(
        (0..50).map(move |_| Ok::<_, Infallible>(chunk.clone())),
    ))
}

async fn ws(upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(|mut socket| async move {
        while let Some(Ok(msg)) = socket.recv().await {
            if let WsMessage::Text(text) = msg {
                if socket
                    .send(WsMessage::Text(format!("echo: {text}").into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    })
}

/// Three events, each sent only when the test allows it: an event that
/// arrives before the next is allowed was not held back by the proxy.
async fn sse(State(app): State<Arc<App>>) -> impl IntoResponse {
    let stream = futures_util::stream::unfold((app, 0), |(app, n)| async move {
        if n == 3 {
            return None;
        }
        app.next_event.acquire().await.unwrap().forget();
        let event = Event::default().data(format!("event {n}"));
        Some((Ok::<_, Infallible>(event), (app, n + 1)))
    });
    Sse::new(stream)
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "late"
}

/// Answers once the test lets it.
async fn held(State(app): State<Arc<App>>) -> &'static str {
    app.held_arrived.add_permits(1);
    app.held_release.acquire().await.unwrap().forget();
    "done"
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn start_app() -> (SocketAddr, Arc<App>) {
    let app = Arc::new(App::default());
    let router = Router::new()
        .route(
            "/accounts/login/",
            get(|| async { "<form>csrf</form>" }).post(login),
        )
        .route("/headers", get(echo_headers))
        .route("/upload", post(upload))
        .route("/download", get(download))
        .route("/ws", get(ws))
        .route("/sse", get(sse))
        .route("/slow", get(slow))
        .route("/held", get(held))
        .with_state(app.clone());
    (serve(router).await, app)
}

struct Setup {
    proxy: SocketAddr,
    app: Arc<App>,
    store: Arc<MemoryStore>,
}

async fn start_proxy(policy: Policy, tune: impl FnOnce(&mut ProxyOptions)) -> Setup {
    let (upstream, app) = start_app().await;
    let store = Arc::new(MemoryStore::new());
    let mut options = ProxyOptions::new(format!("http://{upstream}").parse().unwrap());
    options.login_paths = vec![LoginPath::new("/accounts/login/")];
    options.preset = Some(Preset::Django);
    tune(&mut options);
    let proxy = Proxy::new(options, policy, store.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(proxy.serve(listener, std::future::pending()));
    Setup {
        proxy: addr,
        app,
        store,
    }
}

fn policy(limit: u32, criterion: Criterion) -> Policy {
    Policy::builder()
        .failure_limit(limit)
        .cool_off(Duration::from_secs(600))
        .lockout_parameters(vec![criterion])
        .build()
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post_login(s: &Setup, path: &str, user: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("http://{}{path}", s.proxy))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_out_attempt_never_reaches_the_app() {
    let s = start_proxy(policy(3, Criterion::one(Field::Ip)), |_| {}).await;
    // The form page passes through unguarded.
    let page = client()
        .get(format!("http://{}/accounts/login/", s.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(
                post_login(&s, "/accounts/login/", "alice", "nope")
                    .await
                    .status()
                    .as_u16(),
            );
        }
        out
    };
    assert_eq!(statuses, [200, 200, 429]);
    let refused = post_login(&s, "/accounts/login/", "alice", "wonderland").await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "600");
    assert_eq!(
        s.app.logins.load(Ordering::SeqCst),
        3,
        "the refusal was not forwarded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_password_logs_in_and_clears_nothing_it_should_not() {
    let s = start_proxy(policy(3, Criterion::one(Field::Username)), |_| {}).await;
    assert_eq!(
        post_login(&s, "/accounts/login/", "alice", "nope")
            .await
            .status(),
        200
    );
    let ok = post_login(&s, "/accounts/login/", "alice", "wonderland").await;
    assert_eq!(ok.status(), 302);
    assert!(ok.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .starts_with("sessionid="));
    let keys = s
        .store
        .list(&ListQuery::all(), std::time::SystemTime::now())
        .await
        .unwrap();
    assert_eq!(
        keys.len(),
        1,
        "the failure stays counted, the success is given back"
    );
    assert_eq!(keys[0].failures, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spellings_of_the_login_path_are_guarded_too() {
    let s = start_proxy(policy(2, Criterion::one(Field::Ip)), |_| {}).await;
    post_login(&s, "/accounts/login/", "alice", "nope").await;
    // The app routes none of these to its login view, but a server that
    // decodes or folds paths could: each is judged like the login path.
    for variant in [
        "/Accounts//login",
        "/accounts/%6Cogin/",
        "/accounts/./login/",
    ] {
        assert_eq!(
            post_login(&s, variant, "alice", "wonderland")
                .await
                .status(),
            429,
            "{variant}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_reach_the_app_at_most_the_limit() {
    let s = Arc::new(start_proxy(policy(5, Criterion::one(Field::Username)), |_| {}).await);
    let tries = (0..64).map(|i| {
        let s = s.clone();
        tokio::spawn(async move {
            post_login(&s, "/accounts/login/", "alice", &format!("guess{i}"))
                .await
                .status()
                .as_u16()
        })
    });
    let statuses = futures_util::future::join_all(tries).await;
    let refused = statuses
        .iter()
        .filter(|s| *s.as_ref().unwrap() == 429)
        .count();
    let reached = s.app.logins.load(Ordering::SeqCst);
    assert!(reached <= 5, "{reached} wrong passwords reached the app");
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s.as_ref().unwrap(), 200 | 429)),
        "{statuses:?}"
    );
    assert!(refused >= 64 - 5, "{refused} refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_are_set_for_the_app() {
    let s = start_proxy(Policy::default(), |_| {}).await;
    let text = client()
        .get(format!("http://{}/headers", s.proxy))
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-proto", "https")
        .header("host", "app.example")
        .header("connection", "keep-alive, x-secret")
        .header("x-secret", "1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The client is not a trusted proxy: its own values are replaced.
    assert!(text.contains("xff=127.0.0.1 "), "{text}");
    assert!(text.contains("proto=http "), "{text}");
    assert!(
        text.contains("host=app.example fwd_host=app.example"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_uploads_and_downloads_stream_through() {
    let s = start_proxy(Policy::default(), |_| {}).await;
    let chunk = Bytes::from(vec![1u8; MB]);
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(
        (0..50).map(move |_| Ok::<_, Infallible>(chunk.clone())),
    ));
    let uploaded = client()
        .post(format!("http://{}/upload", s.proxy))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    assert_eq!(uploaded.text().await.unwrap(), (50 * MB).to_string());

    let mut res = client()
        .get(format!("http://{}/download", s.proxy))
        .send()
        .await
        .unwrap();
    let mut n = 0;
    while let Some(chunk) = res.chunk().await.unwrap() {
        assert!(chunk.iter().all(|b| *b == 7));
        n += chunk.len();
    }
    assert_eq!(n, 50 * MB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_arrive_as_they_are_sent() {
    let s = start_proxy(Policy::default(), |_| {}).await;
    let res = client()
        .get(format!("http://{}/sse", s.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut stream = res.bytes_stream();
    let mut seen = String::new();
    for n in 0..3 {
        // Allow exactly one more event, then wait for it to come through.
        s.app.next_event.add_permits(1);
        while !seen.contains(&format!("data: event {n}\n")) {
            let chunk = tokio::time::timeout(Duration::from_secs(20), stream.next())
                .await
                .expect("the event was held back")
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_are_spliced_through() {
    let s = start_proxy(Policy::default(), |_| {}).await;
    let (mut socket, response) = tokio_tungstenite::connect_async(format!("ws://{}/ws", s.proxy))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    for text in ["hello", "again"] {
        socket
            .send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
            .await
            .unwrap();
        let answer = socket.next().await.unwrap().unwrap();
        assert_eq!(
            answer.into_text().unwrap().as_str(),
            format!("echo: {text}")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_502_and_counts_nothing() {
    // A port nobody listens on: bind one, then free it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let mut options = ProxyOptions::new(format!("http://{dead}").parse().unwrap());
    options.login_paths = vec![LoginPath::new("/accounts/login/")];
    options.preset = Some(Preset::Django);
    let proxy = Proxy::new(options, policy(1, Criterion::one(Field::Ip)), store.clone()).unwrap();
    let addr = serve(proxy.router()).await;
    for _ in 0..3 {
        let res = client()
            .post(format!("http://{addr}/accounts/login/"))
            .header("accept", "application/json")
            .form(&[("username", "alice"), ("password", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 502);
        assert!(res.text().await.unwrap().contains("upstream_unavailable"));
    }
    let keys = store
        .list(&ListQuery::all(), std::time::SystemTime::now())
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_is_a_504() {
    let s = start_proxy(Policy::default(), |o| {
        o.response_timeout = Duration::from_millis(300);
    })
    .await;
    let res = client()
        .get(format!("http://{}/slow", s.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 504);
    // And the proxy still answers afterwards.
    let res = client()
        .get(format!("http://{}/headers", s.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_finishes_the_requests_in_flight() {
    let (upstream, app) = start_app().await;
    let mut options = ProxyOptions::new(format!("http://{upstream}").parse().unwrap());
    options.login_paths = vec![LoginPath::new("/accounts/login/")];
    let proxy = Proxy::new(options, Policy::default(), Arc::new(MemoryStore::new())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(proxy.serve(listener, async {
        let _ = stopped.await;
    }));
    let in_flight = tokio::spawn(client().get(format!("http://{addr}/held")).send());
    app.held_arrived.acquire().await.unwrap().forget();
    stop.send(()).unwrap();
    // The proxy stops accepting, but waits for the request it is serving.
    tokio::task::yield_now().await;
    assert!(!served.is_finished());
    app.held_release.add_permits(1);
    let res = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the request in flight is answered")
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "done");
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("serve returns once the connection is done")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_finishes_the_requests_in_flight_on_every_worker() {
    let (upstream, app) = start_app().await;
    let mut options = ProxyOptions::new(format!("http://{upstream}").parse().unwrap());
    options.login_paths = vec![LoginPath::new("/accounts/login/")];
    let proxy = Proxy::new(options, Policy::default(), Arc::new(MemoryStore::new())).unwrap();
    let listeners = Listeners::bind(
        "127.0.0.1:0".parse().unwrap(),
        NonZeroUsize::new(4).unwrap(),
    )
    .unwrap();
    let addr = listeners.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(proxy.serve_workers(listeners, async {
        let _ = stopped.await;
    }));
    // Eight connections of their own: the kernel spreads them over the
    // four workers' listeners.
    const HELD: usize = 8;
    let in_flight: Vec<_> = (0..HELD)
        .map(|_| tokio::spawn(client().get(format!("http://{addr}/held")).send()))
        .collect();
    for _ in 0..HELD {
        app.held_arrived.acquire().await.unwrap().forget();
    }
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!served.is_finished());
    app.held_release.add_permits(HELD);
    for request in in_flight {
        let res = tokio::time::timeout(Duration::from_secs(10), request)
            .await
            .expect("every request in flight is answered")
            .unwrap()
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "done");
    }
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("serve_workers returns once every worker is done")
        .unwrap()
        .unwrap();
    // And nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_posting_3_mb_to_a_login_path_read_the_413_page() {
    // Every 413 counts as a failure on the IP: keep the IP unlocked.
    let policy = Policy::builder()
        .body_limit(1024)
        .failure_limit(1000)
        .build()
        .unwrap();
    let s = start_proxy(policy, |_| {}).await;
    let missing = loginguard_testing::upload::clients_missing(
        s.proxy,
        "/accounts/login/",
        3 * MB,
        (100, 10),
        |answer| {
            answer.starts_with("HTTP/1.1 413 Payload Too Large")
                && answer.contains("The request body is larger than 1024 bytes.")
        },
    )
    .await;
    assert!(
        missing.is_empty(),
        "{} of 100 clients did not read the 413: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(s.app.logins.load(Ordering::SeqCst), 0);
}

/// A raw HTTP/1.1 upstream answering `ok` to each request read, counting
/// the connections it accepts; `one_per_connection`: it closes each
/// connection after one answer without saying so (as an app whose
/// keep-alive timer fired).
async fn raw_upstream(one_per_connection: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = tcp.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&chunk[..n]);
                    // GETs without a body: one request per blank line.
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if tcp.write_all(answer).await.is_err() || one_per_connection {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, accepted)
}

async fn proxy_to(upstream: SocketAddr) -> SocketAddr {
    let mut options = ProxyOptions::new(format!("http://{upstream}").parse().unwrap());
    options.login_paths = vec![LoginPath::new("/accounts/login/")];
    let proxy = Proxy::new(options, Policy::default(), Arc::new(MemoryStore::new())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(proxy.serve(listener, std::future::pending()));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_kept_alive_and_reused() {
    let (upstream, accepted) = raw_upstream(false).await;
    let proxy = proxy_to(upstream).await;
    let client = client();
    for _ in 0..20 {
        let res = client
            .get(format!("http://{proxy}/page"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "ok");
    }
    let accepted = accepted.load(Ordering::SeqCst);
    assert!(
        accepted <= 2,
        "{accepted} upstream connections for 20 requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_closing_kept_connections_still_gets_every_request() {
    let (upstream, accepted) = raw_upstream(true).await;
    let proxy = proxy_to(upstream).await;
    let client = client();
    for n in 0..20 {
        let res = client
            .get(format!("http://{proxy}/page"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "request {n}");
        assert_eq!(res.text().await.unwrap(), "ok");
        // The closed connection waits in the pool for the next request.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 20);
}

//! The demo contract over real HTTP, with a cheap argon2 cost.

use std::sync::Arc;

use loginguard_core::{Config, KeyFilter, MemoryStore, Policy, Store};
use loginguard_demo::{Argon2Cost, DemoOptions, DemoServer};
use reqwest::StatusCode;

fn options() -> DemoOptions {
    let mut options = DemoOptions::default();
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.argon2 = Argon2Cost {
        memory_kib: 64,
        iterations: 1,
    };
    options
}

struct Running {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn run(server: DemoServer) -> Running {
    let base = format!("http://{}", server.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    Running {
        base,
        stop: Some(tx),
    }
}

async fn start(policy: Policy) -> (Running, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let server = DemoServer::bind_with_store(options(), policy, store.clone())
        .await
        .unwrap();
    (run(server).await, store)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login(c: &reqwest::Client, base: &str, user: &str, password: &str) -> reqwest::Response {
    c.post(format!("{base}/login"))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// The text of `GET base+path`.
async fn page(c: &reqwest::Client, base: &str, path: &str) -> String {
    c.get(format!("{base}{path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_health_login_session_and_logout() {
    let (demo, _) = start(Policy::default()).await;
    let c = client();
    let health = c
        .get(format!("{}/healthz", demo.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let form = page(&c, &demo.base, "/login").await;
    assert!(form.contains("name=\"username\"") && form.contains("name=\"password\""));
    let home = page(&c, &demo.base, "/").await;
    assert!(home.contains("Not logged in"));

    let res = login(&c, &demo.base, "alice", "wonderland").await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let home = page(&c, &demo.base, "/").await;
    assert!(
        home.contains("Logged in as <strong>alice</strong>"),
        "{home}"
    );

    let out = c
        .post(format!("{}/logout", demo.base))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let home = page(&c, &demo.base, "/").await;
    assert!(home.contains("Not logged in"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_wrong_passwords_lock_and_a_reset_unlocks() {
    let (demo, store) = start(Policy::default()).await;
    let c = client();
    assert_eq!(
        login(&c, &demo.base, "alice", "x").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&c, &demo.base, "alice", "y").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&c, &demo.base, "alice", "z").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let locked = login(&c, &demo.base, "alice", "wonderland").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    // No cool-off configured: no Retry-After.
    assert!(locked.headers().get("retry-after").is_none());
    store.reset(&KeyFilter::all()).await.unwrap();
    assert_eq!(
        login(&c, &demo.base, "alice", "wonderland").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logins_and_retry_after_with_a_cool_off() {
    let policy = Policy::builder()
        .cool_off(std::time::Duration::from_secs(600))
        .build()
        .unwrap();
    let (demo, _) = start(policy).await;
    let c = client();
    let send = |user: &'static str, password: &'static str| {
        c.post(format!("{}/login", demo.base))
            .json(&serde_json::json!({ "username": user, "password": password }))
            .send()
    };
    let ok = send("bob", "builder").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.json::<serde_json::Value>().await.unwrap()["username"],
        "bob"
    );
    assert_eq!(
        send("bob", "nope").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send("nobody", "nope").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let locked = send("bob", "nope").await.unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((599..=600).contains(&retry), "{retry}");
    let body: serde_json::Value = locked.json().await.unwrap();
    assert_eq!(body["error"], "locked_out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_can_be_replaced() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut options = options();
    options.users = vec![DemoOptions::parse_user("carol:s3cret").unwrap()];
    let demo = run(
        DemoServer::bind_with_store(options, Policy::default(), store)
            .await
            .unwrap(),
    )
    .await;
    let c = client();
    assert_eq!(
        login(&c, &demo.base, "carol", "s3cret").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&c, &demo.base, "alice", "wonderland").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_state_lives_in_the_sqlite_store_across_restarts_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let config = Config::from_toml_str(&format!("store = {url:?}\nauto_migrate = true\n")).unwrap();
    let c = client();
    {
        let demo = run(DemoServer::bind(options(), config.clone()).await.unwrap()).await;
        for _ in 0..3 {
            login(&c, &demo.base, "alice", "guess").await;
        }
        assert_eq!(
            login(&c, &demo.base, "alice", "wonderland").await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // A new server on the same file: still locked.
    let demo = run(DemoServer::bind(options(), config.clone()).await.unwrap()).await;
    assert_eq!(
        login(&c, &demo.base, "alice", "wonderland").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A reset through another handle on the file (as `loginguard reset`
    // does) is seen by the running server's next request.
    let other = loginguard::open_store(&config).await.unwrap();
    assert!(other.reset(&KeyFilter::all()).await.unwrap() > 0);
    assert_eq!(
        login(&c, &demo.base, "alice", "wonderland").await.status(),
        StatusCode::OK
    );
}

/// What a browser gets: the page it would render, asked for as HTML.
async fn browser_login(
    c: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    c.post(format!("{base}/login"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_page_looks_like_the_login_page_says_whom_to_ask_and_links_back() {
    let (demo, _) = start(Policy::default()).await;
    let c = client();
    for p in ["x", "y"] {
        browser_login(&c, &demo.base, "alice", p).await;
    }
    let locked = browser_login(&c, &demo.base, "alice", "z").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(locked.headers()["cache-control"], "no-store");
    let html = locked.text().await.unwrap();
    let form = page(&c, &demo.base, "/login").await;
    let style =
        |page: &str| page[page.find("<style>").unwrap()..page.find("</style>").unwrap()].to_owned();
    assert_eq!(style(&html), style(&form), "the login page's look");
    assert!(
        html.contains("<title>Too many login attempts · loginguard demo</title>"),
        "{html}"
    );
    assert!(
        html.contains("Contact an administrator to unlock your account."),
        "{html}"
    );
    assert!(
        html.contains(
            "This lock does not end by itself: only the site's administrator can lift it."
        ),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"/login\">Back to the login form</a>"),
        "{html}"
    );
    // An unknown user from the same IP gets the very same page.
    let unknown = browser_login(&c, &demo.base, "nobody", "x").await;
    assert_eq!(unknown.text().await.unwrap(), html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_cool_off_the_lockout_page_says_when_to_come_back() {
    let policy = Policy::builder()
        .cool_off(std::time::Duration::from_secs(900))
        .build()
        .unwrap();
    let (demo, _) = start(policy).await;
    let c = client();
    for p in ["x", "y"] {
        browser_login(&c, &demo.base, "alice", p).await;
    }
    let locked = browser_login(&c, &demo.base, "alice", "z").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.headers()["retry-after"], "900");
    let html = locked.text().await.unwrap();
    assert!(
        html.contains("You can log in again in 15 minutes (at 20"),
        "{html}"
    );
    assert!(html.contains(" UTC)."), "{html}");
    assert!(
        html.contains("<a href=\"/login\">Back to the login form</a>"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_pages_share_the_look_and_link_back_to_the_form() {
    let (demo, _) = start(Policy::default()).await;
    let c = client();
    let missing = c.get(format!("{}/nope", demo.base)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let html = missing.text().await.unwrap();
    assert!(
        html.contains("<title>Page not found · loginguard demo</title>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"/login\">Back to the login form</a>"),
        "{html}"
    );

    let plain = c
        .post(format!("{}/login", demo.base))
        .header("content-type", "text/plain")
        .body("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let html = plain.text().await.unwrap();
    assert!(html.contains("font-family:system-ui"), "{html}");
    assert!(
        html.contains("<a href=\"/login\">Back to the login form</a>"),
        "{html}"
    );

    let half = c
        .post(format!("{}/login", demo.base))
        .form(&[("username", "alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(half.status(), StatusCode::BAD_REQUEST);
    let html = half.text().await.unwrap();
    assert!(
        html.contains("Expected a username and a password"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"/login\">Back to the login form</a>"),
        "{html}"
    );

    let home = page(&c, &demo.base, "/").await;
    assert!(home.contains("<title>loginguard demo</title>"), "{home}");
}

//! End to end in real headless Chromium (driven through chromedriver by
//! fantoccini): the demo and the admin server share one SQLite file; the
//! test locks `alice` out of the demo, signs in to the admin UI, sees her
//! locked, saves a screenshot of the dashboard, sees the demo's lockout
//! page, clicks Unlock, logs in to the demo as alice and reads the access
//! log at 1200 px.
//!
//! Needs `chromium` and `chromedriver` on `PATH` (or `CHROME_BIN` /
//! `CHROMEDRIVER`); without them it prints `skipped: ...` and passes (fails
//! under `LOGINGUARD_TEST_REQUIRE=1`). The screenshots (`admin-dashboard.png`,
//! `demo-lockout.png`, `admin-access-log.png`) go to `$CARGO_TARGET_DIR` (or
//! `target/` in the workspace); with `LOGINGUARD_UPDATE_SCREENSHOT=1` they
//! are also copied to `docs/` for the README.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use loginguard_core::Config;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

const ADMIN_PASSWORD: &str = "admin-test-password";
const TIMEOUT: Duration = Duration::from_secs(180);

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/<name> sits two levels below the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills chromedriver (and so its browser) however the test ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

async fn start_driver(driver: &Path, port: u16) -> Driver {
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let status = format!("http://127.0.0.1:{port}/status");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(&status).send().await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on port {port} within 10 s");
}

fn config(db: &Path, hash: &str) -> Config {
    Config::from_toml_str(&format!(
        r#"
        store = "sqlite://{}"
        auto_migrate = true
        failure_limit = 3
        lockout_parameters = ["username"]
        admin_password_hash = "{hash}"
        admin_token = "browser-test-token-0123456789"
        "#,
        db.display()
    ))
    .expect("test configuration")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_unlocks_a_user_locked_out_of_the_demo() {
    let Some(chromium) = find_program(
        "CHROME_BIN",
        &["chromium", "chromium-browser", "google-chrome"],
    ) else {
        loginguard_testing::skip!(
            "chromium not found (set CHROME_BIN or apt-get install chromium chromium-driver)"
        );
        return;
    };
    let Some(chromedriver) = find_program("CHROMEDRIVER", &["chromedriver"]) else {
        loginguard_testing::skip!(
            "chromedriver not found (set CHROMEDRIVER or apt-get install chromium-driver)"
        );
        return;
    };
    tokio::time::timeout(TIMEOUT, run(chromium, chromedriver))
        .await
        .expect("the browser test finished in time");
}

async fn run(chromium: PathBuf, chromedriver: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let hash = loginguard_admin::hash_password(ADMIN_PASSWORD).unwrap();
    let config = config(&dir.path().join("loginguard.db"), &hash);

    // The demo, on its own store handle (as another process would be).
    let mut options = loginguard_demo::DemoOptions::default();
    options.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    options.argon2 = loginguard_demo::Argon2Cost {
        memory_kib: 64,
        iterations: 1,
    };
    let demo = loginguard_demo::DemoServer::bind(options, config.clone())
        .await
        .unwrap();
    let demo_url = format!("http://{}", demo.local_addr());
    let (stop_demo, demo_stopped) = oneshot::channel::<()>();
    let demo_task = tokio::spawn(demo.run_until(async {
        let _ = demo_stopped.await;
    }));

    // The admin server, on a second handle to the same SQLite file.
    let store = loginguard::open_store(&config).await.unwrap();
    let state = loginguard_admin::AdminState::from_config(&config, store).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_admin, admin_stopped) = oneshot::channel::<()>();
    let admin_task = tokio::spawn(loginguard_admin::server::serve(listener, state, async {
        let _ = admin_stopped.await;
    }));

    // Lock alice out of the demo over HTTP.
    let http = reqwest::Client::new();
    let login = |password: &'static str| {
        http.post(format!("{demo_url}/login"))
            .form(&[("username", "alice"), ("password", password)])
            .send()
    };
    // bob logs in once, so the access log has a user's login in it.
    let bob = http
        .post(format!("{demo_url}/login"))
        .form(&[("username", "bob"), ("password", "builder")])
        .send()
        .await
        .unwrap();
    assert_eq!(bob.status().as_u16(), 200);
    for expected in [401, 401, 429] {
        assert_eq!(login("wrong").await.unwrap().status().as_u16(), expected);
    }
    assert_eq!(
        login("wonderland").await.unwrap().status().as_u16(),
        429,
        "locked: even the right password is refused"
    );
    let metrics = http
        .get(format!("{demo_url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\nloginguard_failures_total 3\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nloginguard_lockouts_total 1\n"),
        "{metrics}"
    );

    // The browser.
    let port = free_port();
    let driver = start_driver(&chromedriver, port).await;
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium.to_string_lossy(),
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,960",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    let outcome = drive(&client, &admin_url, &demo_url).await;
    let _ = client.close().await;
    drop(driver);
    let _ = stop_demo.send(());
    let _ = stop_admin.send(());
    let _ = demo_task.await;
    let _ = admin_task.await;
    outcome.unwrap();
}

async fn text_of(client: &Client, css: &str) -> Result<String, String> {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("no {css}: {e}"))?
        .text()
        .await
        .map_err(|e| e.to_string())
}

/// Waits (up to 10 s) until the text of `css` contains `needle`: a click
/// returns before the next page has replaced the current one.
async fn wait_for_text(client: &Client, css: &str, needle: &str) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if let Ok(text) = element.text().await {
                if text.contains(needle) {
                    return Ok(());
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "{css} never showed {needle:?}; last seen: {last:?}"
    ))
}

/// The browser's part; errors are returned so the session is always closed.
async fn drive(client: &Client, admin_url: &str, demo_url: &str) -> Result<(), String> {
    let err = |e: fantoccini::error::CmdError| e.to_string();

    // Without a session the UI sends the browser to the sign-in page.
    client.goto(admin_url).await.map_err(err)?;
    let url = client.current_url().await.map_err(err)?;
    if url.path() != "/signin" {
        return Err(format!("expected the sign-in page, got {url}"));
    }
    let form = client.form(Locator::Css("form")).await.map_err(err)?;
    form.set_by_name("password", ADMIN_PASSWORD)
        .await
        .map_err(err)?;
    form.submit().await.map_err(err)?;

    // The dashboard: one locked key, three failures plus one refusal.
    let locked = text_of(client, "#locked-count").await?;
    if locked != "1" {
        return Err(format!("dashboard shows {locked} locked keys, expected 1"));
    }
    let failures = text_of(client, "#failures-hour").await?;
    if failures != "4" {
        return Err(format!("dashboard shows {failures} failures, expected 4"));
    }
    let user = text_of(client, "table.locked td.username").await?;
    if user != "alice" {
        return Err(format!(
            "dashboard lists {user:?} as locked, expected alice"
        ));
    }
    let png = client.screenshot().await.map_err(err)?;
    save_screenshot(&png, "admin-dashboard.png", true)?;

    // On a phone-sized screen no page scrolls sideways (tables scroll
    // inside their own box).
    client.set_window_size(390, 844).await.map_err(err)?;
    for path in ["", "/locked", "/failures", "/policy"] {
        client
            .goto(&format!("{admin_url}{path}"))
            .await
            .map_err(err)?;
        let fits = client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .map_err(err)?;
        if fits != serde_json::Value::Bool(true) {
            return Err(format!("{path:?} is wider than a 390 px screen"));
        }
        if path.is_empty() {
            let png = client.screenshot().await.map_err(err)?;
            save_screenshot(&png, "admin-dashboard-phone.png", false)?;
        }
    }
    client.set_window_size(1200, 900).await.map_err(err)?;

    // What alice's browser shows while she is locked: the demo's lockout
    // page, in the login form's look, with the way back to the form.
    submit_demo_login(client, demo_url, "alice", "wonderland").await?;
    wait_for_text(client, "h1", "Too many login attempts").await?;
    let main = text_of(client, "main").await?;
    if !main.contains("only the site's administrator can lift it") {
        return Err(format!(
            "the lockout page says nothing of whom to ask: {main:?}"
        ));
    }
    let back = client
        .find(Locator::LinkText("Back to the login form"))
        .await
        .map_err(err)?;
    if back.attr("href").await.map_err(err)?.as_deref() != Some("/login") {
        return Err("the lockout page's link does not lead to /login".to_owned());
    }
    let png = client.screenshot().await.map_err(err)?;
    save_screenshot(&png, "demo-lockout.png", true)?;

    // The locked keys page: alice, with an Unlock button.
    client
        .goto(&format!("{admin_url}/locked"))
        .await
        .map_err(err)?;
    let button = client
        .find(Locator::Css(
            "tr[data-key='login/username=alice'] button[type=submit]",
        ))
        .await
        .map_err(err)?;
    button.click().await.map_err(err)?;
    let notice = text_of(client, "p.notice").await?;
    if !notice.contains("Unlocked") {
        return Err(format!("no unlock notice: {notice:?}"));
    }
    wait_for_text(client, "main", "No key is locked.").await?;

    // alice can log in to the demo again.
    submit_demo_login(client, demo_url, "alice", "wonderland").await?;
    wait_for_text(client, "main", "Logged in as alice").await?;

    // The dashboard counts bob's and alice's logins apart from the admin's
    // sign-in.
    client.goto(admin_url).await.map_err(err)?;
    let logins = text_of(client, "#logins-hour").await?;
    let admin = text_of(client, "#admin-signins-hour").await?;
    if (logins.as_str(), admin.as_str()) != ("2", "1") {
        return Err(format!(
            "dashboard shows {logins} logins and {admin} admin sign-ins, expected 2 and 1"
        ));
    }

    // The access log at 1200 px: every address and request on one line.
    client
        .goto(&format!("{admin_url}/access"))
        .await
        .map_err(err)?;
    wait_for_text(client, "table.log", "alice").await?;
    let broken = client
        .execute(
            "return [...document.querySelectorAll('table.log td.ip, table.log td.request')]\
               .filter(td => { const r = document.createRange(); r.selectNodeContents(td);\
                               return r.getClientRects().length > 1; })\
               .map(td => td.textContent);",
            vec![],
        )
        .await
        .map_err(err)?;
    if broken != serde_json::json!([]) {
        return Err(format!("cells broken over lines at 1200 px: {broken}"));
    }
    let png = client.screenshot().await.map_err(err)?;
    save_screenshot(&png, "admin-access-log.png", true)?;
    Ok(())
}

/// Fills in and sends the demo's login form, as a person would.
async fn submit_demo_login(
    client: &Client,
    demo_url: &str,
    username: &str,
    password: &str,
) -> Result<(), String> {
    let err = |e: fantoccini::error::CmdError| e.to_string();
    client
        .goto(&format!("{demo_url}/login"))
        .await
        .map_err(err)?;
    let form = client.form(Locator::Css("form")).await.map_err(err)?;
    form.set_by_name("username", username).await.map_err(err)?;
    form.set_by_name("password", password).await.map_err(err)?;
    client
        .find(Locator::Css("form button"))
        .await
        .map_err(err)?
        .click()
        .await
        .map_err(err)?;
    Ok(())
}

fn save_screenshot(png: &[u8], name: &str, for_docs: bool) -> Result<(), String> {
    if !png.starts_with(b"\x89PNG") {
        return Err("the screenshot is not a PNG".to_owned());
    }
    let dir = target_dir();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("screenshot: {}", path.display());
    if for_docs && std::env::var_os("LOGINGUARD_UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = workspace_root().join("docs");
        std::fs::create_dir_all(&docs).map_err(|e| e.to_string())?;
        std::fs::copy(&path, docs.join(name)).map_err(|e| e.to_string())?;
        println!("copied to {}", docs.join(name).display());
    }
    Ok(())
}

//! `loginguard proxy --preset django` in front of a real Django app: the
//! stock `django.contrib.auth.views.LoginView` with CSRF on (the site is in
//! `tests/django/`). Django comes from PyPI, pinned in
//! `tests/django/requirements.txt`, in a virtualenv this test creates and
//! keeps under the target directory; without Python or PyPI the test says
//! it is skipped.

mod support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{loginguard, Running};

/// The Django site's directory.
fn site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django")
}

/// The virtualenv's python with the pinned Django, made on first use;
/// `None` (with the reason) when Python or PyPI is missing.
fn django_python() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("django-venv-5.2.19");
    let python = venv.join("bin/python");
    let ready = venv.join("installed");
    if ready.exists() {
        return Ok(python);
    }
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
        }
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(&python)
        .args(["-m", "pip", "install", "-q", "-r"])
        .arg(site().join("requirements.txt")))?;
    std::fs::write(&ready, "").map_err(|e| e.to_string())?;
    Ok(python)
}

/// `manage.py runserver` on a free port, killed when dropped.
struct Django {
    child: Child,
    addr: SocketAddr,
    count: PathBuf,
}

impl Drop for Django {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Django {
    /// Login POSTs that reached Django.
    fn login_posts(&self) -> usize {
        std::fs::read_to_string(&self.count)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

fn manage(python: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(site().join("manage.py"))
        .current_dir(site())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("LG_DJANGO_DB", dir.join("django.sqlite3"))
        .env("LG_DJANGO_COUNT", dir.join("login-posts"));
    cmd
}

fn start_django(python: &Path, dir: &Path) -> Django {
    let migrate = manage(python, dir)
        .args(["migrate", "-v0"])
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    let user = manage(python, dir)
        .args([
            "shell",
            "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('alice', password='wonderland')",
        ])
        .output()
        .unwrap();
    assert!(user.status.success(), "{user:?}");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = manage(python, dir)
        .args(["runserver", "--noreload", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "Django did not start on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Django {
        child,
        addr,
        count: dir.join("login-posts"),
    }
}

/// A browser: keeps cookies, shows redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens the login form through the proxy; returns its CSRF token (the
/// cookie is in `client`'s jar).
async fn csrf_token(client: &reqwest::Client, proxy: SocketAddr) -> String {
    let page = client
        .get(format!("http://{proxy}/accounts/login/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let set_cookie: Vec<_> = page.headers().get_all("set-cookie").iter().collect();
    assert!(
        set_cookie
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("csrftoken=")),
        "the CSRF cookie passes through: {set_cookie:?}"
    );
    let html = page.text().await.unwrap();
    let start = html.find("name=\"csrfmiddlewaretoken\" value=\"").unwrap() + 34;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

async fn sign_in(
    client: &reqwest::Client,
    proxy: SocketAddr,
    token: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("http://{proxy}/accounts/login/"))
        .form(&[
            ("csrfmiddlewaretoken", token),
            ("username", "alice"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[test]
fn a_stock_django_login_behind_the_proxy() {
    let python = match django_python() {
        Ok(p) => p,
        Err(why) => {
            loginguard_testing::skip!("no Python virtualenv with Django ({why})");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let django = start_django(&python, dir.path());
    std::fs::write(
        dir.path().join("loginguard.toml"),
        "store = \"sqlite://lg.db\"\nauto_migrate = true\nfailure_limit = 3\ncool_off = \"10m\"\n\
         lockout_parameters = [\"username\"]\n",
    )
    .unwrap();
    let mut cmd = loginguard(dir.path());
    cmd.args(["proxy", "--addr", "127.0.0.1:0", "--preset", "django"])
        .args(["--login-path", "/accounts/login/"])
        .arg("--upstream")
        .arg(format!("http://{}", django.addr));
    let proxy = Running::spawn(cmd);
    let addr = proxy.addr;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let alice = browser();
        let token = csrf_token(&alice, addr).await;

        // A CSRF failure (Django's 403) is neutral: it counts nothing.
        for _ in 0..4 {
            let forged = sign_in(&alice, addr, "not-the-token", "guess").await;
            assert_eq!(forged.status(), 403);
        }
        // Three wrong passwords lock; the third is answered by the lockout.
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(
                sign_in(&alice, addr, &token, "guess")
                    .await
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(statuses, [200, 200, 429]);
        let posts = django.login_posts();
        // The right password is refused before Django sees it.
        let refused = sign_in(&alice, addr, &token, "wonderland").await;
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.headers()["retry-after"], "600");
        assert_eq!(
            django.login_posts(),
            posts,
            "the locked-out try never reached Django"
        );
        // Other pages are unaffected.
        let public = alice
            .get(format!("http://{addr}/public/"))
            .send()
            .await
            .unwrap();
        assert_eq!(public.text().await.unwrap(), "public page");
    });

    let reset = loginguard(dir.path())
        .args(["reset", "--username", "alice"])
        .output()
        .unwrap();
    assert!(reset.status.success(), "{reset:?}");

    rt.block_on(async {
        let alice = browser();
        let token = csrf_token(&alice, addr).await;
        let ok = sign_in(&alice, addr, &token, "wonderland").await;
        assert_eq!(ok.status(), 302);
        let cookies: Vec<String> = ok
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().to_owned())
            .collect();
        assert!(
            cookies.iter().any(|c| c.starts_with("sessionid=")),
            "{cookies:?}"
        );
        let profile = alice
            .get(format!("http://{addr}/accounts/profile/"))
            .send()
            .await
            .unwrap();
        assert_eq!(profile.text().await.unwrap(), "hello alice");
    });

    // 64 parallel wrong passwords: at most the limit reach Django.
    let before = django.login_posts();
    rt.block_on(async {
        let client = Arc::new(browser());
        let token = Arc::new(csrf_token(&client, addr).await);
        let tries = (0..64).map(|i| {
            let (client, token) = (client.clone(), token.clone());
            tokio::spawn(async move {
                sign_in(&client, addr, &token, &format!("guess{i}"))
                    .await
                    .status()
                    .as_u16()
            })
        });
        for status in futures_join(tries).await {
            assert!(matches!(status, 200 | 429), "{status}");
        }
    });
    let reached = django.login_posts() - before;
    assert!(
        reached <= 3,
        "{reached} of 64 parallel wrong passwords reached Django"
    );
}

async fn futures_join(handles: impl Iterator<Item = tokio::task::JoinHandle<u16>>) -> Vec<u16> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

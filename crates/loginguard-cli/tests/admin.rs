//! `loginguard admin`: hashing a password, and serving the admin UI and
//! `/metrics` with that hash, through the real binary.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use support::Running;

fn loginguard(dir: &Path) -> Command {
    Command::from_std(support::loginguard(dir))
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loginguard.toml"),
        "store = \"sqlite://lg.db\"\nauto_migrate = true\n",
    )
    .unwrap();
    dir
}

fn hash_of(dir: &Path, password: &str) -> String {
    let out = loginguard(dir)
        .args(["admin", "--hash-password"])
        .write_stdin(format!("{password}\n"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap().trim().to_owned()
}

fn start(dir: &Path, hash: Option<&str>) -> Running {
    let mut cmd = support::loginguard(dir);
    cmd.args(["admin", "--addr", "127.0.0.1:0"])
        .stderr(Stdio::null());
    if let Some(hash) = hash {
        cmd.env("LOGINGUARD_ADMIN_PASSWORD_HASH", hash);
    }
    Running::spawn(cmd)
}

/// One HTTP/1.1 request; returns the status code and the whole response.
fn request(addr: SocketAddr, method: &str, path: &str, form: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = form.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[test]
fn hash_password_prints_an_argon2id_phc_string() {
    let dir = site();
    let hash = hash_of(dir.path(), "s3cret admin");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains("s3cret"));
    assert_ne!(hash, hash_of(dir.path(), "s3cret admin"), "salted");
}

#[test]
fn hash_password_refuses_an_empty_password() {
    let dir = site();
    loginguard(dir.path())
        .args(["admin", "--hash-password"])
        .write_stdin("\n")
        .assert()
        .failure()
        .stderr(contains("password is empty"));
}

#[test]
fn a_bad_hash_is_a_configuration_error() {
    let dir = site();
    loginguard(dir.path())
        .args(["admin", "--addr", "127.0.0.1:0"])
        .env("LOGINGUARD_ADMIN_PASSWORD_HASH", "$argon2id$broken")
        .assert()
        .code(3)
        .stderr(contains("admin_password_hash"))
        .stderr(contains("broken").not());
}

#[test]
fn admin_serves_the_ui_with_the_hashed_password_and_metrics() {
    let dir = site();
    let hash = hash_of(dir.path(), "s3cret admin");
    let server = start(dir.path(), Some(&hash));
    let (status, page) = request(server.addr, "GET", "/", None);
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("location: /signin") || page.contains("Location: /signin"));
    let (status, _) = request(server.addr, "POST", "/signin", Some("password=wrong"));
    assert_eq!(status, 401);
    let (status, response) = request(
        server.addr,
        "POST",
        "/signin",
        Some("password=s3cret+admin"),
    );
    assert_eq!(status, 303, "{response}");
    assert!(response
        .to_ascii_lowercase()
        .contains("set-cookie: loginguard_admin="));
    let (status, metrics) = request(server.addr, "GET", "/metrics", None);
    assert_eq!(status, 200);
    assert!(
        metrics.contains("loginguard_failures_total{guard=\"admin\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE loginguard_locked_keys gauge"));
}

#[test]
fn admin_without_a_hash_serves_a_closed_ui() {
    let dir = site();
    let server = start(dir.path(), None);
    let (status, page) = request(server.addr, "GET", "/signin", None);
    assert_eq!(status, 403);
    assert!(page.contains("loginguard admin --hash-password"));
}

//! Two app servers sharing one store: two `loginguard demo` processes on
//! one Redis (and on one PostgreSQL). Failures spread over both servers
//! lock the user on both; `loginguard reset` unlocks on both. Skipped when
//! `LOGINGUARD_TEST_REDIS_URL` / `LOGINGUARD_TEST_POSTGRES_URL` is unset.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A demo process, killed when dropped.
struct Demo {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn loginguard(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("loginguard"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("LOGINGUARD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn start(dir: &Path) -> Demo {
    let mut child = loginguard(dir)
        .args(["demo", "--addr", "127.0.0.1:0"])
        .args(["--argon2-memory-kib", "64", "--argon2-iterations", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("the demo did not start: {line:?}"))
        .parse()
        .unwrap();
    Demo { child, addr }
}

/// `POST /login`; returns the status and the response head.
fn login(addr: SocketAddr, user: &str, password: &str) -> (u16, String) {
    let body = format!("username={user}&password={password}");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /login HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response {response:?}"));
    let head = response.split("\r\n\r\n").next().unwrap_or("").to_owned();
    (status, head)
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{}",
        nanos / 1_000_000_000,
        nanos % 1_000_000_000
    )
}

fn two_servers_one_store(store: &str, prefix: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loginguard.toml"),
        format!(
            "store = {store:?}\nstore_prefix = {prefix:?}\nfailure_limit = 4\n\
             cool_off = \"10m\"\nlockout_parameters = [\"username\"]\n"
        ),
    )
    .unwrap();
    let a = start(dir.path());
    let b = start(dir.path());
    assert_ne!(a.addr, b.addr);

    // Four wrong passwords, alternating between the servers.
    assert_eq!(login(a.addr, "alice", "one").0, 401);
    assert_eq!(login(b.addr, "alice", "two").0, 401);
    assert_eq!(login(a.addr, "alice", "three").0, 401);
    assert_eq!(
        login(b.addr, "alice", "four").0,
        429,
        "the 4th failure locks"
    );

    // Locked on both, even with the right password; bob is not affected.
    for server in [&a, &b] {
        let (status, head) = login(server.addr, "alice", "wonderland");
        assert_eq!(status, 429, "{head}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: "),
            "{head}"
        );
    }
    assert_eq!(login(a.addr, "bob", "builder").0, 200);
    assert_eq!(login(b.addr, "bob", "builder").0, 200);

    // One reset, from a third process, unlocks on both servers.
    let reset = loginguard(dir.path())
        .args(["reset", "--username", "alice"])
        .output()
        .unwrap();
    assert!(reset.status.success(), "{reset:?}");
    assert_eq!(login(a.addr, "alice", "wonderland").0, 200);
    assert_eq!(login(b.addr, "alice", "wonderland").0, 200);
    drop((a, b));
    let _ = loginguard(dir.path()).arg("reset").output();
}

#[test]
fn failures_spread_over_two_servers_on_one_redis_lock_the_user_on_both() {
    let Ok(url) = std::env::var("LOGINGUARD_TEST_REDIS_URL") else {
        println!("skipped: LOGINGUARD_TEST_REDIS_URL is not set");
        return;
    };
    two_servers_one_store(&url, &unique("lgtest_demo"));
}

#[test]
fn failures_spread_over_two_servers_on_one_postgres_lock_the_user_on_both() {
    let Ok(url) = std::env::var("LOGINGUARD_TEST_POSTGRES_URL") else {
        println!("skipped: LOGINGUARD_TEST_POSTGRES_URL is not set");
        return;
    };
    two_servers_one_store(&url, &unique("lgtest"));
}

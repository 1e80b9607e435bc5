//! `loginguard demo` as a process: lock a user over HTTP, unlock them with
//! `loginguard reset` run while the demo keeps running, log in.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The demo process, killed when dropped.
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

fn loginguard(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("loginguard"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("LOGINGUARD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn start(dir: &std::path::Path) -> Demo {
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
    // "demo on http://127.0.0.1:PORT/ (users: ...)"
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .parse()
        .unwrap();
    Demo { child, addr }
}

/// `POST /login` with a form; returns the status code and the headers.
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

#[test]
fn demo_locks_and_reset_unlocks_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loginguard.toml"),
        "store = \"sqlite://lg.db\"\ncool_off = \"10m\"\n",
    )
    .unwrap();
    let demo = start(dir.path());
    assert_eq!(login(demo.addr, "alice", "one").0, 401);
    assert_eq!(login(demo.addr, "alice", "two").0, 401);
    let (status, head) = login(demo.addr, "alice", "three");
    assert_eq!(status, 429);
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 600"),
        "{head}"
    );
    assert_eq!(login(demo.addr, "alice", "wonderland").0, 429);

    let reset = loginguard(dir.path()).arg("reset").output().unwrap();
    assert!(reset.status.success(), "{reset:?}");
    assert_eq!(login(demo.addr, "alice", "wonderland").0, 200);
}

#[test]
fn a_user_without_a_password_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = loginguard(dir.path())
        .args(["demo", "--user", "carol"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name:password"));
}

//! Test support: the `loginguard` binary with a clean environment, servers
//! it runs (killed on drop) and a plain HTTP login request.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `loginguard` run in `dir`, without any `LOGINGUARD_*` variable of the
/// test's own environment.
pub fn loginguard(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("loginguard"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("LOGINGUARD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A server process (`demo` or `admin`), killed when dropped.
pub struct Running {
    child: Child,
    pub addr: SocketAddr,
}

impl Running {
    /// Spawns `cmd` and waits (at most 30 s) for the first line it prints,
    /// which names its address: `… http://127.0.0.1:PORT/ …`.
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server announces its address");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .parse()
            .unwrap();
        Running { child, addr }
    }
}

impl Running {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `loginguard demo` on a free port in `dir`, with cheap password hashing.
pub fn start_demo(dir: &Path) -> Running {
    let mut cmd = loginguard(dir);
    cmd.args(["demo", "--addr", "127.0.0.1:0"]).args([
        "--argon2-memory-kib",
        "64",
        "--argon2-iterations",
        "1",
    ]);
    Running::spawn(cmd)
}

/// `POST /login` with a form; returns the status code and the response head.
pub fn login(addr: SocketAddr, user: &str, password: &str) -> (u16, String) {
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

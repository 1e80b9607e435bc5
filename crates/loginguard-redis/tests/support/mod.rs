//! Test support: private `redis-server` processes and Clusters on free
//! loopback ports, stopped in `Drop`.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loginguard_redis::{RedisOptions, RedisStore};

/// Whether `redis-server` and `redis-cli` can be run; prints why not.
pub fn redis_installed() -> bool {
    for tool in ["redis-server", "redis-cli"] {
        let ok = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            loginguard_testing::skip!("{tool} not found on PATH (apt-get install redis-server)");
            return false;
        }
    }
    true
}

/// The shared server named by `LOGINGUARD_TEST_REDIS_URL`, if set.
pub fn shared_url() -> Option<String> {
    match std::env::var("LOGINGUARD_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            loginguard_testing::skip!("LOGINGUARD_TEST_REDIS_URL is not set");
            None
        }
    }
}

/// A fresh random key prefix, so runs never collide.
pub fn random_prefix() -> String {
    format!("lgtest_{:016x}", rand::random::<u64>())
}

/// Options for tests: a random prefix and a short retention, so that
/// leftovers of a test run disappear by themselves. The timeout is generous
/// because a loaded CI machine runs several Clusters at once; the tests of
/// the timeout itself (`failure.rs`) set their own.
pub fn test_options(prefix: &str) -> RedisOptions {
    RedisOptions::new()
        .prefix(prefix)
        .timeout(Duration::from_secs(20))
        .retention(Duration::from_secs(900))
}

/// A loopback port nobody listens on now (and, with `bus`, whose Cluster
/// bus port, +10000, is free too).
pub fn free_port(bus: bool) -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().unwrap().port();
        if !bus {
            return port;
        }
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// The process id of the Redis server answering on `port`, if any.
fn server_pid(port: u16) -> Option<u32> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.write_all(b"INFO server\r\n").ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    // A bulk string: "$<len>\r\n<text>\r\n"; read until process_id shows.
    while !String::from_utf8_lossy(&reply).contains("\ntcp_port:") {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&reply);
    text.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
}

/// One private `redis-server`, killed on drop.
pub struct Server {
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    child: Option<Child>,
}

impl Server {
    /// Starts a server without persistence on a free port, in `dir`.
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, false, Vec::new())
    }

    /// Starts a server on a free port (whose Cluster bus port is free too
    /// with `bus`) with extra arguments.
    pub fn start_with(dir: &Path, bus: bool, extra: Vec<String>) -> Server {
        for _ in 0..10 {
            let mut server = Server {
                port: free_port(bus),
                dir: dir.to_owned(),
                extra: extra.clone(),
                child: None,
            };
            if server.try_start() {
                return server;
            }
        }
        panic!("redis-server found no free port");
    }

    /// Starts (again) on the same port and waits until it answers. Panics
    /// if the port is taken (see [`Server::try_start`]).
    pub fn restart(&mut self) {
        assert!(
            self.try_start(),
            "redis-server could not start on port {}",
            self.port
        );
    }

    /// Starts on `self.port`; `false` when the server exited at once (the
    /// port was taken meanwhile).
    fn try_start(&mut self) -> bool {
        assert!(self.child.is_none(), "already running");
        let mut child = Command::new("redis-server")
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        // Ready when the server on the port is this very process (another
        // test may have taken the port between choosing and binding it).
        while server_pid(self.port) != Some(child.id()) {
            if child.try_wait().ok().flatten().is_some() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
        true
    }

    /// Kills the server (SIGKILL) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: it keeps its
    /// connections open but answers nothing.
    pub fn freeze(&self, frozen: bool) {
        let child = self.child.as_ref().expect("server running");
        let status = Command::new("kill")
            .arg(if frozen { "-STOP" } else { "-CONT" })
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A three-primary Redis Cluster on free ports in a temporary directory,
/// stopped on drop.
pub struct Cluster {
    pub nodes: Vec<Server>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts three `--cluster-enabled` servers, joins them with
    /// `redis-cli --cluster create`, and waits for `cluster_state:ok`.
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut nodes = Vec::new();
        for i in 0..3 {
            let node_dir = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&node_dir).unwrap();
            nodes.push(Server::start_with(
                &node_dir,
                true,
                vec![
                    "--cluster-enabled".into(),
                    "yes".into(),
                    "--cluster-config-file".into(),
                    node_dir.join("nodes.conf").display().to_string(),
                    "--cluster-node-timeout".into(),
                    "2000".into(),
                ],
            ));
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let all_ok = nodes.iter().all(|n| {
                Command::new("redis-cli")
                    .args(["-p", &n.port.to_string(), "cluster", "info"])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
            });
            if all_ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the Cluster did not reach cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Cluster { nodes, _dir: dir }
    }

    /// `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// How many keys of `prefix` each node holds.
    pub fn keys_per_node(&self, prefix: &str) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|n| {
                let out = Command::new("redis-cli")
                    .args(["-p", &n.port.to_string(), "--scan", "--pattern"])
                    .arg(format!("{prefix}:*"))
                    .output()
                    .expect("redis-cli --scan");
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| !l.is_empty())
                    .count()
            })
            .collect()
    }
}

/// Opens `handles` separate stores (separate clients) on `url` with `prefix`.
pub async fn open_stores(url: &str, prefix: &str, handles: usize) -> Vec<RedisStore> {
    let mut stores = Vec::with_capacity(handles);
    for _ in 0..handles {
        stores.push(
            RedisStore::connect(url, test_options(prefix))
                .await
                .expect("connect to Redis"),
        );
    }
    stores
}

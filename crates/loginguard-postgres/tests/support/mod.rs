//! Test support: the server of `LOGINGUARD_TEST_POSTGRES_URL` and a fresh
//! schema per test (schemas of earlier runs, older than an hour, are
//! dropped, so runs never collide and never pile up), and private servers
//! that a test may stop.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use loginguard_postgres::{PostgresOptions, PostgresStore};

/// The server named by `LOGINGUARD_TEST_POSTGRES_URL`, if set.
pub fn url() -> Option<String> {
    match std::env::var("LOGINGUARD_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            loginguard_testing::skip!("LOGINGUARD_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh schema name: `lgtest_<unix seconds>_<random>`.
pub fn random_schema() -> String {
    format!("lgtest_{}_{:08x}", now_secs(), rand::random::<u32>())
}

/// Drops test schemas left by runs more than an hour old.
pub async fn drop_stale_schemas(url: &str) {
    let Ok(pool) = sqlx::PgPool::connect(url).await else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'lgtest\\_%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_default();
    let cutoff = now_secs().saturating_sub(3600);
    for name in names {
        let stamp = name.split('_').nth(1).and_then(|s| s.parse::<u64>().ok());
        if stamp.is_some_and(|t| t < cutoff) {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                .execute(&pool)
                .await;
        }
    }
    pool.close().await;
}

/// Drops one schema.
pub async fn drop_schema(url: &str, schema: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// Options for tests: `schema`, migrations applied on connect.
pub fn test_options(schema: &str) -> PostgresOptions {
    PostgresOptions::new()
        .schema(schema)
        .timeout(Duration::from_secs(10))
        .auto_migrate(true)
}

/// `handles` separate stores (separate pools) on one fresh schema.
pub async fn open_stores(url: &str, schema: &str, handles: usize) -> Vec<PostgresStore> {
    let mut stores = Vec::with_capacity(handles);
    for _ in 0..handles {
        stores.push(
            PostgresStore::connect(url, test_options(schema))
                .await
                .expect("connect to PostgreSQL"),
        );
    }
    stores
}

/// A private PostgreSQL cluster in a temporary directory, on a free
/// loopback port, stopped on drop. The server refuses to run as root, so
/// as root every command runs as the `postgres` OS user.
pub struct PrivateServer {
    pub port: u16,
    bin: std::path::PathBuf,
    as_postgres: bool,
    dir: tempfile::TempDir,
    running: bool,
    /// Further server settings (`-c name=value …`).
    settings: String,
}

impl PrivateServer {
    /// The directory holding `initdb` and `pg_ctl`; prints why not when
    /// missing (or when running as root without a `postgres` user).
    pub fn installed() -> Option<std::path::PathBuf> {
        let mut bins: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|dirs| {
                dirs.filter_map(Result::ok)
                    .map(|d| d.path().join("bin"))
                    .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
                    .collect()
            })
            .unwrap_or_default();
        bins.sort();
        let Some(bin) = bins.pop() else {
            loginguard_testing::skip!(
                "no /usr/lib/postgresql/*/bin/initdb and pg_ctl (apt-get install postgresql)"
            );
            return None;
        };
        if is_root() && !run_ok(Command::new("id").arg("postgres")) {
            loginguard_testing::skip!(
                "running as root and there is no `postgres` user to run initdb as"
            );
            return None;
        }
        Some(bin)
    }

    /// Creates a cluster (trust authentication, no fsync) and starts it.
    pub fn start(bin: &Path) -> PrivateServer {
        PrivateServer::start_with(bin, &[])
    }

    /// [`PrivateServer::start`] with further server settings, each
    /// `name=value` (passed as `-c name=value`).
    pub fn start_with(bin: &Path, settings: &[&str]) -> PrivateServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            assert!(run_ok(
                Command::new("chown").arg("postgres:").arg(dir.path())
            ));
        }
        let mut server = PrivateServer {
            port: 0,
            bin: bin.to_owned(),
            as_postgres,
            dir,
            running: false,
            settings: settings.iter().map(|s| format!(" -c {s}")).collect(),
        };
        let data = server.data();
        let mut initdb = server.command("initdb");
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        assert!(run_ok(&mut initdb), "initdb failed");
        for _ in 0..10 {
            server.port = TcpListener::bind("127.0.0.1:0")
                .expect("bind a free port")
                .local_addr()
                .unwrap()
                .port();
            if server.try_start() {
                return server;
            }
        }
        panic!("the private PostgreSQL found no free port");
    }

    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    }

    fn try_start(&mut self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off{}",
            self.port,
            self.dir.path().display(),
            self.settings
        );
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(self.data())
            .arg("-o")
            .arg(options)
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "30", "start"]);
        self.running = run_ok(&mut start);
        self.running
    }

    /// Starts the server again on the same port; waits until it accepts
    /// connections.
    pub fn restart(&mut self) {
        assert!(!self.running, "already running");
        assert!(
            self.try_start(),
            "PostgreSQL could not start again on port {}",
            self.port
        );
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: like a crash,
    /// recovered from the WAL on the next start) and waits until it is gone.
    pub fn kill(&mut self) {
        if self.running {
            let mut stop = self.command("pg_ctl");
            stop.arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"]);
            let _ = stop.status();
            self.running = false;
        }
    }

    /// The directory of the server's extensions' control files
    /// (`/usr/share/postgresql/<major>/extension` for
    /// `/usr/lib/postgresql/<major>/bin`).
    pub fn extension_dir(bin: &Path) -> std::path::PathBuf {
        let major = bin
            .parent()
            .and_then(Path::file_name)
            .map(|m| m.to_string_lossy().into_owned())
            .unwrap_or_default();
        Path::new("/usr/share/postgresql")
            .join(major)
            .join("extension")
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run_ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

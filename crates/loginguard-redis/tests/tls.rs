//! `rediss://` for real: a private `redis-server` with a TLS port and a
//! certificate from a throw-away CA (made with `openssl`), trusted through
//! `SSL_CERT_FILE` as an operator would add it to the system's roots.
//! Skipped without `redis-server` / `openssl`, or without the `tls` feature.
#![cfg(feature = "tls")]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use loginguard_core::record::Limits;
use loginguard_core::{Key, KeyVerdict, Store, StoreError};
use loginguard_redis::{RedisOptions, RedisStore};

struct TlsServer(Child);

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn make_certificates(dir: &Path) -> bool {
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=loginguard test CA",
        ],
    ) && openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.pem",
            "-days",
            "1",
            "-subj",
            "/CN=some other CA",
        ],
    ) && openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    ) && openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_urls_connect_with_a_verified_certificate() {
    if !support::redis_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !make_certificates(dir.path()) {
        loginguard_testing::skip!("openssl could not make test certificates");
        return;
    }
    let port = support::free_port(false);
    let path = |name: &str| dir.path().join(name).display().to_string();
    let server = TlsServer(
        Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--tls-auth-clients",
                "no",
            ])
            .args([
                "--tls-cert-file",
                &path("server.pem"),
                "--tls-key-file",
                &path("server.key"),
            ])
            .args(["--tls-ca-cert-file", &path("ca.pem"), "--dir", &path("")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pong = Command::new("redis-cli")
            .args(["--tls", "--cacert", &path("ca.pem"), "-h", "localhost"])
            .args(["-p", &port.to_string(), "ping"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"));
        if pong {
            break;
        }
        if Instant::now() > deadline {
            loginguard_testing::skip!("this redis-server does not serve TLS");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("rediss://localhost:{port}/0");
    let options = || {
        RedisOptions::new()
            .prefix(support::random_prefix())
            .timeout(Duration::from_secs(5))
    };

    // Signed by a CA the client does not trust: refused, not accepted.
    std::env::set_var("SSL_CERT_FILE", dir.path().join("other.pem"));
    let refused = RedisStore::connect(&url, options()).await;
    assert!(refused.is_err(), "an untrusted certificate was accepted");

    std::env::set_var("SSL_CERT_FILE", dir.path().join("ca.pem"));
    let store = RedisStore::connect(&url, options()).await.unwrap();
    let key = Key::new("login").with_ip("192.0.2.7");
    let limits = Limits::new(1);
    let v = store
        .begin_attempt(&key, &limits, SystemTime::now())
        .await
        .unwrap();
    assert!(
        matches!(
            v,
            KeyVerdict::Allowed {
                locks_on_failure: true,
                ..
            }
        ),
        "{v:?}"
    );
    let v = store
        .begin_attempt(&key, &limits, SystemTime::now())
        .await
        .unwrap();
    assert!(matches!(v, KeyVerdict::Locked { .. }), "{v:?}");
    assert!(store
        .health()
        .await
        .unwrap()
        .description
        .starts_with("rediss://"));
    drop(server);
    let err = store
        .begin_attempt(&key, &limits, SystemTime::now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
}

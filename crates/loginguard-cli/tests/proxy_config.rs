//! `loginguard proxy` reads its settings from flags, `LOGINGUARD_PROXY_*`
//! and the `[proxy]` table of loginguard.toml, in that order of precedence,
//! and refuses bad values of each with a clear error.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use support::loginguard;

/// Starts `loginguard proxy` with `args` in `dir`, returns the first line
/// it prints, and stops it.
fn first_line(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = loginguard(dir);
    cmd.arg("proxy")
        .args(args)
        .envs(env.iter().copied())
        .env("LOGINGUARD_STORE", "memory");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        !line.is_empty(),
        "no address line: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    line
}

const TABLE: &str = "[proxy]\nupstream = \"http://127.0.0.1:9\"\naddr = \"127.0.0.1:0\"\n\
                     login_paths = [\"/accounts/login/\", \"/otp/=otp\"]\npreset = \"django\"\n";

#[test]
fn the_proxy_table_is_read_and_flags_and_env_win_over_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("loginguard.toml"), TABLE).unwrap();
    let line = first_line(dir.path(), &[], &[]);
    assert!(line.contains("for http://127.0.0.1:9 "), "{line}");
    assert!(
        line.contains("login paths: /accounts/login/, /otp/=otp; preset: django"),
        "{line}"
    );

    let line = first_line(
        dir.path(),
        &["--login-path", "/signin"],
        &[("LOGINGUARD_PROXY_PRESET", "json")],
    );
    assert!(
        line.contains("login paths: /signin; preset: json"),
        "{line}"
    );
}

#[test]
fn the_worker_count_comes_from_the_flag_the_env_or_the_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loginguard.toml"),
        format!("{TABLE}workers = 3\n"),
    )
    .unwrap();
    let line = first_line(dir.path(), &[], &[]);
    assert!(line.contains("workers: 3)"), "{line}");
    let line = first_line(dir.path(), &[], &[("LOGINGUARD_PROXY_WORKERS", "2")]);
    assert!(line.contains("workers: 2)"), "{line}");
    let line = first_line(
        dir.path(),
        &["--workers", "1"],
        &[("LOGINGUARD_PROXY_WORKERS", "2")],
    );
    assert!(line.contains("workers: 1)"), "{line}");
}

#[test]
fn bad_proxy_settings_are_refused_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[proxy]\nupstrem = \"http://127.0.0.1:9\"\n", "did you mean `proxy.upstream`?"),
        ("[proxy]\nupstream = \"127.0.0.1:9\"\nlogin_paths = [\"/l\"]\n", "proxy.upstream"),
        ("[proxy]\nupstream = \"http://127.0.0.1:9\"\nlogin_paths = [\"/l\"]\npreset = \"rails\"\n", "proxy.preset"),
        ("[proxy]\nupstream = \"http://127.0.0.1:9\"\nlogin_paths = [\"l\"]\n", "proxy.login_paths"),
        ("[proxy]\nupstream = \"http://127.0.0.1:9\"\nlogin_paths = \"/l\"\n", "proxy.login_paths"),
        ("[proxy]\nupstream = \"http://127.0.0.1:9\"\nlogin_paths = [\"/l\"]\nconnect_timeout = \"soon\"\n", "proxy.connect_timeout"),
        ("[proxy]\nupstream = \"http://127.0.0.1:9\"\nlogin_paths = [\"/l\"]\nworkers = 0\n", "proxy.workers"),
        ("[proxy]\nupstream = \"http://127.0.0.1:9\"\nlogin_paths = [\"/l\"]\nworkers = \"many\"\n", "proxy.workers"),
        ("[proxy]\nupstream = \"http://127.0.0.1:9\"\nlogin_paths = [\"/l\"]\nworkers = [2]\n", "proxy.workers"),
        ("[proxy]\nupstream = \"http://127.0.0.1:9\"\n", "no login path"),
        ("", "no upstream"),
    ];
    for (toml, expected) in cases {
        std::fs::write(dir.path().join("loginguard.toml"), toml).unwrap();
        let out = loginguard(dir.path())
            .arg("proxy")
            .env("LOGINGUARD_STORE", "memory")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{toml}");
        assert!(stderr.contains(expected), "{toml}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

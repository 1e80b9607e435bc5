//! Runs the real `loginguard` binary against SQLite databases in temporary
//! directories: every subcommand, and bad input of each kind.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use loginguard::audit::{AuditEntry, AuditKind, LogRetention};
use loginguard::{open_store, Attempt, Config, Decision, Guard};
use predicates::prelude::*;
use predicates::str::contains;

/// A working directory with a `loginguard.toml` pointing at `lg.db`.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(extra_toml: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("loginguard.toml"),
            format!("store = \"sqlite://lg.db\"\n{extra_toml}\n"),
        )
        .unwrap();
        Site { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db(&self) -> PathBuf {
        self.path().join("lg.db")
    }

    /// `loginguard` run in the site's directory, with a clean environment.
    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("loginguard").unwrap();
        cmd.current_dir(self.path()).env("RUST_BACKTRACE", "1");
        for (key, _) in std::env::vars() {
            if key.starts_with("LOGINGUARD_") {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    fn migrated(extra_toml: &str) -> Site {
        let site = Site::new(extra_toml);
        site.cmd().arg("migrate").assert().success();
        site
    }

    fn config(&self) -> Config {
        let text = std::fs::read_to_string(self.path().join("loginguard.toml")).unwrap();
        let db = self.db().display().to_string();
        Config::from_toml_str(&text.replace("sqlite://lg.db", &format!("sqlite://{db}"))).unwrap()
    }

    /// Runs failed logins (and then successful ones) through a Guard on the site's store.
    fn attempts(&self, failures: &[(&str, &str)], successes: &[(&str, &str)]) {
        let config = self.config();
        rt().block_on(async {
            let guard = Guard::new(config.policy.clone(), open_store(&config).await.unwrap());
            for (ip, user) in failures.iter().copied() {
                if let Decision::Proceed(ticket) = guard.begin(attempt(ip, user)).await.unwrap() {
                    let _ = guard.failure(ticket).await;
                }
            }
            for (ip, user) in successes.iter().copied() {
                if let Decision::Proceed(ticket) = guard.begin(attempt(ip, user)).await.unwrap() {
                    guard.success(ticket).await;
                }
            }
        });
    }
}

fn attempt(ip: &str, user: &str) -> Attempt {
    Attempt::new("POST", "/login")
        .ip(ip.parse().unwrap())
        .username(user)
        .user_agent("curl/8.5")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// An error is exactly two lines, `error: …` and `hint: …`, with no backtrace.
fn one_error_line_and_hint(stderr: &[u8]) {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "expected error + hint, got:\n{text}");
    assert!(lines[0].starts_with("error: "), "{text}");
    assert!(lines[1].starts_with("hint: "), "{text}");
    assert!(
        !text.contains("panicked") && !text.contains("backtrace"),
        "{text}"
    );
}

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let site = Site::new("");
    let out = site
        .cmd()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for sub in [
        "check",
        "migrate",
        "list",
        "reset",
        "logs",
        "purge-logs",
        "Exit codes",
        "--config",
    ] {
        assert!(text.contains(sub), "{sub} missing from:\n{text}");
    }
    site.cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(contains("loginguard"));
}

#[test]
fn migrate_creates_the_database_and_is_idempotent() {
    let site = Site::new("");
    site.cmd().arg("migrate").assert().success().stdout(
        contains("applied 2 migrations")
            .and(contains("0001 keys and audit logs"))
            .and(contains("0002 refusals and tags")),
    );
    assert!(site.db().exists());
    site.cmd()
        .arg("migrate")
        .assert()
        .success()
        .stdout(contains("up to date, nothing to apply"));
}

#[test]
fn check_reports_pending_migrations_then_passes_with_warnings() {
    let site = Site::new("");
    std::fs::write(site.db(), b"").unwrap(); // an empty file is an empty database
    let out = site
        .cmd()
        .arg("check")
        .assert()
        .code(4)
        .get_output()
        .clone();
    one_error_line_and_hint(&out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pending migration") && stderr.contains("loginguard migrate"),
        "{stderr}"
    );
    site.cmd().arg("migrate").assert().success();
    site.cmd().arg("check").assert().success().stdout(
        contains("reachable")
            .and(contains("schema version 2 of 2; journal mode wal"))
            .and(contains("warning: lockout by IP address alone"))
            .and(contains("warning: neither cool_off nor failure_window is set: locks last until an administrator resets them"))
            .and(contains("warning: trusted_proxies is empty"))
            .and(contains("client   IP of the connecting socket; no forwarding header is read (trusted_proxies is empty); IPv6 addresses grouped by /64"))
            .and(contains("ok: no errors, 4 warning(s)")),
    );
    let out = site
        .cmd()
        .args(["check", "--strict"])
        .assert()
        .code(5)
        .get_output()
        .clone();
    one_error_line_and_hint(&out.stderr);
}

#[test]
fn check_names_risky_settings_in_plain_words() {
    let site = Site::migrated(
        r#"
        lockout_parameters = [["username", "ip"]]
        cool_off = "15m"
        trusted_proxies = ["10.0.0.1"]
        log_retention = "90d"
        "#,
    );
    site.cmd()
        .arg("check")
        .assert()
        .success()
        .stdout(contains("ok: no problems found").and(contains("warning").not()));
    let risky = Site::migrated(
        r#"
        on_store_error = "allow"
        lock_out_at_failure = false
        failure_limit = 500
        "#,
    );
    risky.cmd().arg("check").assert().success().stdout(
        contains("on_store_error = \"allow\"")
            .and(contains("monitor-only"))
            .and(contains("failure_limit = 500"))
            .and(contains("every user shares the proxy's IP")),
    );
    let proxied = Site::migrated(
        r#"
        lockout_parameters = [["username", "ip"]]
        cool_off = "15m"
        trusted_proxies = ["10.0.0.1", "10.0.0.2"]
        client_ip_header = "x-real-ip"
        ipv6_prefix = 128
        log_retention = "90d"
        "#,
    );
    proxied.cmd().arg("check").assert().success().stdout(
        contains(
            "client   IP from the `x-real-ip` header (client_ip_header), read only when the connection comes from \
             trusted_proxies (2 ranges), from the right past those proxies; every other forwarding header is ignored; \
             each IPv6 address counts apart\n",
        )
        .and(contains(
            "warning: ipv6_prefix = 128: one IPv6 subscriber holds a whole /64 and can rotate through its addresses",
        ))
        .and(contains("ok: no errors, 1 warning(s)")),
    );
    let memory = Site::new("");
    memory
        .cmd()
        .arg("check")
        .env("LOGINGUARD_STORE", "memory")
        .assert()
        .success()
        .stdout(contains("store    memory: reachable").and(contains("vanish on restart")));
}

#[test]
fn list_shows_locked_and_failing_keys_as_a_table_or_json() {
    let site = Site::migrated("cool_off = \"15m\"");
    site.attempts(
        &[
            ("203.0.113.9", "alice"),
            ("203.0.113.9", "bob"),
            ("203.0.113.9", "carol"),
            // Refused by the lock: counted as refused since it.
            ("203.0.113.9", "dan"),
            ("203.0.113.9", "erin"),
        ],
        &[],
    );
    // A later attempt (times are in milliseconds; make the order unambiguous).
    std::thread::sleep(Duration::from_millis(5));
    site.attempts(&[("198.51.100.7", "dave")], &[]);
    site.cmd().arg("list").assert().success().stdout(
        contains("KEY")
            .and(contains("FAILURES  REFUSED  LOCKED UNTIL"))
            .and(contains("login/ip=203.0.113.9   3         2        "))
            .and(contains(" minutes)"))
            .and(contains("login/ip=198.51.100.7"))
            .and(contains("2 keys, 1 locked")),
    );
    site.cmd()
        .args(["list", "--locked"])
        .assert()
        .success()
        .stdout(contains("203.0.113.9").and(contains("198.51.100.7").not()));
    let out = site
        .cmd()
        .args(["list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let keys = json.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["ip"], "198.51.100.7", "most recent first");
    assert_eq!(keys[0]["failures"], 1);
    assert_eq!(keys[1]["locked"], true);
    assert_eq!(keys[1]["failures"], 3);
    assert_eq!(keys[1]["refused"], 2);
    assert_eq!(keys[0]["refused"], 0);
    assert!(keys[1]["locked_until"].as_str().unwrap().ends_with('Z'));
    let out = site
        .cmd()
        .args(["list", "--json", "--ip", "10.9.9.9"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn reset_by_ip_username_both_and_everything() {
    let site = Site::migrated(r#"lockout_parameters = ["ip", "username", ["username", "ip"]]"#);
    site.attempts(
        &[
            ("10.0.0.1", "alice"),
            ("10.0.0.2", "alice"),
            ("10.0.0.3", "bob"),
        ],
        &[],
    );
    // Keys: 3 ip, 2 username, 3 ip+username = 8.
    site.cmd()
        .args(["reset", "--ip", "10.0.0.1"])
        .assert()
        .success()
        .stdout(contains("cleared 2 records (ip 10.0.0.1)"));
    site.cmd()
        .args(["reset", "--ip", "10.0.0.2", "--username", "alice"])
        .assert()
        .success()
        .stdout(contains("cleared 3 records"));
    site.cmd()
        .args(["reset", "--username", "bob", "--scope", "otp"])
        .assert()
        .success()
        .stdout(contains("cleared 0 records"));
    site.cmd()
        .arg("reset")
        .assert()
        .success()
        .stdout(contains("cleared 3 records (all keys)"));
    site.cmd()
        .arg("list")
        .assert()
        .success()
        .stdout(contains("no keys with failures or locks"));
}

#[test]
fn username_flags_are_normalised_like_the_engine() {
    let site = Site::migrated(
        "lockout_parameters = [\"username\"]\nusername_case_insensitive = true\nusername_max_length = 20",
    );
    site.attempts(&[("10.0.0.1", "Alice"), ("10.0.0.2", " ALICE ")], &[]);
    site.cmd()
        .args(["list", "--username", "Alice"])
        .assert()
        .success()
        .stdout(contains("login/username=alice").and(contains("1 key,")));
    let out = site
        .cmd()
        .args(["logs", "--json", "--username", "ALICE"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let entries: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2);
    site.cmd()
        .args(["reset", "--username", "  Alice"])
        .assert()
        .success()
        .stdout(contains("cleared 1 record (username \"alice\")"));
    let out = site
        .cmd()
        .args(["reset", "--username", &"a".repeat(21)])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: invalid value for '--username': username is longer than 20 characters\n\
         hint: give the username as it is typed at the login form; usernames the engine refuses are never stored\n"
    );
}

#[test]
fn logs_filter_by_kind_user_ip_time_and_limit() {
    let site = Site::migrated("");
    site.attempts(
        &[
            ("10.0.0.1", "alice"),
            ("10.0.0.2", "mallory"),
            ("10.0.0.2", "mallory"),
        ],
        &[("10.0.0.1", "alice")],
    );
    site.cmd().arg("logs").assert().success().stdout(
        contains("TIME")
            .and(contains("success"))
            .and(contains("failure"))
            .and(contains("POST /login [login]"))
            .and(contains("curl/8.5")),
    );
    site.cmd()
        .args(["logs", "--successes"])
        .assert()
        .success()
        .stdout(contains("success").and(contains("failure").not()));
    let count = |args: &[&str]| -> usize {
        let mut all = vec!["logs", "--json"];
        all.extend_from_slice(args);
        let out = site
            .cmd()
            .args(&all)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(&[]), 4);
    assert_eq!(count(&["--failures"]), 3);
    assert_eq!(count(&["--username", "mallory"]), 2);
    assert_eq!(count(&["--ip", "10.0.0.1"]), 2);
    assert_eq!(count(&["--since", "1h"]), 4);
    assert_eq!(count(&["--limit", "1"]), 1);
    site.cmd()
        .args(["logs", "--failures", "--successes"])
        .assert()
        .code(2);
}

#[test]
fn purge_logs_deletes_only_old_entries() {
    let site = Site::migrated("");
    let config = site.config();
    rt().block_on(async {
        let store = open_store(&config).await.unwrap();
        let log = store.audit().unwrap();
        for age_days in [40u64, 35, 1] {
            let time = SystemTime::now() - Duration::from_secs(age_days * 86_400);
            let entry = AuditEntry::new(
                AuditKind::Failure,
                "login",
                Some("eve".into()),
                None,
                None,
                "POST",
                "/login",
                time,
            );
            log.append(&entry, &LogRetention::unlimited())
                .await
                .unwrap();
        }
    });
    site.cmd()
        .args(["purge-logs", "--older-than", "30d"])
        .assert()
        .success()
        .stdout(contains("deleted 2 log entries older than 30d (before "));
    site.cmd()
        .args(["purge-logs", "--older-than", "30d"])
        .assert()
        .success()
        .stdout(contains("deleted 0 log entries"));
    let out = site
        .cmd()
        .args(["purge-logs"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    one_error_line_and_hint(&out.stderr);
}

#[test]
fn a_missing_config_file_is_one_line_and_a_hint() {
    let site = Site::new("");
    for sub in ["check", "migrate", "list", "reset", "logs"] {
        let out = site
            .cmd()
            .args(["--config", "nope.toml", sub])
            .assert()
            .code(3)
            .get_output()
            .clone();
        one_error_line_and_hint(&out.stderr);
        assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));
    }
}

#[test]
fn bad_configuration_values_are_one_line_and_a_hint() {
    for (toml, needle) in [
        ("failure_limit = 0", "failure_limit"),
        ("cool_off = \"soon\"", "cool_off"),
        ("failure_limt = 3", "unknown setting `failure_limt`"),
        ("failure_limit = ", "TOML parse error"),
        ("store = \"mysql://db\"", "unknown store"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.toml"), toml).unwrap();
        let out = Site::new("")
            .cmd()
            .current_dir(dir.path())
            .args(["check", "--config", "bad.toml"])
            .assert()
            .code(3)
            .get_output()
            .clone();
        one_error_line_and_hint(&out.stderr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{toml}: {stderr}");
    }
    let site = Site::migrated("");
    let out = site
        .cmd()
        .arg("list")
        .env("LOGINGUARD_FAILURE_LIMIT", "many")
        .assert()
        .code(3)
        .get_output()
        .clone();
    one_error_line_and_hint(&out.stderr);
}

#[test]
fn a_mistyped_environment_variable_is_refused_with_the_right_name() {
    let site = Site::migrated("");
    let out = site
        .cmd()
        .arg("check")
        .env("LOGINGUARD_COOLOFF", "15m")
        .assert()
        .code(3)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: unknown setting `cooloff` (from LOGINGUARD_COOLOFF): did you mean `cool_off`?\n\
         hint: rename LOGINGUARD_COOLOFF to LOGINGUARD_COOL_OFF, or unset it; only LOGINGUARD_CONFIG, LOGINGUARD_LOG, \
         LOGINGUARD_TEST_* and LOGINGUARD_PROXY_* are not settings\n"
    );
    let out = site
        .cmd()
        .arg("check")
        .env("LOGINGUARD_TEST_ANYTHING", "1")
        .env("LOGINGUARD_PROXY_LISTEN", "127.0.0.1:8080")
        .env("LOGINGUARD_COOL_OFF", "15m")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stdout).contains("locks last 15 minutes"));
}

#[test]
fn a_mistyped_key_in_the_file_names_the_setting() {
    let site = Site::new("cooloff = \"15m\"");
    let out = site.cmd().arg("list").assert().code(3).get_output().clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: unknown setting `cooloff` in loginguard.toml: did you mean `cool_off`?\n\
         hint: check the spelling of the key in the file; the README lists every setting\n"
    );
}

/// The stderr of `loginguard <args>` in `dir` with no configuration
/// variables, and its exit code.
fn stderr_in(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Site::new("")
        .cmd()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_in_a_fresh_directory_says_to_run_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let out = Site::new("")
        .cmd()
        .current_dir(dir.path())
        .arg("check")
        .assert()
        .code(4)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: the database loginguard.db is not created yet: run `loginguard migrate`\n\
         hint: `loginguard migrate` creates it with this configuration (or set auto_migrate = true); \
         if it should already exist, check `store`\n"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("config   ok: defaults"));
}

#[test]
fn each_configuration_error_has_the_hint_of_its_situation() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("loginguard.toml");
    for (text, expected) in [
        (
            "failure_limit = 3\nfailure_limit = 4\n",
            "error: configuration loginguard.toml is not valid TOML: TOML parse error at line 2, column 1: duplicate key\n\
             hint: fix loginguard.toml at the line and column shown: each key once, strings in quotes\n",
        ),
        (
            "failure_limit = 0\n",
            "error: invalid value for `failure_limit` in loginguard.toml: 0 — expected a whole number from 1 to 4294967295\n\
             hint: fix `failure_limit` in loginguard.toml, then run `loginguard check`\n",
        ),
        (
            "failure_limit = \"five\"\n",
            "error: invalid value for `failure_limit` in loginguard.toml: \"five\" — expected a whole number from 1 to 4294967295\n\
             hint: fix `failure_limit` in loginguard.toml, then run `loginguard check`\n",
        ),
    ] {
        std::fs::write(&toml, text).unwrap();
        assert_eq!(stderr_in(dir.path(), &["check"]), (3, expected.to_owned()), "{text}");
    }
    std::fs::remove_file(&toml).unwrap();
    let out = Site::new("")
        .cmd()
        .current_dir(dir.path())
        .arg("check")
        .env("LOGINGUARD_COOL_OFF", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: invalid value for `cool_off` (from LOGINGUARD_COOL_OFF): \"soon\" — expected a duration like \"90s\", \
         \"15m\", \"2h\", \"30d\", a number of seconds, or \"none\"\n\
         hint: fix or unset LOGINGUARD_COOL_OFF, then run `loginguard check`\n"
    );
}

#[test]
fn a_port_in_use_is_one_cause_and_a_hint() {
    let site = Site::migrated("");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = site
        .cmd()
        .args(["demo", "--addr", &addr])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: cannot listen on {addr}: Address already in use (os error 98)\n\
             hint: another program is listening on {addr}: stop it, or choose another --addr (port 0 picks a free one)\n"
        )
    );
    let out = site
        .cmd()
        .args([
            "proxy",
            "--upstream",
            "http://127.0.0.1:9",
            "--login-path",
            "/login",
        ])
        .args(["--addr", &addr])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: cannot listen on {addr}: Address already in use (os error 98)\n\
             hint: another program is listening on that address: stop it, or choose another --addr (port 0 picks a free one)\n"
        )
    );
}

#[test]
fn bad_flags_and_flag_values_exit_2_with_a_hint() {
    let site = Site::migrated("");
    for args in [
        &["list", "--lokced"][..],
        &["logs", "--since", "soon"],
        &["logs", "--limit", "-3"],
        &["purge-logs", "--older-than", "0s"],
        &["frobnicate"],
    ] {
        let out = site.cmd().args(args).assert().code(2).get_output().clone();
        one_error_line_and_hint(&out.stderr);
    }
    let out = site
        .cmd()
        .args(["list", "--lokced"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--locked"),
        "clap's tip is the hint"
    );
}

#[test]
fn an_unmigrated_database_says_to_run_migrate() {
    let site = Site::new("");
    let out = site.cmd().arg("list").assert().code(4).get_output().clone();
    one_error_line_and_hint(&out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("the database lg.db is not created yet: run `loginguard migrate`"));
    std::fs::write(site.db(), b"").unwrap();
    let out = site.cmd().arg("list").assert().code(4).get_output().clone();
    one_error_line_and_hint(&out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema out of date"));
}

#[test]
fn a_newer_schema_is_refused() {
    let site = Site::migrated("");
    let db = site.db();
    rt().block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).connect().await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from the future', 1, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    });
    for sub in ["list", "migrate", "check"] {
        let out = site.cmd().arg(sub).assert().code(4).get_output().clone();
        one_error_line_and_hint(&out.stderr);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("newer than this build"),
            "{sub}"
        );
    }
}

#[test]
fn a_locked_database_is_reported_not_waited_on_forever() {
    let site = Site::migrated("store_timeout = \"300ms\"");
    site.attempts(&[("10.0.0.1", "alice")], &[]);
    let db = site.db();
    let rt = rt();
    // Another process's long write transaction holds SQLite's write lock.
    let mut holder = rt.block_on(async {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .connect()
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.ping().await;
        conn
    });
    let out = site
        .cmd()
        .arg("reset")
        .assert()
        .code(1)
        .get_output()
        .clone();
    one_error_line_and_hint(&out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("database is locked"), "{stderr}");
    rt.block_on(async {
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    });
    site.cmd()
        .arg("reset")
        .assert()
        .success()
        .stdout(contains("cleared 1 record"));
}

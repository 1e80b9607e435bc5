//! Two app servers sharing one store: two `loginguard demo` processes on
//! one Redis (and on one PostgreSQL). Failures spread over both servers
//! lock the user on both; `loginguard reset` unlocks on both. Skipped when
//! `LOGINGUARD_TEST_REDIS_URL` / `LOGINGUARD_TEST_POSTGRES_URL` is unset.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use support::{login, loginguard, start_demo};

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
    let a = start_demo(dir.path());
    let b = start_demo(dir.path());
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
        loginguard_testing::skip!("LOGINGUARD_TEST_REDIS_URL is not set");
        return;
    };
    two_servers_one_store(&url, &unique("lgtest_demo"));
}

#[test]
fn failures_spread_over_two_servers_on_one_postgres_lock_the_user_on_both() {
    let Ok(url) = std::env::var("LOGINGUARD_TEST_POSTGRES_URL") else {
        loginguard_testing::skip!("LOGINGUARD_TEST_POSTGRES_URL is not set");
        return;
    };
    two_servers_one_store(&url, &unique("lgtest"));
}

//! `loginguard demo` as a process: lock a user over HTTP, unlock them with
//! `loginguard reset` run while the demo keeps running, log in.

mod support;

use support::{login, loginguard, start_demo};

#[test]
fn demo_locks_and_reset_unlocks_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loginguard.toml"),
        "store = \"sqlite://lg.db\"\ncool_off = \"10m\"\n",
    )
    .unwrap();
    let demo = start_demo(dir.path());
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

//! Runs `cargo test` on a suite that skips and reads what its user sees.

use std::process::{Command, Output};

const LINE: &str = "skipped: loginguard-testing fixture::needs_a_service_that_is_not_there: \
                    LOGINGUARD_TEST_FIXTURE_URL is not set";

/// `cargo test -p loginguard-testing --test fixture -- --ignored`, as a user
/// would type it, with the same cargo and target directory as this run.
fn cargo_test_fixture(require: Option<&str>) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "test",
            "--quiet",
            "-p",
            "loginguard-testing",
            "--test",
            "fixture",
        ])
        .args(["--", "--ignored"])
        .env_remove("LOGINGUARD_TEST_FIXTURE_URL")
        .env_remove(loginguard_testing::REQUIRE_VAR);
    if let Some(value) = require {
        cmd.env(loginguard_testing::REQUIRE_VAR, value);
    }
    cmd.output().expect("cargo runs")
}

fn seen(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_skipped_test_says_so_past_the_output_capture_and_passes() {
    let out = cargo_test_fixture(None);
    let seen = seen(&out);
    assert!(out.status.success(), "{seen}");
    assert!(seen.contains(LINE), "no skip line in:\n{seen}");
    assert!(seen.contains("1 passed"), "{seen}");
}

#[test]
fn with_loginguard_test_require_1_a_skip_fails_the_run() {
    let out = cargo_test_fixture(Some("1"));
    let seen = seen(&out);
    assert!(!out.status.success(), "{seen}");
    assert!(seen.contains(LINE), "{seen}");
    assert!(
        seen.contains("LOGINGUARD_TEST_REQUIRE=1: a skipped test is a failure"),
        "{seen}"
    );
    assert!(seen.contains("1 failed"), "{seen}");
}

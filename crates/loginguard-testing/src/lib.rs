//! Test support: tells the user, past the test harness's output capture,
//! that a test was skipped because a service it needs is missing.
//!
//! The harness captures what `print!` and `eprint!` write, and shows it only
//! for failing tests, so a `skipped: …` line printed that way is never seen.
//! [`skip!`] writes to the process's real standard error instead, naming the
//! package, the test and the reason (which should name the variable or tool
//! that runs the test):
//!
//! ```text
//! skipped: loginguard-redis conformance::cool_off_ends_the_lock: LOGINGUARD_TEST_REDIS_URL is not set
//! ```
//!
//! With `LOGINGUARD_TEST_REQUIRE=1` (as `.ci/run` sets) a skip is a failure
//! instead, so a CI run cannot pass without the services it expects.
//!
//! # Examples
//!
//! ```
//! # fn connect(_: &str) {}
//! # std::env::remove_var(loginguard_testing::REQUIRE_VAR);
//! let Ok(url) = std::env::var("LOGINGUARD_TEST_REDIS_URL") else {
//!     loginguard_testing::skip!("LOGINGUARD_TEST_REDIS_URL is not set");
//!     return;
//! };
//! connect(&url);
//! ```
#![forbid(unsafe_code)]

mod captured;
pub mod upload;

pub use captured::Captured;

use std::fmt;
use std::io::Write;

/// The variable that turns a skip into a failure when set to `1`.
pub const REQUIRE_VAR: &str = "LOGINGUARD_TEST_REQUIRE";

/// Reports that the current test is skipped and why; the caller returns
/// afterwards. Panics (fails the test) when `LOGINGUARD_TEST_REQUIRE=1`.
///
/// Takes `format!` arguments; the reason should name what runs the test,
/// e.g. `"LOGINGUARD_TEST_POSTGRES_URL is not set"`.
#[macro_export]
macro_rules! skip {
    ($($reason:tt)+) => {
        $crate::report_skip(
            env!("CARGO_PKG_NAME"),
            module_path!(),
            format_args!($($reason)+),
        )
    };
}

/// What [`skip!`] calls: `package` and `module` come from the calling
/// crate. Use the macro rather than this function.
#[doc(hidden)]
#[track_caller] // a failure under LOGINGUARD_TEST_REQUIRE=1 points at the test
pub fn report_skip(package: &str, module: &str, reason: fmt::Arguments<'_>) {
    let line = skip_line(package, module, std::thread::current().name(), reason);
    if required() {
        panic!("{line}\n{REQUIRE_VAR}=1: a skipped test is a failure; start the service or unset {REQUIRE_VAR}");
    }
    // Not `eprintln!`: the harness captures that. A write through the
    // handle itself reaches the terminal (or the CI log).
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(format!("{line}\n").as_bytes());
    let _ = stderr.flush();
}

/// Whether `LOGINGUARD_TEST_REQUIRE` asks for skips to fail.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v.trim() == "1")
}

/// `skipped: <package> <test>: <reason>`. The harness names each test's
/// thread after the test; on the main thread (`--test-threads=1`, or a
/// `harness = false` target) the module path stands in.
fn skip_line(
    package: &str,
    module: &str,
    thread: Option<&str>,
    reason: fmt::Arguments<'_>,
) -> String {
    // The first segment of the module path is the test target: the crate
    // itself for unit tests, the file name for `tests/*.rs`.
    let target = module.split("::").next().unwrap_or(module);
    let test = match thread {
        Some(name) if name != "main" => format!("{target}::{name}"),
        _ => module.to_owned(),
    };
    format!("skipped: {package} {test}: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_package_test_and_reason() {
        let line = skip_line(
            "loginguard-redis",
            "conformance::support",
            Some("cool_off_ends_the_lock"),
            format_args!("LOGINGUARD_TEST_REDIS_URL is not set"),
        );
        assert_eq!(
            line,
            "skipped: loginguard-redis conformance::cool_off_ends_the_lock: \
             LOGINGUARD_TEST_REDIS_URL is not set"
        );
    }

    #[test]
    fn on_the_main_thread_the_module_path_names_the_test() {
        let line = skip_line(
            "loginguard-postgres",
            "postgres_store",
            Some("main"),
            format_args!("LOGINGUARD_TEST_POSTGRES_URL is not set"),
        );
        assert_eq!(
            line,
            "skipped: loginguard-postgres postgres_store: LOGINGUARD_TEST_POSTGRES_URL is not set"
        );
    }
}

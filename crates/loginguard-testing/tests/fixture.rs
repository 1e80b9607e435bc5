//! A suite whose service is never there, run by `tests/visible.rs`
//! (ignored otherwise, so a plain `cargo test` does not skip it).

#[test]
#[ignore = "run by tests/visible.rs"]
fn needs_a_service_that_is_not_there() {
    let Ok(_url) = std::env::var("LOGINGUARD_TEST_FIXTURE_URL") else {
        loginguard_testing::skip!("LOGINGUARD_TEST_FIXTURE_URL is not set");
        return;
    };
}

//! The HTML pages of the admin UI, rendered on the server with maud.

pub(crate) mod dashboard;
pub(crate) mod layout;
pub(crate) mod locked;
pub(crate) mod logs;
pub(crate) mod policy;
pub(crate) mod signin;

use axum::http::StatusCode;
use axum::response::Response;
use loginguard_core::StoreError;

/// The page for a store that failed to answer.
pub(crate) fn store_error(base: &str, err: &StoreError) -> Response {
    tracing::error!(target: "loginguard::admin", error = %loginguard_core::error_chain(err), "store failed");
    layout::message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        base,
        "Store unavailable",
        &format!("The store did not answer: {err}. Check it with `loginguard check`, then reload."),
    )
}

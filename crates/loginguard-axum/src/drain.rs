//! Reading what is left of a refused request's body, so that the client's
//! keep-alive connection stays usable: a server that answers before the
//! body is read must otherwise close the connection, and every refused
//! client would pay a new TCP handshake per try.

use std::time::Duration;

use axum::body::Body;
use futures_util::FutureExt;
use http_body::Body as _;
use http_body_util::BodyExt;

/// Longest a refused request's body is waited for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads and discards `body` when it declares at most `limit` bytes and
/// arrives within [`DRAIN_TIMEOUT`]; a larger, unbounded or slower body is
/// dropped unread and the connection closes after the response.
pub(crate) async fn drain(body: Body, limit: usize) {
    let small = body
        .size_hint()
        .upper()
        .is_some_and(|upper| upper <= limit as u64);
    if !small {
        return;
    }
    let mut body = body;
    // Usually the whole body came with the head: read it without a timer.
    loop {
        if body.is_end_stream() {
            return;
        }
        match body.frame().now_or_never() {
            Some(Some(Ok(_))) => continue,
            Some(None | Some(Err(_))) => return,
            None => break,
        }
    }
    // Boxed: the timer is only for bodies still on their way, and the
    // refusal's future stays small without it.
    Box::pin(drain_slowly(body)).await;
}

/// The rest of `body`, for at most [`DRAIN_TIMEOUT`].
async fn drain_slowly(mut body: Body) {
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async move {
        while let Some(frame) = body.frame().await {
            if frame.is_err() {
                return;
            }
        }
    })
    .await;
}

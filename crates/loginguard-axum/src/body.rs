//! Reading a request body up to a limit.

use axum::body::{Body, HttpBody};
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use loginguard_http::BodyError;

/// Reads the whole body, refusing it when `Content-Length` or the bytes
/// actually sent exceed `limit`.
pub(crate) async fn read_capped(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Limited::new(body, limit);
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total: u64 = 0;
    // Stop as soon as the declared length is in: waiting for the end of the
    // stream would cost one more round through the connection task.
    while !body.is_end_stream() && declared.is_none_or(|n| total < n) {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    total += data.len() as u64;
                    chunks.push(data);
                }
            }
            Some(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(BodyError::TooLarge { limit });
            }
            Some(Err(_)) => {
                return Err(BodyError::Bad(
                    "the request body could not be read".to_owned(),
                ));
            }
        }
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => Bytes::from(chunks.concat()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn capped_read_refuses_large_bodies() {
        let mut h = HeaderMap::new();
        assert_eq!(
            read_capped(&h, Body::from(vec![b'a'; 100]), 64).await,
            Err(BodyError::TooLarge { limit: 64 })
        );
        assert_eq!(
            read_capped(&h, Body::from("abc"), 64).await,
            Ok(Bytes::from("abc"))
        );
        h.insert(header::CONTENT_LENGTH, "65".parse().unwrap());
        assert_eq!(
            read_capped(&h, Body::from("abc"), 64).await,
            Err(BodyError::TooLarge { limit: 64 })
        );
    }
}

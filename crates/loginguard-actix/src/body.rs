//! Bodies: the request body read up to `body_limit` and handed back to the
//! handler as the same bytes, and the first bytes of a response body peeked
//! for the outcome rules, the rest streamed through untouched.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::HeaderMap;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use loginguard_http::BodyError;

type BoxError = Box<dyn std::error::Error>;

/// Reads the whole payload, refusing it when `Content-Length` or the bytes
/// actually sent exceed `limit`.
pub(crate) async fn read_capped(
    headers: &HeaderMap,
    payload: &mut Payload,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(PayloadError::Overflow) => return Err(BodyError::TooLarge { limit }),
            Err(_) => {
                return Err(BodyError::Bad(
                    "the request body could not be read".to_owned(),
                ))
            }
        };
        if buf.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Longest a refused request's body is waited for (as the axum layer waits).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads and discards the body of a request refused before its body was
/// read, when it declares at most `limit` bytes (`Content-Length`) and
/// arrives within [`DRAIN_TIMEOUT`]: actix-web closes a keep-alive
/// connection when a response goes out before its request body was read,
/// and every refused client would pay a new TCP handshake per try. A
/// larger, chunked or slower body is dropped unread and the connection
/// closes after the response.
pub(crate) async fn drain(headers: &HeaderMap, payload: &mut Payload, limit: usize) {
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if !declared.is_some_and(|n| n > 0 && n <= limit as u64) {
        return;
    }
    let _ = actix_web::rt::time::timeout(DRAIN_TIMEOUT, async {
        let mut read = 0;
        while let Some(Ok(chunk)) = payload.next().await {
            read += chunk.len();
            if read > limit {
                return;
            }
        }
    })
    .await;
}

/// A payload yielding `bytes`, for the handler after the username was read.
pub(crate) fn payload_of(bytes: Bytes) -> Payload {
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
    Payload::Stream { payload: stream }
}

/// Reads `body` until `limit` bytes (or its end) are in; returns those
/// bytes and a body yielding everything again.
pub(crate) async fn peek<B: MessageBody>(body: B, limit: usize) -> (Bytes, Replay<B>) {
    let mut body = Box::pin(body);
    let mut chunks = VecDeque::new();
    let mut head: Vec<u8> = Vec::new();
    let mut error = None;
    let mut ended = false;
    while head.len() < limit {
        match std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
            None => {
                ended = true;
                break;
            }
            Some(Ok(chunk)) => {
                let take = chunk.len().min(limit - head.len());
                head.extend_from_slice(&chunk[..take]);
                chunks.push_back(chunk);
            }
            Some(Err(e)) => {
                error = Some(e.into());
                break;
            }
        }
    }
    let rest = (!ended && error.is_none()).then_some(body);
    (
        Bytes::from(head),
        Replay {
            chunks,
            error,
            rest,
        },
    )
}

/// The chunks [`peek`] read, then its error if any, then the rest.
pub(crate) struct Replay<B: MessageBody> {
    chunks: VecDeque<Bytes>,
    error: Option<BoxError>,
    rest: Option<Pin<Box<B>>>,
}

impl<B: MessageBody> MessageBody for Replay<B> {
    type Error = BoxError;

    fn size(&self) -> BodySize {
        let buffered: u64 = self.chunks.iter().map(|c| c.len() as u64).sum();
        match self.rest.as_ref().map(|r| r.size()) {
            None => BodySize::Sized(buffered),
            Some(BodySize::Sized(n)) => BodySize::Sized(n.saturating_add(buffered)),
            Some(BodySize::None) if self.chunks.is_empty() => BodySize::None,
            Some(BodySize::None) => BodySize::Sized(buffered),
            Some(BodySize::Stream) => BodySize::Stream,
        }
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        // Every field is Unpin (the rest is boxed).
        let this = self.get_mut();
        if let Some(chunk) = this.chunks.pop_front() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        if let Some(e) = this.error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        match this.rest.as_mut() {
            Some(rest) => rest.as_mut().poll_next(cx).map_err(Into::into),
            None => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_peeked_body_is_handed_on_whole() {
        let body = actix_web::body::BodyStream::new(futures_util::stream::iter(
            ["abc", "defg", "hij", "klmnop"].map(|s| Ok::<_, std::io::Error>(Bytes::from(s))),
        ));
        let (head, replay) = peek(body, 5).await;
        assert_eq!(head, "abcde");
        let all = actix_web::body::to_bytes(replay).await.unwrap();
        assert_eq!(all, "abcdefghijklmnop");
    }

    #[actix_web::test]
    async fn a_capped_read_refuses_large_bodies_and_keeps_small_ones() {
        let h = HeaderMap::new();
        let mut p = payload_of(Bytes::from(vec![b'a'; 100]));
        assert_eq!(
            read_capped(&h, &mut p, 64).await,
            Err(BodyError::TooLarge { limit: 64 })
        );
        let mut p = payload_of(Bytes::from("abc"));
        assert_eq!(read_capped(&h, &mut p, 64).await, Ok(Bytes::from("abc")));
    }
}

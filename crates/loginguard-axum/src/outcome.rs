//! How the layer learns whether a login succeeded: a [`LoginOutcome`] the
//! handler puts in its response, else the [`OutcomeRules`] (status,
//! `Location`, `Set-Cookie`, the first bytes of the body).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponseParts, Response, ResponseParts};
use bytes::Bytes;
use http_body_util::BodyExt;
use loginguard_http::{LoginResponse, Outcome, OutcomeRules, BODY_SNIFF_LIMIT};

use crate::layer::ClassifyFn;

/// What the handler says of the attempt. Put it in the response (it is a
/// response part): it wins over every [outcome rule](OutcomeRules). A
/// handler that re-renders the login form with 200 on a wrong password
/// needs it, or set `failure_body_text`.
///
/// ```
/// use axum::{http::StatusCode, response::IntoResponse};
/// use loginguard_axum::LoginOutcome;
///
/// async fn login() -> impl IntoResponse {
///     // A wrong password answered with a friendly 200 page:
///     (StatusCode::OK, LoginOutcome::Failure, "wrong username or password")
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// The password was right: the attempt is given back (or the keys are
    /// cleared with `reset_on_success`) and the access log is written.
    Success,
    /// The password was wrong: the attempt stays counted.
    Failure,
    /// Not a login try after all (bad request, server error): the attempt is
    /// given back and nothing is logged ([`Outcome::Neutral`]).
    Skip,
}

impl IntoResponseParts for LoginOutcome {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

impl From<LoginOutcome> for Outcome {
    fn from(outcome: LoginOutcome) -> Outcome {
        match outcome {
            LoginOutcome::Success => Outcome::Success,
            LoginOutcome::Failure => Outcome::Failure,
            LoginOutcome::Skip => Outcome::Neutral,
        }
    }
}

impl From<Outcome> for LoginOutcome {
    fn from(outcome: Outcome) -> LoginOutcome {
        match outcome {
            Outcome::Success => LoginOutcome::Success,
            Outcome::Failure => LoginOutcome::Failure,
            _ => LoginOutcome::Skip,
        }
    }
}

/// The default [`OutcomeRules`] applied to a status alone (no `Location`,
/// no cookie, no body): 401, 403 and 422 are failures; 400, 429 and 5xx
/// give the attempt back ([`Skip`](LoginOutcome::Skip)); other 2xx and 3xx
/// are successes; any other status is a failure.
///
/// ```
/// use axum::http::StatusCode;
/// use loginguard_axum::{default_outcome, LoginOutcome};
///
/// assert_eq!(default_outcome(StatusCode::UNAUTHORIZED), LoginOutcome::Failure);
/// assert_eq!(default_outcome(StatusCode::SEE_OTHER), LoginOutcome::Success);
/// assert_eq!(default_outcome(StatusCode::INTERNAL_SERVER_ERROR), LoginOutcome::Skip);
/// ```
pub fn default_outcome(status: StatusCode) -> LoginOutcome {
    let headers = axum::http::HeaderMap::new();
    OutcomeRules::default()
        .decide(&LoginResponse::new("", status, &headers))
        .into()
}

/// How the layer decides: the rules, or the closure given to
/// [`outcome_from_status`](crate::LoginGuardLayer::outcome_from_status).
#[derive(Clone)]
pub(crate) enum Decider {
    Rules(OutcomeRules),
    Status(ClassifyFn),
}

impl Decider {
    /// The outcome of the attempt posted to `uri` and answered by `res`.
    /// A marker in the response wins; the body is read, up to
    /// [`BODY_SNIFF_LIMIT`] bytes, only when a rule looks at it, and the
    /// response goes on with the same bytes.
    pub(crate) async fn decide(&self, uri: &Uri, res: Response) -> (Response, Outcome) {
        let mut res = res;
        if let Some(marker) = res.extensions_mut().remove::<LoginOutcome>() {
            return (res, marker.into());
        }
        let rules = match self {
            Decider::Status(f) => {
                let outcome = f(res.status()).into();
                return (res, outcome);
            }
            Decider::Rules(rules) => rules,
        };
        let (parts, body) = res.into_parts();
        let (head, body) = if rules.reads_body() {
            peek(body, BODY_SNIFF_LIMIT).await
        } else {
            (Bytes::new(), body)
        };
        let outcome = rules.decide(
            &LoginResponse::new(uri.path(), parts.status, &parts.headers).body_start(&head),
        );
        (Response::from_parts(parts, body), outcome)
    }
}

/// Reads `body` until `limit` bytes (or its end) are in; returns those
/// bytes and a body yielding everything again, the rest streamed untouched.
async fn peek(mut body: Body, limit: usize) -> (Bytes, Body) {
    let mut frames = VecDeque::new();
    let mut head: Vec<u8> = Vec::new();
    let mut error = None;
    let mut ended = false;
    while head.len() < limit {
        match body.frame().await {
            None => {
                ended = true;
                break;
            }
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let take = data.len().min(limit - head.len());
                    head.extend_from_slice(&data[..take]);
                }
                frames.push_back(frame);
            }
            Some(Err(e)) => {
                error = Some(e);
                break;
            }
        }
    }
    let rest = (!ended && error.is_none()).then_some(body);
    let replay = Replay {
        frames,
        error,
        rest,
    };
    (Bytes::from(head), Body::new(replay))
}

/// The frames [`peek`] read, then its error if any, then the rest of the
/// body.
struct Replay {
    frames: VecDeque<http_body::Frame<Bytes>>,
    error: Option<axum::Error>,
    rest: Option<Body>,
}

impl HttpBody for Replay {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(e) = self.error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
            && self.error.is_none()
            && self.rest.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let buffered: u64 = self
            .frames
            .iter()
            .filter_map(|f| f.data_ref().map(|d| d.len() as u64))
            .sum();
        let rest = self
            .rest
            .as_ref()
            .map_or_else(|| http_body::SizeHint::with_exact(0), HttpBody::size_hint);
        let mut hint = http_body::SizeHint::new();
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(buffered));
        }
        hint.set_lower(rest.lower().saturating_add(buffered));
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    #[test]
    fn outcome_travels_as_a_response_extension() {
        let res = (StatusCode::OK, LoginOutcome::Failure, "").into_response();
        assert_eq!(
            res.extensions().get::<LoginOutcome>(),
            Some(&LoginOutcome::Failure)
        );
    }

    #[test]
    fn bad_request_is_neither_success_nor_failure() {
        assert_eq!(default_outcome(StatusCode::BAD_REQUEST), LoginOutcome::Skip);
        assert_eq!(
            default_outcome(StatusCode::FORBIDDEN),
            LoginOutcome::Failure
        );
        assert_eq!(
            default_outcome(StatusCode::UNPROCESSABLE_ENTITY),
            LoginOutcome::Failure
        );
        assert_eq!(
            default_outcome(StatusCode::NO_CONTENT),
            LoginOutcome::Success
        );
    }

    #[tokio::test]
    async fn a_peeked_body_is_handed_on_whole() {
        let (tx, rx) = http_body_util::channel::Channel::<Bytes, axum::Error>::new(4);
        let mut tx = tx;
        let body = Body::new(rx);
        let writer = tokio::spawn(async move {
            for chunk in ["abc", "defg", "hij", "klmnop"] {
                tx.send_data(Bytes::from(chunk)).await.unwrap();
            }
        });
        let (head, body) = peek(body, 5).await;
        assert_eq!(head, "abcde");
        writer.await.unwrap();
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(all, "abcdefghijklmnop");
    }

    #[tokio::test]
    async fn a_short_body_is_peeked_to_its_end() {
        let (head, body) = peek(Body::from("short"), BODY_SNIFF_LIMIT).await;
        assert_eq!(head, "short");
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "short");
    }
}

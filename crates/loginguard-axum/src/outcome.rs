//! How the layer learns whether a login succeeded: a [`LoginOutcome`] the
//! handler puts in its response, else the response status.

use axum::http::StatusCode;
use axum::response::{IntoResponseParts, ResponseParts};
use std::convert::Infallible;

/// What the handler says of the attempt. Put it in the response (it is a
/// response part) to override the status-code rule.
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
    /// given back and nothing is logged.
    Skip,
}

impl IntoResponseParts for LoginOutcome {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// The default rule when the response carries no [`LoginOutcome`]:
/// 401 and 403 are failures, 2xx and 3xx successes, anything else
/// ([`Skip`](LoginOutcome::Skip)) gives the attempt back.
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
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        LoginOutcome::Failure
    } else if status.is_success() || status.is_redirection() {
        LoginOutcome::Success
    } else {
        LoginOutcome::Skip
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
            default_outcome(StatusCode::NO_CONTENT),
            LoginOutcome::Success
        );
    }
}

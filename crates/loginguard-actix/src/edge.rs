//! The edge between actix-web's `http` 0.2 types and the `http` 1 types of
//! [`loginguard_http`]: headers copied as bytes, statuses as numbers. No rule
//! lives here; every decision is made by the shared functions.

use actix_web::body::BoxBody;
use actix_web::http::header::{HeaderMap as ActixHeaders, HeaderName, HeaderValue};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::HttpResponse;
use bytes::Bytes;
use loginguard_http::BodyError;

/// The headers the shared negotiation and body-kind functions read
/// (`Accept`, `Content-Type`), as an `http` 1 map.
pub(crate) fn negotiation_headers(headers: &ActixHeaders) -> http::HeaderMap {
    loginguard_http::negotiation_headers(&crate::ip::ActixHeaders(headers))
}

/// Every header of a response, as an `http` 1 map, for the outcome rules.
pub(crate) fn all_headers(headers: &ActixHeaders) -> http::HeaderMap {
    let mut out = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append(name, value);
        }
    }
    out
}

/// The status of an actix response as an `http` 1 status.
pub(crate) fn status(status: ActixStatus) -> http::StatusCode {
    http::StatusCode::from_u16(status.as_u16()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// An `http` 1 response built by [`loginguard_http`] as an actix response,
/// byte for byte.
pub(crate) fn to_actix(res: http::Response<Bytes>) -> HttpResponse<BoxBody> {
    let (parts, body) = res.into_parts();
    let status =
        ActixStatus::from_u16(parts.status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::with_body(status, BoxBody::new(body));
    let headers = out.headers_mut();
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    out
}

/// 400 or 413 for bad input, from [`loginguard_http::bad_input_response`].
pub(crate) fn bad_input(error: &BodyError, negotiation: &http::HeaderMap) -> HttpResponse {
    to_actix(loginguard_http::bad_input_response(error, negotiation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_response_crosses_the_edge_intact() {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::ACCEPT, "application/json".parse().unwrap());
        let res = to_actix(loginguard_http::too_large(10, &h));
        assert_eq!(res.status(), ActixStatus::PAYLOAD_TOO_LARGE);
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/json"
        );
        assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    }

    #[test]
    fn negotiation_keeps_only_accept_and_content_type() {
        let mut h = ActixHeaders::new();
        h.append(
            HeaderName::from_static("accept"),
            HeaderValue::from_static("application/json"),
        );
        h.append(
            HeaderName::from_static("cookie"),
            HeaderValue::from_static("id=1"),
        );
        let out = negotiation_headers(&h);
        assert_eq!(out.len(), 1);
        assert!(loginguard_http::prefers_json(&out));
    }
}

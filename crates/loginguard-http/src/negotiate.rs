//! Content negotiation for the responses loginguard writes: JSON or HTML.

use http::{header, HeaderMap};

use crate::fields::{body_kind, is_json_body, BodyKind};

/// Whether the client would rather read JSON than HTML: its `Accept`
/// header ranks `application/json` above `text/html`, or ranks them equally
/// (no `Accept`, `*/*`) and the request body itself is JSON.
///
/// ```
/// use http::HeaderMap;
/// use loginguard_http::prefers_json;
///
/// let mut h = HeaderMap::new();
/// h.insert("accept", "text/html,application/json;q=0.9".parse().unwrap());
/// assert!(!prefers_json(&h));
/// h.insert("accept", "application/json".parse().unwrap());
/// assert!(prefers_json(&h));
/// ```
pub fn prefers_json(headers: &HeaderMap) -> bool {
    if !headers.contains_key(header::ACCEPT) {
        // Both ranked alike: the body's type decides. This is every
        // refusal of a client that sends no `Accept`, so no list is built.
        return is_json_body(headers);
    }
    let ranges: Vec<(String, f32)> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .take(64)
        .filter_map(media_range)
        .collect();
    let (json, html) = if ranges.is_empty() {
        (1.0, 1.0)
    } else {
        (
            quality(&ranges, "application", "json"),
            quality(&ranges, "text", "html"),
        )
    };
    json > html || (json == html && json > 0.0 && body_kind(headers) == BodyKind::Json)
}

fn media_range(item: &str) -> Option<(String, f32)> {
    let mut params = item.split(';');
    let range = params.next()?.trim().to_ascii_lowercase();
    if range.is_empty() {
        return None;
    }
    let q = params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
        .and_then(|(_, v)| v.trim().parse::<f32>().ok())
        .filter(|q| q.is_finite())
        .map_or(1.0, |q| q.clamp(0.0, 1.0));
    Some((range, q))
}

/// The quality of the most specific range matching `kind/sub`.
fn quality(ranges: &[(String, f32)], kind: &str, sub: &str) -> f32 {
    let exact = format!("{kind}/{sub}");
    let any_sub = format!("{kind}/*");
    [exact.as_str(), any_sub.as_str(), "*/*"]
        .iter()
        .find_map(|want| {
            ranges
                .iter()
                .filter(|(r, _)| r == want)
                .map(|(_, q)| *q)
                .reduce(f32::max)
        })
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_headers as headers;

    #[test]
    fn accept_negotiation() {
        assert!(!prefers_json(&headers(&[])));
        assert!(!prefers_json(&headers(&[("accept", "*/*")])));
        assert!(prefers_json(&headers(&[
            ("accept", "*/*"),
            ("content-type", "application/json")
        ])));
        assert!(prefers_json(&headers(&[(
            "accept",
            "application/json, text/html;q=0.5"
        )])));
        assert!(!prefers_json(&headers(&[(
            "accept",
            "text/html, application/*;q=0.8"
        )])));
        assert!(!prefers_json(&headers(&[
            ("accept", "application/json;q=0"),
            ("content-type", "application/json")
        ])));
        assert!(!prefers_json(&headers(&[("accept", "text/plain")])));
    }
}

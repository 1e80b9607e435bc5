//! Telling a successful login from a failed one: [`OutcomeRules`] decide an
//! [`Outcome`] from the login handler's response (status, `Location`,
//! `Set-Cookie`, the first bytes of the body), unless the handler said it
//! itself with an explicit marker.
//!
//! The rules and their order are on [`OutcomeRules`].
//!
//! ```
//! use http::{header, HeaderMap, HeaderValue, StatusCode};
//! use loginguard_http::{LoginResponse, Outcome, OutcomeRules};
//!
//! let rules = OutcomeRules::default();
//! let mut headers = HeaderMap::new();
//! // axum-login's examples answer a wrong password with a redirect back to the form:
//! headers.insert(header::LOCATION, HeaderValue::from_static("/login?error=1"));
//! let res = LoginResponse::new("/login", StatusCode::SEE_OTHER, &headers);
//! assert_eq!(rules.decide(&res), Outcome::Failure);
//! // ... and a right one with a redirect elsewhere:
//! headers.insert(header::LOCATION, HeaderValue::from_static("/"));
//! let res = LoginResponse::new("/login", StatusCode::SEE_OTHER, &headers);
//! assert_eq!(rules.decide(&res), Outcome::Success);
//! ```

use http::{header, HeaderMap, StatusCode};
use loginguard_core::Policy;

/// How many bytes of the response body `failure_body_text` is looked for
/// in (16 KiB). An integration reads at most this much of the body before
/// deciding, and only when that rule is set; the rest streams through
/// untouched.
pub const BODY_SNIFF_LIMIT: usize = 16 * 1024;

/// What a login response says of the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The password was right: the counted attempt is given back (or the
    /// keys are cleared with `reset_on_success`).
    Success,
    /// The password was wrong: the attempt stays counted.
    Failure,
    /// Not a login try after all (bad request, overload, server error):
    /// the attempt is given back and nothing is logged.
    Neutral,
}

/// The login handler's response, as the rules see it. Build it with
/// [`new`](Self::new), then add the body's first bytes and the handler's
/// marker when there are any.
#[derive(Debug, Clone, Copy)]
#[must_use = "pass it to OutcomeRules::decide"]
pub struct LoginResponse<'a> {
    login_path: &'a str,
    status: StatusCode,
    headers: &'a HeaderMap,
    body_start: &'a [u8],
    marker: Option<Outcome>,
}

impl<'a> LoginResponse<'a> {
    /// The response with `status` and `headers` to a login attempt posted
    /// to `login_path` (the request's path, without its query).
    pub fn new(login_path: &'a str, status: StatusCode, headers: &'a HeaderMap) -> Self {
        LoginResponse {
            login_path,
            status,
            headers,
            body_start: &[],
            marker: None,
        }
    }

    /// The first bytes of the body (only the first [`BODY_SNIFF_LIMIT`]
    /// are looked at). Needed only when [`OutcomeRules::reads_body`].
    pub fn body_start(mut self, bytes: &'a [u8]) -> Self {
        self.body_start = bytes;
        self
    }

    /// The outcome the handler stated itself; it wins over every rule.
    pub fn marker(mut self, marker: Option<Outcome>) -> Self {
        self.marker = marker;
        self
    }
}

/// The rules deciding a login's [`Outcome`] from its response.
///
/// The outcome is never guessed in the attacker's favour. The rules, in
/// order (the first that applies decides):
///
/// 1. an explicit marker wins (the axum layer's `LoginOutcome`; the
///    integrations know the outcome exactly);
/// 2. a status in `failure_statuses` (default 401, 403, 422) is a failure;
/// 3. a redirect (3xx) whose `Location` points back at the login path
///    itself, with any query (`/login?error=1`, relative or absolute URL),
///    is a failure;
/// 4. a redirect whose `Location` matches `failure_location` is a failure;
/// 5. 400, 429, 5xx and `neutral_statuses` are neutral: the attempt is
///    given back;
/// 6. a body whose first [`BODY_SNIFF_LIMIT`] bytes contain
///    `failure_body_text` is a failure;
/// 7. any other status that is not 2xx or 3xx (404, 405, 415…) is a
///    failure;
/// 8. with `success_cookie` set, a response that does not set a cookie of
///    that name is a failure;
/// 9. with `success_statuses` set, a 2xx/3xx not listed is a failure;
/// 10. every other 2xx and 3xx is a success.
///
/// Built from the [`Policy`] settings of the same names
/// ([`from_policy`](Self::from_policy)), or in code:
///
/// ```
/// use http::{header, HeaderMap, HeaderValue, StatusCode};
/// use loginguard_http::{LoginResponse, Outcome, OutcomeRules};
///
/// // A WordPress-like app: only a response setting the session cookie is a success.
/// let rules = OutcomeRules::default().success_cookie(Some("wordpress_logged_in_*".into()));
/// let mut headers = HeaderMap::new();
/// let res = LoginResponse::new("/wp-login.php", StatusCode::OK, &headers);
/// assert_eq!(rules.decide(&res), Outcome::Failure);
/// headers.insert(header::SET_COOKIE, HeaderValue::from_static("wordpress_logged_in_abc=x; Path=/"));
/// let res = LoginResponse::new("/wp-login.php", StatusCode::FOUND, &headers);
/// assert_eq!(rules.decide(&res), Outcome::Success);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct OutcomeRules {
    /// Statuses that mean a wrong password (default 401, 403, 422).
    pub failure_statuses: Vec<u16>,
    /// Statuses, besides 400, 429 and 5xx, that mean no login was tried
    /// (Django's 403 for a missing CSRF token, say): the attempt is given
    /// back (default none).
    pub neutral_statuses: Vec<u16>,
    /// When not empty, the only 2xx/3xx statuses that mean a right
    /// password; another 2xx/3xx is a failure (default empty).
    pub success_statuses: Vec<u16>,
    /// A redirect whose `Location` matches this pattern (`*` matches any
    /// text) is a failure (default none).
    pub failure_location: Option<String>,
    /// When set, only a response setting a cookie whose name matches this
    /// pattern (`*` matches any text) is a success (default none).
    pub success_cookie: Option<String>,
    /// A body whose first [`BODY_SNIFF_LIMIT`] bytes contain this text is a
    /// failure (default none).
    pub failure_body_text: Option<String>,
}

impl Default for OutcomeRules {
    /// The rules of the default [`Policy`].
    fn default() -> Self {
        OutcomeRules::from_policy(&Policy::default())
    }
}

impl OutcomeRules {
    /// The rules set by `policy`'s `failure_statuses`, `success_statuses`,
    /// `failure_location`, `success_cookie` and `failure_body_text`.
    pub fn from_policy(policy: &Policy) -> Self {
        OutcomeRules {
            failure_statuses: policy.failure_statuses.clone(),
            neutral_statuses: Vec::new(),
            success_statuses: policy.success_statuses.clone(),
            failure_location: policy.failure_location.clone(),
            success_cookie: policy.success_cookie.clone(),
            failure_body_text: policy.failure_body_text.clone(),
        }
    }

    /// Sets [`failure_statuses`](Self::failure_statuses).
    pub fn failure_statuses(mut self, statuses: Vec<u16>) -> Self {
        self.failure_statuses = statuses;
        self
    }

    /// Sets [`neutral_statuses`](Self::neutral_statuses).
    pub fn neutral_statuses(mut self, statuses: Vec<u16>) -> Self {
        self.neutral_statuses = statuses;
        self
    }

    /// Sets [`success_statuses`](Self::success_statuses).
    pub fn success_statuses(mut self, statuses: Vec<u16>) -> Self {
        self.success_statuses = statuses;
        self
    }

    /// Sets [`failure_location`](Self::failure_location).
    pub fn failure_location(mut self, pattern: Option<String>) -> Self {
        self.failure_location = pattern;
        self
    }

    /// Sets [`success_cookie`](Self::success_cookie).
    pub fn success_cookie(mut self, pattern: Option<String>) -> Self {
        self.success_cookie = pattern;
        self
    }

    /// Sets [`failure_body_text`](Self::failure_body_text).
    pub fn failure_body_text(mut self, text: Option<String>) -> Self {
        self.failure_body_text = text;
        self
    }

    /// Whether a rule looks at the body: then give [`decide`](Self::decide)
    /// its first [`BODY_SNIFF_LIMIT`] bytes
    /// ([`LoginResponse::body_start`]). Otherwise leave the body alone.
    pub fn reads_body(&self) -> bool {
        self.failure_body_text.is_some()
    }

    /// The outcome of the login answered by `res`.
    ///
    /// ```
    /// use http::{HeaderMap, StatusCode};
    /// use loginguard_http::{LoginResponse, Outcome, OutcomeRules};
    ///
    /// let rules = OutcomeRules::default().failure_body_text(Some("Invalid password".into()));
    /// let headers = HeaderMap::new();
    /// let page = b"<form>...<p class=error>Invalid password</p>...</form>";
    /// let res = LoginResponse::new("/login", StatusCode::OK, &headers).body_start(page);
    /// assert_eq!(rules.decide(&res), Outcome::Failure);
    /// // The handler's own marker wins over every rule:
    /// let res = res.marker(Some(Outcome::Success));
    /// assert_eq!(rules.decide(&res), Outcome::Success);
    /// // A server error gives the attempt back:
    /// let res = LoginResponse::new("/login", StatusCode::BAD_GATEWAY, &headers);
    /// assert_eq!(rules.decide(&res), Outcome::Neutral);
    /// ```
    pub fn decide(&self, res: &LoginResponse<'_>) -> Outcome {
        if let Some(marker) = res.marker {
            return marker;
        }
        let status = res.status;
        let code = status.as_u16();
        if self.failure_statuses.contains(&code) {
            return Outcome::Failure;
        }
        if status.is_redirection() {
            if let Some(location) = res
                .headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
            {
                if points_at(location, res.login_path) {
                    return Outcome::Failure;
                }
                if self
                    .failure_location
                    .as_deref()
                    .is_some_and(|pattern| glob_match(pattern, location))
                {
                    return Outcome::Failure;
                }
            }
        }
        if code == 400
            || code == 429
            || status.is_server_error()
            || self.neutral_statuses.contains(&code)
        {
            return Outcome::Neutral;
        }
        if let Some(text) = &self.failure_body_text {
            let start = &res.body_start[..res.body_start.len().min(BODY_SNIFF_LIMIT)];
            if contains(start, text.as_bytes()) {
                return Outcome::Failure;
            }
        }
        if !(status.is_success() || status.is_redirection()) {
            return Outcome::Failure;
        }
        if let Some(pattern) = &self.success_cookie {
            if !sets_cookie(res.headers, pattern) {
                return Outcome::Failure;
            }
        }
        if !self.success_statuses.is_empty() && !self.success_statuses.contains(&code) {
            return Outcome::Failure;
        }
        Outcome::Success
    }
}

/// Whether the URL `location` (absolute, scheme-relative or relative)
/// names the path `login_path`, whatever its query, fragment or host, or
/// that path under a prefix (a router mounted at `/auth` sees `/login` for
/// `/auth/login`); one trailing `/` does not count.
fn points_at(location: &str, login_path: &str) -> bool {
    let location = location.trim();
    let end = location.find(['?', '#']).unwrap_or(location.len());
    let reference = &location[..end];
    let path = if let Some(rest) = reference.strip_prefix("//") {
        // //host/path
        rest.find('/').map_or("/", |i| &rest[i..])
    } else if let Some(i) = scheme_end(reference) {
        let rest = &reference[i..];
        match rest.strip_prefix("//") {
            Some(after) => after.find('/').map_or("/", |i| &after[i..]),
            None => rest,
        }
    } else {
        reference
    };
    let resolved;
    let path = if path.starts_with('/') {
        path
    } else {
        // Relative to the login path's directory: `login?error=1` from `/login`.
        let dir = &login_path[..login_path.rfind('/').map_or(0, |i| i + 1)];
        resolved = format!("{dir}{path}");
        &resolved
    };
    let path = remove_dot_segments(path);
    let (path, login) = (trim_slash(&path), trim_slash(login_path));
    path == login || (login.len() > 1 && login.starts_with('/') && path.ends_with(login))
}

/// Where the `scheme:` of an absolute URL ends (after the colon).
fn scheme_end(reference: &str) -> Option<usize> {
    let colon = reference.find(':')?;
    let scheme = &reference[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(colon + 1)
}

fn trim_slash(path: &str) -> &str {
    if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    }
}

/// `.` and `..` segments resolved, as a browser does (RFC 3986, 5.2.4).
fn remove_dot_segments(path: &str) -> String {
    if !path.split('/').any(|s| s == "." || s == "..") {
        return path.to_owned();
    }
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// Whether a `Set-Cookie` header sets (not deletes) a cookie whose name
/// matches `pattern`. A cookie set empty or with `Max-Age` of zero or less
/// is a deletion, as a failed or logged-out login may send.
fn sets_cookie(headers: &HeaderMap, pattern: &str) -> bool {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|cookie| {
            let mut attributes = cookie.split(';');
            let Some((name, value)) = attributes.next().and_then(|pair| pair.split_once('='))
            else {
                return false;
            };
            let value = value.trim().trim_matches('"');
            let deleted = value.is_empty()
                || attributes.any(|a| {
                    a.split_once('=').is_some_and(|(k, v)| {
                        k.trim().eq_ignore_ascii_case("max-age")
                            && v.trim().parse::<i64>().is_ok_and(|n| n <= 0)
                    })
                });
            !deleted && glob_match(pattern, name.trim())
        })
}

/// Whether `text` matches `pattern`, where `*` matches any run of
/// characters (none included) and every other character itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and where in `text` it started matching.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|b| *b == b'*')
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::test_headers as headers;

    fn decide(
        rules: &OutcomeRules,
        status: u16,
        pairs: &[(&'static str, &'static str)],
    ) -> Outcome {
        let h = headers(pairs);
        let status = StatusCode::from_u16(status).unwrap();
        rules.decide(&LoginResponse::new("/login", status, &h))
    }

    fn redirect(rules: &OutcomeRules, location: &'static str) -> Outcome {
        decide(rules, 303, &[("location", location)])
    }

    #[test]
    fn the_marker_wins_over_every_rule() {
        let rules = OutcomeRules::default();
        let h = headers(&[("location", "/login?error=1")]);
        for (status, marker) in [
            (StatusCode::OK, Outcome::Failure),
            (StatusCode::UNAUTHORIZED, Outcome::Success),
            (StatusCode::SEE_OTHER, Outcome::Success),
            (StatusCode::OK, Outcome::Neutral),
        ] {
            let res = LoginResponse::new("/login", status, &h).marker(Some(marker));
            assert_eq!(rules.decide(&res), marker, "{status}");
        }
    }

    #[test]
    fn default_failure_statuses_are_401_403_422() {
        let rules = OutcomeRules::default();
        for status in [401, 403, 422] {
            assert_eq!(decide(&rules, status, &[]), Outcome::Failure, "{status}");
        }
        let rules = OutcomeRules::default().failure_statuses(vec![200]);
        assert_eq!(decide(&rules, 200, &[]), Outcome::Failure);
        assert_eq!(decide(&rules, 401, &[]), Outcome::Failure, "other 4xx fail");
        // A listed status fails even where it would be neutral.
        let rules = OutcomeRules::default().failure_statuses(vec![400]);
        assert_eq!(decide(&rules, 400, &[]), Outcome::Failure);
    }

    #[test]
    fn neutral_statuses_give_the_attempt_back() {
        let rules = OutcomeRules::default()
            .failure_statuses(vec![401])
            .neutral_statuses(vec![403]);
        assert_eq!(decide(&rules, 403, &[]), Outcome::Neutral);
        assert_eq!(decide(&rules, 401, &[]), Outcome::Failure);
        // Without the rule, a 403 not listed as a failure still counts.
        let rules = OutcomeRules::default().failure_statuses(vec![401]);
        assert_eq!(decide(&rules, 403, &[]), Outcome::Failure);
    }

    #[test]
    fn a_redirect_back_to_the_login_path_is_a_failure() {
        let rules = OutcomeRules::default();
        for location in [
            "/login",
            "/login?error=1",
            "/login/",
            "/login#form",
            "login?next=%2F",
            "./login",
            "/app/../login",
            "https://example.com/login?error=1",
            "http://other.example:8080/login",
            "//example.com/login",
            "/auth/login?error=1",
        ] {
            assert_eq!(redirect(&rules, location), Outcome::Failure, "{location}");
        }
        for location in [
            "/",
            "/dashboard",
            "/login-help",
            "/logins",
            "https://example.com/",
            "https://login.example.com/",
            "/?next=/login",
            "/account#login",
        ] {
            assert_eq!(redirect(&rules, location), Outcome::Success, "{location}");
        }
        // The rule is for redirects only: a 201 naming the path is no redirect.
        assert_eq!(
            decide(&rules, 201, &[("location", "/login")]),
            Outcome::Success
        );
    }

    #[test]
    fn a_login_at_the_root_is_matched_exactly() {
        let rules = OutcomeRules::default();
        let h = headers(&[("location", "/?error=1")]);
        let res = LoginResponse::new("/", StatusCode::FOUND, &h);
        assert_eq!(rules.decide(&res), Outcome::Failure);
        let h = headers(&[("location", "/home/")]);
        let res = LoginResponse::new("/", StatusCode::FOUND, &h);
        assert_eq!(rules.decide(&res), Outcome::Success);
    }

    #[test]
    fn failure_location_matches_a_pattern() {
        let rules = OutcomeRules::default().failure_location(Some("*/signin?*failed*".into()));
        assert_eq!(
            redirect(&rules, "https://example.com/signin?reason=failed"),
            Outcome::Failure
        );
        assert_eq!(
            redirect(&rules, "https://example.com/signin?next=/"),
            Outcome::Success
        );
        assert_eq!(redirect(&rules, "/home"), Outcome::Success);
    }

    #[test]
    fn bad_requests_overload_and_server_errors_are_neutral() {
        let rules = OutcomeRules::default().failure_body_text(Some("error".into()));
        for status in [400, 429, 500, 502, 503] {
            let h = HeaderMap::new();
            let res = LoginResponse::new("/login", StatusCode::from_u16(status).unwrap(), &h)
                .body_start(b"internal error");
            assert_eq!(rules.decide(&res), Outcome::Neutral, "{status}");
        }
    }

    #[test]
    fn failure_body_text_is_looked_for_in_the_first_bytes_only() {
        let rules = OutcomeRules::default().failure_body_text(Some("Wrong password".into()));
        assert!(rules.reads_body());
        assert!(!OutcomeRules::default().reads_body());
        let h = HeaderMap::new();
        let decide = |body: &[u8]| {
            rules.decide(&LoginResponse::new("/login", StatusCode::OK, &h).body_start(body))
        };
        assert_eq!(decide(b"<p>Wrong password</p>"), Outcome::Failure);
        assert_eq!(decide(b"<p>Welcome back</p>"), Outcome::Success);
        let mut late = vec![b' '; BODY_SNIFF_LIMIT];
        late.extend_from_slice(b"Wrong password");
        assert_eq!(decide(&late), Outcome::Success);
        let mut straddling = vec![b' '; BODY_SNIFF_LIMIT - 5];
        straddling.extend_from_slice(b"Wrong password");
        assert_eq!(decide(&straddling), Outcome::Success);
        let mut within = vec![b' '; BODY_SNIFF_LIMIT - 14];
        within.extend_from_slice(b"Wrong password");
        assert_eq!(decide(&within), Outcome::Failure);
    }

    #[test]
    fn other_client_errors_are_failures() {
        let rules = OutcomeRules::default();
        for status in [404, 405, 409, 415] {
            assert_eq!(decide(&rules, status, &[]), Outcome::Failure, "{status}");
        }
    }

    #[test]
    fn success_cookie_is_required_when_set() {
        let rules = OutcomeRules::default().success_cookie(Some("session_*".into()));
        assert_eq!(decide(&rules, 200, &[]), Outcome::Failure);
        assert_eq!(
            decide(&rules, 303, &[("set-cookie", "csrf=1"), ("location", "/")]),
            Outcome::Failure
        );
        assert_eq!(
            decide(
                &rules,
                303,
                &[
                    ("set-cookie", "csrf=1"),
                    ("set-cookie", "session_id=abc; HttpOnly; Path=/"),
                    ("location", "/")
                ]
            ),
            Outcome::Success
        );
        // Deleting the cookie is no login.
        for deleted in [
            "session_id=; Path=/",
            "session_id=\"\"",
            "session_id=x; Max-Age=0",
            "session_id=x; max-age=-1",
        ] {
            let mut h = HeaderMap::new();
            h.insert("set-cookie", HeaderValue::from_str(deleted).unwrap());
            let res = LoginResponse::new("/login", StatusCode::OK, &h);
            assert_eq!(rules.decide(&res), Outcome::Failure, "{deleted}");
        }
        // Failure statuses still fail, cookie or not.
        assert_eq!(
            decide(&rules, 401, &[("set-cookie", "session_id=abc")]),
            Outcome::Failure
        );
    }

    #[test]
    fn success_statuses_narrow_the_successes() {
        let rules = OutcomeRules::default().success_statuses(vec![204]);
        assert_eq!(decide(&rules, 204, &[]), Outcome::Success);
        assert_eq!(decide(&rules, 200, &[]), Outcome::Failure);
        assert_eq!(redirect(&rules, "/"), Outcome::Failure);
        assert_eq!(decide(&rules, 500, &[]), Outcome::Neutral);
    }

    #[test]
    fn other_2xx_and_3xx_are_successes() {
        let rules = OutcomeRules::default();
        for status in [200, 201, 204, 302] {
            assert_eq!(decide(&rules, status, &[]), Outcome::Success, "{status}");
        }
    }

    #[test]
    fn the_policy_settings_become_the_rules() {
        let policy = Policy::builder()
            .failure_statuses(vec![401])
            .success_statuses(vec![200])
            .failure_location(Some("/oops*".into()))
            .success_cookie(Some("sid".into()))
            .failure_body_text(Some("nope".into()))
            .build()
            .unwrap();
        let rules = OutcomeRules::from_policy(&policy);
        assert_eq!(rules.failure_statuses, [401]);
        assert_eq!(rules.success_statuses, [200]);
        assert_eq!(rules.failure_location.as_deref(), Some("/oops*"));
        assert_eq!(rules.success_cookie.as_deref(), Some("sid"));
        assert_eq!(rules.failure_body_text.as_deref(), Some("nope"));
        assert_eq!(decide(&rules, 403, &[]), Outcome::Failure);
    }

    #[test]
    fn globs() {
        assert!(glob_match("abc", "abc"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*", "a"));
        assert!(glob_match("a*c", "abbbc"));
        assert!(glob_match("*b*b*", "abxxbx"));
        assert!(!glob_match("a*c", "abcd"));
        assert!(glob_match(
            "wordpress_logged_in_*",
            "wordpress_logged_in_3f2a"
        ));
        assert!(!glob_match(
            "wordpress_logged_in_*",
            "wordpress_test_cookie"
        ));
    }
}

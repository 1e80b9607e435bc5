//! Login paths as the upstream app will route them: one normal form per
//! path, so that `/Accounts//%6Cogin/` is guarded like `/accounts/login/`.

/// The form a request path is compared in: percent-decoded once (as a
/// WSGI, Rack or PHP server decodes it), `\` read as `/`, `;` parameters
/// dropped, empty and `.` segments removed, `..` resolved, no trailing
/// `/`, lower case. Two paths an app might route to the same view get the
/// same form; over-matching only guards more, never less.
///
/// ```
/// use loginguard_proxy::normal_path;
///
/// assert_eq!(normal_path("/accounts/login/"), "/accounts/login");
/// assert_eq!(normal_path("/Accounts//%6Cogin/./"), "/accounts/login");
/// assert_eq!(normal_path("/static/../accounts/login;jsessionid=1"), "/accounts/login");
/// ```
pub fn normal_path(path: &str) -> String {
    if let Some(plain) = already_normal(path) {
        return plain.to_owned();
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut segments: Vec<String> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        let segment = segment.split(';').next().unwrap_or_default();
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s.to_lowercase()),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `path` without its one trailing `/` when nothing else in it would
/// change: the common case, answered without decoding.
pub(crate) fn already_normal(path: &str) -> Option<&str> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return None;
    }
    // One pass: every byte plain, and no empty, `.` or `..` segment but a
    // trailing empty one.
    let dots = |segment: &[u8]| segment == b"." || segment == b"..";
    let mut segment_start = 1;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        if matches!(b, b'%' | b'\\' | b';' | b'A'..=b'Z') || !b.is_ascii() || b.is_ascii_control() {
            return None;
        }
        if b == b'/' {
            let segment = &bytes[segment_start..i];
            if segment.is_empty() || dots(segment) {
                return None;
            }
            segment_start = i + 1;
        }
    }
    if dots(&bytes[segment_start..]) {
        return None;
    }
    Some(match path.strip_suffix('/') {
        Some("") | None => path,
        Some(trimmed) => trimmed,
    })
}

#[cfg(test)]
mod tests {
    use super::normal_path;

    #[test]
    fn variants_an_app_routes_alike_match() {
        let login = normal_path("/accounts/login/");
        for variant in [
            "/accounts/login",
            "/accounts/login/",
            "//accounts///login",
            "/ACCOUNTS/Login/",
            "/accounts/%6c%6F%67in/",
            "/accounts/./login/",
            "/x/../accounts/login",
            "\\accounts\\login",
            "/accounts/login;a=b",
        ] {
            assert_eq!(normal_path(variant), login, "{variant}");
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_one() {
        for p in [
            "/",
            "/accounts/login/",
            "/a/b",
            "/a.b/c-d_e",
            "/x/",
            "/Accounts/",
            "/a//b",
            "/a/./b",
            "/%41",
        ] {
            if let Some(fast) = super::already_normal(p) {
                let mut slow = p.to_owned();
                // The full form, computed without the fast path.
                slow = super::normal_path(&format!("{slow}/%2E"));
                assert_eq!(fast, slow, "{p}");
            }
        }
        for not_plain in [
            "/Accounts/",
            "/a//b",
            "//a",
            "/a/./b",
            "/a/..",
            "/.",
            "/a;b",
            "a",
        ] {
            assert_eq!(super::already_normal(not_plain), None, "{not_plain}");
        }
        assert_eq!(super::already_normal("/a/b/"), Some("/a/b"));
    }

    #[test]
    fn other_paths_do_not_match() {
        let login = normal_path("/accounts/login/");
        for other in ["/accounts/logout/", "/accounts/login/x", "/", "/accounts"] {
            assert_ne!(normal_path(other), login, "{other}");
        }
        assert_eq!(normal_path(""), "/");
        assert_eq!(normal_path("/%ff%fe"), "/\u{fffd}\u{fffd}");
    }
}

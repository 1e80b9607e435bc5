//! Facts about a request the handlers need: the mount path the router
//! serves under.

use axum::extract::NestedPath;
use axum::http::request::Parts;

use crate::state::AdminState;

/// The mount path without a trailing slash (`""` at the root, `/admin`
/// when nested there): the configured one, else axum's `NestedPath`.
pub(crate) fn base_path(state: &AdminState, parts: &Parts) -> String {
    if let Some(base) = state.base_path() {
        return base.to_owned();
    }
    parts
        .extensions
        .get::<NestedPath>()
        .map(|p| p.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// `base` joined with an absolute `path` inside the UI (`"/"` gives the
/// dashboard).
pub(crate) fn url(base: &str, path: &str) -> String {
    match (base.is_empty(), path) {
        (true, _) => path.to_owned(),
        (false, "/") => base.to_owned(),
        (false, _) => format!("{base}{path}"),
    }
}

/// The `Path` attribute of the session cookie.
pub(crate) fn cookie_path(base: &str) -> &str {
    if base.is_empty() {
        "/"
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_mount() {
        assert_eq!(url("", "/"), "/");
        assert_eq!(url("", "/locked"), "/locked");
        assert_eq!(url("/admin", "/"), "/admin");
        assert_eq!(url("/admin", "/locked"), "/admin/locked");
        assert_eq!(cookie_path(""), "/");
        assert_eq!(cookie_path("/ops/admin"), "/ops/admin");
    }
}

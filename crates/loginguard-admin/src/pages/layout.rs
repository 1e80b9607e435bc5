//! The page frame (head, navigation, sign-out form), the stylesheet, the
//! message pages, security headers and the formatting of times.

use std::time::SystemTime;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::ctx::url;

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Dashboard,
    Locked,
    Failures,
    Access,
    Policy,
}

const NAV: [(Nav, &str, &str); 5] = [
    (Nav::Dashboard, "/", "Dashboard"),
    (Nav::Locked, "/locked", "Locked"),
    (Nav::Failures, "/failures", "Failures"),
    (Nav::Access, "/access", "Access log"),
    (Nav::Policy, "/policy", "Policy"),
];

/// A full page: `current` and `csrf` are given for signed-in pages (the
/// navigation and the sign-out form need them).
pub(crate) fn page(
    base: &str,
    title: &str,
    signed_in: Option<(Nav, &str)>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · loginguard admin" }
                link rel="stylesheet" href=(url(base, "/style.css"));
            }
            body {
                header {
                    a.brand href=(url(base, "/")) { "loginguard" span { " admin" } }
                    @if let Some((current, csrf)) = signed_in {
                        nav {
                            @for (item, path, label) in NAV {
                                @if item == current {
                                    a.current href=(url(base, path)) aria-current="page" { (label) }
                                } @else {
                                    a href=(url(base, path)) { (label) }
                                }
                            }
                            form.inline method="post" action=(url(base, "/signout")) {
                                input type="hidden" name="csrf" value=(csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// An HTML response with `status`.
pub(crate) fn html_response(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// A page with a title and one paragraph, outside the signed-in frame.
pub(crate) fn message_page(status: StatusCode, base: &str, title: &str, text: &str) -> Response {
    html_response(
        status,
        page(
            base,
            title,
            None,
            html! { p { (text) } p { a href=(url(base, "/")) { "Back to the dashboard" } } },
        ),
    )
}

/// The page every request gets while no admin password is configured.
pub(crate) fn closed_page(base: &str) -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        page(
            base,
            "Admin UI closed",
            None,
            html! {
                p { "No admin password is configured, so the admin UI is closed." }
                p {
                    "To open it, run " code { "loginguard admin --hash-password" }
                    ", type a password, and put the printed hash in "
                    code { "admin_password_hash" } " (loginguard.toml) or "
                    code { "LOGINGUARD_ADMIN_PASSWORD_HASH" } ", then restart."
                }
            },
        ),
    )
}

/// `GET style.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// Adds headers that keep pages out of frames, caches and referrers.
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
    response
}

/// A time as `2030-01-01 12:00:00 UTC`.
pub(crate) fn when(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(t).to_string();
    format!("{} UTC", s.trim_end_matches('Z').replacen('T', " ", 1))
}

/// Time left until `until` in words; `until reset` for a lock without end.
pub(crate) fn time_left(until: Option<SystemTime>, now: SystemTime) -> String {
    match until {
        None => "until reset".to_owned(),
        Some(u) => match u.duration_since(now) {
            Ok(d) => loginguard_core::policy::format_wait(d),
            Err(_) => "ending now".to_owned(),
        },
    }
}

/// Shows an optional value, or a dash.
pub(crate) fn or_dash(v: Option<&str>) -> &str {
    match v {
        Some(s) if !s.is_empty() => s,
        _ => "–",
    }
}

const STYLE: &str = r#"
:root { --fg: #1d2433; --muted: #5b6475; --line: #dde1e8; --bg: #f6f7f9; --card: #fff;
  --accent: #2450b2; --danger: #b3261e; --ok: #1e7b34; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .75rem 1rem;
  background: #1d2433; color: #fff; }
header a { color: #fff; text-decoration: none; }
.brand { font-weight: 700; font-size: 1.1rem; }
.brand span { font-weight: 400; opacity: .7; }
nav { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem .9rem; }
nav a { opacity: .8; padding: .2rem 0; }
nav a.current, nav a:hover { opacity: 1; border-bottom: 2px solid #8fb0ff; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .25rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
a { color: var(--accent); }
code { background: #eceff4; padding: 0 .25rem; border-radius: 3px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; }
a.card { text-decoration: none; color: inherit; }
a.card:hover { border-color: var(--accent); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
.card .n { font-size: 2rem; font-weight: 700; display: block; }
.card .label { color: var(--muted); }
.card.alert .n { color: var(--danger); }
.panel h2 { margin-top: 0; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin-top: .75rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { width: 100%; border-collapse: collapse; background: var(--card); font-size: .92rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f6; font-weight: 600; white-space: nowrap; }
/* Addresses, usernames, paths and times stay whole (no break inside them);
   other text wraps between words; a table too wide scrolls sideways. */
td.whole { white-space: nowrap; }
.muted { color: var(--muted); }
.tag { display: inline-block; padding: 0 .4rem; border-radius: 3px; background: #fde7e5; color: var(--danger); font-size: .8rem; }
form.inline { display: inline; margin: 0; }
form.search { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .75rem; }
label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
input[type=text], input[type=password], input[type=search] { font: inherit; padding: .45rem .55rem; border: 1px solid #b9c0cc;
  border-radius: 5px; min-width: 12rem; }
button { font: inherit; padding: .45rem .9rem; border-radius: 5px; border: 1px solid var(--accent); background: var(--accent);
  color: #fff; cursor: pointer; }
button.danger { background: var(--danger); border-color: var(--danger); }
button.secondary { background: #fff; color: var(--accent); }
button.link { background: none; border: none; color: #fff; opacity: .8; padding: .2rem 0; }
.pager { display: flex; gap: 1rem; align-items: center; margin-top: .75rem; }
.notice { background: #e6f4ea; border: 1px solid #b7dfc2; color: var(--ok); padding: .5rem .8rem; border-radius: 6px; }
.error { background: #fde7e5; border: 1px solid #f3b8b2; color: var(--danger); padding: .5rem .8rem; border-radius: 6px; }
.signin { max-width: 22rem; }
.signin form { display: flex; flex-direction: column; gap: .75rem; }
figure.chart { margin: .25rem 0 0; }
figure.chart .plot { position: relative; border-left: 1px solid var(--line); }
figure.chart svg { width: 100%; height: 10rem; display: block; }
figure.chart .bar { fill: #d9534f; }
figure.chart .grid { stroke: #dde1e8; stroke-width: 1; }
figure.chart .y { position: absolute; left: .3rem; font-size: .75rem; color: var(--muted); line-height: 1; }
figure.chart .y.top { top: .15rem; }
figure.chart .y.mid { top: calc(50% - .9rem); }
figure.chart .axis { display: flex; justify-content: space-between; font-size: .8rem; color: var(--muted); margin-top: .2rem; }
dl.policy { display: grid; grid-template-columns: minmax(10rem, max-content) 1fr; gap: .3rem 1rem; margin: 0; }
dl.policy dt { font-family: ui-monospace, monospace; font-size: .88rem; }
dl.policy dd { margin: 0; word-break: break-word; }
@media (max-width: 40rem) {
  main { padding: .6rem; }
  th, td { padding: .35rem .4rem; }
  dl.policy { grid-template-columns: 1fr; }
  dl.policy dd { margin-bottom: .4rem; }
  input[type=text], input[type=password], input[type=search] { min-width: 0; width: 100%; }
  form.search label { flex: 1 1 100%; }
}
"#;

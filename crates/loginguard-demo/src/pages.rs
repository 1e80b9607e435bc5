//! The demo's HTML pages: home, login form, welcome, and the pages for a
//! refused login or a request gone wrong, all in one look.

use std::time::{Duration, SystemTime};

use loginguard_core::policy::format_wait;
use loginguard_core::{LockReason, Lockout};

const SITE: &str = "loginguard demo";

const STYLE: &str =
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}\
label{display:block;margin:.6rem 0}input{width:100%;padding:.4rem;box-sizing:border-box}\
button{margin-top:.8rem;padding:.4rem 1rem}.error{color:#a00}";

/// The link every page that is not the form carries back to it.
const BACK_TO_FORM: &str = "<p><a href=\"/login\">Back to the login form</a></p>";

fn layout(title: &str, body: &str) -> String {
    let head_title = if title == SITE {
        SITE.to_owned()
    } else {
        format!("{title} · {SITE}")
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{head_title}</title><style>{STYLE}</style></head>\n\
         <body><main><h1>{title}</h1>\n{body}</main></body></html>\n"
    )
}

/// `GET /`: who is logged in.
pub(crate) fn home(user: Option<&str>) -> String {
    let body = match user {
        Some(name) => format!(
            "<p>Logged in as <strong>{}</strong>.</p>\
             <form method=\"post\" action=\"/logout\"><button>Log out</button></form>",
            escape(name)
        ),
        None => "<p>Not logged in. <a href=\"/login\">Log in</a></p>".to_owned(),
    };
    layout(SITE, &body)
}

/// `GET /login`, or the form again after a wrong password.
pub(crate) fn login_form(error: Option<&str>, user: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(name) = user {
        body.push_str(&format!(
            "<p>Logged in as <strong>{}</strong>.</p>",
            escape(name)
        ));
    }
    if let Some(error) = error {
        body.push_str(&format!("<p class=\"error\">{}</p>", escape(error)));
    }
    body.push_str(
        "<form method=\"post\" action=\"/login\">\
         <label>Username <input name=\"username\" autocomplete=\"username\" required autofocus></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button>Log in</button></form>",
    );
    layout("Log in", &body)
}

/// After a successful login.
pub(crate) fn welcome(user: &str) -> String {
    layout(
        "Welcome",
        &format!(
            "<p>Logged in as <strong>{}</strong>. <a href=\"/\">Home</a></p>",
            escape(user)
        ),
    )
}

/// The page for a refused login: the policy's message, when to come back
/// (or whom to ask) and the way back to the form. It depends on the lock
/// alone, never on the username, so existing and unknown users see the
/// same page.
pub(crate) fn refused(lockout: &Lockout) -> String {
    if lockout.reason == LockReason::StoreUnavailable {
        return problem(
            "Login temporarily unavailable",
            "The site cannot check logins right now.",
            &format!(
                "Please try again in {}.",
                format_wait(Duration::from_secs(
                    loginguard_axum::UNAVAILABLE_RETRY_AFTER_SECS
                ))
            ),
        );
    }
    let come_back = match (lockout.retry_after, lockout.until) {
        (Some(wait), Some(until)) => format!(
            "You can log in again in {} (at {}).",
            format_wait(wait),
            utc_minute(until)
        ),
        (Some(wait), None) => format!("You can log in again in {}.", format_wait(wait)),
        _ => "This lock does not end by itself: only the site's administrator can lift it."
            .to_owned(),
    };
    problem("Too many login attempts", &lockout.message, &come_back)
}

/// A page for a request that went wrong: what happened, what to do, and the
/// way back to the form.
pub(crate) fn problem(title: &str, what: &str, what_to_do: &str) -> String {
    layout(
        title,
        &format!(
            "<p class=\"error\">{}</p><p>{}</p>{BACK_TO_FORM}",
            escape(what),
            escape(what_to_do)
        ),
    )
}

/// `2026-11-28 11:23 UTC`.
fn utc_minute(t: SystemTime) -> String {
    // `2026-11-28T11:23:42Z`: keep the date, the hour and the minute.
    let stamp = humantime::format_rfc3339_seconds(t).to_string();
    let (date, time) = stamp.split_once('T').unwrap_or((&stamp, ""));
    format!("{date} {} UTC", time.get(..5).unwrap_or(time))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_utc_dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_865_022);
        assert_eq!(utc_minute(t), "2026-11-28 11:23 UTC");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_minute(leap), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn the_home_page_title_names_the_site_once() {
        assert!(home(None).contains("<title>loginguard demo</title>"));
        assert!(login_form(None, None).contains("<title>Log in · loginguard demo</title>"));
    }

    #[test]
    fn names_are_escaped() {
        assert!(home(Some("<script>")).contains("&lt;script&gt;"));
        assert!(!home(Some("<script>")).contains("<script>"));
    }
}

//! The demo's HTML pages.

const STYLE: &str =
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}\
label{display:block;margin:.6rem 0}input{width:100%;padding:.4rem;box-sizing:border-box}\
button{margin-top:.8rem;padding:.4rem 1rem}.error{color:#a00}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · loginguard demo</title><style>{STYLE}</style></head>\n\
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
    layout("loginguard demo", &body)
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
    fn names_are_escaped() {
        assert!(home(Some("<script>")).contains("&lt;script&gt;"));
        assert!(!home(Some("<script>")).contains("<script>"));
    }
}

//! The sign-in page.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use crate::ctx::url;
use crate::pages::layout;

/// The sign-in form with an optional message (wrong password, locked out).
pub(crate) fn page(status: StatusCode, base: &str, message: Option<&str>) -> Response {
    layout::html_response(
        status,
        layout::page(
            base,
            "Sign in",
            None,
            html! {
                div.signin {
                    @if let Some(m) = message {
                        p.error role="alert" { (m) }
                    }
                    form method="post" action=(url(base, "/signin")) {
                        label {
                            "Admin password"
                            input type="password" name="password" autocomplete="current-password" required autofocus;
                        }
                        button type="submit" { "Sign in" }
                    }
                }
            },
        ),
    )
}

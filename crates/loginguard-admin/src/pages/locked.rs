//! Locked keys with the time left on each lock, an Unlock button each, and
//! "unlock all".
//!
//! Unlocking a key clears every record matching a [`KeyFilter`] built from
//! its scope, IP and username — as `loginguard reset --ip .. --username ..`
//! does — so the person behind it is let back in on every criterion.

use std::time::SystemTime;

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use loginguard_core::{Key, KeyFilter, KeyStatus, ListQuery};
use maud::{html, Markup};
use serde::Deserialize;

use crate::auth::Admin;
use crate::ctx::url;
use crate::pages::layout::{self, or_dash, time_left, when, Nav};
use crate::pages::store_error;
use crate::state::AdminState;

/// Most keys listed on the page.
const LIST_CAP: usize = 500;

/// The page's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LockedQuery {
    /// Records cleared by the last unlock (shown as a notice).
    cleared: Option<u64>,
}

/// `GET locked`.
pub(crate) async fn page(
    State(state): State<AdminState>,
    admin: Admin,
    Query(query): Query<LockedQuery>,
) -> Response {
    let now = state.now();
    let keys = match state
        .store()
        .list(&ListQuery::all().locked_only(true).limit(LIST_CAP), now)
        .await
    {
        Ok(k) => k,
        Err(e) => return store_error(&admin.base, &e),
    };
    let base = &admin.base;
    let cleared = query.cleared;
    let body = html! {
        @if let Some(n) = cleared {
            p.notice role="status" { "Unlocked: " (n) " record" @if n != 1 { "s" } " cleared." }
        }
        @if keys.is_empty() {
            p { "No key is locked." }
        } @else {
            p.muted {
                (keys.len()) @if keys.len() >= LIST_CAP { "+" } " locked key"
                @if keys.len() != 1 { "s" } ", most recent attempt first."
            }
            (table(base, &admin.csrf, &keys, now))
            form.inline method="post" action=(url(base, "/unlock-all")) {
                input type="hidden" name="csrf" value=(admin.csrf);
                p { button.danger type="submit" { "Unlock all" } }
            }
        }
    };
    layout::html_response(
        StatusCode::OK,
        layout::page(base, "Locked keys", Some((Nav::Locked, &admin.csrf)), body),
    )
}

/// The table of `keys`, each with an Unlock button.
pub(crate) fn table(base: &str, csrf: &str, keys: &[KeyStatus], now: SystemTime) -> Markup {
    html! {
        div.scroll {
            table.locked {
                thead { tr {
                    th { "Scope" } th { "IP" } th { "Username" } th { "User agent" }
                    th { "Failures" } th { "Refused since lock" } th { "Time left" } th { "Last attempt" } th {}
                } }
                tbody {
                    @for k in keys {
                        tr data-key=(k.key.id()) {
                            td { (k.key.scope()) }
                            td.whole.ip { (or_dash(k.key.ip())) }
                            td.whole.username {
                                @if k.key.is_spray() { span.muted { "a sprayed password" } }
                                @else { (or_dash(k.key.username())) }
                            }
                            td { (or_dash(k.key.user_agent())) }
                            td { (k.failures) @if k.lock_count > 1 { " " span.muted { "(lock " (k.lock_count) ")" } } }
                            td.refused { (k.refused) }
                            td { (time_left(k.locked_until, now)) }
                            td { (when(k.last_attempt)) }
                            td {
                                form.inline method="post" action=(url(base, "/unlock")) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="key" value=(k.key.id());
                                    button.secondary type="submit" { "Unlock" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The Unlock form.
#[derive(Debug, Deserialize)]
pub(crate) struct UnlockForm {
    csrf: Option<String>,
    key: Option<String>,
}

/// The filter that unlocks `key`: its scope, IP and username. `None` for a
/// key with neither (a user-agent-only key), which no filter singles out.
pub(crate) fn filter_for(key: &Key) -> Option<KeyFilter> {
    if key.is_spray() {
        return Some(KeyFilter::all().scope(key.scope()).sprayed());
    }
    if key.ip().is_none() && key.username().is_none() {
        return None;
    }
    let mut filter = KeyFilter::all().scope(key.scope());
    if let Some(ip) = key.ip() {
        filter = filter.ip(ip);
    }
    if let Some(username) = key.username() {
        filter = filter.username(username);
    }
    Some(filter)
}

/// `POST unlock`: clears one key (CSRF-checked).
pub(crate) async fn unlock(
    State(state): State<AdminState>,
    admin: Admin,
    form: Result<Form<UnlockForm>, FormRejection>,
) -> Response {
    let form = form.ok().map(|Form(f)| f);
    if let Some(refused) = admin.csrf_refusal(form.as_ref().and_then(|f| f.csrf.as_deref())) {
        return refused;
    }
    let key = form.and_then(|f| f.key).and_then(|id| Key::parse(&id).ok());
    let Some(key) = key else {
        return layout::message_page(
            StatusCode::BAD_REQUEST,
            &admin.base,
            "Nothing to unlock",
            "The form did not name a valid key.",
        );
    };
    let Some(filter) = filter_for(&key) else {
        return layout::message_page(
            StatusCode::BAD_REQUEST,
            &admin.base,
            "Cannot unlock this key alone",
            "A key made of the user agent only cannot be singled out: use Unlock all, or `loginguard reset --scope`.",
        );
    };
    reset(&state, &admin, &filter).await
}

/// `POST unlock-all`: clears every key (CSRF-checked).
pub(crate) async fn unlock_all(
    State(state): State<AdminState>,
    admin: Admin,
    form: Result<Form<crate::auth::CsrfForm>, FormRejection>,
) -> Response {
    let token = form.as_ref().ok().and_then(|Form(f)| f.csrf.as_deref());
    if let Some(refused) = admin.csrf_refusal(token) {
        return refused;
    }
    reset(&state, &admin, &KeyFilter::all()).await
}

async fn reset(state: &AdminState, admin: &Admin, filter: &KeyFilter) -> Response {
    match state.signin_guard().reset(filter).await {
        Ok(n) => {
            tracing::info!(target: "loginguard::admin", ?filter, cleared = n, "unlocked from the admin UI");
            Redirect::to(&format!("{}?cleared={n}", url(&admin.base, "/locked"))).into_response()
        }
        Err(e) => store_error(&admin.base, &e),
    }
}

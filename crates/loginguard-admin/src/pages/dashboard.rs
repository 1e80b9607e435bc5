//! The dashboard: locked keys now, failures in the last hour and their
//! per-minute chart, users' logins apart from admin sign-ins, the latest
//! failures.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use loginguard_core::{AuditEntry, AuditKind, ListQuery, LogQuery, StoreError};
use maud::{html, Markup};

use crate::auth::Admin;
use crate::chart;
use crate::ctx::url;
use crate::pages::layout::{self, Nav};
use crate::pages::{locked, logs, store_error};
use crate::state::AdminState;

/// Most locked keys counted on the dashboard.
const LOCKED_CAP: usize = 10_000;
/// Most failure-log entries read for the chart.
const FAILURE_CAP: usize = 100_000;

struct LastHour {
    failures: Vec<AuditEntry>,
    /// Successful logins to the application (every scope but the admin UI's).
    logins: usize,
    /// Successful sign-ins to this admin UI (and its API's scope).
    admin_signins: usize,
}

/// `GET /`: the dashboard.
pub(crate) async fn page(State(state): State<AdminState>, admin: Admin) -> Response {
    let now = state.now();
    let locked = match state
        .store()
        .list(&ListQuery::all().locked_only(true).limit(LOCKED_CAP), now)
        .await
    {
        Ok(l) => l,
        Err(e) => return store_error(&admin.base, &e),
    };
    let hour = match last_hour(&state).await {
        Ok(h) => h,
        Err(e) => return store_error(&admin.base, &e),
    };
    let base = &admin.base;
    let locked_count = if locked.len() >= LOCKED_CAP {
        format!("{LOCKED_CAP}+")
    } else {
        locked.len().to_string()
    };
    let body = html! {
        div.cards {
            a.card.alert[!locked.is_empty()] href=(url(base, "/locked")) {
                span.n id="locked-count" { (locked_count) }
                span.label { "locked now" }
            }
            @if let Some(h) = &hour {
                a.card href=(url(base, "/failures")) {
                    span.n id="failures-hour" { (h.failures.len()) }
                    span.label { "failures in the last hour" }
                }
                a.card href=(url(base, "/access")) {
                    span.n id="logins-hour" { (h.logins) }
                    span.label { "logins in the last hour" }
                }
                a.card href=(url(base, "/access")) {
                    span.n id="admin-signins-hour" { (h.admin_signins) }
                    span.label { "admin sign-ins in the last hour" }
                }
            }
        }
        @match &hour {
            Some(h) => {
                section.panel {
                    h2 { "Failures per minute, last hour" }
                    (chart::svg(&chart::per_minute(h.failures.iter().map(|e| e.time), now)))
                }
            }
            None => {
                p.panel.muted { (logs::NO_AUDIT) }
            }
        }
        @if !locked.is_empty() {
            h2 { "Locked now" }
            (locked::table(base, &admin.csrf, &locked[..locked.len().min(5)], now))
            @if locked.len() > 5 {
                p { a href=(url(base, "/locked")) { "All " (locked_count) " locked keys" } }
            }
        }
        @if let Some(h) = &hour {
            @if !h.failures.is_empty() {
                h2 { "Latest failures" }
                (logs::table(&h.failures[..h.failures.len().min(10)]))
            }
        }
    };
    layout::html_response(StatusCode::OK, frame(base, &admin.csrf, body))
}

fn frame(base: &str, csrf: &str, body: Markup) -> Markup {
    layout::page(base, "Dashboard", Some((Nav::Dashboard, csrf)), body)
}

/// The last hour of the audit trail; `None` when the store keeps none.
async fn last_hour(state: &AdminState) -> Result<Option<LastHour>, StoreError> {
    let Some(log) = state.store().audit() else {
        return Ok(None);
    };
    let since = state.now() - Duration::from_secs(3600);
    let failures = log
        .query(
            &LogQuery::all()
                .kind(AuditKind::Failure)
                .since(since)
                .limit(FAILURE_CAP),
        )
        .await?;
    let successes = log
        .query(
            &LogQuery::all()
                .kind(AuditKind::Success)
                .since(since)
                .limit(FAILURE_CAP),
        )
        .await?;
    let admin_scopes = [
        state.signin_guard().policy().scope.as_str(),
        state.api_guard().policy().scope.as_str(),
    ];
    let admin_signins = successes
        .iter()
        .filter(|e| admin_scopes.contains(&e.scope.as_str()))
        .count();
    Ok(Some(LastHour {
        failures,
        logins: successes.len() - admin_signins,
        admin_signins,
    }))
}

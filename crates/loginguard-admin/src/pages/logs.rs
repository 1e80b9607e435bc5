//! The failure log and the access log, searchable by IP and username, in
//! pages.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use loginguard_core::{AuditEntry, AuditKind, LogQuery};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use crate::auth::Admin;
use crate::ctx::url;
use crate::pages::layout::{self, or_dash, when, Nav};
use crate::pages::store_error;
use crate::state::AdminState;

/// Said wherever the audit trail would be shown but the store has none.
pub(crate) const NO_AUDIT: &str =
    "This store keeps no audit log, so there is no failure or access log to show.";

/// Highest page number accepted.
const MAX_PAGE: usize = 1_000_000;

/// The search form and paging of a log page.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub(crate) struct LogSearch {
    /// Only this IP (exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ip: Option<String>,
    /// Only this username (exact, normalised as the guard stores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) username: Option<String>,
    /// 1-based page number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) page: Option<usize>,
}

impl LogSearch {
    /// Trims the terms and normalises the username as the guard stored it
    /// (so a case-insensitive policy finds `Alice` as `alice`).
    fn clean(mut self, policy: &loginguard_core::Policy) -> LogSearch {
        let tidy = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        self.ip = tidy(self.ip);
        self.username = tidy(self.username).map(|u| policy.normalize_username(&u).unwrap_or(u));
        self.page = Some(self.page.unwrap_or(1).clamp(1, MAX_PAGE));
        self
    }

    fn page(&self) -> usize {
        self.page.unwrap_or(1)
    }

    /// The store query for this search: one entry more than a page, to
    /// know whether a next page exists.
    pub(crate) fn query(&self, kind: AuditKind, page_size: usize) -> LogQuery {
        let mut q = LogQuery::all()
            .kind(kind)
            .limit(page_size + 1)
            .offset((self.page() - 1).saturating_mul(page_size));
        if let Some(ip) = &self.ip {
            q = q.ip(ip.clone());
        }
        if let Some(u) = &self.username {
            q = q.username(u.clone());
        }
        q
    }

    fn link(&self, base: &str, path: &str, page: usize) -> String {
        let mut s = self.clone();
        s.page = Some(page);
        let qs = serde_urlencoded::to_string(&s).unwrap_or_default();
        format!("{}?{qs}", url(base, path))
    }
}

/// `GET failures`: the failure log.
pub(crate) async fn failures(
    State(state): State<AdminState>,
    admin: Admin,
    Query(search): Query<LogSearch>,
) -> Response {
    log_page(
        &state,
        &admin,
        search.clean(state.policy()),
        AuditKind::Failure,
    )
    .await
}

/// `GET access`: the access log (successful logins).
pub(crate) async fn access(
    State(state): State<AdminState>,
    admin: Admin,
    Query(search): Query<LogSearch>,
) -> Response {
    log_page(
        &state,
        &admin,
        search.clean(state.policy()),
        AuditKind::Success,
    )
    .await
}

async fn log_page(
    state: &AdminState,
    admin: &Admin,
    search: LogSearch,
    kind: AuditKind,
) -> Response {
    let (title, nav, path) = match kind {
        AuditKind::Failure => ("Failure log", Nav::Failures, "/failures"),
        AuditKind::Success => ("Access log", Nav::Access, "/access"),
    };
    let base = &admin.base;
    let frame = |body: Markup| {
        layout::html_response(
            StatusCode::OK,
            layout::page(base, title, Some((nav, &admin.csrf)), body),
        )
    };
    let Some(log) = state.store().audit() else {
        return frame(html! { p.panel.muted { (NO_AUDIT) } });
    };
    let size = state.page_size();
    let mut entries = match log.query(&search.query(kind, size)).await {
        Ok(e) => e,
        Err(e) => return store_error(base, &e),
    };
    let has_next = entries.len() > size;
    entries.truncate(size);
    let page = search.page();
    frame(html! {
        form.search method="get" action=(url(base, path)) {
            label { "IP" input type="search" name="ip" value=[search.ip.as_deref()] inputmode="text" autocomplete="off"; }
            label { "Username" input type="search" name="username" value=[search.username.as_deref()] autocomplete="off"; }
            button type="submit" { "Search" }
            @if search.ip.is_some() || search.username.is_some() {
                a href=(url(base, path)) { "Clear" }
            }
        }
        @if entries.is_empty() {
            p { @if page > 1 { "No more entries." } @else { "No entries." } }
        } @else {
            (table(&entries))
        }
        div.pager {
            @if page > 1 {
                a rel="prev" href=(search.link(base, path, page - 1)) { "← Newer" }
            }
            span.muted { "Page " (page) }
            @if has_next {
                a rel="next" href=(search.link(base, path, page + 1)) { "Older →" }
            }
        }
    })
}

/// A table of audit entries, newest first.
pub(crate) fn table(entries: &[AuditEntry]) -> Markup {
    html! {
        div.scroll {
            table.log {
                thead { tr {
                    th { "Time" } th { "Scope" } th { "IP" } th { "Username" }
                    th { "Request" } th { "User agent" }
                } }
                tbody {
                    @for e in entries {
                        tr {
                            td.whole { (when(e.time)) }
                            td { (e.scope) }
                            td.whole.ip { (or_dash(e.ip.as_deref())) }
                            td.whole.username {
                                (or_dash(e.username.as_deref()))
                                @if e.locked_out { " " span.tag { "refused: locked" } }
                            }
                            td.whole.request { (e.method) " " (e.path) }
                            td.muted { (or_dash(e.user_agent.as_deref())) }
                        }
                    }
                }
            }
        }
    }
}

//! The effective policy, read-only. Secrets (`admin_password_hash`,
//! `admin_token`) are not part of the policy and are only said to be set or
//! not.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde_json::Value;

use crate::auth::Admin;
use crate::pages::layout::{self, Nav};
use crate::state::AdminState;

/// The policy as `(setting, value in words)` pairs, in declaration order.
pub(crate) fn settings(policy: &loginguard_core::Policy) -> Vec<(String, String)> {
    match serde_json::to_value(policy) {
        Ok(Value::Object(map)) => map.into_iter().map(|(k, v)| (k, show(&v))).collect(),
        _ => Vec::new(),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "none".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "[]".to_owned(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `GET policy`.
pub(crate) async fn page(State(state): State<AdminState>, admin: Admin) -> Response {
    let store = match state.store().health().await {
        Ok(h) => h.description,
        Err(e) => format!("unavailable: {e}"),
    };
    let admin_policy = state.signin_guard().policy();
    let body = html! {
        p.muted { "The settings in force, from the configuration file and LOGINGUARD_* variables. Read-only." }
        section.panel {
            dl.policy {
                @for (k, v) in settings(state.policy()) {
                    dt { (k) } dd { (v) }
                }
            }
        }
        h2 { "Store and admin" }
        section.panel {
            dl.policy {
                dt { "store" } dd { (store) }
                dt { "admin_password_hash" } dd { @if state.is_open() { "set" } @else { "not set" } }
                dt { "admin_token" } dd { @if state.api_is_open() { "set (JSON API open)" } @else { "not set (JSON API closed)" } }
                dt { "admin sign-in" } dd {
                    "scope " code { (admin_policy.scope) } ", locked after "
                    (admin_policy.failure_limit) " wrong passwords per IP, for "
                    (admin_policy.cool_off.map_or_else(|| "until reset".to_owned(), loginguard_core::policy::format_wait))
                }
            }
        }
    };
    layout::html_response(
        StatusCode::OK,
        layout::page(
            &admin.base,
            "Policy",
            Some((Nav::Policy, &admin.csrf)),
            body,
        ),
    )
}

//! The JSON API: the same data and actions as the pages, for scripts.
//! Every route needs `Authorization: Bearer <admin_token>`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use loginguard_core::record::to_ms;
use loginguard_core::{AuditKind, Key, KeyFilter, ListQuery, LogQuery, StoreError};
use serde::{Deserialize, Serialize};

use crate::auth::{api_error, ApiCaller};
use crate::pages::locked::filter_for;
use crate::state::AdminState;

/// Most keys `GET api/locked` returns.
const LOCKED_CAP: usize = 10_000;
/// Most entries `GET api/logs` returns at once.
const LOGS_CAP: usize = 1_000;
/// Largest `offset` passed on to the store.
const MAX_OFFSET: usize = 1_000_000_000;

fn store_failed(e: &StoreError) -> Response {
    tracing::error!(target: "loginguard::admin", error = %loginguard_core::error_chain(e), "store failed");
    api_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        &e.to_string(),
    )
}

/// One locked key.
#[derive(Debug, Serialize)]
struct LockedKey {
    key: String,
    scope: String,
    ip: Option<String>,
    username: Option<String>,
    user_agent: Option<String>,
    failures: u32,
    /// Attempts refused since the lock was set.
    refused: u32,
    lock_count: u32,
    /// Unix milliseconds; `null`: until reset.
    locked_until: Option<i64>,
    /// Seconds left, rounded up; `null`: until reset.
    retry_after: Option<u64>,
    /// Unix milliseconds.
    last_attempt: i64,
}

/// `GET api/locked`: `{"locked": [...]}`.
pub(crate) async fn locked(State(state): State<AdminState>, _: ApiCaller) -> Response {
    let now = state.now();
    let keys = match state
        .store()
        .list(&ListQuery::all().locked_only(true).limit(LOCKED_CAP), now)
        .await
    {
        Ok(k) => k,
        Err(e) => return store_failed(&e),
    };
    let locked: Vec<LockedKey> = keys
        .iter()
        .map(|k| LockedKey {
            key: k.key.id().to_owned(),
            scope: k.key.scope().to_owned(),
            ip: k.key.ip().map(str::to_owned),
            username: k.key.username().map(str::to_owned),
            user_agent: k.key.user_agent().map(str::to_owned),
            failures: k.failures,
            refused: k.refused,
            lock_count: k.lock_count,
            locked_until: k.locked_until.map(to_ms),
            retry_after: k.locked_until.map(|u| {
                let d = u.duration_since(now).unwrap_or_default();
                d.as_secs() + u64::from(d.subsec_nanos() > 0)
            }),
            last_attempt: to_ms(k.last_attempt),
        })
        .collect();
    Json(serde_json::json!({ "locked": locked })).into_response()
}

/// `GET api/logs` parameters.
#[derive(Debug, Deserialize)]
pub(crate) struct LogsQuery {
    /// `failure` (default) or `success`.
    kind: Option<String>,
    ip: Option<String>,
    username: Option<String>,
    /// Default 50, at most 1000.
    limit: Option<usize>,
    #[serde(default)]
    offset: usize,
}

/// `GET api/logs?kind=failure&ip=..&username=..&limit=..&offset=..`:
/// `{"entries": [...]}`, newest first.
pub(crate) async fn logs(
    State(state): State<AdminState>,
    _: ApiCaller,
    query: Result<Query<LogsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "expected kind=failure|success, ip, username, limit (1-1000) and offset (a number)",
        );
    };
    let kind = match q.kind.as_deref() {
        None | Some("failure") | Some("failures") => AuditKind::Failure,
        Some("success") | Some("access") => AuditKind::Success,
        Some(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "bad_kind",
                "kind must be \"failure\" or \"success\"",
            )
        }
    };
    let Some(log) = state.store().audit() else {
        return api_error(
            StatusCode::NOT_FOUND,
            "no_audit_log",
            "this store keeps no audit log",
        );
    };
    let mut lq = LogQuery::all()
        .kind(kind)
        .limit(q.limit.unwrap_or(50).clamp(1, LOGS_CAP))
        .offset(q.offset.min(MAX_OFFSET));
    if let Some(ip) = q.ip.filter(|s| !s.is_empty()) {
        lq = lq.ip(ip);
    }
    if let Some(u) = q.username.filter(|s| !s.is_empty()) {
        lq = lq.username(normalize(&state, u));
    }
    match log.query(&lq).await {
        Ok(entries) => Json(serde_json::json!({ "entries": entries })).into_response(),
        Err(e) => store_failed(&e),
    }
}

/// `POST api/unlock` body: `{"ip": .., "username": .., "scope": ..}`,
/// `{"key": "<key id>"}`, or `{"all": true}`.
#[derive(Debug, Deserialize)]
pub(crate) struct UnlockBody {
    ip: Option<String>,
    username: Option<String>,
    scope: Option<String>,
    key: Option<String>,
    #[serde(default)]
    all: bool,
}

/// `POST api/unlock`: `{"cleared": n}`.
pub(crate) async fn unlock(
    State(state): State<AdminState>,
    _: ApiCaller,
    body: Result<Json<UnlockBody>, JsonRejection>,
) -> Response {
    let bad = |message: &str| api_error(StatusCode::BAD_REQUEST, "bad_request", message);
    let Ok(Json(body)) = body else {
        return bad("expected a JSON body: {\"ip\": .., \"username\": ..}, {\"key\": ..} or {\"all\": true}");
    };
    let filter = if body.all {
        KeyFilter::all()
    } else if let Some(id) = &body.key {
        match Key::parse(id).ok().as_ref().and_then(filter_for) {
            Some(f) => f,
            None => {
                return bad(
                    "key must be a key id with an ip or a username, as listed by /api/locked",
                )
            }
        }
    } else {
        let ip = body.ip.filter(|s| !s.is_empty());
        let username = body
            .username
            .filter(|s| !s.is_empty())
            .map(|u| normalize(&state, u));
        if ip.is_none() && username.is_none() {
            return bad("give ip and/or username, a key, or {\"all\": true}");
        }
        let mut f = KeyFilter::all();
        if let Some(scope) = body.scope {
            f = f.scope(scope);
        }
        if let Some(ip) = ip {
            f = f.ip(ip);
        }
        if let Some(u) = username {
            f = f.username(u);
        }
        f
    };
    match state.signin_guard().reset(&filter).await {
        Ok(cleared) => {
            tracing::info!(target: "loginguard::admin", ?filter, cleared, "unlocked through the admin API");
            Json(serde_json::json!({ "cleared": cleared })).into_response()
        }
        Err(e) => store_failed(&e),
    }
}

/// A username as the guard stores it (trimmed, case-folded if configured).
fn normalize(state: &AdminState, username: String) -> String {
    state
        .policy()
        .normalize_username(&username)
        .unwrap_or(username)
}

/// `GET api/policy`: the effective policy as JSON (no secrets).
pub(crate) async fn policy(State(state): State<AdminState>, _: ApiCaller) -> Response {
    Json(state.policy()).into_response()
}

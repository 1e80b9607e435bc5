//! Prometheus metrics: a guard's counters in the text exposition format
//! (version 0.0.4), as a string ([`render`]) or an axum route ([`route`]).
//!
//! | metric | type | meaning |
//! | --- | --- | --- |
//! | `loginguard_attempts_total` | counter | attempts that reached the engine |
//! | `loginguard_failures_total` | counter | wrong passwords |
//! | `loginguard_successes_total` | counter | successful logins |
//! | `loginguard_lockouts_total` | counter | keys locked |
//! | `loginguard_rejections_total` | counter | attempts refused (locked, deny list, store down) |
//! | `loginguard_store_errors_total` | counter | store calls that failed |
//! | `loginguard_store_latency_seconds` | summary (`_sum`, `_count`) | time spent in store calls |
//!
//! Counters belong to the process serving them (each app server exposes
//! its own); Prometheus adds them up across servers.
//!
//! ```
//! use std::sync::Arc;
//! use axum::Router;
//! use loginguard_core::{Guard, MemoryStore, Policy};
//!
//! let guard = Guard::new(Policy::default(), Arc::new(MemoryStore::new()));
//! let app: Router = Router::new()
//!     .route("/metrics", loginguard_admin::metrics::route(guard.metrics().clone()));
//! let text = loginguard_admin::metrics::render(&guard.metrics().snapshot());
//! assert!(text.contains("loginguard_attempts_total 0"));
//! # let _ = app;
//! ```

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use loginguard_core::{Metrics, MetricsSnapshot};

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

type Read = fn(&MetricsSnapshot) -> u64;

const COUNTERS: [(&str, &str, Read); 6] = [
    (
        "loginguard_attempts_total",
        "Login attempts that reached the engine.",
        |s| s.attempts,
    ),
    (
        "loginguard_failures_total",
        "Failed login attempts (wrong password).",
        |s| s.failures,
    ),
    ("loginguard_successes_total", "Successful logins.", |s| {
        s.successes
    }),
    (
        "loginguard_lockouts_total",
        "Keys locked after reaching the failure limit.",
        |s| s.lockouts,
    ),
    (
        "loginguard_rejections_total",
        "Attempts refused: locked key, deny list, or store unavailable.",
        |s| s.rejections,
    ),
    (
        "loginguard_store_errors_total",
        "Store calls that failed.",
        |s| s.store_errors,
    ),
];

/// Renders one guard's counters (or several guards sharing one
/// [`Metrics`]).
pub fn render(snapshot: &MetricsSnapshot) -> String {
    render_samples(&[(None, snapshot)])
}

/// Renders several guards' counters, each sample labelled
/// `guard="<name>"`.
///
/// ```
/// use loginguard_core::MetricsSnapshot;
///
/// let text = loginguard_admin::metrics::render_guards(&[
///     ("login", &MetricsSnapshot::default()),
///     ("otp", &MetricsSnapshot::default()),
/// ]);
/// assert!(text.contains("loginguard_failures_total{guard=\"otp\"} 0"));
/// ```
pub fn render_guards(guards: &[(&str, &MetricsSnapshot)]) -> String {
    let samples: Vec<(Option<&str>, &MetricsSnapshot)> =
        guards.iter().map(|(name, s)| (Some(*name), *s)).collect();
    render_samples(&samples)
}

fn render_samples(samples: &[(Option<&str>, &MetricsSnapshot)]) -> String {
    let mut out = String::with_capacity(1024);
    for (name, help, read) in COUNTERS {
        family(&mut out, name, help, "counter");
        for (label, s) in samples {
            sample(&mut out, name, *label, &read(s).to_string());
        }
    }
    let latency = "loginguard_store_latency_seconds";
    family(&mut out, latency, "Time spent in store calls.", "summary");
    for (label, s) in samples {
        let secs = s.store_nanos as f64 / 1e9;
        sample(
            &mut out,
            &format!("{latency}_sum"),
            *label,
            &format!("{secs}"),
        );
        sample(
            &mut out,
            &format!("{latency}_count"),
            *label,
            &s.store_calls.to_string(),
        );
    }
    out
}

/// Renders a gauge of locked keys per scope (`loginguard_locked_keys`).
pub fn render_locked_keys(by_scope: &[(String, u64)]) -> String {
    let mut out = String::new();
    let name = "loginguard_locked_keys";
    family(&mut out, name, "Keys locked now, by scope.", "gauge");
    for (scope, n) in by_scope {
        let _ = writeln!(out, "{name}{{scope=\"{}\"}} {n}", escape(scope));
    }
    out
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, guard: Option<&str>, value: &str) {
    match guard {
        Some(g) => {
            let _ = writeln!(out, "{name}{{guard=\"{}\"}} {value}", escape(g));
        }
        None => {
            let _ = writeln!(out, "{name} {value}");
        }
    }
}

/// Escapes a label value (`\`, `"` and newlines).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The text of `text` as a metrics response.
pub fn response(text: String) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// An axum handler serving the counters in its state.
pub async fn handler(State(metrics): State<Arc<Metrics>>) -> Response {
    response(render(&metrics.snapshot()))
}

/// `GET` route serving `metrics`, for any router:
/// `.route("/metrics", metrics::route(guard.metrics().clone()))`.
pub fn route<S>(metrics: Arc<Metrics>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    get(handler).with_state(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> MetricsSnapshot {
        let mut s = MetricsSnapshot::default();
        s.attempts = 10;
        s.failures = 4;
        s.lockouts = 1;
        s.rejections = 2;
        s.store_errors = 3;
        s.store_calls = 20;
        s.store_nanos = 1_500_000_000;
        s
    }

    #[test]
    fn every_family_has_help_type_and_value() {
        let text = render(&snapshot());
        for (name, kind, value) in [
            ("loginguard_attempts_total", "counter", "10"),
            ("loginguard_failures_total", "counter", "4"),
            ("loginguard_lockouts_total", "counter", "1"),
            ("loginguard_rejections_total", "counter", "2"),
            ("loginguard_store_errors_total", "counter", "3"),
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name}");
            assert!(
                text.contains(&format!("\n{name} {value}\n")),
                "{name}: {text}"
            );
        }
        assert!(text.contains("# TYPE loginguard_store_latency_seconds summary\n"));
        assert!(text.contains("loginguard_store_latency_seconds_sum 1.5\n"));
        assert!(text.contains("loginguard_store_latency_seconds_count 20\n"));
    }

    #[test]
    fn every_line_is_a_comment_or_a_sample() {
        let text = render_guards(&[("a\"b", &snapshot())]);
        for line in text.lines() {
            assert!(
                line.starts_with("# HELP ")
                    || line.starts_with("# TYPE ")
                    || line.starts_with("loginguard_"),
                "{line}"
            );
            if !line.starts_with('#') {
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<f64>().is_ok(), "{line}");
            }
        }
        assert!(text.contains("loginguard_attempts_total{guard=\"a\\\"b\"} 10"));
    }

    #[test]
    fn locked_keys_gauge() {
        let text = render_locked_keys(&[("login".into(), 3)]);
        assert!(text.contains("# TYPE loginguard_locked_keys gauge"));
        assert!(text.contains("loginguard_locked_keys{scope=\"login\"} 3"));
    }
}

//! `loginguard proxy`: a reverse proxy in front of any web app that guards
//! its login paths on the configured store.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use loginguard::open_store;
use loginguard_proxy::{LoginPath, Preset, Proxy, ProxyOptions, Upstream};

use crate::cli::Global;

/// Protect the login of any web app: stand in front of it, guard its login
/// paths, stream everything else through.
///
/// Every flag can also be set in the environment (LOGINGUARD_PROXY_UPSTREAM,
/// LOGINGUARD_PROXY_ADDR, LOGINGUARD_PROXY_LOGIN_PATHS comma-separated,
/// LOGINGUARD_PROXY_PRESET, …). The lockout policy and the store are the
/// configuration's, as for every other command.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The app behind the proxy, as http://HOST:PORT.
    #[arg(long, value_name = "URL", env = "LOGINGUARD_PROXY_UPSTREAM")]
    pub(crate) upstream: Upstream,
    /// Where the proxy listens (port 0 picks a free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "LOGINGUARD_PROXY_ADDR"
    )]
    pub(crate) addr: SocketAddr,
    /// A guarded login path, PATH or PATH=SCOPE (its own lockout scope);
    /// repeat it for a password reset or an OTP step.
    #[arg(
        long = "login-path",
        value_name = "PATH[=SCOPE]",
        required = true,
        env = "LOGINGUARD_PROXY_LOGIN_PATHS",
        value_delimiter = ','
    )]
    pub(crate) login_paths: Vec<LoginPath>,
    /// The outcome rules of a known app: django, devise, wordpress,
    /// axum-login or json. Without it the configuration's outcome rules
    /// apply (failure_statuses, success_cookie, …).
    #[arg(long, value_name = "NAME", env = "LOGINGUARD_PROXY_PRESET")]
    pub(crate) preset: Option<Preset>,
    /// Longest wait for a connection to the upstream.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration, env = "LOGINGUARD_PROXY_CONNECT_TIMEOUT")]
    pub(crate) connect_timeout: Duration,
    /// Longest wait for the upstream's response headers.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration, env = "LOGINGUARD_PROXY_RESPONSE_TIMEOUT")]
    pub(crate) response_timeout: Duration,
    /// Also serve the proxy's own /healthz and /metrics on this address,
    /// apart from the app's paths.
    #[arg(long, value_name = "ADDR", env = "LOGINGUARD_PROXY_OPS_ADDR")]
    pub(crate) ops_addr: Option<SocketAddr>,
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let store = open_store(&config).await?;
    let mut options = ProxyOptions::new(args.upstream);
    options.login_paths = args.login_paths;
    options.preset = args.preset;
    options.connect_timeout = args.connect_timeout;
    options.response_timeout = args.response_timeout;
    let upstream = options.upstream.to_string();
    let paths: Vec<String> = options
        .login_paths
        .iter()
        .map(ToString::to_string)
        .collect();
    let preset = options
        .preset
        .map_or("none (the configuration's outcome rules)".to_owned(), |p| {
            p.to_string()
        });
    let proxy = Proxy::new(options, config.policy, store)?;
    if let Some(ops_addr) = args.ops_addr {
        let ops = tokio::net::TcpListener::bind(ops_addr)
            .await
            .with_context(|| format!("cannot listen on {ops_addr} for /healthz and /metrics"))?;
        let router = proxy.ops_router();
        eprintln!(
            "proxy health and metrics on http://{}/healthz and /metrics",
            ops.local_addr()?
        );
        tokio::spawn(async move {
            if let Err(e) = axum::serve(ops, router).await {
                tracing::error!(target: "loginguard::proxy", error = %e, "the health and metrics listener stopped");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!(
        "proxy on http://{}/ for {upstream} (login paths: {}; preset: {preset}); Ctrl-C or SIGTERM stops it",
        listener.local_addr()?,
        paths.join(", ")
    );
    proxy.serve(listener, shutdown_signal()).await?;
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

//! `loginguard proxy`: a reverse proxy in front of any web app that guards
//! its login paths on the configured store.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use loginguard::{open_store, PolicyError, ProxyTable};
use loginguard_proxy::{Listeners, LoginPath, Preset, Proxy, ProxyOptions, Upstream};

use crate::cli::Global;

/// Protect the login of any web app: stand in front of it, guard its login
/// paths, stream everything else through.
///
/// Each flag can also be set in the environment (LOGINGUARD_PROXY_UPSTREAM,
/// LOGINGUARD_PROXY_ADDR, LOGINGUARD_PROXY_LOGIN_PATHS comma-separated,
/// LOGINGUARD_PROXY_PRESET, …) or in the [proxy] table of loginguard.toml
/// (upstream, addr, login_paths, preset, connect_timeout, response_timeout,
/// ops_addr, workers); a flag wins over the environment, which wins over the file.
/// The lockout policy and the store are the configuration's, as for every
/// other command.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The app behind the proxy, as http://HOST:PORT.
    #[arg(long, value_name = "URL", env = "LOGINGUARD_PROXY_UPSTREAM")]
    pub(crate) upstream: Option<Upstream>,
    /// Where the proxy listens (default 127.0.0.1:8080; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", env = "LOGINGUARD_PROXY_ADDR")]
    pub(crate) addr: Option<SocketAddr>,
    /// A guarded login path, PATH or PATH=SCOPE (its own lockout scope);
    /// repeat it for a password reset or an OTP step.
    #[arg(
        long = "login-path",
        value_name = "PATH[=SCOPE]",
        env = "LOGINGUARD_PROXY_LOGIN_PATHS",
        value_delimiter = ','
    )]
    pub(crate) login_paths: Vec<LoginPath>,
    /// The outcome rules of a known app: django, devise, wordpress,
    /// axum-login or json, on top of the configuration's outcome settings
    /// (failure_statuses, failure_location, success_cookie, …).
    #[arg(long, value_name = "NAME", env = "LOGINGUARD_PROXY_PRESET")]
    pub(crate) preset: Option<Preset>,
    /// Longest wait for a connection to the upstream (default 5s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, env = "LOGINGUARD_PROXY_CONNECT_TIMEOUT")]
    pub(crate) connect_timeout: Option<Duration>,
    /// Longest wait for the upstream's response headers (default 60s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, env = "LOGINGUARD_PROXY_RESPONSE_TIMEOUT")]
    pub(crate) response_timeout: Option<Duration>,
    /// Also serve the proxy's own /healthz and /metrics on this address,
    /// apart from the app's paths.
    #[arg(long, value_name = "ADDR", env = "LOGINGUARD_PROXY_OPS_ADDR")]
    pub(crate) ops_addr: Option<SocketAddr>,
    /// How many worker threads serve the proxy, each with its own listener
    /// and upstream connections (default: one per CPU).
    #[arg(long, value_name = "N", env = "LOGINGUARD_PROXY_WORKERS")]
    pub(crate) workers: Option<NonZeroUsize>,
}

/// The proxy's settings once flags, environment and the `[proxy]` table
/// are merged.
struct Settings {
    options: ProxyOptions,
    addr: SocketAddr,
    ops_addr: Option<SocketAddr>,
    workers: NonZeroUsize,
}

/// A value of the `[proxy]` table, parsed as its flag is; a bad one is a
/// configuration error naming `proxy.<key>`.
fn from_table<T>(key: &str, raw: Option<&String>, expected: &str) -> Result<Option<T>, PolicyError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.map(|text| {
        text.parse::<T>().map_err(|e| {
            PolicyError::invalid(
                format!("proxy.{key}"),
                format!("{text:?}"),
                format!("{expected} ({e})"),
            )
        })
    })
    .transpose()
}

fn duration_from_table(key: &str, raw: Option<&String>) -> Result<Option<Duration>, PolicyError> {
    raw.map(|text| {
        humantime::parse_duration(text).map_err(|e| {
            PolicyError::invalid(
                format!("proxy.{key}"),
                format!("{text:?}"),
                format!("a duration such as \"5s\" ({e})"),
            )
        })
    })
    .transpose()
}

fn merge(args: Args, table: &ProxyTable) -> anyhow::Result<Settings> {
    let upstream = match args.upstream {
        Some(u) => u,
        None => from_table("upstream", table.upstream.as_ref(), "http://HOST:PORT")?.ok_or_else(|| {
            anyhow::anyhow!(
                "no upstream: give --upstream http://HOST:PORT, LOGINGUARD_PROXY_UPSTREAM or upstream in the [proxy] table"
            )
        })?,
    };
    let mut login_paths = args.login_paths;
    if login_paths.is_empty() {
        for raw in &table.login_paths {
            login_paths.extend(from_table::<LoginPath>(
                "login_paths",
                Some(raw),
                "/PATH or /PATH=SCOPE",
            )?);
        }
    }
    if login_paths.is_empty() {
        anyhow::bail!(
            "no login path: give --login-path /PATH, LOGINGUARD_PROXY_LOGIN_PATHS or login_paths in the [proxy] table"
        );
    }
    let mut options = ProxyOptions::new(upstream);
    options.login_paths = login_paths;
    options.preset = match args.preset {
        Some(p) => Some(p),
        None => from_table(
            "preset",
            table.preset.as_ref(),
            "django, devise, wordpress, axum-login or json",
        )?,
    };
    if let Some(d) = args.connect_timeout.or(duration_from_table(
        "connect_timeout",
        table.connect_timeout.as_ref(),
    )?) {
        options.connect_timeout = d;
    }
    if let Some(d) = args.response_timeout.or(duration_from_table(
        "response_timeout",
        table.response_timeout.as_ref(),
    )?) {
        options.response_timeout = d;
    }
    let addr = match args.addr {
        Some(a) => a,
        None => from_table("addr", table.addr.as_ref(), "HOST:PORT, e.g. 0.0.0.0:8080")?
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
    };
    let ops_addr = match args.ops_addr {
        Some(a) => Some(a),
        None => from_table(
            "ops_addr",
            table.ops_addr.as_ref(),
            "HOST:PORT, e.g. 127.0.0.1:9090",
        )?,
    };
    let workers = match args.workers {
        Some(n) => n,
        None => from_table(
            "workers",
            table.workers.as_ref(),
            "a number of threads of at least 1, e.g. 2",
        )?
        .unwrap_or_else(default_workers),
    };
    Ok(Settings {
        options,
        addr,
        ops_addr,
        workers,
    })
}

/// One worker per CPU the process may use.
fn default_workers() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

pub(crate) async fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let config = global.load_config()?;
    let Settings {
        options,
        addr,
        ops_addr,
        workers,
    } = merge(args, &config.proxy)?;
    let store = open_store(&config).await?;
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
    if let Some(ops_addr) = ops_addr {
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
    let listeners =
        Listeners::bind(addr, workers).with_context(|| format!("cannot listen on {addr}"))?;
    println!(
        "proxy on http://{}/ for {upstream} (login paths: {}; preset: {preset}; workers: {workers}); Ctrl-C or SIGTERM stops it",
        listeners.local_addr(),
        paths.join(", ")
    );
    proxy.serve_workers(listeners, shutdown_signal()).await?;
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

//! The loginguard demo site, run by `loginguard demo`.
//!
//! A login page with argon2id-hashed passwords and cookie sessions,
//! protected by [`loginguard_axum::LoginGuardLayer`] on the configured store
//! (SQLite by default), so lockouts survive a restart and `loginguard reset`
//! with the same configuration clears them, even while the demo runs: every
//! request asks the store, nothing is cached in the process.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` | who is logged in |
//! | `GET /login` | the login form (`username`, `password`) |
//! | `POST /login` | form or JSON: 200 right, 401 wrong, 429 locked (`Retry-After` with a cool-off) |
//! | `POST /logout` | ends the session |
//! | `GET /healthz` | 200 |
//! | `GET /metrics` | Prometheus counters of the login guard |
//!
//! ```no_run
//! # async fn run() -> Result<(), loginguard_demo::DemoError> {
//! let config = loginguard_core::Config::load(None).expect("configuration");
//! let server = loginguard_demo::DemoServer::bind(loginguard_demo::DemoOptions::default(), config).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.run().await
//! # }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod pages;
mod routes;
mod secret;
mod sessions;
mod users;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use loginguard_axum::{LingeringListener, LoginGuardLayer};
use loginguard_core::{Config, Guard, Policy, Store, StoreError};

pub use users::Argon2Cost;

/// How to run the demo.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DemoOptions {
    /// Where to listen (default `127.0.0.1:8000`; port 0 picks a free one).
    pub addr: SocketAddr,
    /// Users and passwords (default alice/wonderland and bob/builder).
    pub users: Vec<(String, String)>,
    /// Password hashing cost (default OWASP's: 19456 KiB, 2 iterations).
    pub argon2: Argon2Cost,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            users: vec![
                ("alice".to_owned(), "wonderland".to_owned()),
                ("bob".to_owned(), "builder".to_owned()),
            ],
            argon2: Argon2Cost::default(),
        }
    }
}

impl DemoOptions {
    /// Parses a `--user` value, `name:password`.
    ///
    /// ```
    /// let (name, password) = loginguard_demo::DemoOptions::parse_user("carol:s3cret:x").unwrap();
    /// assert_eq!((name.as_str(), password.as_str()), ("carol", "s3cret:x"));
    /// assert!(loginguard_demo::DemoOptions::parse_user("carol").is_err());
    /// ```
    pub fn parse_user(value: &str) -> Result<(String, String), DemoError> {
        match value.split_once(':') {
            Some((name, password)) if !name.trim().is_empty() && !password.is_empty() => {
                Ok((name.trim().to_owned(), password.to_owned()))
            }
            _ => Err(DemoError::BadUser(
                value.split(':').next().unwrap_or("").to_owned(),
            )),
        }
    }
}

/// Why the demo could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
    /// A `--user` value without `name:password`.
    #[error("invalid --user value starting {0:?}: expected name:password")]
    BadUser(String),
    /// The argon2 settings were refused, or hashing failed.
    #[error("{0}")]
    Argon2(String),
    /// The secret file could not be read or created.
    #[error("{0}")]
    Secret(String),
}

/// A demo bound to its address, ready to run.
#[derive(Debug)]
pub struct DemoServer {
    listener: tokio::net::TcpListener,
    app: Router,
    addr: SocketAddr,
}

impl DemoServer {
    /// Opens the store named by `config`, creating or migrating it as
    /// `loginguard migrate` would (it is a demo), and binds.
    /// Without a configured `secret` it uses its own, in a file beside the
    /// database (`<database>.secret`, mode 0600) created on first start.
    pub async fn bind(options: DemoOptions, config: Config) -> Result<DemoServer, DemoError> {
        let (secret, _) = secret::demo_secret(&config)?;
        let store = loginguard::open_store_with(&config, loginguard::OpenMode::Migrate).await?;
        store.migrate().await?;
        let policy = config
            .policy
            .to_builder()
            .secret(Some(secret))
            .build()
            .map_err(|e| DemoError::Secret(e.to_string()))?;
        DemoServer::bind_with_store(options, policy, store).await
    }

    /// Binds with a store of your choice (tests use a memory store).
    pub async fn bind_with_store(
        options: DemoOptions,
        policy: Policy,
        store: Arc<dyn Store>,
    ) -> Result<DemoServer, DemoError> {
        let DemoOptions {
            addr,
            users,
            argon2,
        } = options;
        let normalized: Vec<(String, String)> = users
            .into_iter()
            .map(|(name, password)| {
                let name = policy
                    .normalize_username(&name)
                    .map_err(|_| DemoError::BadUser(name.clone()))?;
                Ok((name, password))
            })
            .collect::<Result<_, DemoError>>()?;
        let users =
            tokio::task::spawn_blocking(move || users::Users::hash_all(&normalized, argon2))
                .await
                .map_err(|e| DemoError::Argon2(format!("hashing task failed: {e}")))??;
        tracing::info!(target: "loginguard::demo", users = ?users.names(), "users ready");
        let guard = Guard::new(policy.clone(), store);
        let metrics = guard.metrics().clone();
        let refusal_policy = policy.clone();
        let layer = LoginGuardLayer::new(guard).lockout_response_with(move |lockout, headers| {
            routes::lockout_response(&refusal_policy, lockout, headers)
        });
        let state = Arc::new(routes::AppState {
            users: Arc::new(users),
            sessions: sessions::Sessions::default(),
            policy,
        });
        let app = routes::router(state, layer)
            .route("/metrics", loginguard_admin::metrics::route(metrics));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| DemoError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DemoError::Bind { addr, source })?;
        Ok(DemoServer {
            listener,
            app,
            addr,
        })
    }

    /// The address actually bound (the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until Ctrl-C.
    pub async fn run(self) -> Result<(), DemoError> {
        self.run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), DemoError> {
        tracing::info!(target: "loginguard::demo", "listening on http://{}", self.addr);
        // Lingering: a client answered before its body was read (413, a
        // lockout) reads the answer rather than a reset connection.
        axum::serve(
            LingeringListener::new(self.listener).with_connect_info(),
            self.app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(DemoError::Serve)
    }
}

/// Opens the store, binds `options.addr` and serves until Ctrl-C.
pub async fn serve(options: DemoOptions, config: Config) -> Result<(), DemoError> {
    DemoServer::bind(options, config).await?.run().await
}

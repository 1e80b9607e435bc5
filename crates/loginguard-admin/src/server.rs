//! The standalone admin server behind `loginguard admin`: the admin UI at
//! the root plus `/metrics`.
//!
//! Its `/metrics` shows the admin sign-in guard's counters (labelled
//! `guard="admin"`) and a `loginguard_locked_keys` gauge read from the
//! store, so it reflects every app server sharing that store.
//!
//! ```no_run
//! # async fn run(state: loginguard_admin::AdminState) -> Result<(), loginguard_admin::AdminError> {
//! use loginguard_admin::server::AdminServer;
//!
//! let server = AdminServer::bind("127.0.0.1:8001".parse().unwrap(), state).await?;
//! println!("admin UI on http://{}/", server.local_addr());
//! server.run().await // until Ctrl-C
//! # }
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use loginguard_core::ListQuery;
use tokio::net::TcpListener;

use crate::error::AdminError;
use crate::metrics;
use crate::state::AdminState;

/// The admin UI at `/` and the metrics at `/metrics`.
pub fn app(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(admin_metrics).with_state(state.clone()))
        .merge(crate::router(state))
}

/// The admin server bound to its address, ready to run.
#[derive(Debug)]
pub struct AdminServer {
    listener: TcpListener,
    state: AdminState,
    addr: SocketAddr,
}

impl AdminServer {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, state: AdminState) -> Result<AdminServer, AdminError> {
        let bind_error = |source| AdminError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok(AdminServer {
            listener,
            state,
            addr,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until Ctrl-C.
    pub async fn run(self) -> Result<(), AdminError> {
        self.run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AdminError> {
        serve(self.listener, self.state, shutdown).await
    }
}

/// Serves [`app`] on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AdminError> {
    // Lingering, as the demo: a refused sign-in's client reads the answer.
    axum::serve(
        loginguard_axum::LingeringListener::new(listener).with_connect_info(),
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

async fn admin_metrics(State(state): State<AdminState>) -> Response {
    let mut text = metrics::render_guards(&[("admin", &state.metrics().snapshot())]);
    match state
        .store()
        .list(
            &ListQuery::all().locked_only(true).limit(100_000),
            state.now(),
        )
        .await
    {
        Ok(keys) => {
            let mut by_scope: BTreeMap<String, u64> = BTreeMap::new();
            for k in keys {
                *by_scope.entry(k.key.scope().to_owned()).or_default() += 1;
            }
            let by_scope: Vec<(String, u64)> = by_scope.into_iter().collect();
            text.push_str(&metrics::render_locked_keys(&by_scope));
        }
        Err(e) => {
            // The counters (store errors among them) matter most now: serve them.
            tracing::error!(target: "loginguard::admin", error = %loginguard_core::error_chain(&e), "store failed; locked-keys gauge left out");
        }
    }
    metrics::response(text)
}

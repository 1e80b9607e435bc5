//! An axum-login app guarded by loginguard.
//!
//! ```sh
//! cargo run -p example-axum-login
//! # three wrong passwords, then even the right one is refused with 429:
//! for p in a b c wonderland; do
//!   curl -s -o /dev/null -w '%{http_code}\n' -d "username=alice&password=$p" http://127.0.0.1:3000/login
//! done
//! ```
//!
//! Users and sessions are in `example-axum-login.db`; the lockout store and
//! policy come from `loginguard.toml` / `LOGINGUARD_*` (SQLite
//! `loginguard.db` by default), so `loginguard reset` works on it.

use std::net::SocketAddr;

use example_axum_login::{app, Backend};
use loginguard::{open_store_with, Config, Guard, OpenMode};
use sqlx::SqlitePool;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = SqlitePool::connect("sqlite://example-axum-login.db?mode=rwc").await?;
    let backend = Backend::new(db.clone(), argon2::Params::default()).await?;
    backend.set_user("alice", "wonderland").await?;

    let config = Config::load(None)?;
    // An example creates its store; an application runs `loginguard migrate`
    // and opens it with `loginguard::open_store(&config)`.
    let store = open_store_with(&config, OpenMode::Migrate).await?;
    store.migrate().await?;
    let guard = Guard::new(config.policy.clone(), store);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = app(db, backend, guard).await?;
    // loginguard needs the client's address: serve with connect info.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

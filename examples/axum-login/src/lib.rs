//! An axum-login app whose backend is guarded by loginguard: users in a
//! SQLite table with argon2id hashes, sessions in SQLite through
//! tower-sessions, and the login handler as axum-login's examples write it
//! (303 back to `/login` on a wrong password, 303 to `/` on success).

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_login::{AuthManagerLayerBuilder, AuthUser, AuthnBackend, UserId};
use loginguard::axum_login::{
    error_response, LoginContext, LoginCredentials, LoginGuardBackend, RefusalLayer,
};
use loginguard::Guard;
use sqlx::SqlitePool;
use tower_sessions::SessionManagerLayer;
use tower_sessions_sqlx_store::SqliteStore;

/// A row of the `users` table.
#[derive(Clone, sqlx::FromRow)]
pub struct User {
    id: i64,
    username: String,
    password_hash: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish()
    }
}

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        // A new password ends every session of the old one.
        self.password_hash.as_bytes()
    }
}

/// What the login form posts.
#[derive(Clone, serde::Deserialize)]
pub struct Credentials {
    /// The username as typed.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

// loginguard: tell it the username, for the username criteria.
impl LoginCredentials for Credentials {
    fn username(&self) -> Option<&str> {
        Some(&self.username)
    }
}

/// A database or hashing fault.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The database failed.
    #[error("user database: {0}")]
    Db(#[from] sqlx::Error),
    /// The hashing task failed.
    #[error("password hashing: {0}")]
    Hash(String),
}

/// The app's own axum-login backend: users in SQLite, argon2id hashes.
#[derive(Clone)]
pub struct Backend {
    db: SqlitePool,
    argon2: Argon2<'static>,
    /// Checked when the user is unknown, so that costs the same time.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

impl Backend {
    /// Creates the `users` table if needed. `params`: argon2id cost
    /// (`Params::default()` is OWASP's 19 MiB, 2 iterations).
    pub async fn new(db: SqlitePool, params: Params) -> Result<Backend, BackendError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS users (
                 id INTEGER PRIMARY KEY,
                 username TEXT NOT NULL UNIQUE,
                 password_hash TEXT NOT NULL)",
        )
        .execute(&db)
        .await?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = hash(&argon2, "not a password")?.into();
        Ok(Backend {
            db,
            argon2,
            dummy_hash,
        })
    }

    /// Adds a user, or sets the password of an existing one.
    pub async fn set_user(&self, username: &str, password: &str) -> Result<(), BackendError> {
        let password_hash = hash(&self.argon2, password)?;
        sqlx::query(
            "INSERT INTO users (username, password_hash) VALUES (?, ?)
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(username)
        .bind(password_hash)
        .execute(&self.db)
        .await?;
        Ok(())
    }
}

fn hash(argon2: &Argon2<'_>, password: &str) -> Result<String, BackendError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| BackendError::Hash(e.to_string()))
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, BackendError> {
        let user: Option<User> = sqlx::query_as("SELECT * FROM users WHERE username = ?")
            .bind(&creds.username)
            .fetch_optional(&self.db)
            .await?;
        let stored = user
            .as_ref()
            .map_or_else(|| self.dummy_hash.to_string(), |u| u.password_hash.clone());
        let argon2 = self.argon2.clone();
        // Hashing is CPU work: off the async threads.
        let right = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored).is_ok_and(|h| {
                argon2
                    .verify_password(creds.password.as_bytes(), &h)
                    .is_ok()
            })
        })
        .await
        .map_err(|e| BackendError::Hash(e.to_string()))?;
        Ok(user.filter(|_| right))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, BackendError> {
        let user = sqlx::query_as("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        Ok(user)
    }
}

/// The session the handlers see: axum-login's, over the guarded backend.
pub type AuthSession<B = Backend> = axum_login::AuthSession<LoginGuardBackend<B>>;

/// The whole app: `/login` (form and POST), `/` for logged-in users,
/// `POST /logout`. Sessions live in `db` too. Generic over the inner
/// backend only so that the tests can count its calls.
pub async fn app<B>(db: SqlitePool, backend: B, guard: Guard) -> Result<Router, sqlx::Error>
where
    B: AuthnBackend<User = User, Credentials = Credentials> + 'static,
{
    let sessions = SqliteStore::new(db);
    sessions.migrate().await?;
    // Plain HTTP on localhost: a `Secure` cookie would never come back.
    let sessions = SessionManagerLayer::new(sessions).with_secure(false);
    // loginguard: wrap the backend.
    let backend = LoginGuardBackend::new(backend, guard);
    let auth = AuthManagerLayerBuilder::new(backend, sessions).build();
    Ok(Router::new()
        .route("/", get(home::<B>))
        .route("/login", get(login_form).post(login::<B>))
        .route("/logout", post(logout::<B>))
        .layer(auth)
        .layer(RefusalLayer::new()))
}

async fn login<B>(
    mut auth_session: AuthSession<B>,
    context: LoginContext,
    Form(creds): Form<Credentials>,
) -> Response
where
    B: AuthnBackend<User = User, Credentials = Credentials>,
{
    // As axum-login's own examples write it: the RefusalLayer turns a
    // lockout into loginguard's 429 page (or JSON) with Retry-After.
    let user = match auth_session.authenticate(context.with(creds)).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/login?error=1").into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if auth_session.login(&user).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Redirect::to("/").into_response()
}

async fn login_form() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Sign in</title>\
         <form method=post action=/login>\
         <input name=username autocomplete=username>\
         <input name=password type=password autocomplete=current-password>\
         <button>Sign in</button></form>",
    )
}

/// Who is logged in; anyone else is sent to the form.
async fn home<B>(auth_session: AuthSession<B>) -> Response
where
    B: AuthnBackend<User = User, Credentials = Credentials>,
{
    match auth_session.user {
        Some(user) => Html(format!("<p>Hello, {}.</p>", escape(&user.username))).into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

async fn logout<B>(mut auth_session: AuthSession<B>) -> Response
where
    B: AuthnBackend<User = User, Credentials = Credentials>,
{
    match auth_session.logout().await {
        Ok(_) => Redirect::to("/login").into_response(),
        Err(e) => error_response(e),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

//! Why the admin UI could not be set up or served.

use loginguard_core::PolicyError;

/// A set-up or serving error of the admin UI. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// `admin_password_hash` is not a usable argon2 PHC string.
    #[error("admin_password_hash is not a valid argon2 PHC string ({0}): make one with `loginguard admin --hash-password`")]
    BadPasswordHash(String),
    /// `admin_token` is too short to be a secret.
    #[error("admin_token must be at least 16 characters: choose a long random secret")]
    ShortToken,
    /// The password to hash is empty.
    #[error("the admin password is empty: type a password (it is read from standard input)")]
    EmptyPassword,
    /// Hashing a password failed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// The base path is not a path.
    #[error(
        "invalid base path {0:?}: it must start with '/' and not end with '/', e.g. \"/admin\""
    )]
    BadBasePath(String),
    /// The admin sign-in policy was refused.
    #[error("invalid admin sign-in policy: {0}")]
    Policy(#[from] PolicyError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("admin server: {0}")]
    Io(#[from] std::io::Error),
}

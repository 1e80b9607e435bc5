//! The app of `example-actix`: a form login for one fixed user (alice,
//! password `wonderland`, kept as an argon2id hash), guarded by
//! loginguard's actix-web middleware. `main.rs` serves it; the tests in
//! `tests/` drive it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use loginguard::actix::{LoginGuard, LoginOutcome};
use loginguard::Guard;

/// The user table: usernames and their password hashes.
#[derive(Debug)]
pub struct Users {
    argon2: Argon2<'static>,
    hashes: HashMap<String, String>,
    /// Checked for unknown usernames, so they cost as much as known ones.
    dummy: String,
    checks: AtomicUsize,
}

impl Users {
    /// alice / wonderland, hashed with argon2id at `params` (use
    /// `Params::default()` in production; tests pass a cheap cost).
    pub fn new(params: Params) -> Result<Users, argon2::password_hash::Error> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"example-salt-16b")?;
        let alice = argon2.hash_password(b"wonderland", &salt)?.to_string();
        let dummy = argon2.hash_password(b"no such user", &salt)?.to_string();
        Ok(Users {
            hashes: HashMap::from([("alice".to_owned(), alice)]),
            dummy,
            argon2,
            checks: AtomicUsize::new(0),
        })
    }

    /// How many passwords were checked so far.
    pub fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }

    fn verify(&self, username: &str, password: &str) -> bool {
        self.checks.fetch_add(1, Ordering::SeqCst);
        let known = self.hashes.get(username);
        let hash = known.unwrap_or(&self.dummy);
        let right = PasswordHash::new(hash)
            .is_ok_and(|h| self.argon2.verify_password(password.as_bytes(), &h).is_ok());
        right && known.is_some()
    }
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// The routes: `GET /login` shows the form, `POST /login` (guarded) checks
/// the password, `GET /welcome` is where a right one lands.
pub fn configure(
    guard: Arc<Guard>,
    users: Arc<Users>,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg| {
        cfg.app_data(web::Data::from(users.clone()))
            .service(
                web::resource("/login")
                    // loginguard: one line.
                    .wrap(LoginGuard::new(guard.clone()))
                    .route(web::get().to(|| async { page(None) }))
                    .route(web::post().to(login)),
            )
            .route("/welcome", web::get().to(|| async { "Welcome, alice!" }));
    }
}

/// The login handler, as it would be without loginguard, plus one marker:
/// a wrong password re-renders the form with 200, so it says it failed.
async fn login(users: web::Data<Users>, form: web::Form<Login>) -> actix_web::Result<HttpResponse> {
    let Login { username, password } = form.into_inner();
    let right = web::block(move || users.verify(&username, &password)).await?;
    if right {
        Ok(HttpResponse::SeeOther()
            .insert_header(("location", "/welcome"))
            .finish())
    } else {
        let mut res = page(Some("Wrong username or password."));
        LoginOutcome::Failure.mark(&mut res);
        Ok(res)
    }
}

fn page(error: Option<&str>) -> HttpResponse {
    let error = error.map_or(String::new(), |e| format!("<p role=alert>{e}</p>"));
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><title>Sign in</title><h1>Sign in</h1>{error}\
             <form method=post action=/login><input name=username>\
             <input name=password type=password><button>Sign in</button></form>"
        ))
}

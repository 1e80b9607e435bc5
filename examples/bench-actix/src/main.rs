//! The server that `bench/actix.sh` loads. Not an example to copy: it
//! exposes a guarded login route next to a bare static 429.
//!
//! ```sh
//! LOGINGUARD_STORE=memory cargo run --release -p example-bench-actix -- 127.0.0.1:8080
//! ```
//!
//! | route | what |
//! | --- | --- |
//! | `POST /login` | guarded by the middleware, lockout by IP; the handler always answers 401 |
//! | `POST /static-429` | the same bytes as the lockout page, static, no middleware |
//! | `POST /static-429-read-body` | the same, after reading the request body |
//!
//! actix-web closes a keep-alive connection when a response goes out
//! before the request body was read, so `/static-429` costs its clients a
//! new connection per request; `/static-429-read-body` keeps it, as the
//! middleware's refusals do.

use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};
use loginguard::actix::LoginGuard;
use loginguard::{open_store, Config, Guard};

/// The very bytes of the middleware's default lockout page.
const LOCKOUT_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Too many login attempts</title></head>\n<body><main><h1>Too many login attempts</h1>\
<p>Account locked: too many login attempts. Contact an administrator to unlock your account.</p>\
</main></body></html>\n";

async fn static_429() -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header(("content-type", "text/html; charset=utf-8"))
        .insert_header(("cache-control", "no-store"))
        .body(LOCKOUT_PAGE)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    // The store and policy as `bench/http.sh` loads them (LOGINGUARD_STORE).
    let config = Config::load(None)?;
    let store = open_store(&config).await?;
    let policy = config
        .policy
        .to_builder()
        .scope("bench-ip".to_owned())
        .build()?;
    let guard = Arc::new(Guard::new(policy, store));
    let server = HttpServer::new(move || {
        App::new()
            .service(
                web::resource("/login")
                    .wrap(LoginGuard::new(guard.clone()))
                    .route(web::post().to(HttpResponse::Unauthorized)),
            )
            .route("/static-429", web::post().to(static_429))
            .route(
                "/static-429-read-body",
                web::post().to(|body: web::Bytes| async move {
                    drop(body);
                    static_429().await
                }),
            )
            .route("/", web::get().to(HttpResponse::Ok))
    })
    .bind(&addr)?;
    println!("bench server on http://{addr}");
    server.run().await?;
    Ok(())
}

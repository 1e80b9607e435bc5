//! An actix-web form login guarded by loginguard.
//!
//! ```sh
//! cargo run -p example-actix
//! # 200 200 429 429: a wrong password re-renders the form, the third locks
//! # the IP, and then even the right one is refused:
//! for p in a b c wonderland; do
//!   curl -s -o /dev/null -w '%{http_code}\n' -d "username=alice&password=$p" http://127.0.0.1:3000/login
//! done
//! ```

use std::sync::Arc;

use actix_web::{App, HttpServer};
use example_actix::{configure, Users};
use loginguard::{Guard, MemoryStore, Policy};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let users = Users::new(argon2::Params::default()).map_err(std::io::Error::other)?;
    let users = Arc::new(users);
    // loginguard: a policy (3 failures per IP by default) and a store.
    let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
    let server =
        HttpServer::new(move || App::new().configure(configure(guard.clone(), users.clone())))
            .bind("127.0.0.1:3000")?;
    println!("listening on http://127.0.0.1:3000/login");
    server.run().await
}

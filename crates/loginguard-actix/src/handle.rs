//! [`LoginGuardHandle`]: an extractor for handlers that call the engine
//! themselves instead of sitting behind [`LoginGuard`](crate::LoginGuard).
//!
//! ```
//! use std::sync::Arc;
//! use actix_web::{web, App, HttpResponse};
//! use loginguard_actix::LoginGuardHandle;
//! use loginguard_core::{Decision, Guard, MemoryStore, Policy, Verdict};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//!
//! async fn login(handle: LoginGuardHandle, f: web::Form<Login>) -> HttpResponse {
//!     let ticket = match handle.begin(Some(&f.username)).await {
//!         Ok(Decision::Proceed(ticket)) => ticket,
//!         Ok(Decision::Refused(lockout)) => return handle.lockout_response(&lockout),
//!         Err(bad) => return HttpResponse::BadRequest().body(bad.to_string()),
//!     };
//!     if f.password == "wonderland" {
//!         handle.success(ticket).await;
//!         HttpResponse::Ok().finish()
//!     } else {
//!         match handle.failure(ticket).await {
//!             Verdict::LockedOut(lockout) => handle.lockout_response(&lockout),
//!             _ => HttpResponse::Unauthorized().finish(),
//!         }
//!     }
//! }
//!
//! let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
//! let app = App::new()
//!     .app_data(web::Data::from(guard))
//!     .route("/login", web::post().to(login));
//! # let _ = app;
//! ```

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use loginguard_core::{ClientIpResolver, Guard, Lockout};
use loginguard_http::AttemptHandle;

use crate::edge;
use crate::ip::{attempt_of, ActixHeaders};

/// The engine plus this request's attempt (IP, user agent, method, path).
/// Extracted from a `web::Data<Guard>` in the app data. `begin`,
/// `success`, `failure`, `guard` and `attempt` are those of the
/// framework-neutral [`AttemptHandle`] it derefs to.
#[derive(Debug, Clone)]
pub struct LoginGuardHandle {
    inner: AttemptHandle,
}

impl std::ops::Deref for LoginGuardHandle {
    type Target = AttemptHandle;

    fn deref(&self) -> &AttemptHandle {
        &self.inner
    }
}

impl LoginGuardHandle {
    /// The response the middleware would send for `lockout`, negotiated
    /// with this request's `Accept` header.
    pub fn lockout_response(&self, lockout: &Lockout) -> HttpResponse {
        edge::to_actix(self.inner.lockout_response(lockout))
    }
}

impl FromRequest for LoginGuardHandle {
    type Error = MissingGuard;
    type Future = Ready<Result<Self, MissingGuard>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(data) = req.app_data::<web::Data<Guard>>() else {
            return ready(Err(MissingGuard));
        };
        let guard = data.clone().into_inner();
        let resolver = ClientIpResolver::from_policy(guard.policy());
        let attempt = attempt_of(req, &resolver);
        ready(Ok(LoginGuardHandle {
            inner: AttemptHandle::new(guard, attempt, &ActixHeaders(req.headers())),
        }))
    }
}

/// The rejection when no `web::Data<Guard>` is in the app data: a 500
/// saying what to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingGuard;

impl std::fmt::Display for MissingGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "Can't extract LoginGuardHandle. Is `.app_data(web::Data::from(Arc<Guard>))` on the app?",
        )
    }
}

impl std::error::Error for MissingGuard {}

impl ResponseError for MissingGuard {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, App};
    use std::sync::Arc;

    use loginguard_core::{Decision, MemoryStore, Policy, Verdict};

    use super::*;

    async fn login(handle: LoginGuardHandle, body: String) -> HttpResponse {
        let ticket = match handle.begin(Some("alice")).await {
            Ok(Decision::Proceed(ticket)) => ticket,
            Ok(Decision::Refused(lockout)) => return handle.lockout_response(&lockout),
            Err(e) => return HttpResponse::BadRequest().body(e.to_string()),
        };
        if body == "wonderland" {
            handle.success(ticket).await;
            HttpResponse::Ok().finish()
        } else {
            match handle.failure(ticket).await {
                Verdict::LockedOut(lockout) => handle.lockout_response(&lockout),
                _ => HttpResponse::Unauthorized().finish(),
            }
        }
    }

    #[actix_web::test]
    async fn a_handler_can_drive_the_engine_itself() {
        let guard = Arc::new(Guard::new(Policy::default(), Arc::new(MemoryStore::new())));
        let app = test::init_service(
            App::new()
                .app_data(web::Data::from(guard))
                .route("/login", web::post().to(login)),
        )
        .await;
        let mut statuses = Vec::new();
        for password in ["a", "b", "c", "wonderland"] {
            let req = test::TestRequest::post()
                .uri("/login")
                .peer_addr("192.0.2.7:1".parse().unwrap())
                .insert_header(("accept", "application/json"))
                .set_payload(password)
                .to_request();
            let res = test::call_service(&app, req).await;
            statuses.push(res.status().as_u16());
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(
                    res.headers().get("content-type").unwrap(),
                    "application/json"
                );
            }
        }
        assert_eq!(statuses, [401, 401, 429, 429]);
    }

    #[actix_web::test]
    async fn without_the_guard_the_rejection_says_what_to_add() {
        let app = test::init_service(App::new().route("/login", web::post().to(login))).await;
        let req = test::TestRequest::post().uri("/login").to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = test::read_body(res).await;
        assert!(String::from_utf8_lossy(&body).contains("web::Data::from"));
    }
}

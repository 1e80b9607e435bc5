//! [`LoginGuardMiddleware`]: the service made by [`LoginGuard`](crate::LoginGuard),
//! and what it does with one guarded request: read the username, ask the
//! engine, refuse or call the handler, then settle the attempt.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use loginguard_core::{Attempt, Decision, Lockout, Password, Ticket, Verdict};
use loginguard_http::{body_kind, credentials, BodyError, BodyKind, Outcome};
use tracing::field::{display, Empty};
use tracing::{Instrument, Span};

use crate::body::{drain, payload_of, read_capped};
use crate::edge;
use crate::ip::attempt_of;
use crate::middleware::Settings;
use crate::outcome::decide;

/// Refuses locked-out attempts before `S` sees them, then records the
/// outcome `S` reports. Made by [`LoginGuard`](crate::LoginGuard).
pub struct LoginGuardMiddleware<S> {
    inner: Rc<S>,
    settings: Arc<Settings>,
}

impl<S> fmt::Debug for LoginGuardMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginGuardMiddleware")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S> LoginGuardMiddleware<S> {
    pub(crate) fn new(inner: Rc<S>, settings: Arc<Settings>) -> Self {
        LoginGuardMiddleware { inner, settings }
    }
}

type Res<B> = ServiceResponse<EitherBody<B>>;

impl<S, B> Service<ServiceRequest> for LoginGuardMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = Res<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Res<B>, Error>>;

    forward_ready!(inner);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if !self.settings.guard_safe_methods
            && loginguard_http::is_safe_method(req.method().as_str())
        {
            let fut = self.inner.call(req);
            return Box::pin(async move { fut.await.map(ServiceResponse::map_into_left_body) });
        }
        let settings = self.settings.clone();
        let inner = self.inner.clone();
        let span = tracing::info_span!(
            target: "loginguard",
            "login_attempt",
            scope = %settings.guard.policy().scope,
            method = %req.method(),
            path = %req.path(),
            ip = Empty,
            username = Empty,
            decision = Empty,
            outcome = Empty,
            status = Empty,
        );
        if span.is_disabled() {
            Box::pin(run(settings, inner, req))
        } else {
            Box::pin(run(settings, inner, req).instrument(span))
        }
    }
}

/// Where an attempt stands with the engine when its body turns out bad.
enum Counted {
    /// Judged before its body was read: counted already.
    Judged(Ticket),
    /// Not asked yet: the body was to tell the username.
    NotYet(Attempt),
}

async fn run<S, B>(
    settings: Arc<Settings>,
    inner: Rc<S>,
    mut req: ServiceRequest,
) -> Result<Res<B>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    let mut attempt = attempt_of(req.request(), &settings.resolver);
    attempt.device_cookie = loginguard_http::device_cookie(
        settings.guard.policy(),
        &crate::ip::ActixHeaders(req.headers()),
    );
    if let Some(ip) = attempt.ip {
        Span::current().record("ip", display(ip));
    }
    let negotiation = edge::negotiation_headers(req.headers());
    let guard = &settings.guard;
    let ticket = if settings.body_first {
        let attempt = match read_username(&settings, &mut req, &negotiation).await {
            Ok((name, password)) => {
                let mut attempt = match name {
                    Some(name) => attempt.username(name),
                    None => attempt,
                };
                attempt.password = password;
                attempt
            }
            Err(e) => {
                let counted = Counted::NotYet(attempt);
                let res =
                    count_bad_input(&settings, counted, &negotiation, req.request(), &e).await;
                return Ok(req.into_response(res).map_into_right_body());
            }
        };
        match guard.begin(attempt).await {
            Ok(Decision::Proceed(ticket)) => ticket,
            Ok(Decision::Refused(lockout)) => {
                let res = refused(&settings, &lockout, &negotiation, req.request());
                return Ok(req.into_response(res).map_into_right_body());
            }
            Err(e) => {
                let res = edge::bad_input(&BodyError::Bad(e.to_string()), &negotiation);
                return Ok(req.into_response(res).map_into_right_body());
            }
        }
    } else {
        // Nothing needs the username to judge: judge before reading the
        // body, so a locked-out client costs no body read at all.
        let mut ticket = match guard.begin(attempt).await {
            Ok(Decision::Proceed(ticket)) => ticket,
            Ok(Decision::Refused(lockout)) => {
                let res = refused(&settings, &lockout, &negotiation, req.request());
                // Keeps the connection open for the client's next request.
                let mut payload = req.take_payload();
                let limit = guard.policy().body_limit;
                drain(req.headers(), &mut payload, limit).await;
                return Ok(req.into_response(res).map_into_right_body());
            }
            Err(e) => {
                let res = edge::bad_input(&BodyError::Bad(e.to_string()), &negotiation);
                return Ok(req.into_response(res).map_into_right_body());
            }
        };
        match read_username(&settings, &mut req, &negotiation).await {
            Ok((Some(name), _)) => ticket.set_username(name),
            Ok((None, _)) => {}
            Err(e) => {
                let counted = Counted::Judged(ticket);
                let res =
                    count_bad_input(&settings, counted, &negotiation, req.request(), &e).await;
                return Ok(req.into_response(res).map_into_right_body());
            }
        }
        ticket
    };
    finish(&settings, &*inner, req, ticket, &negotiation).await
}

/// Calls the handler with the attempt counted, then settles the ticket with
/// the outcome its response shows.
async fn finish<S, B>(
    settings: &Settings,
    inner: &S,
    req: ServiceRequest,
    ticket: Ticket,
    negotiation: &http::HeaderMap,
) -> Result<Res<B>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    let span = Span::current();
    let guard = &settings.guard;
    span.record("decision", "proceed");
    if let Some(name) = &ticket.attempt().username {
        span.record("username", name.as_str());
    }
    let path = req.path().to_owned();
    // Only a device cookie needs to know (for `Secure`). The server's own
    // TLS, or a trusted proxy's X-Forwarded-Proto: actix's connection info
    // would believe that header from anyone.
    let secure = guard.policy().trusts_devices()
        && loginguard_http::is_https(
            req.app_config().secure().then_some("https"),
            &crate::ip::ActixHeaders(req.headers()),
            req.peer_addr()
                .is_some_and(|p| settings.resolver.is_trusted(p.ip())),
        );
    let res = match inner.call(req).await {
        Ok(res) => res,
        Err(e) => {
            guard.release(ticket).await;
            return Err(e);
        }
    };
    span.record("status", res.status().as_u16());
    let (mut res, outcome) = decide(&settings.rules, &path, res).await;
    match outcome {
        Outcome::Success => {
            span.record("outcome", "success");
            if let Some(cookie) = guard.success_with_cookie(ticket).await {
                let line = loginguard_http::set_cookie_line(&cookie, secure);
                if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&line) {
                    res.headers_mut()
                        .append(actix_web::http::header::SET_COOKIE, value);
                }
            }
        }
        Outcome::Failure => {
            span.record("outcome", "failure");
            if let Verdict::LockedOut(lockout) = guard.failure(ticket).await {
                span.record("outcome", "locked_out");
                let lockout = refuse(settings, &lockout, negotiation, res.request());
                let (req, _) = res.into_parts();
                return Ok(ServiceResponse::new(req, lockout.map_into_right_body()));
            }
        }
        _ => {
            span.record("outcome", "skip");
            guard.release(ticket).await;
        }
    }
    tracing::debug!(target: "loginguard", "attempt settled");
    Ok(res)
}

/// Reads the body when a username may be in it and checks the username
/// ([`Policy::normalize_username`](loginguard_core::Policy::normalize_username)).
/// The handler gets the same bytes back.
async fn read_username(
    settings: &Settings,
    req: &mut ServiceRequest,
    negotiation: &http::HeaderMap,
) -> Result<(Option<String>, Option<Password>), BodyError> {
    let kind = body_kind(negotiation);
    if settings.username.is_none() && kind == BodyKind::Other {
        return Ok((None, None));
    }
    let policy = settings.guard.policy();
    let mut payload = req.take_payload();
    let bytes = read_capped(req.headers(), &mut payload, policy.body_limit).await?;
    req.set_payload(payload_of(bytes.clone()));
    let custom = settings.username.as_ref().map(|f| f(req.request(), &bytes));
    credentials(policy, kind, &bytes, custom)
}

/// The one rule for bad input (a body over `body_limit`, a malformed body,
/// an unusable username): it never reaches the handler, but it is a failed
/// attempt on the keys that need no username (the IP criteria), and a
/// client locked out on them gets the lockout response rather than the
/// 400/413. The engine is asked once, without a username.
async fn count_bad_input(
    settings: &Settings,
    attempt: Counted,
    negotiation: &http::HeaderMap,
    req: &HttpRequest,
    error: &BodyError,
) -> HttpResponse<BoxBody> {
    let span = Span::current();
    span.record("decision", "bad_input");
    let guard = &settings.guard;
    let ticket = match attempt {
        Counted::Judged(ticket) => ticket,
        Counted::NotYet(attempt) => match guard.begin(attempt).await {
            Ok(Decision::Proceed(ticket)) => ticket,
            Ok(Decision::Refused(lockout)) => return refused(settings, &lockout, negotiation, req),
            Err(_) => return edge::bad_input(error, negotiation),
        },
    };
    match guard.failure(ticket).await {
        Verdict::LockedOut(lockout) => {
            span.record("outcome", "locked_out");
            refuse(settings, &lockout, negotiation, req)
        }
        _ => edge::bad_input(error, negotiation),
    }
}

/// A refusal before the handler: recorded on the span, then answered.
fn refused(
    settings: &Settings,
    lockout: &Lockout,
    negotiation: &http::HeaderMap,
    req: &HttpRequest,
) -> HttpResponse<BoxBody> {
    Span::current().record("decision", "refused");
    tracing::debug!(target: "loginguard", reason = ?lockout.reason, "attempt refused");
    refuse(settings, lockout, negotiation, req)
}

/// The lockout response: the closure's, or the shared one from the pages
/// rendered once.
fn refuse(
    settings: &Settings,
    lockout: &Lockout,
    negotiation: &http::HeaderMap,
    req: &HttpRequest,
) -> HttpResponse<BoxBody> {
    if let Some(f) = &settings.responder {
        return f(lockout, req);
    }
    let res = settings
        .pages
        .respond(settings.guard.policy(), lockout, negotiation);
    edge::to_actix(res)
}

//! How the middleware learns whether a login succeeded: a [`LoginOutcome`]
//! the handler puts on its response, else the shared
//! [`OutcomeRules`](loginguard_http::OutcomeRules) (status, `Location`,
//! `Set-Cookie`, the first bytes of the body).

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::{HttpRequest, HttpResponse, Responder};
use loginguard_http::{LoginResponse, Outcome, OutcomeRules, BODY_SNIFF_LIMIT};

use crate::body::peek;
use crate::edge;

/// What the handler says of the attempt. It wins over every
/// [outcome rule](loginguard_http::OutcomeRules). A handler that re-renders
/// the login form with 200 on a wrong password needs it (or set
/// `failure_body_text`), or every guess would count as a success.
///
/// Wrap a responder with [`respond`](Self::respond), or [`mark`](Self::mark)
/// a response you hold:
///
/// ```
/// use actix_web::{HttpResponse, Responder};
/// use loginguard_actix::LoginOutcome;
///
/// async fn login() -> impl Responder {
///     // A wrong password answered with a friendly 200 page:
///     LoginOutcome::Failure.respond(HttpResponse::Ok().body("wrong username or password"))
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// The password was right: the attempt is given back (or the keys are
    /// cleared with `reset_on_success`) and the access log is written.
    Success,
    /// The password was wrong: the attempt stays counted.
    Failure,
    /// Not a login try after all: the attempt is given back and nothing is
    /// logged ([`Outcome::Neutral`]).
    Skip,
}

impl LoginOutcome {
    /// `responder`'s response, carrying this outcome.
    pub fn respond<R: Responder>(self, responder: R) -> Marked<R> {
        Marked {
            outcome: self,
            responder,
        }
    }

    /// Puts this outcome on `res`.
    pub fn mark<B>(self, res: &mut HttpResponse<B>) {
        res.extensions_mut().insert(self);
    }
}

impl From<LoginOutcome> for Outcome {
    fn from(outcome: LoginOutcome) -> Outcome {
        match outcome {
            LoginOutcome::Success => Outcome::Success,
            LoginOutcome::Failure => Outcome::Failure,
            LoginOutcome::Skip => Outcome::Neutral,
        }
    }
}

/// A responder carrying a [`LoginOutcome`]; made by
/// [`LoginOutcome::respond`].
#[derive(Debug)]
pub struct Marked<R> {
    outcome: LoginOutcome,
    responder: R,
}

impl<R: Responder> Responder for Marked<R> {
    type Body = R::Body;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse<Self::Body> {
        let mut res = self.responder.respond_to(req);
        self.outcome.mark(&mut res);
        res
    }
}

/// The outcome of the attempt posted to `path` and answered by `res`. A
/// marker wins; the body is read, up to [`BODY_SNIFF_LIMIT`] bytes, only
/// when a rule looks at it, and the response goes on with the same bytes.
pub(crate) async fn decide<B>(
    rules: &OutcomeRules,
    path: &str,
    mut res: ServiceResponse<B>,
) -> (ServiceResponse<EitherBody<B>>, Outcome)
where
    B: MessageBody + 'static,
{
    let marker = res.response_mut().extensions_mut().remove::<LoginOutcome>();
    if let Some(marker) = marker {
        return (res.map_into_left_body(), marker.into());
    }
    let status = edge::status(res.status());
    let headers = edge::all_headers(res.headers());
    if !rules.reads_body() {
        let outcome = rules.decide(&LoginResponse::new(path, status, &headers));
        return (res.map_into_left_body(), outcome);
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let (start, replay) = peek(body, BODY_SNIFF_LIMIT).await;
    let outcome = rules.decide(&LoginResponse::new(path, status, &headers).body_start(&start));
    let res = head.set_body(EitherBody::right(BoxBody::new(replay)));
    (ServiceResponse::new(req, res), outcome)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[actix_web::test]
    async fn a_marker_beats_the_status() {
        let req = TestRequest::post().uri("/login").to_http_request();
        let res = LoginOutcome::Failure
            .respond(HttpResponse::Ok().body("try again"))
            .respond_to(&req);
        let res = ServiceResponse::new(req, res);
        let (_, outcome) = decide(&OutcomeRules::default(), "/login", res).await;
        assert_eq!(outcome, Outcome::Failure);
    }

    #[actix_web::test]
    async fn body_text_is_found_and_the_body_goes_on_whole() {
        let rules = OutcomeRules::default().failure_body_text(Some("Wrong".into()));
        let req = TestRequest::post().uri("/login").to_http_request();
        let res = ServiceResponse::new(req, HttpResponse::Ok().body("<p>Wrong password</p>"));
        let (res, outcome) = decide(&rules, "/login", res).await;
        assert_eq!(outcome, Outcome::Failure);
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        assert_eq!(body, "<p>Wrong password</p>");
    }

    #[actix_web::test]
    async fn a_redirect_back_to_the_form_is_a_failure() {
        let req = TestRequest::post().uri("/login").to_http_request();
        let res = HttpResponse::SeeOther()
            .insert_header(("location", "/login?error=1"))
            .finish();
        let (_, outcome) = decide(
            &OutcomeRules::default(),
            "/login",
            ServiceResponse::new(req, res),
        )
        .await;
        assert_eq!(outcome, Outcome::Failure);
    }
}

//! HTTP tests of the example app: what a client of the login form sees.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpServer};
use example_actix::{configure, Users};
use loginguard::{Criterion, Field, Guard, MemoryStore, Policy};

fn users() -> Arc<Users> {
    // A cheap cost: the tests count checks, they do not time them.
    Arc::new(Users::new(argon2::Params::new(256, 1, 1, None).unwrap()).unwrap())
}

fn guard(policy: Policy) -> Arc<Guard> {
    Arc::new(Guard::new(policy, Arc::new(MemoryStore::new())))
}

fn by(fields: &[Criterion]) -> Policy {
    Policy::builder()
        .lockout_parameters(fields.to_vec())
        .build()
        .unwrap()
}

async fn app(
    policy: Policy,
    users: Arc<Users>,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(App::new().configure(configure(guard(policy), users))).await
}

fn post(ip: &str, body: impl Into<Vec<u8>>) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/login")
        .peer_addr(SocketAddr::new(ip.parse().unwrap(), 40000))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body.into())
}

fn login(ip: &str, user: &str, password: &str) -> actix_http::Request {
    post(ip, format!("username={user}&password={password}")).to_request()
}

/// Status codes of `tries` (ip, user, password), in order.
async fn statuses<S, B>(app: &S, tries: &[(&str, &str, &str)]) -> Vec<u16>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut out = Vec::new();
    for (ip, user, password) in tries {
        out.push(
            test::call_service(app, login(ip, user, password))
                .await
                .status()
                .as_u16(),
        );
    }
    out
}

const A: &str = "198.51.100.1";
const B: &str = "198.51.100.2";
const C: &str = "198.51.100.3";

#[actix_web::test]
async fn the_third_wrong_password_locks_the_ip_for_every_username() {
    let app = app(Policy::default(), users()).await;
    let got = statuses(
        &app,
        &[
            (A, "alice", "a"),
            (A, "bob", "b"),
            (A, "carol", "c"),
            (A, "alice", "wonderland"),
            (B, "alice", "wonderland"),
        ],
    )
    .await;
    assert_eq!(got, [200, 200, 429, 429, 303]);
}

#[actix_web::test]
async fn by_username_the_user_is_locked_from_every_ip_and_others_are_not() {
    let users = users();
    let app = app(by(&[Criterion::one(Field::Username)]), users.clone()).await;
    let got = statuses(
        &app,
        &[
            (A, "alice", "a"),
            (B, "alice", "b"),
            (C, "alice", "c"),
            (C, "alice", "wonderland"),
            (A, "bob", "x"),
        ],
    )
    .await;
    assert_eq!(got, [200, 200, 429, 429, 200]);
    assert_eq!(users.checks(), 4, "the locked attempt reached the handler");
}

#[actix_web::test]
async fn by_the_combination_only_that_user_from_that_ip_is_locked() {
    let app = app(
        by(&[Criterion::all_of([Field::Username, Field::Ip])]),
        users(),
    )
    .await;
    let got = statuses(
        &app,
        &[
            (A, "alice", "a"),
            (A, "alice", "b"),
            (A, "alice", "c"),
            (A, "alice", "wonderland"),
            (B, "alice", "wonderland"),
            (A, "bob", "x"),
        ],
    )
    .await;
    assert_eq!(got, [200, 200, 429, 429, 303, 200]);
}

#[actix_web::test]
async fn a_right_password_resets_the_count_with_reset_on_success() {
    let policy = Policy::builder().reset_on_success(true).build().unwrap();
    let app = app(policy, users()).await;
    let got = statuses(
        &app,
        &[
            (A, "alice", "a"),
            (A, "alice", "b"),
            (A, "alice", "wonderland"),
            (A, "alice", "c"),
            (A, "alice", "d"),
            (A, "alice", "e"),
        ],
    )
    .await;
    assert_eq!(got, [200, 200, 303, 200, 200, 429]);
}

#[actix_web::test]
async fn the_lockout_response_has_retry_after_and_speaks_html_or_json() {
    let policy = Policy::builder()
        .cool_off(Duration::from_secs(900))
        .build()
        .unwrap();
    let app = app(policy, users()).await;
    statuses(
        &app,
        &[(A, "alice", "a"), (A, "alice", "b"), (A, "alice", "c")],
    )
    .await;
    let res = test::call_service(&app, login(A, "alice", "wonderland")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    let html = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(html.contains("Too many login attempts"), "{html}");
    let req = post(A, "username=alice&password=wonderland")
        .insert_header(("accept", "application/json"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let v: serde_json::Value = serde_json::from_slice(&test::read_body(res).await).unwrap();
    assert_eq!(v["error"], "locked_out");
    assert!(v["retry_after"]
        .as_u64()
        .is_some_and(|n| (1..=900).contains(&n)));
}

#[actix_web::test]
async fn unknown_users_get_the_very_same_responses_as_known_ones() {
    let users = users();
    let app = app(by(&[Criterion::one(Field::Username)]), users.clone()).await;
    let mut seen = Vec::new();
    for user in ["alice", "nobody"] {
        let mut bodies = Vec::new();
        for _ in 0..4 {
            let res = test::call_service(&app, login(A, user, "wrong")).await;
            let status = res.status();
            let headers: Vec<(String, Vec<u8>)> = {
                let mut h: Vec<_> = res
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                    .collect();
                h.sort();
                h
            };
            bodies.push((status, headers, test::read_body(res).await));
        }
        seen.push(bodies);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(users.checks(), 6, "unknown users cost a check too");
}

#[actix_web::test]
async fn bad_input_never_reaches_the_password_check_nor_causes_a_500() {
    let users = users();
    let app = app(Policy::default(), users.clone()).await;
    let huge = format!("username=alice&password={}", "x".repeat(2 << 20));
    let cases: Vec<(test::TestRequest, u16)> = vec![
        (post(A, "password=wonderland"), 400),
        (post(B, "username=alice"), 400),
        (
            post(C, b"username=al\xffce&password=wonderland".to_vec()),
            400,
        ),
        (post(A, "username=alice&username=bob&password=x"), 400),
        (post(B, huge), 413),
        (
            test::TestRequest::post()
                .uri("/login")
                .peer_addr(SocketAddr::new(C.parse().unwrap(), 1))
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"username\": "),
            400,
        ),
    ];
    for (i, (req, expected)) in cases.into_iter().enumerate() {
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status().as_u16(), expected, "case {i}");
    }
    assert_eq!(users.checks(), 0);
}

#[actix_web::test]
async fn sixty_four_parallel_wrong_passwords_get_at_most_the_limit_checked() {
    let users = users();
    let limit = 3;
    let g = guard(Policy::default());
    let server = {
        let (g, users) = (g.clone(), users.clone());
        HttpServer::new(move || App::new().configure(configure(g.clone(), users.clone())))
            .workers(2)
            .bind("127.0.0.1:0")
            .unwrap()
    };
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let client = reqwest::Client::new();
    let tries = (0..64).map(|i| {
        let client = client.clone();
        async move {
            client
                .post(format!("http://{addr}/login"))
                .form(&[("username", "alice"), ("password", &format!("guess{i}"))])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let got = futures_util::future::join_all(tries).await;
    handle.stop(true).await;
    assert!(got.iter().all(|s| *s == 200 || *s == 429), "{got:?}");
    assert!(
        users.checks() <= limit,
        "{} passwords checked",
        users.checks()
    );
    let refused = got.iter().filter(|s| **s == 429).count();
    assert!(refused >= 64 - limit, "{refused} refused");
}

/// Sends `n` requests one after another on one connection, each body in a
/// write of its own; the statuses, and whether the server said it would
/// close the connection.
fn on_one_connection(addr: SocketAddr, body: &str, n: usize) -> Vec<(u16, bool)> {
    use std::io::{BufRead, BufReader, Read, Write};
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut out = Vec::new();
    for _ in 0..n {
        // The body follows the head in a second write, as many clients send it.
        write!(
            writer,
            "POST /login HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        writer.write_all(body.as_bytes()).unwrap();
        let mut status_line = String::new();
        if reader.read_line(&mut status_line).unwrap() == 0 {
            break;
        }
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let (mut length, mut close) = (0, false);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            close |= line == "connection: close";
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        out.push((status, close));
    }
    out
}

#[actix_web::test]
async fn a_locked_out_client_keeps_its_connection() {
    let g = guard(Policy::default());
    let users = users();
    let server = HttpServer::new(move || App::new().configure(configure(g.clone(), users.clone())))
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let got = web::block(move || on_one_connection(addr, "username=alice&password=x", 5))
        .await
        .unwrap();
    handle.stop(true).await;
    assert_eq!(
        got,
        [
            (200, false),
            (200, false),
            (429, false),
            (429, false),
            (429, false)
        ]
    );
}

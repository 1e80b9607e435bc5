//! The admin UI over `oneshot`: access rules, pages, unlock, log search and
//! paging, mount prefixes.

mod common;

use axum::http::StatusCode;
use common::*;
use loginguard_core::{AuditEntry, AuditKind, ListQuery, LogRetention, MemoryStore, Store};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn no_session_redirects_to_sign_in() {
    let app = app(state(audited_store()), "/admin", "198.51.100.1");
    for path in [
        "/admin",
        "/admin/locked",
        "/admin/failures",
        "/admin/access",
        "/admin/policy",
    ] {
        let r = get(&app, path, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.header("location"), Some("/admin/signin"), "{path}");
    }
    let r = get(&app, "/admin", Some("loginguard_admin=forged")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post_form(&app, "/admin/unlock-all", None, &[("csrf", "x")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn ui_is_closed_without_a_password_hash() {
    let state = loginguard_admin::AdminState::builder(audited_store())
        .build()
        .unwrap();
    let app = app(state, "", "198.51.100.1");
    for r in [
        get(&app, "/", None).await,
        get(&app, "/signin", None).await,
        post_form(&app, "/signin", None, &[("password", PASSWORD)]).await,
    ] {
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("admin UI is closed"), "{}", r.body);
        assert!(r.body.contains("loginguard admin --hash-password"));
    }
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_scoped_to_the_mount() {
    let app = app(state(audited_store()), "/ops/admin", "198.51.100.1");
    let r = get(&app, "/ops/admin/signin", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("action=\"/ops/admin/signin\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("name=\"viewport\""));
    let r = post_form(&app, "/ops/admin/signin", None, &[("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/ops/admin"));
    let cookie = r.header("set-cookie").unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/ops/admin"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains(PASSWORD));
    let session = cookie.split(';').next().unwrap();
    let r = get(&app, "/ops/admin", Some(session)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("href=\"/ops/admin/locked\""), "{}", r.body);
    assert!(r.body.contains("action=\"/ops/admin/signout\""));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn wrong_admin_passwords_are_counted_and_locked() {
    let store = audited_store();
    let app = app(state(store.clone()), "", "203.0.113.7");
    let r = post_form(&app, "/signin", None, &[("password", "guess-1")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("2 tries left"), "{}", r.body);
    let r = post_form(&app, "/signin", None, &[("password", "guess-2")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = post_form(&app, "/signin", None, &[("password", "guess-3")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    assert!(r.header("set-cookie").is_none());
    // Locked: even the right password is refused, before it is checked.
    let r = post_form(&app, "/signin", None, &[("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("set-cookie").is_none());
    // The lock is an ordinary key of scope `admin` in the same store.
    let locked = store
        .list(&ListQuery::all().locked_only(true), SystemTime::now())
        .await
        .unwrap();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].key.id(), "admin/ip=203.0.113.7");
    // Another address is not locked.
    let other = common::app(state(store.clone()), "", "203.0.113.8");
    let r = post_form(&other, "/signin", None, &[("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Failed admin sign-ins are in the failure log; no password is.
    let log = store
        .audit()
        .unwrap()
        .query(&loginguard_core::LogQuery::all().kind(AuditKind::Failure))
        .await
        .unwrap();
    assert!(log.len() >= 3);
    assert!(log.iter().all(|e| e.scope == "admin"));
    assert!(!format!("{log:?}").contains("guess-"));
}

#[tokio::test]
async fn every_page_renders_for_a_signed_in_admin() {
    let store = audited_store();
    let guard = app_guard(store.clone());
    fail_logins(&guard, "192.0.2.10", "alice", 3).await;
    let app = app(state(store), "/admin", "198.51.100.1");
    let cookie = sign_in(&app, "/admin").await;
    let r = get(&app, "/admin", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"locked-count\">1<"), "{}", r.body);
    assert!(r.body.contains("id=\"failures-hour\">3<"), "{}", r.body);
    assert!(r.body.contains("<svg"), "chart present");
    assert!(r.body.contains("3 failures, 1 min ago"), "{}", r.body);
    let r = get(&app, "/admin/locked", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("login/username=alice"));
    assert!(r.body.contains("until reset"));
    assert!(r.body.contains("<th>Refused since lock</th>"), "{}", r.body);
    assert!(
        r.body.contains("<td class=\"refused\">0</td>"),
        "{}",
        r.body
    );
    let r = get(&app, "/admin/failures", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body.matches("<td class=\"whole username\">alice").count(),
        3,
        "{}",
        r.body
    );
    let r = get(&app, "/admin/access", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    // The administrator's own sign-in is in the access log, scope `admin`.
    assert_eq!(rows(&r.body), 1, "{}", r.body);
    assert!(r.body.contains("<td>admin</td>"));
    let r = get(&app, "/admin/policy", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("<dt>failure_limit</dt><dd>3</dd>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("$argon2"));
    assert!(!r.body.contains(TOKEN));
    let r = get(&app, "/admin/style.css", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn unlock_needs_the_session_csrf_token() {
    let store = audited_store();
    let guard = app_guard(store.clone());
    fail_logins(&guard, "192.0.2.10", "alice", 3).await;
    let app = app(state(store.clone()), "/admin", "198.51.100.1");
    let cookie = sign_in(&app, "/admin").await;
    let key = "login/username=alice";
    let page = get(&app, "/admin/locked", Some(&cookie)).await;
    let csrf = page.csrf();

    let r = post_form(&app, "/admin/unlock", Some(&cookie), &[("key", key)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no token");
    let wrong = "0".repeat(64);
    let r = post_form(
        &app,
        "/admin/unlock",
        Some(&cookie),
        &[("csrf", &wrong), ("key", key)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "wrong token");
    let r = post_form(&app, "/admin/unlock-all", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "unlock all without token");
    let r = post_form(&app, "/admin/signout", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "sign-out without token");
    // A token from another session is wrong too.
    let other = sign_in(&app, "/admin").await;
    let other_csrf = get(&app, "/admin/locked", Some(&other)).await.csrf();
    let r = post_form(
        &app,
        "/admin/unlock",
        Some(&cookie),
        &[("csrf", &other_csrf), ("key", key)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another session's token");
    assert_eq!(locked_ids(&store).await, vec![key.to_owned()]);

    let r = post_form(
        &app,
        "/admin/unlock",
        Some(&cookie),
        &[("csrf", &csrf), ("key", key)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/admin/locked?cleared=1"));
    assert!(locked_ids(&store).await.is_empty());
    let r = get(&app, "/admin/locked?cleared=1", Some(&cookie)).await;
    assert!(r.body.contains("Unlocked: 1 record cleared."));
    assert!(r.body.contains("No key is locked."));
}

#[tokio::test]
async fn unlock_all_clears_every_key_and_sign_out_ends_the_session() {
    let store = audited_store();
    let guard = app_guard(store.clone());
    for user in ["alice", "bob", "carol"] {
        fail_logins(&guard, "192.0.2.10", user, 3).await;
    }
    assert_eq!(locked_ids(&store).await.len(), 3);
    let app = app(state(store.clone()), "", "198.51.100.1");
    let cookie = sign_in(&app, "").await;
    let csrf = get(&app, "/locked", Some(&cookie)).await.csrf();
    let r = post_form(&app, "/unlock-all", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(locked_ids(&store).await.is_empty());
    let r = post_form(&app, "/signout", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = get(&app, "/", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the old session is gone");
}

#[tokio::test]
async fn unlocking_a_user_lets_them_log_in() {
    let store = audited_store();
    let guard = app_guard(store.clone());
    fail_logins(&guard, "192.0.2.10", "alice", 3).await;
    let attempt = || {
        loginguard_core::Attempt::new("POST", "/login")
            .ip("192.0.2.10".parse().unwrap())
            .username("alice")
    };
    assert!(matches!(
        guard.begin(attempt()).await.unwrap(),
        loginguard_core::Decision::Refused(_)
    ));
    let app = app(state(store.clone()), "", "198.51.100.1");
    let cookie = sign_in(&app, "").await;
    let csrf = get(&app, "/locked", Some(&cookie)).await.csrf();
    post_form(
        &app,
        "/unlock",
        Some(&cookie),
        &[("csrf", &csrf), ("key", "login/username=alice")],
    )
    .await;
    match guard.begin(attempt()).await.unwrap() {
        loginguard_core::Decision::Proceed(ticket) => {
            guard.success(ticket).await;
        }
        loginguard_core::Decision::Refused(l) => panic!("still locked: {l:?}"),
    }
}

async fn locked_ids(store: &Arc<dyn Store>) -> Vec<String> {
    store
        .list(&ListQuery::all().locked_only(true), SystemTime::now())
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key.id().to_owned())
        .collect()
}

/// 120 failures: ips 10.0.0.0-9 in turn, users u0-u3 in turn, one second apart.
async fn fill_log(store: &Arc<dyn Store>) {
    let log = store.audit().unwrap();
    let start = SystemTime::now() - Duration::from_secs(600);
    for i in 0..120u64 {
        let entry = AuditEntry::new(
            AuditKind::Failure,
            "login",
            Some(format!("u{}", i % 4)),
            Some(format!("10.0.0.{}", i % 10)),
            Some("test-agent".into()),
            "POST",
            "/login",
            start + Duration::from_secs(i),
        );
        log.append(&entry, &LogRetention::unlimited())
            .await
            .unwrap();
    }
}

fn rows(body: &str) -> usize {
    body.matches("<td class=\"whole ip\">").count()
}

#[tokio::test]
async fn failure_log_pages_and_searches() {
    let store = audited_store();
    fill_log(&store).await;
    let app = app(state(store), "/admin", "198.51.100.1");
    let cookie = sign_in(&app, "/admin").await;

    let p1 = get(&app, "/admin/failures", Some(&cookie)).await;
    assert_eq!(rows(&p1.body), 50);
    assert!(
        p1.body.contains("href=\"/admin/failures?page=2\""),
        "{}",
        p1.body
    );
    assert!(!p1.body.contains("rel=\"prev\""));
    let p3 = get(&app, "/admin/failures?page=3", Some(&cookie)).await;
    assert_eq!(rows(&p3.body), 20);
    assert!(!p3.body.contains("rel=\"next\""));
    assert!(p3.body.contains("href=\"/admin/failures?page=2\""));
    let p9 = get(&app, "/admin/failures?page=9", Some(&cookie)).await;
    assert_eq!(rows(&p9.body), 0);
    assert!(p9.body.contains("No more entries."));

    let by_ip = get(&app, "/admin/failures?ip=10.0.0.3", Some(&cookie)).await;
    assert_eq!(rows(&by_ip.body), 12);
    assert!(!by_ip.body.contains("10.0.0.4"));
    let by_user = get(&app, "/admin/failures?username=u1&page=1", Some(&cookie)).await;
    assert_eq!(rows(&by_user.body), 30);
    let user_p2 = get(&app, "/admin/failures?username=u1&page=2", Some(&cookie)).await;
    assert_eq!(rows(&user_p2.body), 0);
    let both = get(
        &app,
        "/admin/failures?ip=10.0.0.1&username=u1",
        Some(&cookie),
    )
    .await;
    // i % 10 == 1 and i % 4 == 1: i = 1, 21, 41, 61, 81, 101.
    assert_eq!(rows(&both.body), 6);
    // The search keeps its terms in the paging links.
    let many = get(&app, "/admin/failures?ip=&username=u2", Some(&cookie)).await;
    assert_eq!(rows(&many.body), 30);
    let access = get(&app, "/admin/access?username=u1", Some(&cookie)).await;
    assert_eq!(rows(&access.body), 0);
}

#[tokio::test]
async fn stores_without_an_audit_log_say_so() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let app = app(state(store), "", "198.51.100.1");
    let cookie = sign_in(&app, "").await;
    for path in ["/", "/failures", "/access"] {
        let r = get(&app, path, Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("keeps no audit log"), "{path}: {}", r.body);
    }
    let r = api(&app, "GET", "/api/logs?kind=failure", Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("no_audit_log"));
}

#[tokio::test]
async fn time_left_is_shown_for_a_cool_off() {
    let store = audited_store();
    let policy = loginguard_core::Policy::builder()
        .failure_limit(2)
        .cool_off(Duration::from_secs(600))
        .build()
        .unwrap();
    let guard = loginguard_core::Guard::new(policy, store.clone());
    fail_logins(&guard, "192.0.2.99", "zed", 2).await;
    let app = app(state(store), "", "198.51.100.1");
    let cookie = sign_in(&app, "").await;
    let r = get(&app, "/locked", Some(&cookie)).await;
    assert!(r.body.contains("login/ip=192.0.2.99"));
    assert!(
        r.body.contains("10 minutes") || r.body.contains("9 minutes"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn searches_normalise_usernames_like_the_guard() {
    let store = audited_store();
    let policy = loginguard_core::Policy::builder()
        .failure_limit(3)
        .username_case_insensitive(true)
        .lockout_parameters(vec![loginguard_core::Criterion::one(
            loginguard_core::Field::Username,
        )])
        .build()
        .unwrap();
    let guard = loginguard_core::Guard::new(policy.clone(), store.clone());
    fail_logins(&guard, "192.0.2.10", "Alice", 3).await;
    let state = loginguard_admin::AdminState::builder(store.clone())
        .policy(policy)
        .password_hash(Some(cheap_hash(PASSWORD)))
        .token(Some(TOKEN.to_owned()))
        .build()
        .unwrap();
    let app = app(state, "", "198.51.100.1");
    let cookie = sign_in(&app, "").await;
    let r = get(&app, "/failures?username=+ALICE+", Some(&cookie)).await;
    assert_eq!(rows(&r.body), 3, "{}", r.body);
    let r = api(
        &app,
        "POST",
        "/api/unlock",
        Some(TOKEN),
        Some("{\"username\": \"ALICE\"}"),
    )
    .await;
    assert!(r.body.contains("\"cleared\":1"), "{}", r.body);
    assert!(locked_ids(&store).await.is_empty());
}

/// Succeeds `n` logins of `username` from `ip` through an app guard.
async fn succeed_logins(guard: &loginguard_core::Guard, ip: &str, username: &str, n: usize) {
    for _ in 0..n {
        let attempt = loginguard_core::Attempt::new("POST", "/login")
            .ip(ip.parse().unwrap())
            .username(username);
        match guard.begin(attempt).await.unwrap() {
            loginguard_core::Decision::Proceed(ticket) => {
                guard.success(ticket).await;
            }
            loginguard_core::Decision::Refused(l) => panic!("refused: {l:?}"),
        }
    }
}

#[tokio::test]
async fn the_dashboard_counts_users_logins_apart_from_admin_sign_ins() {
    let store = audited_store();
    let guard = app_guard(store.clone());
    succeed_logins(&guard, "192.0.2.10", "alice", 2).await;
    let app = app(state(store.clone()), "/admin", "198.51.100.1");
    let cookie = sign_in(&app, "/admin").await;
    let _second_admin = sign_in(&app, "/admin").await;
    let r = get(&app, "/admin", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"logins-hour\">2<"), "{}", r.body);
    assert!(
        r.body.contains("id=\"admin-signins-hour\">2<"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("admin sign-ins in the last hour"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn log_tables_keep_addresses_and_paths_whole_and_scroll_sideways() {
    let store = audited_store();
    let guard = app_guard(store.clone());
    fail_logins(&guard, "2001:db8:ffff:ffff:ffff:ffff:ffff:1", "alice", 1).await;
    let app = app(state(store), "/admin", "198.51.100.1");
    let cookie = sign_in(&app, "/admin").await;
    let r = get(&app, "/admin/failures", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = &r.body;
    assert!(
        body.contains("<td class=\"whole ip\">2001:db8:ffff:ffff:ffff:ffff:ffff:1</td>"),
        "{body}"
    );
    assert!(
        body.contains("<td class=\"whole request\">POST /login</td>"),
        "{body}"
    );
    let css = get(&app, "/admin/style.css", Some(&cookie)).await.body;
    assert!(!css.contains("break-all"), "no mid-word breaks anywhere");
    assert!(css.contains("td.whole { white-space: nowrap; }"), "{css}");
    assert!(css.contains(".scroll { overflow-x: auto;"), "{css}");
    let table = body.find("<table class=\"log\">").unwrap();
    assert!(
        body[..table].ends_with("<div class=\"scroll\">"),
        "the table scrolls on its own"
    );
}

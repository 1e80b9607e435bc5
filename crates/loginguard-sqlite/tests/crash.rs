//! Nothing acknowledged is lost when the process dies (`kill -9`).
//!
//! The test runs its own test binary again as a child process (with
//! `LOGINGUARD_CRASH_CHILD` naming the database file). The child drives
//! failed logins through a [`Guard`] on an SQLite file from 8 tasks and
//! prints one line per failure the guard has acknowledged. The parent kills
//! it with SIGKILL in the middle of the burst, reopens the file, and checks
//! that every acknowledged failure is counted, every acknowledged lock is in
//! force, and every acknowledged failure has its failure-log row.
#![cfg(unix)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use loginguard_core::audit::{AuditKind, LogQuery};
use loginguard_core::record::{KeyVerdict, Limits};
use loginguard_core::{
    Attempt, Criterion, Decision, Field, Guard, Key, ListQuery, Policy, Store, Verdict,
};
use loginguard_sqlite::sqlx::{self, Connection};
use loginguard_sqlite::SqliteStore;

const CHILD_ENV: &str = "LOGINGUARD_CRASH_CHILD";
const LIMIT: u32 = 5;
const TASKS: usize = 8;
/// The parent kills the child once it has seen this many acknowledgements.
const KILL_AFTER: usize = 400;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn policy() -> Policy {
    Policy::builder()
        .failure_limit(LIMIT)
        .lockout_parameters(vec![Criterion::one(Field::Username)])
        .build()
        .unwrap()
}

#[test]
fn acknowledged_failures_and_locks_survive_sigkill() {
    match std::env::var(CHILD_ENV) {
        Ok(db) => child(&db),
        Err(_) => parent(),
    }
}

/// The burst: each task takes users one after another and fails `LIMIT`
/// times on each, printing `ack USER N` after the guard answers each
/// failure (`N` = failures so far) and `lock USER` when one locks.
fn child(db: &str) {
    // End the test harness's "test … " line, so that ours start on their own.
    println!();
    runtime().block_on(async {
        let store = SqliteStore::builder(db)
            .auto_migrate(true)
            .open()
            .await
            .unwrap();
        let guard = Arc::new(Guard::new(policy(), Arc::new(store)));
        let deadline = Instant::now() + Duration::from_secs(60);
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let guard = guard.clone();
                tokio::spawn(async move {
                    for u in 0..10_000 {
                        if Instant::now() > deadline {
                            return;
                        }
                        let user = format!("user-{t}-{u}");
                        for n in 1..=LIMIT {
                            let attempt = Attempt::new("POST", "/login")
                                .ip([192, 0, 2, 1].into())
                                .username(user.clone());
                            let Decision::Proceed(ticket) = guard.begin(attempt).await.unwrap()
                            else {
                                panic!("{user} refused before its limit");
                            };
                            let verdict = guard.failure(ticket).await;
                            println!("ack {user} {n}");
                            if matches!(verdict, Verdict::LockedOut(_)) {
                                println!("lock {user}");
                            }
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "acknowledged_failures_and_locks_survive_sigkill",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked: HashMap<String, u32> = HashMap::new();
    let mut locked: Vec<String> = Vec::new();
    let mut seen = 0usize;
    let mut killed = false;
    // Reads to the end: lines written before the kill are acknowledgements too.
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["ack", user, n] => {
                acked.insert((*user).to_owned(), n.parse().unwrap());
                seen += 1;
            }
            ["lock", user] => locked.push((*user).to_owned()),
            _ => continue,
        }
        if seen >= KILL_AFTER && !killed {
            child.kill().unwrap(); // SIGKILL
            killed = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        killed,
        "the child ended before {KILL_AFTER} acknowledgements ({seen} seen)"
    );
    assert_eq!(
        status.signal(),
        Some(9),
        "the child must die by SIGKILL mid-burst: {status:?}"
    );
    assert!(
        !locked.is_empty(),
        "some users reached their lock before the kill"
    );

    runtime().block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let url = format!("sqlite://{}", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(check, "ok");

        let now = SystemTime::now();
        let listed = store.list(&ListQuery::all(), now).await.unwrap();
        let counted: HashMap<String, (u32, bool)> = listed
            .iter()
            .map(|s| (s.key.username().unwrap().to_owned(), (s.failures, s.locked)))
            .collect();
        let log = store.audit().unwrap();
        for (user, &n) in &acked {
            let (failures, is_locked) = counted.get(user).copied().unwrap_or((0, false));
            // The attempt after the last acknowledged one may have been
            // counted before the kill: never fewer, at most one more.
            assert!(
                (n..=n + 1).contains(&failures),
                "{user}: {n} failures acknowledged, {failures} counted"
            );
            if n == LIMIT {
                assert!(is_locked, "{user} was acknowledged locked and is not");
            }
            let rows = log
                .query(
                    &LogQuery::all()
                        .kind(AuditKind::Failure)
                        .username(user.clone()),
                )
                .await
                .unwrap();
            assert!(
                rows.len() >= n as usize,
                "{user}: {n} acknowledged, {} logged",
                rows.len()
            );
        }
        // A lock holds against a new attempt, too.
        for user in &locked {
            let key = Key::new("login").with_username(user.clone());
            let v = store
                .begin_attempt(&key, &Limits::new(LIMIT), now)
                .await
                .unwrap();
            assert!(matches!(v, KeyVerdict::Locked { .. }), "{user}: {v:?}");
        }
    });
}

//! Exactness across processes: two processes hammer the same keys in one
//! SQLite file at the same moment, and exactly `failure_limit` attempts per
//! key get through in total.
#![cfg(unix)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use loginguard_core::record::{KeyVerdict, Limits};
use loginguard_core::{Key, Store};
use loginguard_sqlite::SqliteStore;

const CHILD_ENV: &str = "LOGINGUARD_EXACT_CHILD";
const LIMIT: u32 = 5;
const KEYS: usize = 10;
const TASKS: usize = 16;
const PER_TASK: usize = 40;

#[test]
fn two_processes_share_exact_counts() {
    match std::env::var(CHILD_ENV) {
        Ok(dir) => child(Path::new(&dir)),
        Err(_) => parent(),
    }
}

fn keys() -> Vec<Key> {
    (0..KEYS)
        .map(|i| Key::new("login").with_username(format!("target-{i}")))
        .collect()
}

/// Waits for the parent's go file, then runs `TASKS` tasks of `PER_TASK`
/// attempts spread over the keys, and prints `through KEY N` per key.
fn child(dir: &Path) {
    // End the test harness's "test … " line, so that ours start on their own.
    println!();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(dir.join("lg.db")).await.unwrap();
        println!("ready");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !dir.join("go").exists() {
            assert!(Instant::now() < deadline, "no go signal");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let keys = keys();
                    let mut through = vec![0u32; KEYS];
                    for i in 0..PER_TASK {
                        let k = (t + i) % KEYS;
                        let v = store
                            .begin_attempt(&keys[k], &Limits::new(LIMIT), SystemTime::now())
                            .await
                            .unwrap();
                        through[k] += u32::from(matches!(v, KeyVerdict::Allowed { .. }));
                    }
                    through
                })
            })
            .collect();
        let mut through = [0u32; KEYS];
        for t in tasks {
            for (k, n) in t.await.unwrap().into_iter().enumerate() {
                through[k] += n;
            }
        }
        for (k, n) in through.iter().enumerate() {
            println!("through target-{k} {n}");
        }
    });
}

fn spawn(dir: &Path) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "two_processes_share_exact_counts",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

fn wait_for_ready(out: &mut BufReader<std::process::ChildStdout>) {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended before ready"
        );
        if line.trim() == "ready" {
            return;
        }
    }
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(
            SqliteStore::builder(dir.path().join("lg.db"))
                .auto_migrate(true)
                .open(),
        )
        .unwrap();
    let mut children: Vec<_> = (0..2).map(|_| spawn(dir.path())).collect();
    for (_, out) in &mut children {
        wait_for_ready(out);
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let mut total: HashMap<String, u32> = HashMap::new();
    let mut per_child = Vec::new();
    for (mut child, out) in children {
        let mut mine = 0;
        for line in out.lines() {
            let line = line.unwrap();
            if let ["through", key, n] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
                let n: u32 = n.parse().unwrap();
                *total.entry((*key).to_owned()).or_default() += n;
                mine += n;
            }
        }
        assert!(child.wait().unwrap().success());
        per_child.push(mine);
    }
    assert_eq!(total.len(), KEYS);
    for (key, n) in &total {
        assert_eq!(
            *n, LIMIT,
            "{key}: exactly failure_limit attempts in total across processes"
        );
    }
    assert_eq!(
        per_child.iter().sum::<u32>(),
        LIMIT * KEYS as u32,
        "{per_child:?}"
    );
}

//! The Lua scripts against `loginguard_core::record` and
//! `loginguard_core::batch`: random sequences of begins and releases under
//! random limits, on one key and on the keys of whole attempts (spray keys
//! among them), must give the same verdicts and leave the same records in
//! Redis as the Rust rules do. Needs `LOGINGUARD_TEST_REDIS_URL`.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use loginguard_core::batch::{begin_records, Begun, KeyRelease, KeyStep};
use loginguard_core::record::{self, to_ms, KeyRecord, KeyVerdict, Limits, Release};
use loginguard_core::{Key, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn random_limits(rng: &mut StdRng) -> Limits {
    let secs =
        |rng: &mut StdRng, max: u64| Some(Duration::from_millis(rng.gen_range(1..max * 1000)));
    let window = if rng.gen_bool(0.5) {
        secs(rng, 120)
    } else {
        None
    };
    let cool_off = if rng.gen_bool(0.7) {
        secs(rng, 60)
    } else {
        None
    };
    let multiplier = *[1.0, 1.5, 2.0, 3.0, 7.25].get(rng.gen_range(0..5)).unwrap();
    let max = if rng.gen_bool(0.5) {
        secs(rng, 600)
    } else {
        None
    };
    Limits::new(rng.gen_range(1..6))
        .with_failure_window(window)
        .with_cool_off(cool_off)
        .with_progression(multiplier, max)
        .with_count_during_lockout(rng.gen_bool(0.6))
        .with_lock_out(rng.gen_bool(0.9))
        .with_remember(if rng.gen_bool(0.6) {
            rng.gen_range(1..5)
        } else {
            0
        })
}

/// A tag from a small set (so repeats happen), or none.
fn random_tag(rng: &mut StdRng) -> Option<u64> {
    let tags = [1, 0xffff_ffff_ffff_ffff, 0x0123_4567_89ab_cdef, 42];
    rng.gen_bool(0.8)
        .then(|| tags[rng.gen_range(0..tags.len())])
}

fn list(s: &str) -> Vec<&str> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').collect()
    }
}

fn stored(raw: Option<String>) -> Option<KeyRecord> {
    let raw = raw?;
    let p: Vec<&str> = raw.split('|').collect();
    assert_eq!(p.len(), 9, "{raw}");
    assert_eq!(p[0], "2", "{raw}");
    let opt = |s: &str| (!s.is_empty()).then(|| s.parse::<i64>().unwrap());
    Some(KeyRecord {
        locked: p[1] == "1",
        locked_until: opt(p[2]),
        lock_count: p[3].parse().unwrap(),
        updated_at: p[4].parse().unwrap(),
        refused: p[6].parse().unwrap(),
        tags: list(p[7])
            .into_iter()
            .map(|e| {
                let (t, tag) = e.split_once(':').unwrap();
                assert_eq!(tag.len(), 16, "{raw}");
                (t.parse().unwrap(), u64::from_str_radix(tag, 16).unwrap())
            })
            .collect(),
        failures: list(p[8]).into_iter().map(|t| t.parse().unwrap()).collect(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_rules_match_the_rust_rules() {
    let Some(url) = support::shared_url() else {
        return;
    };
    let prefix = support::random_prefix();
    let store = support::open_stores(&url, &prefix, 1).await.pop().unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let base = to_ms(SystemTime::now());
    for seed in 0..60u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = Key::new("parity").with_username(format!("user{seed}"));
        let mut model = KeyRecord::default();
        let mut present = false;
        let mut now = base;
        let mut begun: Vec<(i64, bool, Option<u64>)> = Vec::new();
        // A policy change now and then, as when operators edit the config.
        let mut limits = random_limits(&mut rng);
        for step in 0..80 {
            if rng.gen_bool(0.05) {
                limits = random_limits(&mut rng);
            }
            now += rng.gen_range(0..20_000);
            let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(now).unwrap());
            if begun.is_empty() || rng.gen_bool(0.75) {
                let tag = random_tag(&mut rng);
                let expected = record::begin(&mut model, &limits, tag, now);
                present = true;
                let got = store.begin_tagged(&key, &limits, tag, at).await.unwrap();
                assert_eq!(got, expected, "seed {seed} step {step}: {limits:?}");
                if let record::KeyVerdict::Allowed {
                    locks_on_failure,
                    counted: true,
                    ..
                } = got
                {
                    begun.push((now, locks_on_failure, tag));
                }
            } else {
                let (time, undo, tag) = begun.swap_remove(rng.gen_range(0..begun.len()));
                let release = if rng.gen_bool(0.2) {
                    Release::reset(time)
                } else {
                    Release::give_back(time, undo).with_tag(tag)
                };
                if present {
                    record::release(&mut model, &limits, &release, now);
                    if model.is_empty() {
                        model = KeyRecord::default();
                        present = false;
                    }
                }
                store.release(&key, &release, &limits, at).await.unwrap();
            }
            let value: Option<String> = redis::cmd("GET")
                .arg(store.redis_key(&key))
                .query_async(&mut raw)
                .await
                .unwrap();
            let got = stored(value);
            if present {
                assert_eq!(
                    got.as_ref(),
                    Some(&model),
                    "seed {seed} step {step}: {limits:?}"
                );
                let ttl: i64 = redis::cmd("PTTL")
                    .arg(store.redis_key(&key))
                    .query_async(&mut raw)
                    .await
                    .unwrap();
                assert!(ttl > 0, "every record has a TTL (seed {seed} step {step})");
                let expected_ttl = model
                    .expires_at(&limits)
                    .map_or(store.retention().as_millis() as i64, |e| {
                        (e - now).max(1_000)
                    });
                assert!(
                    ttl <= expected_ttl,
                    "TTL {ttl} > {expected_ttl} (seed {seed} step {step})"
                );
            } else {
                assert_eq!(got, None, "seed {seed} step {step}");
            }
        }
    }
    clean(&mut raw, &prefix).await;
}

/// Deletes every record of the test's prefix.
async fn clean(raw: &mut redis::aio::MultiplexedConnection, prefix: &str) {
    let _: i64 = redis::cmd("EVAL")
        .arg("local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do n = n + redis.call('DEL', k) end return n")
        .arg(0)
        .arg(format!("{prefix}:*"))
        .query_async(raw)
        .await
        .unwrap();
}

/// One key of a random attempt shape, with its limits and its model.
struct Modelled {
    key: Key,
    limits: Limits,
    spray: bool,
    model: KeyRecord,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_attempts_on_several_keys_match_begin_records() {
    let Some(url) = support::shared_url() else {
        return;
    };
    let prefix = support::random_prefix();
    let store = support::open_stores(&url, &prefix, 1).await.pop().unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let base = to_ms(SystemTime::now());
    let mut locked_attempts = 0;
    for seed in 0..60u64 {
        let mut rng = StdRng::seed_from_u64(1_000 + seed);
        // Two to four keys: account keys with the policy's limits or their
        // own, and now and then a spray key (usually last, as the guard
        // puts it) with limits of its own.
        let shared = random_limits(&mut rng);
        let accounts = rng.gen_range(1..4);
        let mut keys: Vec<Modelled> = (0..accounts)
            .map(|i| Modelled {
                key: Key::new("parity")
                    .with_ip(format!("192.0.2.{seed}"))
                    .with_username(format!("u{seed}-{i}")),
                limits: if rng.gen_bool(0.5) {
                    shared.clone()
                } else {
                    random_limits(&mut rng)
                },
                spray: false,
                model: KeyRecord::default(),
            })
            .collect();
        if accounts == 1 || rng.gen_bool(0.7) {
            let spray = Modelled {
                key: Key::new("parity").with_password(format!("{seed:016x}")),
                limits: random_limits(&mut rng),
                spray: true,
                model: KeyRecord::default(),
            };
            let at = if rng.gen_bool(0.8) {
                keys.len()
            } else {
                rng.gen_range(0..keys.len())
            };
            keys.insert(at, spray);
        }
        let mut now = base;
        // Attempts counted and not given back: (key index, time, locks, tag).
        let mut begun: Vec<(usize, i64, bool, Option<u64>)> = Vec::new();
        for step in 0..60 {
            now += rng.gen_range(0..20_000);
            let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(now).unwrap());
            let context = format!("seed {seed} step {step}");
            if begun.is_empty() || rng.gen_bool(0.7) {
                let tags: Vec<Option<u64>> = keys.iter().map(|_| random_tag(&mut rng)).collect();
                let steps: Vec<KeyStep<'_>> = keys
                    .iter()
                    .zip(&tags)
                    .map(|(k, &tag)| {
                        let step = KeyStep::new(&k.key, &k.limits).with_tag(tag);
                        if k.spray {
                            step.spray()
                        } else {
                            step
                        }
                    })
                    .collect();
                let mut records: Vec<KeyRecord> = keys.iter().map(|k| k.model.clone()).collect();
                let expected = begin_records(&mut records, &steps, now);
                let got = store.begin_all(&steps, at).await.unwrap();
                assert_eq!(got, expected, "{context}");
                let refused = expected.iter().any(Begun::is_locked);
                locked_attempts += usize::from(refused);
                for (i, b) in expected.iter().enumerate() {
                    let kept = !refused || steps[i].refusal_release(b, now).is_none();
                    if let Begun::Verdict(KeyVerdict::Allowed {
                        counted: true,
                        locks_on_failure,
                        ..
                    }) = *b
                    {
                        if kept {
                            begun.push((i, now, locks_on_failure, tags[i]));
                        }
                    }
                }
                drop(steps);
                for (k, rec) in keys.iter_mut().zip(records) {
                    k.model = rec;
                }
            } else {
                let n = rng.gen_range(1..=begun.len().min(3));
                let picked: Vec<_> = (0..n)
                    .map(|_| begun.swap_remove(rng.gen_range(0..begun.len())))
                    .collect();
                let releases: Vec<Release> = picked
                    .iter()
                    .map(|&(_, time, undo, tag)| {
                        if rng.gen_bool(0.15) {
                            Release::reset(time)
                        } else {
                            Release::give_back(time, undo).with_tag(tag)
                        }
                    })
                    .collect();
                let settle: Vec<KeyRelease<'_>> = picked
                    .iter()
                    .zip(&releases)
                    .map(|(&(i, ..), r)| KeyRelease::new(&keys[i].key, *r, &keys[i].limits))
                    .collect();
                store.release_all(&settle, at).await.unwrap();
                drop(settle);
                for (&(i, ..), r) in picked.iter().zip(&releases) {
                    let k = &mut keys[i];
                    if !k.model.is_empty() {
                        record::release(&mut k.model, &k.limits, r, now);
                    }
                }
            }
            for k in &mut keys {
                if k.model.is_empty() {
                    k.model = KeyRecord::default();
                }
                let value: Option<String> = redis::cmd("GET")
                    .arg(store.redis_key(&k.key))
                    .query_async(&mut raw)
                    .await
                    .unwrap();
                let expected = (!k.model.is_empty()).then(|| k.model.clone());
                assert_eq!(
                    stored(value),
                    expected,
                    "{context} {}: {:?}",
                    k.key,
                    k.limits
                );
            }
        }
    }
    assert!(
        locked_attempts > 100,
        "refused attempts exercised: {locked_attempts}"
    );
    clean(&mut raw, &prefix).await;
}

/// A key that holds something other than a record fails the attempt, and
/// the attempt leaves nothing counted on its other keys; settling still
/// settles every other key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_value_fails_the_attempt_without_counting_it_elsewhere() {
    let Some(url) = support::shared_url() else {
        return;
    };
    let prefix = support::random_prefix();
    let store = support::open_stores(&url, &prefix, 1).await.pop().unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let limits = Limits::new(3);
    let now = SystemTime::now();
    let (ip, user, known) = (
        Key::new("parity").with_ip("198.51.100.77"),
        Key::new("parity").with_username("foreign"),
        Key::new("parity").with_username("known"),
    );
    store.begin_attempt(&known, &limits, now).await.unwrap();
    store.begin_attempt(&known, &limits, now).await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(store.redis_key(&user))
        .arg("not a record")
        .query_async(&mut raw)
        .await
        .unwrap();
    let steps = [
        KeyStep::new(&ip, &limits),
        KeyStep::new(&known, &limits),
        KeyStep::new(&user, &limits),
    ];
    let err = store.begin_all(&steps, now).await.unwrap_err();
    assert!(err.to_string().contains("Redis"), "{err}");
    let get = |key: &Key| redis::cmd("GET").arg(store.redis_key(key)).clone();
    let ip_value: Option<String> = get(&ip).query_async(&mut raw).await.unwrap();
    assert_eq!(ip_value, None, "the new IP key was given back");
    let known_value: Option<String> = get(&known).query_async(&mut raw).await.unwrap();
    assert_eq!(
        stored(known_value).unwrap().failures.len(),
        2,
        "the known key keeps its two failures, not the failed attempt"
    );
    let at = to_ms(now);
    let releases = [
        KeyRelease::new(&user, Release::give_back(at, false), &limits),
        KeyRelease::new(&known, Release::reset(at), &limits),
    ];
    assert!(store.release_all(&releases, now).await.is_err());
    let known_value: Option<String> = get(&known).query_async(&mut raw).await.unwrap();
    assert_eq!(known_value, None, "the key after the foreign one was reset");
    clean(&mut raw, &prefix).await;
}

//! The server-side rules (`lg_begin_all`, `lg_release_all`) against the
//! Rust ones (`batch::begin_records`, `record::release`): randomized
//! sequences of attempts and settlements on a few keys, with mixed limits
//! (windows, cool-offs, progressive cool-offs with and without a cap,
//! refused attempts counted or not, monitor-only), remembered tags and a
//! spray key, must give the same verdicts and leave the same rows,
//! `expires_at` included, after every step. The seeds are fixed, so a
//! failure names the seed and step that reproduce it.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use loginguard_core::batch::{begin_records, Begun, KeyRelease, KeyStep};
use loginguard_core::record::{self, from_ms, KeyRecord, KeyVerdict, Limits, Release, Tag};
use loginguard_core::{Key, Store};
use loginguard_postgres::sqlx::{self, Row};
use loginguard_postgres::PostgresStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The keys the sequences play on; the last one is the spray key.
fn keys() -> Vec<Key> {
    vec![
        Key::new("login").with_ip("203.0.113.7"),
        Key::new("login").with_ip("203.0.113.8"),
        Key::new("login").with_username("alice"),
        Key::new("login")
            .with_ip("203.0.113.7")
            .with_username("alice"),
        Key::new("login").with_password("0123456789abcdef"),
    ]
}

fn random_limits(rng: &mut StdRng) -> Limits {
    let secs = |rng: &mut StdRng, max: u64| Duration::from_millis(rng.gen_range(0..=max * 1000));
    let window = rng.gen_bool(0.6).then(|| secs(rng, 8));
    let cool_off = match rng.gen_range(0..5) {
        0 => None,
        1 => Some(Duration::ZERO),
        _ => Some(secs(rng, 10)),
    };
    let multiplier = [1.0, 1.5, 2.0, 1e155][rng.gen_range(0..4)];
    let max = rng.gen_bool(0.5).then(|| secs(rng, 20));
    Limits::new(rng.gen_range(1..=4))
        .with_failure_window(window)
        .with_cool_off(cool_off)
        .with_progression(multiplier, max)
        .with_count_during_lockout(rng.gen_bool(0.5))
        .with_lock_out(rng.gen_bool(0.85))
        .with_remember(rng.gen_range(0..=3))
}

fn random_tag(rng: &mut StdRng) -> Option<Tag> {
    [None, Some(1), Some(2), Some(3), Some(u64::MAX)][rng.gen_range(0..5)]
}

/// Every row of `lockout_keys`: its record and its `expires_at`.
async fn rows(store: &PostgresStore) -> BTreeMap<String, (KeyRecord, Option<i64>)> {
    let rows = sqlx::query(
        "SELECT id, failures, locked, locked_until, lock_count, updated_at, refused, tags, \
         expires_at FROM lockout_keys",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|row| {
            let tags: Vec<i64> = row.get("tags");
            let rec = KeyRecord {
                failures: row.get("failures"),
                locked: row.get("locked"),
                locked_until: row.get("locked_until"),
                lock_count: u32::try_from(row.get::<i64, _>("lock_count")).unwrap(),
                updated_at: row.get("updated_at"),
                refused: u32::try_from(row.get::<i64, _>("refused")).unwrap(),
                tags: tags.chunks_exact(2).map(|p| (p[0], p[1] as Tag)).collect(),
            };
            (row.get("id"), (rec, row.get("expires_at")))
        })
        .collect()
}

/// The model: each key's record and the limits its row was last written
/// with; a record left empty has no row.
#[derive(Default)]
struct Model {
    records: BTreeMap<String, (KeyRecord, Limits)>,
}

impl Model {
    fn record(&self, key: &Key) -> KeyRecord {
        self.records
            .get(key.id())
            .map(|(r, _)| r.clone())
            .unwrap_or_default()
    }

    fn store(&mut self, key: &Key, rec: KeyRecord, limits: &Limits) {
        if rec.is_empty() {
            self.records.remove(key.id());
        } else {
            self.records
                .insert(key.id().to_owned(), (rec, limits.clone()));
        }
    }

    fn rows(&self) -> BTreeMap<String, (KeyRecord, Option<i64>)> {
        self.records
            .iter()
            .map(|(id, (rec, limits))| (id.clone(), (rec.clone(), rec.expires_at(limits))))
            .collect()
    }
}

/// How often the sequences met the cases worth meeting; each must be met.
#[derive(Debug, Default)]
struct Coverage {
    locked: usize,
    skipped: usize,
    uncounted: usize,
    locks_on_failure: usize,
    given_back_on_refusal: usize,
    emptied_by_release: usize,
    longest_cool_off_kept: usize,
}

/// An attempt counted on a key, which a later settlement may give back.
struct Counted {
    key: usize,
    at: i64,
    undo_lock: bool,
    tag: Option<Tag>,
    limits: Limits,
}

async fn run_sequence(store: &PostgresStore, seed: u64, steps: usize, seen: &mut Coverage) {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = keys();
    let spray = keys.len() - 1;
    let mut model = Model::default();
    let mut counted: Vec<Counted> = Vec::new();
    let mut now: i64 = 1_700_000_000_000;
    for n in 0..steps {
        now += [0, 1, 500, 1_500, 4_000, 12_000][rng.gen_range(0..6)];
        let at = from_ms(now);
        if rng.gen_bool(0.75) {
            // An attempt: one to three account keys and maybe the spray
            // key, in a random order.
            let mut chosen: Vec<usize> = (0..spray).collect();
            for i in (1..chosen.len()).rev() {
                chosen.swap(i, rng.gen_range(0..=i));
            }
            chosen.truncate(rng.gen_range(1..=3));
            if rng.gen_bool(0.5) {
                chosen.insert(rng.gen_range(0..=chosen.len()), spray);
            }
            let limits: Vec<Limits> = chosen.iter().map(|_| random_limits(&mut rng)).collect();
            let tags: Vec<Option<Tag>> = chosen.iter().map(|_| random_tag(&mut rng)).collect();
            let steps: Vec<KeyStep<'_>> = chosen
                .iter()
                .zip(&limits)
                .zip(&tags)
                .map(|((&k, l), &tag)| {
                    let step = KeyStep::new(&keys[k], l).with_tag(tag);
                    if k == spray {
                        step.spray()
                    } else {
                        step
                    }
                })
                .collect();
            let mut records: Vec<KeyRecord> =
                chosen.iter().map(|&k| model.record(&keys[k])).collect();
            let expected = begin_records(&mut records, &steps, now);
            let begun = store.begin_all(&steps, at).await.unwrap();
            assert_eq!(
                begun, expected,
                "seed {seed}, step {n}: verdicts of {steps:?}"
            );
            let refused = expected.iter().any(Begun::is_locked);
            for (b, step) in expected.iter().zip(&steps) {
                match b {
                    Begun::Verdict(KeyVerdict::Locked { .. }) => seen.locked += 1,
                    Begun::Skipped => seen.skipped += 1,
                    Begun::Verdict(KeyVerdict::Allowed { counted: false, .. }) => {
                        seen.uncounted += 1;
                    }
                    Begun::Verdict(KeyVerdict::Allowed {
                        locks_on_failure, ..
                    }) => {
                        seen.locks_on_failure += usize::from(*locks_on_failure);
                        seen.given_back_on_refusal +=
                            usize::from(refused && step.refusal_release(b, now).is_some());
                    }
                    Begun::Full { .. } => {}
                }
            }
            for (i, rec) in records.into_iter().enumerate() {
                if expected[i] == Begun::Skipped {
                    continue;
                }
                model.store(&keys[chosen[i]], rec, &limits[i]);
                if let Some(release) = steps[i].give_back(&expected[i], now) {
                    counted.push(Counted {
                        key: chosen[i],
                        at: now,
                        undo_lock: release.undo_lock,
                        tag: release.tag,
                        limits: limits[i].clone(),
                    });
                }
            }
        } else {
            // A settlement on one or two keys.
            let mut releases: Vec<(usize, Release, Limits)> = Vec::new();
            for _ in 0..rng.gen_range(1..=2) {
                let pick = rng.gen_range(0..10);
                if pick < 6 && !counted.is_empty() {
                    let c = counted.swap_remove(rng.gen_range(0..counted.len()));
                    releases.push((
                        c.key,
                        Release::give_back(c.at, c.undo_lock).with_tag(c.tag),
                        c.limits,
                    ));
                } else if pick < 8 {
                    let back = rng.gen_range(0..20_000);
                    releases.push((
                        rng.gen_range(0..keys.len()),
                        Release::give_back(now - back, rng.gen_bool(0.5))
                            .with_tag(random_tag(&mut rng)),
                        random_limits(&mut rng),
                    ));
                } else {
                    releases.push((
                        rng.gen_range(0..keys.len()),
                        Release::reset(now),
                        random_limits(&mut rng),
                    ));
                }
            }
            if releases.len() == 2 && releases[0].0 == releases[1].0 {
                releases.pop();
            }
            for (k, release, limits) in &releases {
                if model.records.contains_key(keys[*k].id()) {
                    let mut rec = model.record(&keys[*k]);
                    record::release(&mut rec, limits, release, now);
                    seen.emptied_by_release += usize::from(rec.is_empty());
                    model.store(&keys[*k], rec, limits);
                }
            }
            let batch: Vec<KeyRelease<'_>> = releases
                .iter()
                .map(|(k, release, limits)| KeyRelease::new(&keys[*k], *release, limits))
                .collect();
            store.release_all(&batch, at).await.unwrap();
        }
        let stored = rows(store).await;
        assert_eq!(stored, model.rows(), "seed {seed}, step {n}: rows");
        seen.longest_cool_off_kept += stored
            .values()
            .filter(|(rec, expires)| {
                expires.is_some_and(|e| e - rec.updated_at >= record::MAX_COOL_OFF_MS)
            })
            .count();
    }
}

#[tokio::test]
async fn the_server_side_rules_match_the_rust_rules() {
    let Some(url) = support::url() else { return };
    let schema = support::random_schema();
    let store = support::open_stores(&url, &schema, 1).await.remove(0);
    let mut seen = Coverage::default();
    for seed in 1..=12 {
        store
            .reset(&loginguard_core::KeyFilter::all())
            .await
            .unwrap();
        run_sequence(&store, seed, 150, &mut seen).await;
    }
    println!("{seen:?}");
    let c = &seen;
    for (what, n) in [
        ("locked", c.locked),
        ("skipped", c.skipped),
        ("uncounted", c.uncounted),
        ("locks_on_failure", c.locks_on_failure),
        ("given_back_on_refusal", c.given_back_on_refusal),
        ("emptied_by_release", c.emptied_by_release),
        ("longest_cool_off_kept", c.longest_cool_off_kept),
    ] {
        assert!(n > 0, "the sequences never met {what}: {seen:?}");
    }
    // The single-key calls run the same functions.
    let key = Key::new("login").with_ip("198.51.100.1");
    let limits = Limits::new(2).with_cool_off(Some(Duration::from_secs(60)));
    let t = SystemTime::now();
    store.begin_attempt(&key, &limits, t).await.unwrap();
    let v = store.begin_tagged(&key, &limits, Some(5), t).await.unwrap();
    let mut rec = KeyRecord::default();
    let now = record::to_ms(t);
    record::begin(&mut rec, &limits, None, now);
    assert_eq!(v, record::begin(&mut rec, &limits, Some(5), now));
    support::drop_schema(&url, &schema).await;
}

//! `RedisStore`: the [`Store`] implementation.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use loginguard_core::batch::{Begun, KeyRelease, KeyStep};
use loginguard_core::record::{
    self, duration_ms, to_ms, KeyRecord, KeyVerdict, Limits, Release, Tag,
};
use loginguard_core::{
    Config, Key, KeyFilter, KeyStatus, ListQuery, Store, StoreError, StoreHealth,
};
use redis::cluster_routing::Slot;
use redis::{ScriptInvocation, Value};

use crate::codec::{self, Stored};
use crate::conn::{bounded, Conn, Node};
use crate::error::RedisStoreError;
use crate::options::RedisOptions;
use crate::scripts::Scripts;
use crate::target::Target;
use loginguard_core::seen::SeenKeys;

/// Keys fetched per `SCAN` step and commands per pipeline in admin walks.
const BATCH: usize = 500;

/// A [`Store`] in Redis (single node or Cluster); see the crate docs.
pub struct RedisStore {
    conn: Conn,
    target: Target,
    description: String,
    prefix: String,
    timeout: Duration,
    retention: Duration,
    scripts: Scripts,
    /// Every primary runs Redis 7.0+, which has `SET … NX GET`.
    set_nx_get: bool,
    /// Keys recently found in Redis: they skip the `SET … NX GET` try.
    seen: SeenKeys,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("target", &self.description)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the server or Cluster named by `url` (see
    /// [`Target`] for the forms), waiting at most `options.timeout`.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<RedisStore, StoreError> {
        options.check()?;
        let (target, retention) = Target::parse(url)?;
        let retention = retention.unwrap_or(options.retention);
        let conn = Conn::connect(&target, options.timeout).await?;
        let mut store = RedisStore {
            conn,
            description: target.description(),
            target,
            prefix: options.prefix,
            timeout: options.timeout,
            retention,
            scripts: Scripts::new(),
            set_nx_get: false,
            seen: SeenKeys::new(),
        };
        let nodes = store.run("CLUSTER SLOTS", store.conn.nodes()).await?;
        store.set_nx_get = store
            .versions(&nodes)
            .await?
            .iter()
            .all(|v| v.split('.').next().and_then(|m| m.parse::<u32>().ok()) >= Some(7));
        store.load_scripts(&nodes).await?;
        Ok(store)
    }

    /// Loads every script on every node now, so that the first burst of
    /// attempts runs `EVALSHA` at once instead of each call meeting
    /// `NOSCRIPT` and loading the script itself. (A server that restarts
    /// later still gets its scripts back through that fallback.)
    async fn load_scripts(&self, nodes: &[Node]) -> Result<(), RedisStoreError> {
        for node in nodes {
            let mut pipe = redis::pipe();
            for script in self.scripts.all() {
                pipe.load_script(script);
            }
            self.run("SCRIPT LOAD", self.conn.pipe_node(node, pipe))
                .await?;
        }
        Ok(())
    }

    /// Connects to `config.store` with `store_prefix` and `store_timeout`.
    pub async fn from_config(config: &Config) -> Result<RedisStore, StoreError> {
        RedisStore::connect(&config.store, RedisOptions::from_config(config)).await
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether this store talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.target.is_cluster()
    }

    /// How long records that never expire by themselves are kept.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The Redis key holding `key`'s record: `{prefix}:{<key id>}`.
    pub fn redis_key(&self, key: &Key) -> String {
        codec::redis_key(&self.prefix, key.id())
    }

    /// The Redis versions of the server or of every primary.
    async fn versions(&self, nodes: &[Node]) -> Result<Vec<String>, RedisStoreError> {
        let mut versions = Vec::new();
        for node in nodes {
            let info: String = self
                .run(
                    "INFO",
                    self.conn
                        .query_node(node, redis::cmd("INFO").arg("server").clone()),
                )
                .await?;
            let version = info
                .lines()
                .find_map(|l| l.strip_prefix("redis_version:"))
                .unwrap_or("unknown")
                .trim()
                .to_owned();
            if !versions.contains(&version) {
                versions.push(version);
            }
        }
        Ok(versions)
    }

    /// The arguments every script of a step starts with (see `record.lua`):
    /// the time, the retention, and the step's own flag.
    fn head(&self, inv: &mut ScriptInvocation<'_>, now: i64, flag: bool) {
        inv.arg(now)
            .arg(duration_ms(self.retention).max(1))
            .arg(u8::from(flag));
    }

    /// A key's settings (ARGV[s+1..s+9] in `record.lua`): its limits and
    /// the attempt's tag.
    fn settings(inv: &mut ScriptInvocation<'_>, limits: &Limits, tag: Option<Tag>) {
        let opt = |d: Option<Duration>| d.map(|d| duration_ms(d).to_string()).unwrap_or_default();
        inv.arg(limits.failure_limit)
            .arg(opt(limits.failure_window))
            .arg(opt(limits.cool_off))
            .arg(limits.cool_off_multiplier.to_string())
            .arg(opt(limits.cool_off_max))
            .arg(u8::from(limits.count_during_lockout))
            .arg(u8::from(limits.lock_out))
            .arg(limits.remember)
            .arg(codec::tag_arg(tag));
    }

    /// A key's step made ready for the begin script: its Redis key, and
    /// its record and verdict if it is new (computed here: a new key's
    /// record depends on nothing stored).
    fn prepare<'s>(&self, step: &'s KeyStep<'s>, now: i64) -> Prepared<'s> {
        let mut fresh = KeyRecord::default();
        let verdict = record::begin(&mut fresh, step.limits, step.tag, now);
        let (value, ttl) =
            codec::encode(&fresh, step.limits, now, duration_ms(self.retention).max(1));
        Prepared {
            step,
            redis_key: self.redis_key(step.key),
            fresh: verdict,
            value,
            ttl,
        }
    }

    /// The begin script over `keys` (all on one slot), in order: one
    /// answer per key.
    async fn begin_script(
        &self,
        keys: &[&Prepared<'_>],
        now: i64,
    ) -> Result<Vec<Begun>, RedisStoreError> {
        let script = match keys {
            [_] => &self.scripts.begin,
            _ => &self.scripts.begin_all,
        };
        let mut inv = script.prepare_invoke();
        self.head(&mut inv, now, self.set_nx_get);
        for p in keys {
            inv.key(&p.redis_key);
            RedisStore::settings(&mut inv, p.step.limits, p.step.tag);
            inv.arg(u8::from(p.step.spray)).arg(&p.value).arg(p.ttl);
        }
        let reply: Vec<i64> = self.run("begin script", self.conn.invoke(&inv)).await?;
        if reply.len() != 7 * keys.len() {
            return Err(RedisStoreError::Reply(format!(
                "begin script answered {reply:?} for {} keys",
                keys.len()
            )));
        }
        keys.iter()
            .zip(reply.chunks_exact(7))
            .map(|(p, answer)| {
                let begun = match answer[0] {
                    2 => Begun::Verdict(p.fresh),
                    3 => Begun::Skipped,
                    _ => {
                        // The key is stored: later single-key attempts on
                        // it go to the script directly.
                        let seen = self.seen.entry(p.step.key.id());
                        if !seen.is_marked() {
                            seen.mark();
                        }
                        Begun::Verdict(verdict(answer)?)
                    }
                };
                Ok(begun)
            })
            .collect()
    }

    /// The release script over `releases` (all on one slot), in order.
    async fn release_script(
        &self,
        releases: &[&KeyRelease<'_>],
        now: i64,
    ) -> Result<(), RedisStoreError> {
        let mut inv = self.scripts.release.prepare_invoke();
        self.head(&mut inv, now, false);
        for r in releases {
            inv.key(self.redis_key(r.key));
            RedisStore::settings(&mut inv, r.limits, r.release.tag);
            inv.arg(u8::from(r.release.reset))
                .arg(r.release.attempt_time)
                .arg(u8::from(r.release.undo_lock));
        }
        let _: i64 = self.run("release script", self.conn.invoke(&inv)).await?;
        Ok(())
    }

    /// The indexes of `keys` grouped by Cluster slot, in order within each
    /// group and groups in the order of their first key; one group on a
    /// single server, which runs a script over any keys.
    fn slot_groups<'k>(&self, keys: impl ExactSizeIterator<Item = &'k str>) -> Vec<Vec<usize>> {
        if !self.is_cluster() {
            return vec![(0..keys.len()).collect()];
        }
        let mut groups: Vec<(Slot, Vec<usize>)> = Vec::new();
        for (i, key) in keys.enumerate() {
            let slot = Slot::for_key(key);
            match groups.iter_mut().find(|(s, _)| *s == slot) {
                Some((_, group)) => group.push(i),
                None => groups.push((slot, vec![i])),
            }
        }
        groups.into_iter().map(|(_, group)| group).collect()
    }

    /// [`Store::begin_all`] for keys on several Cluster slots: one script
    /// per slot, run at once, then the attempt settled across slots as
    /// [`batch::begin_records`](loginguard_core::batch::begin_records)
    /// would, in one more step run at once when a key is locked (see the
    /// crate docs).
    async fn begin_across_slots(
        &self,
        steps: &[KeyStep<'_>],
        prepared: &[Prepared<'_>],
        groups: &[Vec<usize>],
        now: SystemTime,
    ) -> Result<Vec<Begun>, StoreError> {
        let at = to_ms(now);
        let runs = groups.iter().map(|group| async move {
            let keys: Vec<&Prepared<'_>> = group.iter().map(|&i| &prepared[i]).collect();
            self.begin_script(&keys, at).await
        });
        let results = futures_util::future::join_all(runs).await;
        let mut begun = vec![Begun::Skipped; steps.len()];
        // Per key: whether a lock on its own slot already settled it.
        let mut settled = vec![false; steps.len()];
        let mut failed = None;
        for (group, result) in groups.iter().zip(results) {
            match result {
                Ok(answers) => {
                    let locked = answers.iter().any(Begun::is_locked);
                    for (&i, b) in group.iter().zip(answers) {
                        begun[i] = b;
                        settled[i] = locked;
                    }
                }
                Err(e) => {
                    // That script gave back what it stored; nothing of the
                    // group is counted.
                    for &i in group {
                        settled[i] = true;
                    }
                    failed.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failed {
            // As a failed step on one key: the keys counted on the other
            // slots are given back before the error is returned.
            let back: Vec<KeyRelease<'_>> = steps
                .iter()
                .zip(&begun)
                .zip(&settled)
                .filter_map(|((s, b), &settled)| {
                    let release = if settled {
                        // The lock on its slot gave back what its
                        // refusal gives back; the rest it kept.
                        s.refusal_release(b, at)
                            .map_or_else(|| s.give_back(b, at), |_| None)
                    } else {
                        s.give_back(b, at)
                    }?;
                    Some(KeyRelease::new(s.key, release, s.limits))
                })
                .collect();
            if let Err(e) = self.release_all(&back, now).await {
                tracing::debug!(target: "loginguard", error = %e, "could not give an attempt back");
            }
            return Err(e.into());
        }
        if !begun.iter().any(Begun::is_locked) {
            return Ok(begun);
        }
        // Refused: the answers and the give-backs of one step over every
        // key, for the keys whose slot saw no lock.
        let mut locked = false;
        let mut back = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let b = begun[i];
            if step.skipped_after(locked) {
                if b != Begun::Skipped {
                    // A spray key on a slot of its own, begun beside the
                    // lock on another slot: reported as skipped, and what it
                    // counted given back (unless its own slot did).
                    if !settled[i] {
                        if let Some(r) = step.give_back(&b, at) {
                            back.push(KeyRelease::new(step.key, r, step.limits));
                        }
                    }
                    begun[i] = Begun::Skipped;
                }
                continue;
            }
            locked |= b.is_locked();
            if !settled[i] {
                if let Some(r) = step.refusal_release(&b, at) {
                    back.push(KeyRelease::new(step.key, r, step.limits));
                }
            }
        }
        if let Err(e) = self.release_all(&back, now).await {
            tracing::debug!(target: "loginguard", error = %e, "could not give a refused attempt back");
        }
        Ok(begun)
    }

    async fn run<T>(
        &self,
        command: &'static str,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RedisStoreError> {
        bounded(self.timeout, command, &self.description, fut).await
    }

    /// Every Redis key of this prefix, with the node that holds it.
    async fn scan_keys(&self) -> Result<Vec<(Node, String)>, RedisStoreError> {
        let nodes = self.run("CLUSTER SLOTS", self.conn.nodes()).await?;
        let pattern = codec::scan_pattern(&self.prefix);
        let mut out = Vec::new();
        for node in nodes {
            let mut cursor = 0u64;
            loop {
                let mut cmd = redis::cmd("SCAN");
                cmd.arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(BATCH);
                let (next, keys): (u64, Vec<String>) =
                    self.run("SCAN", self.conn.query_node(&node, cmd)).await?;
                out.extend(keys.into_iter().map(|k| (node.clone(), k)));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(out)
    }

    /// Every record of this prefix, decoded (keys gone meanwhile are skipped).
    async fn records(&self) -> Result<Vec<(Node, String, Stored)>, RedisStoreError> {
        let keys = self.scan_keys().await?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            for (node, group) in group_by_node(chunk) {
                let mut pipe = redis::pipe();
                for key in &group {
                    pipe.cmd("GET").arg(*key);
                }
                let values = self.run("GET", self.conn.pipe_node(&node, pipe)).await?;
                for (key, value) in group.into_iter().zip(values) {
                    let text = match value {
                        Value::Nil => continue,
                        Value::BulkString(b) => String::from_utf8(b).ok(),
                        Value::SimpleString(s) => Some(s),
                        _ => None,
                    };
                    match text.as_deref().and_then(codec::decode) {
                        Some(stored) => out.push((node.clone(), key.to_owned(), stored)),
                        None => tracing::warn!(
                            target: "loginguard",
                            key,
                            "skipping a Redis key under the loginguard prefix that holds no loginguard record"
                        ),
                    }
                }
            }
        }
        Ok(out)
    }

    /// Sums the integer replies of a pipeline per node.
    async fn sum_per_node(
        &self,
        command: &'static str,
        batches: Vec<(Node, redis::Pipeline)>,
        skip_first: bool,
    ) -> Result<u64, RedisStoreError> {
        let mut total = 0u64;
        for (node, pipe) in batches {
            let values = self.run(command, self.conn.pipe_node(&node, pipe)).await?;
            for value in values.into_iter().skip(usize::from(skip_first)) {
                match value {
                    Value::Int(n) => total += u64::try_from(n).unwrap_or(0),
                    Value::ServerError(e) => {
                        return Err(RedisStoreError::Command {
                            command,
                            source: e.into(),
                        })
                    }
                    other => {
                        return Err(RedisStoreError::Reply(format!(
                            "{command} answered {other:?}"
                        )))
                    }
                }
            }
        }
        Ok(total)
    }
}

fn group_by_node(chunk: &[(Node, String)]) -> Vec<(Node, Vec<&str>)> {
    let mut groups: Vec<(Node, Vec<&str>)> = Vec::new();
    for (node, key) in chunk {
        match groups.iter_mut().find(|(n, _)| n == node) {
            Some((_, keys)) => keys.push(key),
            None => groups.push((node.clone(), vec![key])),
        }
    }
    groups
}

/// One key of a begin script call.
struct Prepared<'s> {
    step: &'s KeyStep<'s>,
    redis_key: String,
    /// The verdict if the key is new.
    fresh: KeyVerdict,
    /// The record stored if the key is new, and its TTL (ms).
    value: String,
    ttl: i64,
}

/// One key's answer from the begin script (code 0: locked, 1: allowed).
fn verdict(reply: &[i64]) -> Result<KeyVerdict, RedisStoreError> {
    let [allowed, failures, remaining, locks, has_until, until, counted] = reply else {
        return Err(RedisStoreError::Reply(format!(
            "begin script answered {reply:?}"
        )));
    };
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    let until = (*has_until == 1).then_some(*until);
    Ok(if *allowed == 1 {
        KeyVerdict::Allowed {
            counted: *counted == 1,
            failures: count(*failures),
            remaining: count(*remaining),
            locks_on_failure: *locks == 1,
            until,
        }
    } else {
        KeyVerdict::Locked {
            until,
            failures: count(*failures),
        }
    })
}

#[async_trait]
impl Store for RedisStore {
    async fn begin_tagged(
        &self,
        key: &Key,
        limits: &Limits,
        tag: Option<Tag>,
        now: SystemTime,
    ) -> Result<KeyVerdict, StoreError> {
        let now = to_ms(now);
        let step = KeyStep::new(key, limits).with_tag(tag);
        // A key seen for the first time: its record depends on nothing
        // stored, so it is computed here and the script only has to store
        // it if the key is indeed new.
        let prepared = self.prepare(&step, now);
        if self.set_nx_get && !self.seen.entry(key.id()).is_marked() {
            // Store the new record unless the key exists; either way
            // atomic. Only an existing key goes on to the script below.
            let existing: Option<Vec<u8>> = self
                .run(
                    "SET NX GET",
                    self.conn.query(
                        redis::cmd("SET")
                            .arg(&prepared.redis_key)
                            .arg(&prepared.value)
                            .arg("NX")
                            .arg("GET")
                            .arg("PX")
                            .arg(prepared.ttl),
                    ),
                )
                .await?;
            if existing.is_none() {
                return Ok(prepared.fresh);
            }
        }
        match self.begin_script(&[&prepared], now).await?.as_slice() {
            [Begun::Verdict(v)] => Ok(*v),
            other => Err(RedisStoreError::Reply(format!(
                "begin script answered {other:?} for one key"
            ))
            .into()),
        }
    }

    async fn release(
        &self,
        key: &Key,
        release: &Release,
        limits: &Limits,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let one = KeyRelease::new(key, *release, limits);
        Ok(self.release_script(&[&one], to_ms(now)).await?)
    }

    /// One script call over every key of the attempt (one per slot on a
    /// Cluster whose keys of the attempt are on several slots; see the
    /// crate docs). One key takes [`Store::begin_tagged`]'s path.
    async fn begin_all(
        &self,
        steps: &[KeyStep<'_>],
        now: SystemTime,
    ) -> Result<Vec<Begun>, StoreError> {
        match steps {
            [] => return Ok(Vec::new()),
            [one] => {
                let result = self.begin_tagged(one.key, one.limits, one.tag, now).await;
                return Ok(vec![Begun::from_result(result)?]);
            }
            _ => {}
        }
        let at = to_ms(now);
        let prepared: Vec<Prepared<'_>> = steps.iter().map(|s| self.prepare(s, at)).collect();
        let groups = self.slot_groups(prepared.iter().map(|p| p.redis_key.as_str()));
        if let [_] = groups.as_slice() {
            let keys: Vec<&Prepared<'_>> = prepared.iter().collect();
            return Ok(self.begin_script(&keys, at).await?);
        }
        self.begin_across_slots(steps, &prepared, &groups, now)
            .await
    }

    /// One script call over every key (one per slot, run at once, on a
    /// Cluster). Every key is tried; the first error is returned.
    async fn release_all(
        &self,
        releases: &[KeyRelease<'_>],
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if releases.is_empty() {
            return Ok(());
        }
        let at = to_ms(now);
        let keys: Vec<String> = releases.iter().map(|r| self.redis_key(r.key)).collect();
        let groups = self.slot_groups(keys.iter().map(String::as_str));
        let runs = groups.iter().map(|group| async move {
            let part: Vec<&KeyRelease<'_>> = group.iter().map(|&i| &releases[i]).collect();
            self.release_script(&part, at).await
        });
        let results = futures_util::future::join_all(runs).await;
        match results.into_iter().find_map(Result::err) {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    async fn reset(&self, filter: &KeyFilter) -> Result<u64, StoreError> {
        let keys = self.scan_keys().await?;
        let hits: Vec<(Node, String)> = keys
            .into_iter()
            .filter(|(_, k)| {
                codec::key_id(&self.prefix, k)
                    .and_then(|id| Key::parse(id).ok())
                    .is_some_and(|key| filter.matches(&key))
            })
            .collect();
        let mut batches = Vec::new();
        for chunk in hits.chunks(BATCH) {
            for (node, group) in group_by_node(chunk) {
                let mut pipe = redis::pipe();
                for key in group {
                    pipe.cmd("DEL").arg(key);
                }
                batches.push((node, pipe));
            }
        }
        Ok(self.sum_per_node("DEL", batches, false).await?)
    }

    async fn list(&self, query: &ListQuery, now: SystemTime) -> Result<Vec<KeyStatus>, StoreError> {
        let now_ms = to_ms(now);
        let mut out = Vec::new();
        for (_, redis_key, stored) in self.records().await? {
            if !query.wants(&stored.record, stored.expires_at, now_ms) {
                continue;
            }
            let Some(key) =
                codec::key_id(&self.prefix, &redis_key).and_then(|id| Key::parse(id).ok())
            else {
                continue;
            };
            if query.filter.matches(&key) {
                out.push(KeyStatus::from_record(key, &stored.record, now_ms));
            }
        }
        Ok(query.finish(out))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now_ms = to_ms(now);
        let expired: Vec<(Node, String)> = self
            .records()
            .await?
            .into_iter()
            .filter(|(_, _, s)| s.expires_at.is_some_and(|e| e <= now_ms))
            .map(|(node, key, _)| (node, key))
            .collect();
        let mut batches = Vec::new();
        for chunk in expired.chunks(BATCH) {
            for (node, group) in group_by_node(chunk) {
                // Checked again inside the script: a record written since
                // it was read is kept.
                let mut pipe = redis::pipe();
                pipe.load_script(&self.scripts.purge);
                for key in group {
                    let mut inv = self.scripts.purge.prepare_invoke();
                    inv.key(key).arg(now_ms);
                    pipe.invoke_script(&inv);
                }
                batches.push((node, pipe));
            }
        }
        Ok(self.sum_per_node("purge script", batches, true).await?)
    }

    async fn health(&self) -> Result<StoreHealth, StoreError> {
        let mut health = StoreHealth::ok(self.description.clone());
        let nodes = self.run("CLUSTER SLOTS", self.conn.nodes()).await?;
        let versions = self.versions(&nodes).await?;
        health.notes.push(format!("Redis {}", versions.join(", ")));
        if !self.set_nx_get {
            health.notes.push(
                "Redis older than 7.0: a first failure on a key costs two commands instead of one"
                    .to_owned(),
            );
        }
        if self.is_cluster() {
            let state: String = self
                .run(
                    "CLUSTER INFO",
                    self.conn
                        .query_node(&nodes[0], redis::cmd("CLUSTER").arg("INFO").clone()),
                )
                .await?;
            let state = state
                .lines()
                .find_map(|l| l.strip_prefix("cluster_state:"))
                .unwrap_or("unknown")
                .trim()
                .to_owned();
            let names: Vec<String> = nodes.iter().map(ToString::to_string).collect();
            health.notes.push(format!(
                "Cluster state {state}, {} primaries: {}",
                names.len(),
                names.join(", ")
            ));
            if state != "ok" {
                health
                    .notes
                    .push("the Cluster is not ok: some keys may be unreachable".to_owned());
            }
        }
        health.notes.push(format!(
            "key prefix {:?}; records that never expire by themselves are kept {} after their last write",
            self.prefix,
            humanize(self.retention)
        ));
        health.notes.push(
            "no audit log in Redis: keep it in PostgreSQL or SQLite if you need one".to_owned(),
        );
        Ok(health)
    }
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    if s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s % 3_600 == 0 {
        format!("{}h", s / 3_600)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loginguard_core::record::from_ms;

    /// Both ways of storing a new key (`SET … NX GET` on Redis 7, `GET`
    /// then `SET` before) give the verdicts and records of the Rust rules.
    #[tokio::test]
    async fn new_keys_are_stored_alike_with_and_without_set_nx_get() {
        let Ok(url) = std::env::var("LOGINGUARD_TEST_REDIS_URL") else {
            loginguard_testing::skip!("LOGINGUARD_TEST_REDIS_URL is not set");
            return;
        };
        let limits = Limits::new(2)
            .with_cool_off(Some(Duration::from_secs(60)))
            .with_failure_window(Some(Duration::from_secs(600)));
        for nx in [true, false] {
            let prefix = format!("lgtest_unit_{:x}", std::process::id());
            let options = RedisOptions::new()
                .prefix(prefix)
                .retention(Duration::from_secs(60));
            let mut store = RedisStore::connect(&url, options).await.unwrap();
            store.set_nx_get = nx;
            let key = Key::new("unit").with_username(format!("nx-{nx}"));
            store.reset(&KeyFilter::all()).await.unwrap();
            let mut model = KeyRecord::default();
            for i in 0..4 {
                let now = 1_800_000_000_000 + i * 1_000;
                let expected = record::begin(&mut model, &limits, None, now);
                let got = store
                    .begin_attempt(&key, &limits, from_ms(now))
                    .await
                    .unwrap();
                assert_eq!(got, expected, "nx={nx} attempt {i}");
                let raw: String = store
                    .conn
                    .query(redis::cmd("GET").arg(store.redis_key(&key)))
                    .await
                    .unwrap();
                assert_eq!(
                    codec::decode(&raw).unwrap().record,
                    model,
                    "nx={nx} attempt {i}"
                );
            }
            store.reset(&KeyFilter::all()).await.unwrap();
        }
    }

    /// The same for the keys of whole attempts: new keys among known and
    /// locked ones, given back in the same step when the attempt is
    /// refused, give the answers and records of `batch::begin_records`.
    #[tokio::test]
    async fn attempts_on_new_keys_are_alike_with_and_without_set_nx_get() {
        let Ok(url) = std::env::var("LOGINGUARD_TEST_REDIS_URL") else {
            loginguard_testing::skip!("LOGINGUARD_TEST_REDIS_URL is not set");
            return;
        };
        let ip_limits = Limits::new(2).with_count_during_lockout(false);
        let user_limits = Limits::new(1).with_count_during_lockout(false);
        let spray_limits = Limits::new(5).with_remember(5);
        for nx in [true, false] {
            let prefix = format!("lgtest_unit_all_{:x}_{nx}", std::process::id());
            let options = RedisOptions::new()
                .prefix(prefix)
                .retention(Duration::from_secs(60));
            let mut store = RedisStore::connect(&url, options).await.unwrap();
            store.set_nx_get = nx;
            store.reset(&KeyFilter::all()).await.unwrap();
            let ip = Key::new("unit").with_ip("192.0.2.1");
            let spray = Key::new("unit").with_password("0123456789abcdef");
            let mut ip_model = KeyRecord::default();
            let mut spray_model = KeyRecord::default();
            for i in 0..4i64 {
                let now = 1_800_000_000_000 + i * 1_000;
                let user = Key::new("unit").with_username(format!("u{i}"));
                let steps = [
                    KeyStep::new(&ip, &ip_limits),
                    KeyStep::new(&user, &user_limits),
                    KeyStep::new(&spray, &spray_limits)
                        .with_tag(Some(i as u64))
                        .spray(),
                ];
                let mut records = [ip_model.clone(), KeyRecord::default(), spray_model.clone()];
                let expected = loginguard_core::batch::begin_records(&mut records, &steps, now);
                let got = store.begin_all(&steps, from_ms(now)).await.unwrap();
                assert_eq!(got, expected, "nx={nx} attempt {i}");
                [ip_model, _, spray_model] = records.clone();
                for (key, model) in [&ip, &user, &spray].into_iter().zip(&records) {
                    let raw: Option<String> = store
                        .conn
                        .query(redis::cmd("GET").arg(store.redis_key(key)))
                        .await
                        .unwrap();
                    let found = raw.map(|r| codec::decode(&r).unwrap().record);
                    let expected = (!model.is_empty()).then(|| model.clone());
                    assert_eq!(found, expected, "nx={nx} attempt {i} {key}");
                }
            }
            assert!(ip_model.lock_active(1_800_000_003_000), "the IP locked");
            store.reset(&KeyFilter::all()).await.unwrap();
        }
    }

    #[test]
    fn script_replies_become_verdicts() {
        assert_eq!(
            verdict(&[1, 3, 0, 1, 1, 42, 1]).unwrap(),
            KeyVerdict::Allowed {
                counted: true,
                failures: 3,
                remaining: 0,
                locks_on_failure: true,
                until: Some(42)
            }
        );
        assert_eq!(
            verdict(&[0, 2, 0, 0, 0, 0, 0]).unwrap(),
            KeyVerdict::Locked {
                until: None,
                failures: 2
            }
        );
        assert!(verdict(&[1, 2]).is_err());
    }
}

-- Version 3: the counting rules of loginguard_core::record as server-side
-- functions, so that an attempt on all its keys (one per lockout
-- criterion, and a password's spray key) is one statement:
-- `lg_begin_all` mirrors batch::begin_records with record::begin and
-- record::release, `lg_release_all` mirrors record::release over several
-- keys. Both lock the attempt's rows sorted by id (so attempts on
-- overlapping keys never deadlock) and run the rules in step order.
-- Like the tables, the functions live in the store's schema and find the
-- tables through the caller's search_path.
--
-- Times are milliseconds since the Unix epoch; "none" is NULL. Counts that
-- are u32 in Rust are bigint here and saturate at 4294967295.

-- A key's record (KeyRecord); tags flattened as in lockout_keys.tags.
CREATE TYPE lg_record AS (
    failures     BIGINT[],
    locked       BOOLEAN,
    locked_until BIGINT,
    lock_count   BIGINT,
    updated_at   BIGINT,
    refused      BIGINT,
    tags         BIGINT[]
);

-- A key's limits (Limits), durations in ms.
CREATE TYPE lg_limits AS (
    failure_limit        BIGINT,
    window_ms            BIGINT,
    cool_off_ms          BIGINT,
    multiplier           DOUBLE PRECISION,
    cool_off_max_ms      BIGINT,
    count_during_lockout BOOLEAN,
    lock_out             BOOLEAN,
    remember             BIGINT
);

-- i64::saturating_add (in numeric, which cannot overflow; inlined by the
-- planner).
CREATE FUNCTION lg_sat_add(a BIGINT, b BIGINT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT least(greatest(a::NUMERIC + b, -9223372036854775808), 9223372036854775807)::BIGINT
$$;

-- x * y for x, y >= 0 as IEEE doubles multiply (infinity on overflow),
-- where PostgreSQL's own `*` would raise an error instead. The product is
-- taken a quarter at a time, which is exact, so it overflows exactly when
-- the full product does.
CREATE FUNCTION lg_mul(x DOUBLE PRECISION, y DOUBLE PRECISION) RETURNS DOUBLE PRECISION
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    quarter DOUBLE PRECISION;
BEGIN
    IF x <= 1 OR y <= 1 OR x = 'Infinity' OR y = 'Infinity' THEN
        RETURN x * y;
    END IF;
    IF x * 0.5 > 1.7976931348623157e308 / y THEN
        RETURN 'Infinity';
    END IF;
    quarter := (x * 0.25) * y;
    IF quarter >= 2::DOUBLE PRECISION ^ 1022 THEN
        RETURN 'Infinity';
    END IF;
    RETURN quarter * 4;
END
$$;

-- Limits::cool_off_ms: the cool-off of the nth lock, NULL for none. The
-- power is taken by square-and-multiply, as f64::powi is compiled.
CREATE FUNCTION lg_cool_off_ms(l lg_limits, nth BIGINT) RETURNS BIGINT
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    e BIGINT := least(greatest(nth - 1, 0), 2147483647);
    a DOUBLE PRECISION := l.multiplier;
    factor DOUBLE PRECISION := 1.0;
    x DOUBLE PRECISION;
    ms BIGINT;
BEGIN
    IF l.cool_off_ms IS NULL THEN
        RETURN NULL;
    END IF;
    WHILE e > 0 LOOP
        IF e % 2 = 1 THEN
            factor := lg_mul(factor, a);
        END IF;
        e := e / 2;
        IF e > 0 THEN
            a := lg_mul(a, a);
        END IF;
    END LOOP;
    x := lg_mul(l.cool_off_ms::DOUBLE PRECISION, factor);
    -- f64::min: NaN (0 ms times an infinite factor) gives the cap.
    IF x = 'NaN' OR x > 3153600000000 THEN
        x := 3153600000000;
    END IF;
    ms := floor(x)::BIGINT;
    IF l.cool_off_max_ms IS NOT NULL THEN
        ms := least(ms, l.cool_off_max_ms);
    END IF;
    RETURN least(greatest(ms, 0), 3153600000000);
END
$$;

-- KeyRecord::prune: failures and tags outside the window go; no failure
-- left, no tag left.
CREATE FUNCTION lg_prune(r lg_record, l lg_limits, now BIGINT) RETURNS lg_record
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    floor_ms BIGINT;
    t BIGINT;
    kept BIGINT[];
    i INT;
BEGIN
    IF l.window_ms IS NOT NULL THEN
        floor_ms := lg_sat_add(now, -l.window_ms);
        kept := '{}';
        FOREACH t IN ARRAY r.failures LOOP
            IF t > floor_ms THEN
                kept := kept || t;
            END IF;
        END LOOP;
        r.failures := kept;
        kept := '{}';
        FOR i IN 1 .. cardinality(r.tags) / 2 LOOP
            IF r.tags[2 * i - 1] > floor_ms THEN
                kept := kept || r.tags[2 * i - 1 : 2 * i];
            END IF;
        END LOOP;
        r.tags := kept;
    END IF;
    IF cardinality(r.failures) = 0 THEN
        r.tags := '{}';
    END IF;
    RETURN r;
END
$$;

-- KeyRecord::is_empty: nothing worth keeping.
CREATE FUNCTION lg_is_empty(r lg_record) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT cardinality(r.failures) = 0 AND NOT r.locked AND r.lock_count = 0
$$;

-- KeyRecord::expires_at: when the row can go without changing a verdict,
-- NULL for never. One expression (inlined by the planner); the longest
-- cool-off is computed only for a progressive lock history.
CREATE FUNCTION lg_expires_at(r lg_record, l lg_limits) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN r.locked AND r.locked_until IS NULL THEN NULL
        WHEN NOT r.locked AND cardinality(r.failures) > 0 AND l.window_ms IS NULL THEN NULL
        ELSE greatest(
            r.updated_at,
            CASE WHEN r.locked THEN r.locked_until END,
            CASE WHEN NOT r.locked AND cardinality(r.failures) > 0
                 THEN lg_sat_add(r.failures[cardinality(r.failures)], l.window_ms) END,
            CASE WHEN r.lock_count > 0 AND l.multiplier > 1.0
                 THEN lg_sat_add(r.updated_at, coalesce(lg_cool_off_ms(l, 4294967295), 0)) END)
    END
$$;

-- record::release: `reset`, or the attempt begun at attempt_time (and its
-- tag) given back, lifting the lock it set when undo_lock.
CREATE FUNCTION lg_release(r lg_record, l lg_limits, reset BOOLEAN, attempt_time BIGINT,
                           undo_lock BOOLEAN, tag BIGINT, now BIGINT) RETURNS lg_record
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    n INT;
    i INT;
BEGIN
    IF reset THEN
        RETURN ROW('{}'::BIGINT[], false, NULL, 0, now, 0, '{}'::BIGINT[])::lg_record;
    END IF;
    n := cardinality(r.failures);
    FOR i IN REVERSE n .. 1 LOOP
        IF r.failures[i] = attempt_time THEN
            r.failures := r.failures[1 : i - 1] || r.failures[i + 1 : n];
            EXIT;
        END IF;
    END LOOP;
    IF tag IS NOT NULL THEN
        n := cardinality(r.tags) / 2;
        FOR i IN REVERSE n .. 1 LOOP
            IF r.tags[2 * i - 1] = attempt_time AND r.tags[2 * i] = tag THEN
                r.tags := r.tags[1 : 2 * i - 2] || r.tags[2 * i + 1 : 2 * n];
                EXIT;
            END IF;
        END LOOP;
    END IF;
    r := lg_prune(r, l, now);
    -- After the prune every failure left is inside the window.
    IF undo_lock AND r.locked AND cardinality(r.failures) < l.failure_limit THEN
        r.locked := false;
        r.locked_until := NULL;
        r.lock_count := greatest(r.lock_count - 1, 0);
        r.refused := 0;
    END IF;
    RETURN r;
END
$$;

-- batch::begin_records with record::begin on the keys of one attempt: one
-- row per step, in step order (verdict 0: Locked, 1: Allowed, 2: Skipped).
-- key_* describe the attempt's distinct keys, sorted by id in byte order
-- (COLLATE "C"); step_key is each step's key in them (1-based). Stored
-- rows are locked in that order; then the rules run in step order; then
-- the new keys' rows are inserted (in that order, ON CONFLICT DO NOTHING:
-- if another attempt inserted one first, everything is taken again with
-- its row) and the stored ones written back. A record a refused attempt
-- left empty is deleted.
CREATE FUNCTION lg_begin_all(
    key_ids TEXT[], key_scopes TEXT[], key_ips TEXT[], key_usernames TEXT[],
    key_user_agents TEXT[], step_key INT[], step_failure_limits BIGINT[],
    step_windows BIGINT[], step_cool_offs BIGINT[], step_multipliers DOUBLE PRECISION[],
    step_cool_off_maxes BIGINT[], step_count_during_lockouts BOOLEAN[],
    step_lock_outs BOOLEAN[], step_remembers BIGINT[], step_tags BIGINT[],
    step_sprays BOOLEAN[], now BIGINT)
RETURNS TABLE (step INT, verdict SMALLINT, counted BOOLEAN, failure_count BIGINT,
               remaining BIGINT, locks_on_failure BOOLEAN, lock_until BIGINT)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n INT := cardinality(step_key);
    k INT := cardinality(key_ids);
    recs lg_record[];
    stored BOOLEAN[];
    last_step INT[];    -- the step whose limits the key's expiry follows
    limits lg_limits[]; -- each step's
    r lg_record;
    l lg_limits;
    row_ RECORD;
    verdicts SMALLINT[];
    counts BIGINT[];
    counteds BOOLEAN[];
    locks BOOLEAN[];
    untils BIGINT[];
    any_locked BOOLEAN;
    remembered BOOLEAN;
    tag BIGINT;
    cap BIGINT;
    c BIGINT;
    new_keys INT[];
    old_keys INT[];
    gone TEXT[];
    expiries BIGINT[];
    inserted TEXT[];
    i INT;
    j INT;
BEGIN
    FOR try_n IN 1 .. 8 LOOP
        recs := array_fill(ROW('{}'::BIGINT[], false, NULL, 0, 0, 0, '{}'::BIGINT[])::lg_record,
                           ARRAY[k]);
        stored := array_fill(false, ARRAY[k]);
        last_step := array_fill(0, ARRAY[k]);
        FOR row_ IN
            SELECT id, failures, locked, locked_until, lock_count, updated_at, refused, tags
            FROM lockout_keys WHERE id = ANY (key_ids) ORDER BY id COLLATE "C" FOR UPDATE
        LOOP
            j := array_position(key_ids, row_.id);
            recs[j] := ROW(row_.failures, row_.locked, row_.locked_until, row_.lock_count,
                           row_.updated_at, row_.refused, row_.tags)::lg_record;
            stored[j] := true;
        END LOOP;
        verdicts := '{}';
        counts := '{}';
        counteds := '{}';
        locks := '{}';
        untils := '{}';
        limits := '{}';
        any_locked := false;
        FOR i IN 1 .. n LOOP
            l := ROW(step_failure_limits[i], step_windows[i], step_cool_offs[i],
                     step_multipliers[i], step_cool_off_maxes[i],
                     step_count_during_lockouts[i], step_lock_outs[i],
                     step_remembers[i])::lg_limits;
            limits := limits || l;
            IF step_sprays[i] AND any_locked THEN
                -- A spray key after a locked key is not begun.
                verdicts := verdicts || 2::SMALLINT;
                counts := counts || 0::BIGINT;
                counteds := counteds || false;
                locks := locks || false;
                untils := untils || NULL::BIGINT;
                CONTINUE;
            END IF;
            j := step_key[i];
            last_step[j] := i;
            r := recs[j];
            tag := step_tags[i];
            -- record::begin.
            IF cardinality(r.failures) = 0 THEN
                r.tags := '{}';
            ELSIF l.window_ms IS NOT NULL THEN
                r := lg_prune(r, l, now);
            END IF;
            r.updated_at := now;
            remembered := false;
            IF l.remember > 0 AND tag IS NOT NULL THEN
                FOR x IN 1 .. cardinality(r.tags) / 2 LOOP
                    IF r.tags[2 * x] = tag THEN
                        remembered := true;
                        EXIT;
                    END IF;
                END LOOP;
            END IF;
            cap := greatest(l.failure_limit, 1);
            IF r.locked AND (r.locked_until IS NULL OR r.locked_until > now) THEN
                -- The lock is in force: the attempt is refused.
                r.refused := least(r.refused + 1, 4294967295);
                IF l.count_during_lockout AND NOT remembered THEN
                    r.failures := (r.failures || now)[greatest(cardinality(r.failures) + 2 - cap, 1) :];
                    IF r.locked_until IS NOT NULL THEN
                        r.locked_until := lg_sat_add(now, lg_cool_off_ms(l, greatest(r.lock_count, 1)));
                    END IF;
                END IF;
                recs[j] := r;
                any_locked := true;
                verdicts := verdicts || 0::SMALLINT;
                counts := counts || cardinality(r.failures)::BIGINT;
                counteds := counteds || false;
                locks := locks || false;
                untils := untils || r.locked_until;
                CONTINUE;
            END IF;
            IF r.locked THEN
                -- The cool-off has ended: the key starts afresh.
                r.locked := false;
                r.locked_until := NULL;
                r.failures := '{}';
                r.tags := '{}';
                r.refused := 0;
            ELSIF remembered THEN
                -- The same tag again (a repeated wrong password): counts nothing.
                recs[j] := r;
                verdicts := verdicts || 1::SMALLINT;
                counts := counts || cardinality(r.failures)::BIGINT;
                counteds := counteds || false;
                locks := locks || false;
                untils := untils || NULL::BIGINT;
                CONTINUE;
            END IF;
            r.failures := (r.failures || now)[greatest(cardinality(r.failures) + 2 - cap, 1) :];
            IF tag IS NOT NULL AND l.remember > 0 THEN
                r.tags := (r.tags || ARRAY[now, tag])[greatest(cardinality(r.tags) + 3 - 2 * l.remember, 1) :];
            END IF;
            c := cardinality(r.failures);
            IF l.lock_out AND c >= l.failure_limit THEN
                -- This attempt sets the lock.
                r.locked := true;
                r.refused := 0;
                r.lock_count := least(r.lock_count + 1, 4294967295);
                r.locked_until := lg_sat_add(now, lg_cool_off_ms(l, r.lock_count));
                locks := locks || true;
                untils := untils || r.locked_until;
            ELSE
                locks := locks || false;
                untils := untils || NULL::BIGINT;
            END IF;
            recs[j] := r;
            verdicts := verdicts || 1::SMALLINT;
            counts := counts || c;
            counteds := counteds || true;
        END LOOP;
        IF any_locked THEN
            -- Refused: KeyStep::refusal_release on every key that counted.
            FOR i IN 1 .. n LOOP
                IF counteds[i] AND (step_sprays[i] OR NOT step_count_during_lockouts[i]) THEN
                    j := step_key[i];
                    recs[j] := lg_release(recs[j], limits[i], false, now, locks[i],
                                          step_tags[i], now);
                    last_step[j] := i;
                END IF;
            END LOOP;
        END IF;
        -- What to write: new rows, rows written back, rows deleted.
        new_keys := '{}';
        old_keys := '{}';
        gone := '{}';
        expiries := array_fill(NULL::BIGINT, ARRAY[k]);
        FOR j IN 1 .. k LOOP
            i := last_step[j];
            CONTINUE WHEN i = 0;
            r := recs[j];
            IF cardinality(r.failures) = 0 AND NOT r.locked AND r.lock_count = 0 THEN
                IF stored[j] THEN
                    gone := gone || key_ids[j];
                END IF;
                CONTINUE;
            END IF;
            expiries[j] := lg_expires_at(r, limits[i]);
            IF stored[j] THEN
                old_keys := old_keys || j;
            ELSE
                new_keys := new_keys || j;
            END IF;
        END LOOP;
        IF cardinality(new_keys) > 0 THEN
            WITH ins AS (
                INSERT INTO lockout_keys (id, scope, ip, username, user_agent, failures, locked,
                                          locked_until, lock_count, updated_at, expires_at,
                                          refused, tags)
                SELECT key_ids[x], key_scopes[x], key_ips[x], key_usernames[x],
                       key_user_agents[x], (recs[x]).failures, (recs[x]).locked,
                       (recs[x]).locked_until, (recs[x]).lock_count, (recs[x]).updated_at,
                       expiries[x], (recs[x]).refused, (recs[x]).tags
                FROM unnest(new_keys) WITH ORDINALITY AS u (x, o) ORDER BY o
                ON CONFLICT (id) DO NOTHING
                RETURNING id)
            SELECT array_agg(id) INTO inserted FROM ins;
            IF coalesce(cardinality(inserted), 0) < cardinality(new_keys) THEN
                -- Another attempt inserted a key first: take everything
                -- again with its row.
                DELETE FROM lockout_keys WHERE id = ANY (inserted);
                CONTINUE;
            END IF;
        END IF;
        IF cardinality(old_keys) > 0 THEN
            UPDATE lockout_keys AS t SET failures = (recs[x]).failures,
                locked = (recs[x]).locked, locked_until = (recs[x]).locked_until,
                lock_count = (recs[x]).lock_count, updated_at = (recs[x]).updated_at,
                expires_at = expiries[x], refused = (recs[x]).refused, tags = (recs[x]).tags,
                version = t.version + 1
            FROM unnest(old_keys) AS u (x)
            WHERE t.id = key_ids[x];
        END IF;
        IF cardinality(gone) > 0 THEN
            DELETE FROM lockout_keys WHERE id = ANY (gone);
        END IF;
        RETURN QUERY SELECT s::INT, verdicts[s], counteds[s], counts[s],
            CASE WHEN verdicts[s] = 1 THEN greatest(step_failure_limits[s] - counts[s], 0)
                 ELSE 0 END,
            locks[s], untils[s]
        FROM generate_series(1, n) AS s;
        RETURN;
    END LOOP;
    RAISE EXCEPTION 'loginguard: the rows of keys % kept appearing and disappearing', key_ids
        USING ERRCODE = '40001';
END
$$;

-- record::release on several keys (in the given order), each row locked
-- sorted by id in byte order, as lg_begin_all locks them; a record left
-- empty is deleted, a key without a row is left alone. Returns how many
-- keys had a row.
CREATE FUNCTION lg_release_all(
    release_ids TEXT[], release_resets BOOLEAN[], release_attempt_times BIGINT[],
    release_undo_locks BOOLEAN[], release_tags BIGINT[], release_failure_limits BIGINT[],
    release_windows BIGINT[], release_cool_offs BIGINT[],
    release_multipliers DOUBLE PRECISION[], release_cool_off_maxes BIGINT[],
    release_count_during_lockouts BOOLEAN[], release_lock_outs BOOLEAN[],
    release_remembers BIGINT[], now BIGINT)
RETURNS INT
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n INT := coalesce(cardinality(release_ids), 0);
    ids TEXT[];
    k INT;
    recs lg_record[];
    stored BOOLEAN[];
    last_release INT[];
    l lg_limits;
    rec lg_record;
    row_ RECORD;
    found_rows INT := 0;
    i INT;
    j INT;
BEGIN
    SELECT array_agg(DISTINCT u ORDER BY u) INTO ids FROM unnest(release_ids) AS u;
    k := coalesce(cardinality(ids), 0);
    IF k = 0 THEN
        RETURN 0;
    END IF;
    recs := array_fill(NULL::lg_record, ARRAY[k]);
    stored := array_fill(false, ARRAY[k]);
    last_release := array_fill(0, ARRAY[k]);
    FOR row_ IN
        SELECT id, failures, locked, locked_until, lock_count, updated_at, refused, tags
        FROM lockout_keys WHERE id = ANY (ids) ORDER BY id COLLATE "C" FOR UPDATE
    LOOP
        j := array_position(ids, row_.id);
        recs[j] := ROW(row_.failures, row_.locked, row_.locked_until, row_.lock_count,
                       row_.updated_at, row_.refused, row_.tags)::lg_record;
        stored[j] := true;
        found_rows := found_rows + 1;
    END LOOP;
    FOR i IN 1 .. n LOOP
        j := array_position(ids, release_ids[i]);
        CONTINUE WHEN NOT stored[j];
        l := ROW(release_failure_limits[i], release_windows[i], release_cool_offs[i],
                 release_multipliers[i], release_cool_off_maxes[i],
                 release_count_during_lockouts[i], release_lock_outs[i],
                 release_remembers[i])::lg_limits;
        recs[j] := lg_release(recs[j], l, release_resets[i], release_attempt_times[i],
                              release_undo_locks[i], release_tags[i], now);
        last_release[j] := i;
    END LOOP;
    FOR j IN 1 .. k LOOP
        i := last_release[j];
        CONTINUE WHEN i = 0;
        rec := recs[j];
        IF lg_is_empty(rec) THEN
            DELETE FROM lockout_keys WHERE id = ids[j];
            CONTINUE;
        END IF;
        l := ROW(release_failure_limits[i], release_windows[i], release_cool_offs[i],
                 release_multipliers[i], release_cool_off_maxes[i],
                 release_count_during_lockouts[i], release_lock_outs[i],
                 release_remembers[i])::lg_limits;
        UPDATE lockout_keys SET failures = rec.failures, locked = rec.locked,
            locked_until = rec.locked_until, lock_count = rec.lock_count,
            updated_at = rec.updated_at, expires_at = lg_expires_at(rec, l),
            refused = rec.refused, tags = rec.tags, version = version + 1
        WHERE id = ids[j];
    END LOOP;
    RETURN found_rows;
END
$$;

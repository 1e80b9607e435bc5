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

-- record::begin's answer: the record after the step and its KeyVerdict
-- (verdict 0: Locked, 1: Allowed).
CREATE TYPE lg_begun AS (
    rec              lg_record,
    verdict          SMALLINT,
    counted          BOOLEAN,
    failure_count    BIGINT,
    remaining        BIGINT,
    locks_on_failure BOOLEAN,
    lock_until       BIGINT
);

-- i64::saturating_add.
CREATE FUNCTION lg_sat_add(a BIGINT, b BIGINT) RETURNS BIGINT
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF b > 0 AND a > 9223372036854775807 - b THEN
        RETURN 9223372036854775807;
    ELSIF b < 0 AND a < (-9223372036854775807 - 1) - b THEN
        RETURN -9223372036854775807 - 1;
    END IF;
    RETURN a + b;
END
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
-- NULL for never.
CREATE FUNCTION lg_expires_at(r lg_record, l lg_limits) RETURNS BIGINT
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    e BIGINT := r.updated_at;
BEGIN
    IF r.locked THEN
        IF r.locked_until IS NULL THEN
            RETURN NULL;
        END IF;
        e := greatest(e, r.locked_until);
    END IF;
    IF cardinality(r.failures) > 0 AND NOT r.locked THEN
        IF l.window_ms IS NULL THEN
            RETURN NULL;
        END IF;
        e := greatest(e, lg_sat_add(r.failures[cardinality(r.failures)], l.window_ms));
    END IF;
    IF r.lock_count > 0 AND l.multiplier > 1.0 THEN
        e := greatest(e, lg_sat_add(r.updated_at,
                                    coalesce(lg_cool_off_ms(l, 4294967295), 0)));
    END IF;
    RETURN e;
END
$$;

-- record::begin.
CREATE FUNCTION lg_begin(r lg_record, l lg_limits, tag BIGINT, now BIGINT) RETURNS lg_begun
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    remembered BOOLEAN := false;
    n BIGINT;
    cap BIGINT;
    locks BOOLEAN;
    i INT;
BEGIN
    r := lg_prune(r, l, now);
    r.updated_at := now;
    IF l.remember > 0 AND tag IS NOT NULL THEN
        FOR i IN 1 .. cardinality(r.tags) / 2 LOOP
            IF r.tags[2 * i] = tag THEN
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
            r.failures := r.failures || now;
            n := cardinality(r.failures);
            IF n > cap THEN
                r.failures := r.failures[n - cap + 1 : n];
            END IF;
            IF r.locked_until IS NOT NULL THEN
                r.locked_until := lg_sat_add(now, lg_cool_off_ms(l, greatest(r.lock_count, 1)));
            END IF;
        END IF;
        RETURN ROW(r, 0, false, cardinality(r.failures), 0, false, r.locked_until)::lg_begun;
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
        n := cardinality(r.failures);
        RETURN ROW(r, 1, false, n, greatest(l.failure_limit - n, 0), false, NULL)::lg_begun;
    END IF;
    r.failures := r.failures || now;
    n := cardinality(r.failures);
    IF n > cap THEN
        r.failures := r.failures[n - cap + 1 : n];
        n := cap;
    END IF;
    IF tag IS NOT NULL AND l.remember > 0 THEN
        r.tags := r.tags || ARRAY[now, tag];
        IF cardinality(r.tags) > 2 * l.remember THEN
            r.tags := r.tags[cardinality(r.tags) - 2 * l.remember + 1 : cardinality(r.tags)];
        END IF;
    END IF;
    locks := l.lock_out AND n >= l.failure_limit;
    IF locks THEN
        -- This attempt sets the lock.
        r.locked := true;
        r.refused := 0;
        r.lock_count := least(r.lock_count + 1, 4294967295);
        r.locked_until := lg_sat_add(now, lg_cool_off_ms(l, r.lock_count));
    END IF;
    RETURN ROW(r, 1, true, n, greatest(l.failure_limit - n, 0), locks,
               CASE WHEN locks THEN r.locked_until END)::lg_begun;
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

-- batch::begin_records on the keys of one attempt: one row per step, in
-- step order (verdict 0: Locked, 1: Allowed, 2: Skipped). Rows are locked
-- sorted by id; a new key is inserted (its final record, after every
-- existing row is locked, new keys sorted by id) with ON CONFLICT DO
-- NOTHING, and if another attempt inserted it first the step is taken
-- again with that row. A record a refused attempt left empty is deleted.
CREATE FUNCTION lg_begin_all(
    step_ids TEXT[], step_scopes TEXT[], step_ips TEXT[], step_usernames TEXT[],
    step_user_agents TEXT[], step_failure_limits BIGINT[], step_windows BIGINT[],
    step_cool_offs BIGINT[], step_multipliers DOUBLE PRECISION[], step_cool_off_maxes BIGINT[],
    step_count_during_lockouts BOOLEAN[], step_lock_outs BOOLEAN[], step_remembers BIGINT[],
    step_tags BIGINT[], step_sprays BOOLEAN[], now BIGINT)
RETURNS TABLE (step INT, verdict SMALLINT, counted BOOLEAN, failure_count BIGINT,
               remaining BIGINT, locks_on_failure BOOLEAN, lock_until BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    n INT := coalesce(cardinality(step_ids), 0);
    ids TEXT[];         -- the distinct keys, sorted
    k INT;
    slot INT[];         -- step -> its key in ids
    recs lg_record[];
    stored BOOLEAN[];   -- the key had a row
    last_step INT[];    -- the step whose limits the key's expiry follows
    inserted TEXT[];
    b lg_begun;
    begun lg_begun[];
    l lg_limits;
    rec lg_record;
    row_ RECORD;
    any_locked BOOLEAN;
    raced BOOLEAN;
    i INT;
    j INT;
BEGIN
    SELECT array_agg(DISTINCT u ORDER BY u) INTO ids FROM unnest(step_ids) AS u;
    k := coalesce(cardinality(ids), 0);
    slot := array_fill(0, ARRAY[greatest(n, 1)]);
    FOR i IN 1 .. n LOOP
        slot[i] := array_position(ids, step_ids[i]);
    END LOOP;
    FOR try_n IN 1 .. 8 LOOP
        recs := array_fill(ROW('{}'::BIGINT[], false, NULL, 0, 0, 0, '{}'::BIGINT[])::lg_record,
                           ARRAY[greatest(k, 1)]);
        stored := array_fill(false, ARRAY[greatest(k, 1)]);
        last_step := array_fill(0, ARRAY[greatest(k, 1)]);
        FOR row_ IN
            SELECT id, failures, locked, locked_until, lock_count, updated_at, refused, tags
            FROM lockout_keys WHERE id = ANY (ids) ORDER BY id FOR UPDATE
        LOOP
            j := array_position(ids, row_.id);
            recs[j] := ROW(row_.failures, row_.locked, row_.locked_until, row_.lock_count,
                           row_.updated_at, row_.refused, row_.tags)::lg_record;
            stored[j] := true;
        END LOOP;
        -- The rules, in step order.
        begun := '{}';
        any_locked := false;
        FOR i IN 1 .. n LOOP
            IF step_sprays[i] AND any_locked THEN
                begun := begun || ROW(NULL, 2, false, 0, 0, false, NULL)::lg_begun;
                CONTINUE;
            END IF;
            j := slot[i];
            l := ROW(step_failure_limits[i], step_windows[i], step_cool_offs[i],
                     step_multipliers[i], step_cool_off_maxes[i],
                     step_count_during_lockouts[i], step_lock_outs[i],
                     step_remembers[i])::lg_limits;
            b := lg_begin(recs[j], l, step_tags[i], now);
            recs[j] := b.rec;
            last_step[j] := i;
            begun := begun || b;
            any_locked := any_locked OR b.verdict = 0;
        END LOOP;
        IF any_locked THEN
            -- Refused: KeyStep::refusal_release on every key that counted.
            FOR i IN 1 .. n LOOP
                b := begun[i];
                IF b.verdict = 1 AND b.counted
                   AND (step_sprays[i] OR NOT step_count_during_lockouts[i]) THEN
                    j := slot[i];
                    l := ROW(step_failure_limits[i], step_windows[i], step_cool_offs[i],
                             step_multipliers[i], step_cool_off_maxes[i],
                             step_count_during_lockouts[i], step_lock_outs[i],
                             step_remembers[i])::lg_limits;
                    recs[j] := lg_release(recs[j], l, false, now, b.locks_on_failure,
                                          step_tags[i], now);
                    last_step[j] := i;
                END IF;
            END LOOP;
        END IF;
        -- New keys, sorted by id.
        inserted := '{}';
        raced := false;
        FOR j IN 1 .. k LOOP
            i := last_step[j];
            CONTINUE WHEN stored[j] OR i = 0 OR lg_is_empty(recs[j]);
            rec := recs[j];
            l := ROW(step_failure_limits[i], step_windows[i], step_cool_offs[i],
                     step_multipliers[i], step_cool_off_maxes[i],
                     step_count_during_lockouts[i], step_lock_outs[i],
                     step_remembers[i])::lg_limits;
            INSERT INTO lockout_keys (id, scope, ip, username, user_agent, failures, locked,
                                      locked_until, lock_count, updated_at, expires_at,
                                      refused, tags)
            VALUES (ids[j], step_scopes[i], step_ips[i], step_usernames[i],
                    step_user_agents[i], rec.failures, rec.locked, rec.locked_until,
                    rec.lock_count, rec.updated_at, lg_expires_at(rec, l), rec.refused,
                    rec.tags)
            ON CONFLICT (id) DO NOTHING;
            IF NOT FOUND THEN
                raced := true;
                EXIT;
            END IF;
            inserted := inserted || ids[j];
        END LOOP;
        IF raced THEN
            -- Another attempt inserted a key first: take the step again
            -- with its row.
            DELETE FROM lockout_keys WHERE id = ANY (inserted);
            CONTINUE;
        END IF;
        -- Keys that had a row.
        FOR j IN 1 .. k LOOP
            i := last_step[j];
            CONTINUE WHEN NOT stored[j] OR i = 0;
            rec := recs[j];
            IF lg_is_empty(rec) THEN
                DELETE FROM lockout_keys WHERE id = ids[j];
                CONTINUE;
            END IF;
            l := ROW(step_failure_limits[i], step_windows[i], step_cool_offs[i],
                     step_multipliers[i], step_cool_off_maxes[i],
                     step_count_during_lockouts[i], step_lock_outs[i],
                     step_remembers[i])::lg_limits;
            UPDATE lockout_keys SET failures = rec.failures, locked = rec.locked,
                locked_until = rec.locked_until, lock_count = rec.lock_count,
                updated_at = rec.updated_at, expires_at = lg_expires_at(rec, l),
                refused = rec.refused, tags = rec.tags, version = version + 1
            WHERE id = ids[j];
        END LOOP;
        FOR i IN 1 .. n LOOP
            b := begun[i];
            step := i;
            verdict := b.verdict;
            counted := b.counted;
            failure_count := b.failure_count;
            remaining := b.remaining;
            locks_on_failure := b.locks_on_failure;
            lock_until := b.lock_until;
            RETURN NEXT;
        END LOOP;
        RETURN;
    END LOOP;
    RAISE EXCEPTION 'loginguard: the rows of keys % kept appearing and disappearing', ids
        USING ERRCODE = '40001';
END
$$;

-- record::release on several keys (in the given order), each row locked
-- sorted by id; a record left empty is deleted, a key without a row is
-- left alone. Returns how many keys had a row.
CREATE FUNCTION lg_release_all(
    release_ids TEXT[], release_resets BOOLEAN[], release_attempt_times BIGINT[],
    release_undo_locks BOOLEAN[], release_tags BIGINT[], release_failure_limits BIGINT[],
    release_windows BIGINT[], release_cool_offs BIGINT[],
    release_multipliers DOUBLE PRECISION[], release_cool_off_maxes BIGINT[],
    release_count_during_lockouts BOOLEAN[], release_lock_outs BOOLEAN[],
    release_remembers BIGINT[], now BIGINT)
RETURNS INT
LANGUAGE plpgsql AS $$
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
        FROM lockout_keys WHERE id = ANY (ids) ORDER BY id FOR UPDATE
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

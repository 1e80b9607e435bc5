-- Version 2: attempts refused since a key locked, and the tags a key
-- remembers (keyed hashes of its last failed passwords, or of the accounts
-- a password key has failed on).
ALTER TABLE lockout_keys
    -- Refused attempts since the current lock was set.
    ADD COLUMN refused BIGINT NOT NULL DEFAULT 0,
    -- Pairs flattened, oldest first: time (ms), tag (the u64 as a signed bigint), ...
    ADD COLUMN tags BIGINT[] NOT NULL DEFAULT '{}';

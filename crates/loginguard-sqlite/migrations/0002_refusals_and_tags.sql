-- Version 2: attempts refused since a key locked, and the tags a key
-- remembers (keyed hashes of its last failed passwords, or of the accounts
-- a password key has failed on).
-- Refused attempts since the current lock was set.
ALTER TABLE loginguard_keys ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
-- "time:tag,time:tag", oldest first: time in ms, tag as 16 hex digits.
ALTER TABLE loginguard_keys ADD COLUMN tags TEXT NOT NULL DEFAULT '';

-- Lockout state: one row per key (scope + identifying fields).
CREATE TABLE loginguard_keys (
    -- The canonical key id (`Key::id`), e.g. `login/ip=10.0.0.1&username=alice`.
    id            TEXT    NOT NULL PRIMARY KEY,
    scope         TEXT    NOT NULL,
    ip            TEXT,
    username      TEXT,
    user_agent    TEXT,
    -- Times of counted failures, milliseconds since the epoch, comma-separated, oldest first.
    failures      TEXT    NOT NULL DEFAULT '',
    failure_count INTEGER NOT NULL DEFAULT 0,
    locked        INTEGER NOT NULL DEFAULT 0,
    -- When the lock ends (ms); NULL with locked = 1: until reset.
    locked_until  INTEGER,
    lock_count    INTEGER NOT NULL DEFAULT 0,
    -- Time of the last attempt (ms).
    updated_at    INTEGER NOT NULL,
    -- When the row can be deleted without changing any verdict (ms); NULL: kept.
    expires_at    INTEGER
) WITHOUT ROWID;

CREATE INDEX loginguard_keys_ip ON loginguard_keys (ip) WHERE ip IS NOT NULL;
CREATE INDEX loginguard_keys_username ON loginguard_keys (username) WHERE username IS NOT NULL;
CREATE INDEX loginguard_keys_updated_at ON loginguard_keys (updated_at);
CREATE INDEX loginguard_keys_expires_at ON loginguard_keys (expires_at) WHERE expires_at IS NOT NULL;

-- The access log: successful logins.
CREATE TABLE loginguard_access_log (
    id         INTEGER PRIMARY KEY,
    scope      TEXT    NOT NULL,
    username   TEXT,
    ip         TEXT,
    user_agent TEXT,
    method     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    time       INTEGER NOT NULL
);

CREATE INDEX loginguard_access_log_time ON loginguard_access_log (time);
CREATE INDEX loginguard_access_log_username ON loginguard_access_log (username, time);
CREATE INDEX loginguard_access_log_ip ON loginguard_access_log (ip, time);

-- The failure log: failed and refused attempts.
CREATE TABLE loginguard_failure_log (
    id         INTEGER PRIMARY KEY,
    scope      TEXT    NOT NULL,
    username   TEXT,
    ip         TEXT,
    user_agent TEXT,
    method     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    time       INTEGER NOT NULL,
    locked_out INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX loginguard_failure_log_time ON loginguard_failure_log (time);
CREATE INDEX loginguard_failure_log_username ON loginguard_failure_log (username, time);
CREATE INDEX loginguard_failure_log_ip ON loginguard_failure_log (ip, time);

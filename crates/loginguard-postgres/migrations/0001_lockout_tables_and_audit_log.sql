-- Lockout state: one row per lockout key, and the audit trail.
-- Every table lives in the store's own schema (`store_prefix`), reached
-- through the connection's search_path.

CREATE TABLE lockout_keys (
    -- The canonical key id (`scope/ip=…&username=…`), see loginguard_core::Key::id.
    id           TEXT PRIMARY KEY,
    scope        TEXT NOT NULL,
    ip           TEXT,
    username     TEXT,
    user_agent   TEXT,
    -- Times of counted failures (ms since the epoch), oldest first.
    failures     BIGINT[] NOT NULL DEFAULT '{}',
    locked       BOOLEAN NOT NULL DEFAULT FALSE,
    -- When the lock ends (ms); NULL with locked: until reset.
    locked_until BIGINT,
    lock_count   BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL,
    -- When the row can be deleted without changing a verdict (ms); NULL: never by itself.
    expires_at   BIGINT,
    -- Bumped by every write: a write based on an older read changes nothing.
    version      BIGINT NOT NULL DEFAULT 1
);

CREATE INDEX lockout_keys_ip ON lockout_keys (ip) WHERE ip IS NOT NULL;
CREATE INDEX lockout_keys_username ON lockout_keys (username) WHERE username IS NOT NULL;
CREATE INDEX lockout_keys_updated_at ON lockout_keys (updated_at DESC);
CREATE INDEX lockout_keys_expires_at ON lockout_keys (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('success', 'failure')),
    scope      TEXT NOT NULL,
    username   TEXT,
    ip         TEXT,
    user_agent TEXT,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    -- When it happened (ms since the epoch).
    time_ms    BIGINT NOT NULL,
    locked_out BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX audit_log_time ON audit_log (time_ms DESC, id DESC);
CREATE INDEX audit_log_user ON audit_log (username, kind, time_ms DESC);
CREATE INDEX audit_log_ip ON audit_log (ip, time_ms DESC);

-- As SQLite's 0012: failed code attempts per limiter key, shared by the
-- nodes.
CREATE TABLE failed_attempts (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX failed_attempts_key_at ON failed_attempts(key, at);
CREATE INDEX failed_attempts_at ON failed_attempts(at);

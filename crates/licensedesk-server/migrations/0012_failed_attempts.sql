-- Failed code attempts (an unknown activation code, a wrong order e-mail),
-- per limiter key (a token's hash, a client address), kept in the database
-- so that the limit holds however many server nodes share it. Rows older
-- than the window are deleted as keys fail again and by maintenance.
CREATE TABLE failed_attempts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX failed_attempts_key_at ON failed_attempts(key, at);
CREATE INDEX failed_attempts_at ON failed_attempts(at);

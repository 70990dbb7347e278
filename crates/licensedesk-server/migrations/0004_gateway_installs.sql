-- License installs reported by desktop clients (issue 4 outbox): one row per
-- reported install; exactly-once delivery relies on the Idempotency-Key.
CREATE TABLE gateway_installs (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    license_id    TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('trial', 'file', 'activation', 'floating')),
    source        TEXT NOT NULL CHECK (source IN ('file', 'activation', 'field', 'offline')),
    installed_at  TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX gateway_installs_account ON gateway_installs (account_id, id);

-- One row per checked-out allotment: the certificate the server signed for
-- this kit's delegate key, and the server's key set that verified it.
CREATE TABLE allotments (
    id              TEXT PRIMARY KEY,
    server          TEXT NOT NULL,
    order_no        TEXT NOT NULL,
    certificate     TEXT NOT NULL,
    keyset          TEXT NOT NULL,
    max_licenses    INTEGER NOT NULL,
    not_before      TEXT NOT NULL,
    not_after       TEXT NOT NULL,
    checked_out_at  TEXT NOT NULL,
    -- The server's view after the last reconcile.
    server_state    TEXT NOT NULL DEFAULT 'open',
    consumed        INTEGER NOT NULL DEFAULT 0,
    synced_at       TEXT
) STRICT;

-- The issuance ledger: append-only, hash-chained (licensedesk-core::ledger).
-- One record per gateway: re-issuing for the same hardware adds nothing.
CREATE TABLE ledger (
    allotment_id    TEXT NOT NULL REFERENCES allotments(id),
    seq             INTEGER NOT NULL,
    record          TEXT NOT NULL,
    license         TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    slot            INTEGER NOT NULL,
    license_id      TEXT NOT NULL,
    issued_at       TEXT NOT NULL,
    -- pending | reconciled | conflict (set by reconcile).
    sync_state      TEXT NOT NULL DEFAULT 'pending',
    sync_code       TEXT,
    sync_message    TEXT,
    PRIMARY KEY (allotment_id, seq),
    UNIQUE (allotment_id, slot),
    UNIQUE (allotment_id, fingerprint)
) STRICT;

-- The clock guard's high-water mark: the latest time this kit trusted.
CREATE TABLE clock (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    mark TEXT NOT NULL
) STRICT;

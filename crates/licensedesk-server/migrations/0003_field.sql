-- Offline field activation (issue 6): allotments reserved for a field kit's
-- delegate key, the ledger entries it uploaded, the slots they consumed
-- (one per gateway, exactly once), and the audit log.
CREATE TABLE field_allotments (
    id                   TEXT PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts(id),
    order_id             INTEGER NOT NULL REFERENCES gateway_orders(id),
    delegate_kid         TEXT NOT NULL,
    delegate_public_key  TEXT NOT NULL UNIQUE,   -- one certificate per delegate key
    max_licenses         INTEGER NOT NULL,
    not_before           TEXT NOT NULL,
    not_after            TEXT NOT NULL,
    certificate          TEXT NOT NULL,          -- the signed certificate envelope JSON
    state                TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'returned', 'expired')),
    closed_at            TEXT,
    created_at           TEXT NOT NULL
);
CREATE INDEX field_allotments_order ON field_allotments (order_id, state);
CREATE INDEX field_allotments_account ON field_allotments (account_id);

-- Uploaded ledger records, once each: a retry re-inserts nothing.
CREATE TABLE field_issuances (
    allotment_id  TEXT NOT NULL REFERENCES field_allotments(id),
    seq           INTEGER NOT NULL,
    slot          INTEGER NOT NULL,
    fingerprint   TEXT NOT NULL,
    license_id    TEXT NOT NULL,
    record_hash   TEXT NOT NULL,
    issued_at     TEXT NOT NULL,
    PRIMARY KEY (allotment_id, seq)
);

-- One row per allotment slot ever reconciled: the UNIQUE key makes a second
-- consumption of a slot impossible.
CREATE TABLE field_slots (
    allotment_id   TEXT NOT NULL REFERENCES field_allotments(id),
    slot           INTEGER NOT NULL,
    fingerprint    TEXT NOT NULL,
    license_id     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('consumed', 'conflict')),
    conflict_code  TEXT,
    reconciled_at  TEXT NOT NULL,
    PRIMARY KEY (allotment_id, slot)
);

CREATE TABLE field_audit (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    allotment_id  TEXT NOT NULL,
    at            TEXT NOT NULL,
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE INDEX field_audit_account ON field_audit (account_id, id);

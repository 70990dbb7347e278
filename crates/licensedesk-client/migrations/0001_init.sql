-- LicenseDesk client cache, version 1: a mirror of one account on one server.
-- Times are the server's fixed-width RFC 3339 UTC strings, so string order is
-- time order. Sortable optional times are stored as '' when absent, so one
-- plain index serves keyset paging in both directions.

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE account (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    data_center          TEXT NOT NULL,
    verified_enterprise  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE products (
    id              INTEGER PRIMARY KEY,
    pk              TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    package         TEXT,
    overage_policy  TEXT NOT NULL DEFAULT 'block',
    ota_topups      INTEGER NOT NULL DEFAULT 0,
    message_topups  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE batches (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    pk         TEXT,
    quantity   INTEGER NOT NULL,
    package    TEXT,
    reference  TEXT
);

CREATE TABLE devices (
    id              INTEGER PRIMARY KEY,
    pk              TEXT NOT NULL,
    dk              TEXT NOT NULL,
    hardware_id     TEXT,
    status          TEXT NOT NULL,
    online          INTEGER NOT NULL DEFAULT 0,
    offline_reason  TEXT,
    activated_at    TEXT,
    expires_at      TEXT,
    code_id         INTEGER              -- its current code, as last seen consumed
);
CREATE INDEX devices_pk_dk ON devices(pk, dk);
CREATE INDEX devices_dk ON devices(dk);
CREATE INDEX devices_expiry ON devices(expires_at) WHERE status = 'active';

CREATE TABLE codes (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL,
    batch_id     INTEGER NOT NULL,
    product_id   INTEGER,                -- NULL = unassigned
    device_id    INTEGER,
    consumed_at  TEXT NOT NULL DEFAULT '',
    expires_at   TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX codes_code ON codes(code);
CREATE INDEX codes_device ON codes(device_id) WHERE device_id IS NOT NULL;
CREATE INDEX codes_expires ON codes(expires_at);
CREATE INDEX codes_consumed ON codes(consumed_at);
CREATE INDEX codes_product_expires ON codes(product_id, expires_at);
CREATE INDEX codes_product_consumed ON codes(product_id, consumed_at);

-- A device's usage as last reported, per local day (keyed by the day's end
-- instant, which the server sends as `messages_reset_at`).
CREATE TABLE usage_days (
    device_id  INTEGER NOT NULL,
    day_end    TEXT NOT NULL,
    messages   INTEGER NOT NULL,
    overage    INTEGER NOT NULL,
    PRIMARY KEY (device_id, day_end)
) WITHOUT ROWID;

CREATE TABLE usage_now (
    device_id  INTEGER PRIMARY KEY,
    usage      TEXT NOT NULL             -- JSON of the server's UsageNow
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'done', 'rejected')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    error_code       TEXT,
    error_message    TEXT,
    response         TEXT
);
CREATE INDEX outbox_state ON outbox(state, id);

-- LicenseDesk server schema, version 1.
-- Times are RFC 3339 UTC strings with a fixed width (see db::ts), so that
-- lexical order is chronological order.

CREATE TABLE accounts (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('individual', 'enterprise')),
    data_center          TEXT NOT NULL,
    token_hash           TEXT NOT NULL UNIQUE,
    verified_enterprise  INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL
);

CREATE TABLE products (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    pk               TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    package          TEXT,                   -- JSON of licensedesk_core::package::Package; NULL until the first batch
    overage_policy   TEXT NOT NULL DEFAULT 'block',
    ota_topups       INTEGER NOT NULL DEFAULT 0,  -- prepaid OTA attempts left
    message_topups   INTEGER NOT NULL DEFAULT 0,  -- prepaid messages left
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX products_account ON products(account_id);

CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    product_id  INTEGER REFERENCES products(id),
    kind        TEXT NOT NULL CHECK (kind IN ('purchase', 'free')),
    package     TEXT,                        -- JSON; NULL for free codes
    quantity    INTEGER NOT NULL,
    reference   TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE devices (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    product_id      INTEGER NOT NULL REFERENCES products(id),
    dk              TEXT NOT NULL,
    hardware_id     TEXT,
    status          TEXT NOT NULL DEFAULT 'inactive' CHECK (status IN ('inactive', 'active')),
    online          INTEGER NOT NULL DEFAULT 0,
    offline_reason  TEXT,
    activated_at    TEXT,
    expires_at      TEXT,
    last_seen_at    TEXT,
    connected_via   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (product_id, dk)
);
CREATE INDEX devices_account ON devices(account_id);
CREATE INDEX devices_expiry ON devices(expires_at) WHERE status = 'active';

CREATE TABLE codes (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    batch_id     INTEGER NOT NULL REFERENCES batches(id),
    product_id   INTEGER REFERENCES products(id),     -- NULL = unassigned
    code         TEXT NOT NULL UNIQUE,
    device_id    INTEGER REFERENCES devices(id),
    consumed_at  TEXT,
    expires_at   TEXT,
    active       INTEGER,                              -- 1 while it is its device's current code, else NULL
    CHECK ((device_id IS NULL) = (consumed_at IS NULL)),
    CHECK (active IS NULL OR (active = 1 AND device_id IS NOT NULL))
);
-- The consumption guard: a device holds at most one active code.
CREATE UNIQUE INDEX codes_one_active_per_device ON codes(device_id) WHERE active = 1;
CREATE INDEX codes_pool ON codes(product_id, id) WHERE consumed_at IS NULL;
CREATE INDEX codes_account ON codes(account_id, id);

CREATE TABLE usage_days (
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    day         TEXT NOT NULL,            -- data center's local date
    messages    INTEGER NOT NULL DEFAULT 0,
    overage     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, day)
);

CREATE TABLE usage_months (
    device_id     INTEGER NOT NULL REFERENCES devices(id),
    month         TEXT NOT NULL,          -- data center's local YYYY-MM
    ota_attempts  INTEGER NOT NULL DEFAULT 0,
    ota_overage   INTEGER NOT NULL DEFAULT 0,
    topups_used   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, month)
);

CREATE TABLE device_logs (
    id         INTEGER PRIMARY KEY,
    device_id  INTEGER NOT NULL REFERENCES devices(id),
    at         TEXT NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('up', 'down', 'ota')),
    detail     TEXT NOT NULL
);
CREATE INDEX device_logs_device_at ON device_logs(device_id, at);

CREATE TABLE gateway_orders (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    order_no         TEXT NOT NULL UNIQUE,
    email            TEXT NOT NULL,
    customer         TEXT NOT NULL,
    activation_code  TEXT NOT NULL UNIQUE,
    quantity         INTEGER NOT NULL,
    max_connections  INTEGER NOT NULL,
    max_tags         INTEGER NOT NULL,
    plugins          TEXT NOT NULL,        -- JSON array
    validity_days    INTEGER NOT NULL,
    created_at       TEXT NOT NULL
);

CREATE TABLE gateway_activations (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES gateway_orders(id),
    fingerprint  TEXT NOT NULL,
    license_id   TEXT NOT NULL UNIQUE,
    license      TEXT NOT NULL,            -- the signed license document
    issued_at    TEXT NOT NULL,
    reissued     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (order_id, fingerprint)
);

CREATE TABLE floating_pools (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    name         TEXT NOT NULL,
    points       INTEGER NOT NULL,
    ttl_seconds  INTEGER NOT NULL,
    plugins      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE floating_leases (
    id           INTEGER PRIMARY KEY,
    pool_id      INTEGER NOT NULL REFERENCES floating_pools(id),
    fingerprint  TEXT NOT NULL,
    points       INTEGER NOT NULL,
    expires_at   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (pool_id, fingerprint)
);

CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'purge')),
    at          TEXT NOT NULL,
    data        TEXT
);
CREATE INDEX changes_account_seq ON changes(account_id, seq);

CREATE TABLE idempotency (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

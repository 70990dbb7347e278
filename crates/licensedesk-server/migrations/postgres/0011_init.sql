-- The schema on PostgreSQL, equal to the SQLite schema at its version 11
-- (migrations/0001..0011): the same tables, columns and indexes, integers
-- as BIGINT, flags as BOOLEAN, instants as the same fixed-width RFC 3339
-- text (string order is time order). PostgreSQL support arrived at
-- version 11; later versions add a file to both engines.
--
-- One addition: `changes.txid`, the transaction that wrote the change
-- (PostgreSQL assigns `seq` before the commit, so a change with a lower
-- `seq` may commit after a higher one was read; the feed is read in
-- (txid, seq) order up to the oldest transaction still running; see
-- store::changes).

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('instance', gen_random_uuid()::text);

CREATE TABLE accounts (
    id                   BIGSERIAL PRIMARY KEY,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('individual', 'enterprise')),
    data_center          TEXT NOT NULL,
    token_hash           TEXT NOT NULL UNIQUE,
    verified_enterprise  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           TEXT NOT NULL
);

CREATE TABLE products (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    pk               TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    package          TEXT,
    overage_policy   TEXT NOT NULL DEFAULT 'block',
    ota_topups       BIGINT NOT NULL DEFAULT 0,
    message_topups   BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    closed_through   TEXT
);
CREATE INDEX products_account ON products(account_id);

CREATE TABLE batches (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    product_id  BIGINT REFERENCES products(id),
    kind        TEXT NOT NULL CHECK (kind IN ('purchase', 'free')),
    package     TEXT,
    quantity    BIGINT NOT NULL,
    reference   TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE devices (
    id              BIGSERIAL PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    product_id      BIGINT NOT NULL REFERENCES products(id),
    dk              TEXT NOT NULL,
    hardware_id     TEXT,
    status          TEXT NOT NULL DEFAULT 'inactive' CHECK (status IN ('inactive', 'active')),
    online          BOOLEAN NOT NULL DEFAULT FALSE,
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
    id           BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(id),
    batch_id     BIGINT NOT NULL REFERENCES batches(id),
    product_id   BIGINT REFERENCES products(id),
    code         TEXT NOT NULL UNIQUE,
    device_id    BIGINT REFERENCES devices(id),
    consumed_at  TEXT,
    expires_at   TEXT,
    active       BIGINT,
    CHECK ((device_id IS NULL) = (consumed_at IS NULL)),
    CHECK (active IS NULL OR (active = 1 AND device_id IS NOT NULL))
);
CREATE UNIQUE INDEX codes_one_active_per_device ON codes(device_id) WHERE active = 1;
CREATE INDEX codes_account ON codes(account_id, id);
CREATE INDEX codes_product ON codes(product_id, consumed_at);
CREATE INDEX codes_pool ON codes(product_id, id) WHERE consumed_at IS NULL;

CREATE TABLE usage_days (
    device_id   BIGINT NOT NULL REFERENCES devices(id),
    day         TEXT NOT NULL,
    messages    BIGINT NOT NULL DEFAULT 0,
    overage     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, day)
);

CREATE TABLE usage_months (
    device_id     BIGINT NOT NULL REFERENCES devices(id),
    month         TEXT NOT NULL,
    ota_attempts  BIGINT NOT NULL DEFAULT 0,
    ota_overage   BIGINT NOT NULL DEFAULT 0,
    topups_used   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, month)
);

CREATE TABLE device_logs (
    id         BIGSERIAL PRIMARY KEY,
    device_id  BIGINT NOT NULL REFERENCES devices(id),
    at         TEXT NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('up', 'down', 'ota')),
    detail     TEXT NOT NULL
);
CREATE INDEX device_logs_device_at ON device_logs(device_id, at);

CREATE TABLE gateway_orders (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    order_no         TEXT NOT NULL UNIQUE,
    email            TEXT NOT NULL,
    customer         TEXT NOT NULL,
    activation_code  TEXT NOT NULL UNIQUE,
    quantity         BIGINT NOT NULL,
    max_connections  BIGINT NOT NULL,
    max_tags         BIGINT NOT NULL,
    plugins          TEXT NOT NULL,
    validity_days    BIGINT NOT NULL,
    created_at       TEXT NOT NULL,
    product          TEXT
);
CREATE INDEX gateway_orders_product ON gateway_orders (account_id, product);

CREATE TABLE gateway_activations (
    id           BIGSERIAL PRIMARY KEY,
    order_id     BIGINT NOT NULL REFERENCES gateway_orders(id),
    fingerprint  TEXT NOT NULL,
    license_id   TEXT NOT NULL UNIQUE,
    license      TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    reissued     BIGINT NOT NULL DEFAULT 0,
    UNIQUE (order_id, fingerprint)
);
CREATE INDEX gateway_activations_order ON gateway_activations(order_id);

CREATE TABLE floating_pools (
    id           BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(id),
    name         TEXT NOT NULL,
    points       BIGINT NOT NULL,
    ttl_seconds  BIGINT NOT NULL,
    plugins      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    token_hash   TEXT,
    UNIQUE (account_id, name)
);
CREATE UNIQUE INDEX floating_pools_token ON floating_pools(token_hash) WHERE token_hash IS NOT NULL;

CREATE TABLE floating_leases (
    id                  BIGSERIAL PRIMARY KEY,
    pool_id             BIGINT NOT NULL REFERENCES floating_pools(id),
    fingerprint         TEXT NOT NULL,
    points              BIGINT NOT NULL,
    expires_at          TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    connections_in_use  BIGINT,
    tags_in_use         BIGINT,
    usage_at            TEXT,
    UNIQUE (pool_id, fingerprint)
);

CREATE TABLE idempotency (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        BIGINT NOT NULL,
    body          BYTEA NOT NULL,
    created_at    TEXT NOT NULL,
    content_type  TEXT,
    PRIMARY KEY (scope, key)
);

CREATE TABLE field_allotments (
    id                   TEXT PRIMARY KEY,
    account_id           BIGINT NOT NULL REFERENCES accounts(id),
    order_id             BIGINT REFERENCES gateway_orders(id),
    product              TEXT,
    delegate_kid         TEXT NOT NULL,
    delegate_public_key  TEXT NOT NULL UNIQUE,
    max_licenses         BIGINT NOT NULL,
    not_before           TEXT NOT NULL,
    not_after            TEXT NOT NULL,
    certificate          TEXT NOT NULL,
    state                TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'returned', 'expired')),
    closed_at            TEXT,
    created_at           TEXT NOT NULL,
    CHECK ((order_id IS NULL) <> (product IS NULL))
);
CREATE INDEX field_allotments_account ON field_allotments (account_id);

CREATE TABLE field_allotment_orders (
    allotment_id  TEXT NOT NULL REFERENCES field_allotments(id),
    order_id      BIGINT NOT NULL REFERENCES gateway_orders(id),
    first_slot    BIGINT NOT NULL CHECK (first_slot >= 1),
    count         BIGINT NOT NULL CHECK (count >= 1),
    PRIMARY KEY (allotment_id, order_id),
    UNIQUE (allotment_id, first_slot)
);
CREATE INDEX field_allotment_orders_order ON field_allotment_orders (order_id);

CREATE TABLE field_issuances (
    allotment_id  TEXT NOT NULL REFERENCES field_allotments(id),
    seq           BIGINT NOT NULL,
    slot          BIGINT NOT NULL,
    fingerprint   TEXT NOT NULL,
    license_id    TEXT NOT NULL,
    record_hash   TEXT NOT NULL,
    issued_at     TEXT NOT NULL,
    PRIMARY KEY (allotment_id, seq)
);

CREATE TABLE field_slots (
    allotment_id   TEXT NOT NULL REFERENCES field_allotments(id),
    slot           BIGINT NOT NULL,
    fingerprint    TEXT NOT NULL,
    license_id     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('consumed', 'conflict')),
    conflict_code  TEXT,
    reconciled_at  TEXT NOT NULL,
    PRIMARY KEY (allotment_id, slot)
);

CREATE TABLE field_audit (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    allotment_id  TEXT NOT NULL,
    at            TEXT NOT NULL,
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE INDEX field_audit_account ON field_audit (account_id, id);

CREATE TABLE gateway_installs (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    license_id    TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('trial', 'file', 'activation', 'floating')),
    source        TEXT NOT NULL CHECK (source IN ('file', 'activation', 'field', 'offline')),
    installed_at  TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX gateway_installs_account ON gateway_installs (account_id, id);

CREATE TABLE changes (
    seq         BIGSERIAL PRIMARY KEY,
    txid        BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    account_id  BIGINT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op = 'insert' OR op = 'update' OR op = 'delete' OR op = 'purge'),
    at          TEXT NOT NULL,
    data        TEXT
);
CREATE INDEX changes_account_feed ON changes(account_id, txid, seq);
CREATE INDEX changes_account_rest ON changes(account_id, seq) WHERE entity != 'code' AND entity != 'device';

CREATE TABLE statements (
    id                        BIGSERIAL PRIMARY KEY,
    account_id                BIGINT NOT NULL REFERENCES accounts(id),
    product_id                BIGINT NOT NULL REFERENCES products(id),
    month                     TEXT NOT NULL,
    month_start               TEXT NOT NULL,
    month_end                 TEXT NOT NULL,
    overage_policy            TEXT NOT NULL,
    message_overage           BIGINT NOT NULL,
    message_topups_applied    BIGINT NOT NULL,
    messages_billed           BIGINT NOT NULL,
    ota_overage               BIGINT NOT NULL,
    ota_topups_applied        BIGINT NOT NULL,
    ota_billed                BIGINT NOT NULL,
    ota_topups_used_in_month  BIGINT NOT NULL,
    message_topups_left       BIGINT NOT NULL,
    ota_topups_left           BIGINT NOT NULL,
    closed_at                 TEXT NOT NULL,
    UNIQUE (product_id, month)
);
CREATE INDEX statements_account ON statements (account_id);

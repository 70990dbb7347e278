-- Gateway products (issue 6): an order may name the edge software product it
-- sells licenses of, and a field allotment is checked out either from one
-- order or from a product's orders (licensedesk-core's plan_allotment).
-- Runs with foreign keys off (the rebuild below is SQLite's documented
-- procedure); the migration runner checks them before it commits.
ALTER TABLE gateway_orders ADD COLUMN product TEXT;
CREATE INDEX gateway_orders_product ON gateway_orders (account_id, product);

-- field_allotments again, with order_id optional: exactly one of order_id
-- (an order allotment) and product (a product allotment).
CREATE TABLE field_allotments_v5 (
    id                   TEXT PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts(id),
    order_id             INTEGER REFERENCES gateway_orders(id),
    product              TEXT,
    delegate_kid         TEXT NOT NULL,
    delegate_public_key  TEXT NOT NULL UNIQUE,   -- one certificate per delegate key
    max_licenses         INTEGER NOT NULL,
    not_before           TEXT NOT NULL,
    not_after            TEXT NOT NULL,
    certificate          TEXT NOT NULL,          -- the signed certificate envelope JSON
    state                TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'returned', 'expired')),
    closed_at            TEXT,
    created_at           TEXT NOT NULL,
    CHECK ((order_id IS NULL) <> (product IS NULL))
);
INSERT INTO field_allotments_v5 (id, account_id, order_id, product, delegate_kid, delegate_public_key,
    max_licenses, not_before, not_after, certificate, state, closed_at, created_at)
SELECT id, account_id, order_id, NULL, delegate_kid, delegate_public_key,
    max_licenses, not_before, not_after, certificate, state, closed_at, created_at
FROM field_allotments;
DROP TABLE field_allotments;
ALTER TABLE field_allotments_v5 RENAME TO field_allotments;
CREATE INDEX field_allotments_account ON field_allotments (account_id);

-- Which orders an allotment's slots count against: slots first_slot ..
-- first_slot + count - 1 are licenses of order_id. An order allotment has
-- one part (slots 1..N); the parts of an allotment cover 1..max_licenses.
CREATE TABLE field_allotment_orders (
    allotment_id  TEXT NOT NULL REFERENCES field_allotments(id),
    order_id      INTEGER NOT NULL REFERENCES gateway_orders(id),
    first_slot    INTEGER NOT NULL CHECK (first_slot >= 1),
    count         INTEGER NOT NULL CHECK (count >= 1),
    PRIMARY KEY (allotment_id, order_id),
    UNIQUE (allotment_id, first_slot)
);
CREATE INDEX field_allotment_orders_order ON field_allotment_orders (order_id);
INSERT INTO field_allotment_orders (allotment_id, order_id, first_slot, count)
SELECT id, order_id, 1, max_licenses FROM field_allotments;

-- Month close (issue 12): at the first local midnight of a month the
-- server closes the previous local month of each product, once. A
-- statement holds the month's overage, the top-ups it used up and what is
-- billed; `products.closed_through` is the last month closed (YYYY-MM,
-- NULL: none yet, the product's first month is the month it was created).
CREATE TABLE statements (
    id                      INTEGER PRIMARY KEY,
    account_id              INTEGER NOT NULL REFERENCES accounts(id),
    product_id              INTEGER NOT NULL REFERENCES products(id),
    month                   TEXT NOT NULL,        -- local month, YYYY-MM
    month_start             TEXT NOT NULL,        -- its UTC interval
    month_end               TEXT NOT NULL,
    overage_policy          TEXT NOT NULL,        -- the product's at the close
    message_overage         INTEGER NOT NULL,
    message_topups_applied  INTEGER NOT NULL,
    messages_billed         INTEGER NOT NULL,
    ota_overage             INTEGER NOT NULL,
    ota_topups_applied      INTEGER NOT NULL,
    ota_billed              INTEGER NOT NULL,
    ota_topups_used_in_month INTEGER NOT NULL,    -- prepaid attempts upgrades took during the month (block)
    message_topups_left     INTEGER NOT NULL,
    ota_topups_left         INTEGER NOT NULL,
    closed_at               TEXT NOT NULL,
    UNIQUE (product_id, month)
);
CREATE INDEX statements_account ON statements (account_id);
ALTER TABLE products ADD COLUMN closed_through TEXT;

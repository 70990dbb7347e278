-- As SQLite's 0013: each product pool's Used / Remaining and each
-- account's unassigned codes, kept by the store with every change of a
-- code's product or consumption, so that the account overview reads a few
-- rows instead of every code of the account.
CREATE TABLE pool_counts (
    product_id  BIGINT PRIMARY KEY REFERENCES products(id),
    used        BIGINT NOT NULL CHECK (used >= 0),
    remaining   BIGINT NOT NULL CHECK (remaining >= 0)
);
CREATE TABLE unassigned_counts (
    account_id  BIGINT PRIMARY KEY REFERENCES accounts(id),
    unassigned  BIGINT NOT NULL CHECK (unassigned >= 0)
);
INSERT INTO pool_counts (product_id, used, remaining)
    SELECT product_id, COUNT(consumed_at), COUNT(*) - COUNT(consumed_at)
    FROM codes WHERE product_id IS NOT NULL GROUP BY product_id;
INSERT INTO unassigned_counts (account_id, unassigned)
    SELECT account_id, COUNT(*) FROM codes WHERE product_id IS NULL GROUP BY account_id;

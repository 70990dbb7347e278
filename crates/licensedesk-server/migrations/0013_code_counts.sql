-- The account overview (`GET /v1/account`, which ends every client sync)
-- and a product's card count codes: each product pool's Used / Remaining
-- and the account's unassigned codes. Counted from `codes`, that read every
-- code of the account (about 300 ms at a million codes); kept here instead,
-- by the store, in the transaction of every change of a code's product or
-- consumption (`store::codes`: a credit, an assignment, a consumption; a
-- code is never deleted, unassigned or unconsumed), they are read in a few
-- rows. Not by triggers: on PostgreSQL a credit of N codes in one
-- transaction would update one counter row N times, each finding the
-- newest of its N versions (quadratic); the store adds N once.
--
-- A product or account without codes has no row (its counts are 0).
CREATE TABLE pool_counts (
    product_id  INTEGER PRIMARY KEY REFERENCES products(id),
    used        INTEGER NOT NULL CHECK (used >= 0),
    remaining   INTEGER NOT NULL CHECK (remaining >= 0)
);
CREATE TABLE unassigned_counts (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id),
    unassigned  INTEGER NOT NULL CHECK (unassigned >= 0)
);
INSERT INTO pool_counts (product_id, used, remaining)
    SELECT product_id, COUNT(consumed_at), COUNT(*) - COUNT(consumed_at)
    FROM codes WHERE product_id IS NOT NULL GROUP BY product_id;
INSERT INTO unassigned_counts (account_id, unassigned)
    SELECT account_id, COUNT(*) FROM codes WHERE product_id IS NULL GROUP BY account_id;

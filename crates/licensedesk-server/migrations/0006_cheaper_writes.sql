-- Cheaper activations (issue 3): every mutation appends to the change feed
-- and every first connection consumes a code, so both paid per write for:
--
-- * AUTOINCREMENT on `changes.seq`: a read and an update of sqlite_sequence
--   per insert. A plain INTEGER PRIMARY KEY gives a new row the largest seq
--   plus one, which is exactly as monotonic here because no change row is
--   ever deleted (the feed is append-only; see ARCHITECTURE.md).
-- * `CHECK (op IN (4 values))`: SQLite evaluates an IN list of more than two
--   constants by building an ephemeral table, on every insert. The same
--   check written as comparisons costs a few opcodes.
-- * `codes_pool`: never chosen by the planner (`codes_product` serves the
--   pool's `product_id = ? AND consumed_at IS NULL ORDER BY id` equally, its
--   unconsumed entries in id order), yet updated by every consumption.
CREATE TABLE changes_v5 (
    seq         INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op = 'insert' OR op = 'update' OR op = 'delete' OR op = 'purge'),
    at          TEXT NOT NULL,
    data        TEXT
);
INSERT INTO changes_v5 (seq, account_id, entity, entity_id, op, at, data)
    SELECT seq, account_id, entity, entity_id, op, at, data FROM changes ORDER BY seq;
DROP TABLE changes;
ALTER TABLE changes_v5 RENAME TO changes;
CREATE INDEX changes_account_seq ON changes(account_id, seq);

DROP INDEX codes_pool;

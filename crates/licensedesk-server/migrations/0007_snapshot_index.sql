-- The snapshot (`GET /v1/snapshot`, a fresh client's first sync) sends the
-- account's codes and devices as rows and, of the change feed up to its pin,
-- only the rest: accounts, products, batches, usage and the entities the
-- client skips. That rest is a few hundred rows among millions of code and
-- device changes, so it gets its own PARTIAL index: the snapshot reads it
-- without walking the bulk, and a code or device change (every activation
-- writes two, issue 3) pays only this WHERE clause on insert, never an index
-- entry. The snapshot's query repeats these terms verbatim (`!=`, not
-- `NOT IN`: SQLite proves a partial index usable by matching its terms).
CREATE INDEX changes_account_rest ON changes(account_id, seq) WHERE entity != 'code' AND entity != 'device';

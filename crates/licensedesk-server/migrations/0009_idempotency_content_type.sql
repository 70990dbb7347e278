-- The Content-Type of a recorded response, replayed with it: not every
-- keyed POST answers JSON (the offline activation answers its response
-- bundle as text). Rows from before this migration are JSON answers, which
-- is what a NULL is replayed as.
ALTER TABLE idempotency ADD COLUMN content_type TEXT;

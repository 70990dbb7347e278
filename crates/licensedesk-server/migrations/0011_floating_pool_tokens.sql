-- Floating pools (issue 13): a gateway authenticates to its pool with the
-- pool's own token (made when the vendor creates the pool, returned once,
-- stored hashed), never the account's; a heartbeat carries the gateway's
-- usage, kept on its lease. Pools created before have no token until the
-- vendor issues one.
ALTER TABLE floating_pools ADD COLUMN token_hash TEXT;
CREATE UNIQUE INDEX floating_pools_token ON floating_pools(token_hash) WHERE token_hash IS NOT NULL;
ALTER TABLE floating_leases ADD COLUMN connections_in_use INTEGER;
ALTER TABLE floating_leases ADD COLUMN tags_in_use INTEGER;
ALTER TABLE floating_leases ADD COLUMN usage_at TEXT;

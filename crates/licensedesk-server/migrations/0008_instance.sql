-- This database's instance id: random, made once when the database is
-- created (or first migrated to this version), kept for its whole life.
-- The sync cursors carry it, so a client whose cache mirrors another
-- database (the server's data replaced, or the URL now pointing at another
-- server) is told CURSOR_INVALID and starts its mirror over, instead of
-- reading this database's feed from the other one's position.
INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(8))));

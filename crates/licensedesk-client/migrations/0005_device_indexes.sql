-- A device's codes by consumption: a device's link to its latest consumed
-- code, and a device change re-basing the code of its activation, are one
-- seek in this index, never a read of the codes' rows.
DROP INDEX codes_device;
CREATE INDEX codes_device ON codes(device_id, consumed_at) WHERE device_id IS NOT NULL;
-- No query looks a device up by its key alone (always with its product:
-- devices_pk_dk; a search matches anywhere in the key, which no index
-- serves): one index less to keep, and to build in a first sync.
DROP INDEX devices_dk;

-- A device's codes by consumption: a device's link to its latest consumed
-- code, and a device change re-basing the code of its activation, are one
-- seek in this index, never a read of the codes' rows.
DROP INDEX codes_device;
CREATE INDEX codes_device ON codes(device_id, consumed_at) WHERE device_id IS NOT NULL;

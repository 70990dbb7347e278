-- Used / Remaining per pool kept by triggers, so counters never scan the
-- codes table (1M rows). product_id 0 = the unassigned pool.
CREATE TABLE pool_counts (
    product_id  INTEGER PRIMARY KEY,
    used        INTEGER NOT NULL DEFAULT 0,
    remaining   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO pool_counts (product_id, used, remaining)
    SELECT IFNULL(product_id, 0), SUM(consumed_at != ''), SUM(consumed_at = '') FROM codes GROUP BY IFNULL(product_id, 0);

CREATE TRIGGER codes_count_insert AFTER INSERT ON codes BEGIN
    INSERT INTO pool_counts (product_id, used, remaining)
        VALUES (IFNULL(NEW.product_id, 0), NEW.consumed_at != '', NEW.consumed_at = '')
        ON CONFLICT (product_id) DO UPDATE SET used = used + excluded.used, remaining = remaining + excluded.remaining;
END;

CREATE TRIGGER codes_count_delete AFTER DELETE ON codes BEGIN
    UPDATE pool_counts SET used = used - (OLD.consumed_at != ''), remaining = remaining - (OLD.consumed_at = '')
        WHERE product_id = IFNULL(OLD.product_id, 0);
END;

CREATE TRIGGER codes_count_update AFTER UPDATE OF product_id, consumed_at ON codes BEGIN
    UPDATE pool_counts SET used = used - (OLD.consumed_at != ''), remaining = remaining - (OLD.consumed_at = '')
        WHERE product_id = IFNULL(OLD.product_id, 0);
    INSERT INTO pool_counts (product_id, used, remaining)
        VALUES (IFNULL(NEW.product_id, 0), NEW.consumed_at != '', NEW.consumed_at = '')
        ON CONFLICT (product_id) DO UPDATE SET used = used + excluded.used, remaining = remaining + excluded.remaining;
END;

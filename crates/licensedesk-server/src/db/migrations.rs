//! Numbered migrations embedded in the binary, applied in one transaction;
//! the schema version is `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

/// `(version, name, sql)`, in order; version N is `migrations/000N_name.sql`.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (
        2,
        "pool_indexes",
        include_str!("../../migrations/0002_pool_indexes.sql"),
    ),
    (3, "field", include_str!("../../migrations/0003_field.sql")),
    (
        4,
        "gateway_installs",
        include_str!("../../migrations/0004_gateway_installs.sql"),
    ),
    (
        5,
        "gateway_products",
        include_str!("../../migrations/0005_gateway_products.sql"),
    ),
    (
        6,
        "cheaper_writes",
        include_str!("../../migrations/0006_cheaper_writes.sql"),
    ),
    (
        7,
        "snapshot_index",
        include_str!("../../migrations/0007_snapshot_index.sql"),
    ),
    (
        8,
        "instance",
        include_str!("../../migrations/0008_instance.sql"),
    ),
    (
        9,
        "idempotency_content_type",
        include_str!("../../migrations/0009_idempotency_content_type.sql"),
    ),
    (
        10,
        "statements",
        include_str!("../../migrations/0010_statements.sql"),
    ),
    (
        11,
        "floating_pool_tokens",
        include_str!("../../migrations/0011_floating_pool_tokens.sql"),
    ),
    (
        12,
        "failed_attempts",
        include_str!("../../migrations/0012_failed_attempts.sql"),
    ),
    (
        13,
        "code_counts",
        include_str!("../../migrations/0013_code_counts.sql"),
    ),
];

/// Applies every migration newer than `user_version`, all in one
/// transaction: either the database ends at the latest version or it is
/// left as it was.
///
/// Foreign keys are off while the migrations run (SQLite's documented way
/// to rebuild a table other tables refer to: create the new one, copy,
/// drop, rename) and every reference is checked (`foreign_key_check`)
/// before the commit; the connection's setting is restored afterwards.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<u32> {
    let enforced: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = migrate_unchecked(conn);
    conn.pragma_update(None, "foreign_keys", enforced)?;
    result
}

fn migrate_unchecked(conn: &mut Connection) -> anyhow::Result<u32> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        anyhow::bail!(
            "database schema version {current} is newer than this server ({latest}); upgrade the server"
        );
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration {version:04}_{name} failed: {e}"))?;
        tx.pragma_update(None, "user_version", version)?;
    }
    // Only what a migration may have changed needs checking.
    let broken: i64 = if current < latest {
        tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?
    } else {
        0
    };
    if broken > 0 {
        anyhow::bail!("the migrated database has {broken} broken references; nothing was changed");
    }
    tx.commit()?;
    Ok(latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 6 rebuilds the change feed: the rows and their seqs stay,
    /// new changes continue after the last one, and `op` is still checked.
    #[test]
    fn the_feed_keeps_its_rows_and_order_across_migration_6() {
        let mut c = Connection::open_in_memory().expect("open");
        for (version, _, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 5) {
            c.execute_batch(sql).expect("migration");
            c.pragma_update(None, "user_version", version)
                .expect("version");
        }
        let insert = "INSERT INTO changes (account_id, entity, entity_id, op, at, data) VALUES (?1, 'code', ?2, ?3, '2026-01-01T00:00:00.000000Z', '{}')";
        for (account, id, op) in [(1, "1", "insert"), (2, "2", "update"), (1, "3", "delete")] {
            c.execute(insert, rusqlite::params![account, id, op])
                .expect("insert");
        }
        let before: Vec<(i64, i64, String, String)> = rows(&c);
        assert_eq!(migrate(&mut c).expect("migrate"), MIGRATIONS.len() as u32);
        assert_eq!(rows(&c), before);
        c.execute(insert, rusqlite::params![2, "4", "purge"])
            .expect("insert");
        let seqs: Vec<i64> = rows(&c).into_iter().map(|r| r.0).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert!(
            c.execute(insert, rusqlite::params![1, "5", "upsert"])
                .is_err()
        );
        let pool_index: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('codes_pool', 'changes_v5')",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        assert_eq!(pool_index, 0);
        let plan: String = c
            .query_row(
                "EXPLAIN QUERY PLAN SELECT seq FROM changes WHERE account_id = 1 AND seq > 0 ORDER BY seq",
                [],
                |r| r.get(3),
            )
            .expect("plan");
        assert!(plan.contains("changes_account_seq"), "{plan}");
    }

    fn rows(c: &Connection) -> Vec<(i64, i64, String, String)> {
        c.prepare("SELECT seq, account_id, entity_id, op FROM changes ORDER BY seq")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }
}

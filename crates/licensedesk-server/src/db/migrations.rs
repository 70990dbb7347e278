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
];

/// Applies every migration newer than `user_version`, all in one
/// transaction: either the database ends at the latest version or it is
/// left as it was.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<u32> {
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
    tx.commit()?;
    Ok(latest)
}

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

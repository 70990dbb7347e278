//! The bulk load of a fresh cache's snapshot. A million consumption records
//! are two million code and device rows; kept row by row, their eight
//! secondary indexes (insert positions spread over B-trees far larger than
//! the page cache) and the pool counter triggers cost many times the rows
//! themselves. So a fresh snapshot writes into bare tables, and SQLite
//! builds each index once, by sorting, when all the rows are in:
//!
//! - [`begin`], in the transaction of the snapshot's first page and only on
//!   an empty cache, drops the secondary indexes and triggers of `codes`
//!   and `devices`, keeping their SQL in `deferred_schema` (read from
//!   `sqlite_master`: the migrations stay their one definition);
//! - meanwhile every snapshot row is a new row (the cache was empty, the
//!   snapshot sends each code and device once, by id, and a page commits
//!   with its cursor), so a page inserts its rows plainly (a second copy
//!   would fail the page, not count twice) and adds its codes to
//!   `pool_counts` in its own transaction ([`PoolDelta`]): the counters are
//!   exact at every commit;
//! - the first page with devices builds `codes_device` (every code is in:
//!   the snapshot sends them first), through which each device links to
//!   its latest consumed code as it is inserted (as a snapshot device row
//!   by row does);
//! - [`restore`], in the transaction of the last page (which also moves the
//!   cursor to the feed), creates the other indexes, then the triggers.
//!
//! A crash at any point leaves the bulk state of the last commit (the
//! snapshot resumes in it) or the whole schema. What empties the mirror or
//! migrates the cache restores the schema first, so only a snapshot page
//! ever writes to the bare tables.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::Result;

/// Page cache (KiB, as `cache_size`) while the indexes are built: SQLite's
/// sorter keeps runs of that size in memory before it merges them from a
/// temporary file. Larger is no faster here and only raises the sync's
/// peak memory (≈ 70 MiB at the cache's usual 32 MiB, ≈ 20 MiB at 8).
const SORT_CACHE_KIB: i64 = 8_000;

/// Whether the cache is in a bulk load (its deferred objects absent).
pub(crate) fn active(c: &Connection) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT EXISTS (SELECT 1 FROM deferred_schema)")?
            .query_row([], |r| r.get(0))?,
    )
}

/// Starts a bulk load on an empty cache: drops the secondary indexes and
/// triggers of `codes` and `devices`, keeping their SQL. Returns whether
/// the cache is (now or already) in a bulk load; a cache holding rows is
/// left as it is (its snapshot goes row by row, through the triggers).
pub(crate) fn begin(tx: &Transaction<'_>) -> Result<bool> {
    if active(tx)? {
        return Ok(true);
    }
    let empty: bool = tx.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM codes) AND NOT EXISTS (SELECT 1 FROM devices)",
        [],
        |r| r.get(0),
    )?;
    if !empty {
        return Ok(false);
    }
    let objects: Vec<(String, String, String, String)> = tx
        .prepare(
            "SELECT name, tbl_name, type, sql FROM sqlite_master
             WHERE type IN ('index', 'trigger') AND tbl_name IN ('codes', 'devices') AND sql IS NOT NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, table, kind, sql) in &objects {
        tx.execute(
            "INSERT INTO deferred_schema (name, tbl, type, sql) VALUES (?1, ?2, ?3, ?4)",
            params![name, table, kind, sql],
        )?;
        // `DROP index "…"` or `DROP trigger "…"` (SQL words in any case).
        tx.execute_batch(&format!("DROP {kind} \"{}\"", name.replace('"', "\"\"")))?;
    }
    Ok(true)
}

/// The index a bulk-loaded device's link to its latest code reads
/// (`apply::BULK_DEVICE`): built as soon as the codes are in.
pub(crate) const LINK_INDEX: &str = "codes_device";

/// Creates the deferred index `name` now (nothing if it is not deferred).
pub(crate) fn restore_index(c: &Connection, name: &str) -> Result<()> {
    restore_some(c, Kind::Named(name))
}

/// Ends a bulk load at once: creates the deferred indexes (each by one
/// sort of its table), then the triggers. Does nothing outside a bulk load.
pub(crate) fn restore(c: &Connection) -> Result<()> {
    restore_some(c, Kind::All)
}

/// The last page's part of the end of a bulk load: the triggers, so that
/// every write after it (the feed) counts as before. The indexes follow,
/// each in a transaction of its own ([`finish`]).
pub(crate) fn restore_triggers(tx: &Transaction<'_>) -> Result<()> {
    restore_some(tx, Kind::Triggers)
}

/// Builds the deferred indexes of a bulk load whose rows are all in (its
/// last page committed), each in a transaction of its own: the checkpointer
/// copies one index into the file while the next is built, instead of all
/// of them after the last (the whole of them, ~300 MB at a million codes,
/// was a quarter of a first sync). Until they are all built the cache
/// holds every row and count (its views read bare tables, as during the
/// load); a process that stops before that finishes them when it opens the
/// cache again ([`Cache::open`](crate::cache::Cache::open)).
pub(crate) fn finish(cache: &crate::cache::Cache) -> Result<()> {
    loop {
        let built = cache.write(|tx| {
            let next: Option<String> = tx
                .prepare_cached(
                    "SELECT name FROM deferred_schema WHERE type = 'index' ORDER BY tbl, name LIMIT 1",
                )?
                .query_row([], |r| r.get(0))
                .optional()?;
            match next {
                Some(name) => restore_index(tx, &name).map(|()| true),
                None => restore(tx).map(|()| false),
            }
        })?;
        if !built {
            return Ok(());
        }
    }
}

/// Whether a bulk load's rows are all in but some of its objects are not
/// built yet (a process stopped before [`finish`] did).
pub(crate) fn unfinished(c: &Connection) -> Result<bool> {
    Ok(active(c)?
        && c.prepare_cached(
            "SELECT NOT EXISTS (SELECT 1 FROM meta WHERE key = ?1)
                AND NOT EXISTS (SELECT 1 FROM deferred_schema WHERE type = 'trigger')",
        )?
        .query_row([crate::cache::keys::SNAPSHOT_CURSOR], |r| r.get(0))?)
}

/// Which deferred objects to create.
#[derive(Clone, Copy)]
enum Kind<'a> {
    All,
    Triggers,
    Named(&'a str),
}

/// Creates the deferred objects of `kind` (indexes first).
fn restore_some(c: &Connection, kind: Kind<'_>) -> Result<()> {
    let (name, only_triggers) = match kind {
        Kind::All => (None, false),
        Kind::Triggers => (None, true),
        Kind::Named(name) => (Some(name), false),
    };
    let objects: Vec<(String, String)> = c
        .prepare(
            "SELECT name, sql FROM deferred_schema
             WHERE (?1 IS NULL OR name = ?1) AND (NOT ?2 OR type = 'trigger')
             ORDER BY type = 'trigger', tbl, name",
        )?
        .query_map(params![name, only_triggers], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if objects.is_empty() {
        return Ok(());
    }
    // The sorter spills to a temporary file rather than to memory, with
    // runs of SORT_CACHE_KIB (see there).
    let cache_size: i64 = c.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    c.pragma_update(None, "cache_size", -SORT_CACHE_KIB)?;
    c.pragma_update(None, "temp_store", "FILE")?;
    let out = objects.iter().try_for_each(|(name, sql)| -> Result<()> {
        c.execute_batch(sql)?;
        c.prepare_cached("DELETE FROM deferred_schema WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    });
    c.pragma_update(None, "temp_store", "MEMORY")?;
    c.pragma_update(None, "cache_size", cache_size)?;
    out
}

/// Used / remaining per pool of the codes a page inserts in bulk, added to
/// `pool_counts` as the triggers would have, row by row.
#[derive(Debug, Default)]
pub(crate) struct PoolDelta(BTreeMap<i64, (i64, i64)>);

impl PoolDelta {
    /// One new code of `product` (`None` = the unassigned pool).
    pub(crate) fn add(&mut self, product: Option<i64>, consumed: bool) {
        let e = self.0.entry(product.unwrap_or(0)).or_default();
        if consumed {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }

    pub(crate) fn write(&self, tx: &Transaction<'_>) -> Result<()> {
        for (product, (used, remaining)) in &self.0 {
            tx.prepare_cached(
                "INSERT INTO pool_counts (product_id, used, remaining) VALUES (?1, ?2, ?3)
                 ON CONFLICT (product_id) DO UPDATE SET used = used + excluded.used, remaining = remaining + excluded.remaining",
            )?
            .execute(params![product, used, remaining])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::TransactionBehavior;

    use super::*;
    use crate::cache::{Cache, MIGRATIONS, migrate_with, open_connection, reset_mirror};

    fn schema(c: &Connection) -> Vec<(String, String, Option<String>)> {
        c.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .expect("schema")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("schema")
            .collect::<rusqlite::Result<_>>()
            .expect("schema")
    }

    fn names(c: &Connection, table: &str) -> Vec<String> {
        c.prepare("SELECT name FROM sqlite_master WHERE tbl_name = ?1 AND type != 'table' AND sql IS NOT NULL ORDER BY name")
            .expect("names")
            .query_map([table], |r| r.get(0))
            .expect("names")
            .collect::<rusqlite::Result<_>>()
            .expect("names")
    }

    fn open() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("c.sqlite3");
        drop(Cache::open(&path).expect("cache"));
        let c = open_connection(&path).expect("open");
        (dir, c)
    }

    /// Begins a bulk load and inserts one consumed code and its device, as
    /// a snapshot page does.
    fn begin_and_load(c: &mut Connection) {
        let tx = c.transaction().expect("tx");
        assert!(begin(&tx).expect("begin"));
        tx.execute(
            "INSERT INTO codes (id, code, batch_id, product_id, device_id, consumed_at, expires_at)
             VALUES (1, 'A', 1, 7, 5, '2026-03-01T10:00:00.000000Z', '2027-03-01T10:00:00.000000Z')",
            [],
        )
        .expect("code");
        let mut pools = PoolDelta::default();
        pools.add(Some(7), true);
        pools.write(&tx).expect("pools");
        restore_index(&tx, LINK_INDEX).expect("link index");
        tx.execute(
            "INSERT INTO devices (id, pk, dk, status, code_id) VALUES (5, 'p', 'd', 'active',
               (SELECT id FROM codes WHERE device_id = 5 ORDER BY consumed_at DESC, id DESC LIMIT 1))",
            [],
        )
        .expect("device");
        tx.commit().expect("commit");
    }

    #[test]
    fn a_bulk_load_defers_the_indexes_and_triggers_and_restores_them_exactly() {
        let (_dir, mut c) = open();
        let whole = schema(&c);
        let codes = names(&c, "codes");
        assert!(codes.contains(&"codes_device".to_owned()));
        assert!(codes.contains(&"codes_count_insert".to_owned()));
        assert!(!names(&c, "devices").is_empty());
        begin_and_load(&mut c);
        assert!(active(&c).expect("active"));
        assert_eq!(names(&c, "codes"), vec!["codes_device".to_owned()]);
        assert!(names(&c, "devices").is_empty(), "bare until the end");
        let tx = c.transaction().expect("tx");
        assert!(begin(&tx).expect("begin"), "a resumed page stays in it");
        restore(&tx).expect("restore");
        tx.commit().expect("commit");
        assert!(!active(&c).expect("active"));
        assert_eq!(schema(&c), whole, "the migrations' schema, exactly");
        let code: Option<i64> = c
            .query_row("SELECT code_id FROM devices WHERE id = 5", [], |r| r.get(0))
            .expect("device");
        assert_eq!(code, Some(1), "linked as it was inserted");
        let pools: (i64, i64) = c
            .query_row(
                "SELECT used, remaining FROM pool_counts WHERE product_id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("pools");
        assert_eq!(pools, (1, 0));
        // The triggers are back: a code inserted now is counted by them.
        c.execute(
            "INSERT INTO codes (id, code, batch_id, product_id) VALUES (2, 'B', 1, 7)",
            [],
        )
        .expect("code");
        let remaining: i64 = c
            .query_row(
                "SELECT remaining FROM pool_counts WHERE product_id = 7",
                [],
                |r| r.get(0),
            )
            .expect("pools");
        assert_eq!(remaining, 1);
    }

    /// The last page of a bulk load: its triggers, and the snapshot's
    /// cursor gone (as `sync::snapshot` commits it).
    fn last_page(c: &mut Connection) {
        let tx = c.transaction().expect("tx");
        restore_triggers(&tx).expect("triggers");
        tx.execute(
            "DELETE FROM meta WHERE key = ?1",
            [crate::cache::keys::SNAPSHOT_CURSOR],
        )
        .expect("cursor");
        tx.commit().expect("commit");
    }

    /// The triggers come back with the last page; the indexes follow, one
    /// transaction each, and end with the migrations' schema exactly.
    #[test]
    fn the_indexes_follow_the_last_page_one_transaction_each() {
        let (dir, mut c) = open();
        let cache = Cache::open(&dir.path().join("c.sqlite3")).expect("cache");
        let whole = schema(&c);
        begin_and_load(&mut c);
        last_page(&mut c);
        assert!(names(&c, "codes").contains(&"codes_count_insert".to_owned()));
        assert!(!names(&c, "codes").contains(&"codes_code".to_owned()));
        assert!(unfinished(&c).expect("unfinished"));
        finish(&cache).expect("finish");
        assert!(!active(&c).expect("active"));
        assert_eq!(schema(&c), whole);
    }

    /// A process that stopped between the last page and the indexes: the
    /// next open of the cache builds them (views and the feed then have
    /// the whole schema); a cache in the middle of a snapshot stays bare.
    #[test]
    fn opening_the_cache_finishes_a_bulk_load_stopped_after_its_last_page() {
        let (dir, mut c) = open();
        let path = dir.path().join("c.sqlite3");
        let whole = schema(&c);
        begin_and_load(&mut c);
        c.execute(
            "INSERT INTO meta (key, value) VALUES (?1, 's1.devices.5')",
            [crate::cache::keys::SNAPSHOT_CURSOR],
        )
        .expect("cursor");
        assert!(!unfinished(&c).expect("unfinished"), "mid-snapshot");
        drop(Cache::open(&path).expect("cache"));
        assert!(
            active(&c).expect("active"),
            "a snapshot in progress stays bare"
        );
        last_page(&mut c);
        drop(c);
        drop(Cache::open(&path).expect("cache"));
        let c = open_connection(&path).expect("open");
        assert!(!active(&c).expect("active"));
        assert_eq!(schema(&c), whole);
    }

    #[test]
    fn a_cache_holding_rows_is_not_bulk_loaded() {
        let (_dir, mut c) = open();
        c.execute(
            "INSERT INTO codes (id, code, batch_id, product_id) VALUES (1, 'A', 1, 7)",
            [],
        )
        .expect("code");
        let whole = schema(&c);
        let tx = c.transaction().expect("tx");
        assert!(!begin(&tx).expect("begin"));
        tx.commit().expect("commit");
        assert!(!active(&c).expect("active"));
        assert_eq!(schema(&c), whole);
    }

    /// The device link is one seek in `codes_device` (built before the
    /// first device), which covers it: no code row is read.
    #[test]
    fn the_bulk_device_link_reads_the_device_index() {
        let (_dir, mut c) = open();
        begin_and_load(&mut c);
        let plan = crate::cache::tests::device_plan(&c, crate::cache::apply::BULK_DEVICE);
        assert!(
            plan.iter()
                .any(|p| p.contains("USING COVERING INDEX codes_device")),
            "{plan:?}"
        );
    }

    /// A later migration finds the schema whole, even when a bulk load was
    /// cut short (its counters and links exact at every commit).
    #[test]
    fn a_migration_restores_a_cut_short_bulk_load_first() {
        let (_dir, mut c) = open();
        let whole = schema(&c);
        begin_and_load(&mut c);
        // A migration that needs an index the bulk load deferred.
        let mut later = MIGRATIONS.to_vec();
        later.push((
            "0999_test",
            "DROP INDEX devices_pk_dk; CREATE INDEX devices_pk_dk ON devices(pk, dk, id);",
        ));
        migrate_with(&mut c, &later).expect("migrate");
        assert!(!active(&c).expect("active"));
        let now = schema(&c);
        assert_eq!(now.len(), whole.len());
        assert!(now.iter().any(|(_, n, sql)| n == "devices_pk_dk"
            && sql.as_deref().is_some_and(|s| s.contains("pk, dk, id"))));
        assert!(names(&c, "codes").contains(&"codes_count_update".to_owned()));
    }

    /// Emptying the mirror (a server whose data was replaced) mid-load
    /// leaves the schema whole: the next sync may replay the feed instead.
    #[test]
    fn emptying_the_mirror_ends_a_bulk_load() {
        let (_dir, mut c) = open();
        let whole = schema(&c);
        begin_and_load(&mut c);
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("tx");
        reset_mirror(&tx).expect("reset");
        tx.commit().expect("commit");
        assert!(!active(&c).expect("active"));
        assert_eq!(schema(&c), whole);
        let rows: i64 = c
            .query_row("SELECT (SELECT COUNT(*) FROM codes) + (SELECT COUNT(*) FROM devices) + (SELECT COUNT(*) FROM pool_counts)", [], |r| r.get(0))
            .expect("rows");
        assert_eq!(rows, 0);
    }
}

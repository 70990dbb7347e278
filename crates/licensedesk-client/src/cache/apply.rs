//! Applies the server's change feed to the cache. Each change is read into
//! its `licensedesk-protocol` record (the types the server writes it
//! from); the entities the desktop does not keep (gateway orders, floating
//! leases, …) and those this version does not know are skipped. A fresh
//! cache's snapshot sends codes and devices as whole rows instead
//! ([`snapshot_code`], [`snapshot_device`]).
//!
//! Every apply is absolute and idempotent: an insert upserts, an update or
//! a delete of a missing row does nothing, and what a change sets does not
//! depend on what the cache held. So the feed after a snapshot, replayed
//! over rows that may already show some of its changes, converges.
//!
//! A change's `data` is kept as raw JSON until it is applied, then parsed
//! straight into its record, whose strings borrow from it (a first sync's
//! bulk is codes and devices).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use licensedesk_protocol::Text;
use licensedesk_protocol::feed::{
    AccountChange, BatchChange, Change, CodeInsert, CodeUpdate, DeviceChange, Entity, Op,
    ProductChange, Record, Statement as ClosedMonth, UsageChange,
};
use licensedesk_protocol::snapshot::{SnapshotCode, SnapshotDevice};
use rusqlite::{Statement, Transaction, params};
use serde_json::Value;

use crate::cache::bulk::PoolDelta;
use crate::cache::ts;
use crate::error::{Error, Result};

/// A time as the cache stores it ([`ts`]: RFC 3339, microseconds, `Z`).
/// The server sends exactly that form, so a value already in it is kept
/// as is (checked field by field); any other RFC 3339 time is parsed and
/// re-formatted. Three of these per consumption record in a first sync.
fn norm_ts(s: Cow<'_, str>) -> Result<Cow<'_, str>> {
    if is_canonical_ts(&s) {
        return Ok(s);
    }
    let t = DateTime::parse_from_rfc3339(&s)
        .map_err(|e| Error::Protocol(format!("bad time {s:?}: {e}")))?;
    Ok(Cow::Owned(ts(t.with_timezone(&Utc))))
}

/// [`norm_ts`] of an optional time of a record.
fn opt_time(s: Option<Text<'_>>) -> Result<Option<Cow<'_, str>>> {
    s.map(|s| norm_ts(s.0)).transpose()
}

/// [`norm_ts`] of a time in a JSON value (`null` = none).
fn opt_ts(v: &Value) -> Result<Option<Cow<'_, str>>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => norm_ts(Cow::Borrowed(s)).map(Some),
        other => Err(Error::Protocol(format!("expected a time, got {other}"))),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` with fields in range (a day past the end
/// of its month falls through to the full parser, which rejects it).
fn is_canonical_ts(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 27 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..26)
        && b[26] == b'Z';
    shape
        && (1..=12).contains(&num(5))
        && (1..=28).contains(&num(8))
        && num(11) < 24
        && num(14) < 60
        && num(17) < 60
}

/// A snapshot code as a page borrows it.
pub(crate) type CodeRow<'a> = SnapshotCode<Text<'a>>;
/// A snapshot device as a page borrows it.
pub(crate) type DeviceRow<'a> = SnapshotDevice<Text<'a>>;

/// Applies one change; returns whether it touched the cache. A delete
/// removes the row whatever its data; any other change of an entity the
/// cache keeps is applied from its record. The others (gateway orders,
/// leases, …) are skipped unread, as they were before they had types: a
/// new shape of one never stops a sync.
pub fn apply_change(tx: &Transaction<'_>, c: &Change) -> Result<bool> {
    if c.op == Op::Delete {
        return delete(tx, c.entity, &c.id);
    }
    if !matches!(
        c.entity,
        Entity::Account
            | Entity::Product
            | Entity::Batch
            | Entity::Code
            | Entity::Device
            | Entity::Usage
            | Entity::Statement
    ) {
        return Ok(false);
    }
    let record = c.record().map_err(|e| Error::Protocol(e.to_string()))?;
    match record {
        Some(Record::AccountCreated(d) | Record::AccountUpdated(d)) => account(tx, &d)?,
        Some(Record::ProductCreated(d) | Record::ProductUpdated(d)) => product(tx, &c.id, &d)?,
        Some(Record::BatchCreated(d)) => batch(tx, &d)?,
        Some(Record::CodeCreated(d)) => code_insert(tx, d)?,
        Some(Record::CodeUpdated(d)) => code_update(tx, d)?,
        Some(Record::DeviceCreated(d) | Record::DeviceUpdated(d)) => device(tx, d)?,
        Some(Record::UsageUpdated {
            device_id,
            usage: d,
        }) => usage(tx, device_id, &d)?,
        Some(Record::StatementClosed(d)) => statement(tx, &d)?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn batch(tx: &Transaction<'_>, d: &BatchChange) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO batches (id, kind, pk, quantity, package, reference) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        d.id,
        d.kind,
        d.pk,
        d.quantity as i64,
        d.package.as_ref().map(Value::to_string),
        d.reference.clone().flatten()
    ])?;
    Ok(())
}

/// A code as created.
fn code_insert(tx: &Transaction<'_>, d: CodeInsert<'_>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO codes (id, code, batch_id, product_id) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET code = ?2, batch_id = ?3, product_id = ?4",
    )?
    .execute(params![d.id, d.code.as_str(), d.batch_id, d.product_id])?;
    Ok(())
}

fn account(tx: &Transaction<'_>, d: &AccountChange) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO account (id, name, kind, data_center) VALUES (?1, COALESCE(?2, ''), COALESCE(?3, 'individual'), COALESCE(?4, ''))
         ON CONFLICT (id) DO UPDATE SET name = COALESCE(?2, name), kind = COALESCE(?3, kind),
           data_center = COALESCE(?4, data_center), verified_enterprise = COALESCE(?5, verified_enterprise)",
    )?
    .execute(params![
        d.id,
        d.name,
        d.kind,
        d.data_center,
        d.verified_enterprise
    ])?;
    Ok(())
}

/// A product: created (its row), then what the change sets of its
/// package (absent = kept, `null` = none), policy and balances.
fn product(tx: &Transaction<'_>, pk: &str, d: &ProductChange) -> Result<()> {
    if let Some(id) = d.id {
        let name = d
            .name
            .as_deref()
            .ok_or_else(|| Error::Protocol(format!("product {pk:?} created without a name")))?;
        tx.prepare_cached(
            "INSERT INTO products (id, pk, name) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET pk = ?2, name = ?3",
        )?
        .execute(params![id, pk, name])?;
    }
    tx.prepare_cached(
        "UPDATE products SET
           package = CASE WHEN ?2 THEN ?3 ELSE package END,
           overage_policy = COALESCE(?4, overage_policy),
           ota_topups = COALESCE(?5, ota_topups),
           message_topups = COALESCE(?6, message_topups)
         WHERE pk = ?1",
    )?
    .execute(params![
        pk,
        d.package.is_some(),
        d.package
            .as_ref()
            .and_then(|p| p.as_ref().map(Value::to_string)),
        d.overage_policy,
        d.ota_topups,
        d.message_topups
    ])?;
    Ok(())
}

/// A consumption (a device) sets the code's device, consumed and expiry
/// times, and its product if given, in ONE statement (so the pool counter
/// trigger runs once); an assignment alone only touches `product_id` (and
/// the two indexes on it).
fn code_update(tx: &Transaction<'_>, d: CodeUpdate<'_>) -> Result<()> {
    if let Some(device) = d.device_id {
        let consumed = opt_time(d.consumed_at)?.unwrap_or_default();
        let expires = opt_time(d.expires_at)?.unwrap_or_default();
        tx.prepare_cached(
            "UPDATE codes SET product_id = COALESCE(?2, product_id), device_id = ?3,
               consumed_at = ?4, expires_at = ?5
             WHERE id = ?1",
        )?
        .execute(params![
            d.id,
            d.product_id,
            device,
            consumed.as_ref(),
            expires.as_ref()
        ])?;
        tx.prepare_cached("UPDATE devices SET code_id = ?2 WHERE id = ?1")?
            .execute(params![device, d.id])?;
    } else if let Some(pid) = d.product_id {
        tx.prepare_cached("UPDATE codes SET product_id = ?2 WHERE id = ?1")?
            .execute(params![d.id, pid])?;
    }
    Ok(())
}

/// Links a device without a code yet to its latest consumed code.
const LINK_CODE: &str = "UPDATE devices SET code_id = (SELECT id FROM codes WHERE device_id = ?1
   ORDER BY consumed_at DESC, id DESC LIMIT 1) WHERE id = ?1 AND code_id IS NULL";

/// A snapshot device, linked to its latest consumed code.
const SNAPSHOT_DEVICE: &str = "INSERT INTO devices (id, pk, dk, hardware_id, status, online, offline_reason, activated_at, expires_at, code_id)
 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
   (SELECT id FROM codes WHERE device_id = ?1 ORDER BY consumed_at DESC, id DESC LIMIT 1))
 ON CONFLICT (id) DO UPDATE SET pk = ?2, dk = ?3, hardware_id = ?4, status = ?5, online = ?6,
   offline_reason = ?7, activated_at = ?8, expires_at = ?9, code_id = excluded.code_id";

/// A device change: the device's row, then its code link and expiry.
/// Every step is absolute (it sets what the change says, whatever the
/// cache held), so replaying a change over a later state (the feed after a
/// snapshot) converges.
fn device(tx: &Transaction<'_>, d: DeviceChange<'_>) -> Result<()> {
    let (activated, expires) = upsert_device(
        &mut *tx.prepare_cached(
            "INSERT INTO devices (id, pk, dk, hardware_id, status, online, offline_reason, activated_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET pk = ?2, dk = ?3, hardware_id = ?4, status = ?5, online = ?6,
               offline_reason = ?7, activated_at = ?8, expires_at = ?9",
        )?,
        &d,
    )?;
    // The feed may carry a first connection's code update before the device
    // itself (the server does): link the code that already names it.
    tx.prepare_cached(LINK_CODE)?.execute([d.id])?;
    // A package upgrade re-bases the current code's expiry without a code
    // change in the feed: follow the device's new expiry. The current code
    // is the device's code consumed at its activation instant (not the
    // cache's `code_id`, which after a snapshot may already name a later
    // code than this change knew); an unchanged expiry writes nothing.
    if let (Some(act), Some(exp)) = (&activated, &expires) {
        tx.prepare_cached(
            "UPDATE codes SET expires_at = ?3 WHERE device_id = ?1 AND consumed_at = ?2 AND expires_at != ?3",
        )?
        .execute(params![d.id, act, exp])?;
    }
    Ok(())
}

/// A snapshot code: ONE upsert of the whole row (an insert runs the pool
/// counter's insert trigger, an existing row its update trigger).
pub(crate) fn snapshot_code(tx: &Transaction<'_>, d: CodeRow<'_>) -> Result<()> {
    write_code(
        &mut *tx.prepare_cached(
            "INSERT INTO codes (id, code, batch_id, product_id, device_id, consumed_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET code = ?2, batch_id = ?3, product_id = ?4, device_id = ?5,
               consumed_at = ?6, expires_at = ?7",
        )?,
        d,
    )
    .map(drop)
}

/// A snapshot code in a bulk load (`cache::bulk`): a plain insert into the
/// bare table (a code already there fails the page rather than count
/// twice), its pool counted in `pools`, which the page adds.
pub(crate) const BULK_CODE: &str =
    "INSERT INTO codes (id, code, batch_id, product_id, device_id, consumed_at, expires_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Inserts a snapshot code with [`BULK_CODE`] (prepared once per page).
pub(crate) fn bulk_code(
    st: &mut Statement<'_>,
    d: CodeRow<'_>,
    pools: &mut PoolDelta,
) -> Result<()> {
    let product = d.product_id;
    let consumed = write_code(st, d)?;
    pools.add(product, consumed);
    Ok(())
}

/// Runs a code statement whose `?1`..`?7` are the row's id, code, batch,
/// product, device, consumption and expiry (times as stored, '' = none);
/// returns whether the code is consumed.
fn write_code(st: &mut Statement<'_>, d: CodeRow<'_>) -> Result<bool> {
    let consumed = opt_time(d.consumed_at)?.unwrap_or_default();
    let expires = opt_time(d.expires_at)?.unwrap_or_default();
    st.execute(params![
        d.id,
        d.code.as_str(),
        d.batch_id,
        d.product_id,
        d.device_id,
        consumed.as_ref(),
        expires.as_ref()
    ])?;
    Ok(!consumed.is_empty())
}

/// A snapshot device in a bulk load: a plain insert, linked to its latest
/// consumed code as [`SNAPSHOT_DEVICE`] does (through `codes_device`, which
/// the bulk load builds as soon as the codes are in).
pub(crate) const BULK_DEVICE: &str = "INSERT INTO devices (id, pk, dk, hardware_id, status, online, offline_reason, activated_at, expires_at, code_id)
 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
   (SELECT id FROM codes WHERE device_id = ?1 ORDER BY consumed_at DESC, id DESC LIMIT 1))";

/// Inserts a snapshot device with [`BULK_DEVICE`] (prepared once per page).
pub(crate) fn bulk_device(st: &mut Statement<'_>, d: DeviceRow<'_>) -> Result<()> {
    upsert_device(st, &d.into()).map(drop)
}

/// A snapshot device: ONE upsert of the whole row, its `code_id` the
/// device's latest consumed code (the rule the feed follows: the last
/// consumption wins). The snapshot sends every code before any device.
pub(crate) fn snapshot_device(tx: &Transaction<'_>, d: DeviceRow<'_>) -> Result<()> {
    upsert_device(&mut *tx.prepare_cached(SNAPSHOT_DEVICE)?, &d.into()).map(drop)
}

/// An optional time as stored (see [`norm_ts`]).
type StoredTime<'a> = Option<Cow<'a, str>>;

/// Runs a device statement whose `?1`..`?9` are the row's id, pk, dk,
/// hardware id, status, online, offline reason, activation and expiry;
/// returns the two times as stored.
fn upsert_device<'a>(
    st: &mut Statement<'_>,
    d: &'a DeviceChange<'a>,
) -> Result<(StoredTime<'a>, StoredTime<'a>)> {
    let activated = d
        .activated_at
        .as_ref()
        .map(|s| norm_ts(Cow::Borrowed(s.as_str())))
        .transpose()?;
    let expires = d
        .expires_at
        .as_ref()
        .map(|s| norm_ts(Cow::Borrowed(s.as_str())))
        .transpose()?;
    st.execute(params![
        d.id,
        d.pk.as_str(),
        d.dk.as_str(),
        d.hardware_id.as_ref().map(Text::as_str),
        d.status.as_str(),
        d.online,
        d.offline_reason.as_ref().map(Text::as_str),
        activated,
        expires
    ])?;
    Ok((activated, expires))
}

fn usage(tx: &Transaction<'_>, device: i64, d: &UsageChange) -> Result<()> {
    let u = &d.usage;
    tx.prepare_cached("INSERT OR REPLACE INTO usage_now (device_id, usage) VALUES (?1, ?2)")?
        .execute(params![device, u.to_string()])?;
    if let Some(day_end) = opt_ts(&u["messages_reset_at"])? {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO usage_days (device_id, day_end, messages, overage) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            device,
            day_end.as_ref(),
            u["messages_today"].as_i64().unwrap_or(0),
            u["messages_overage_today"].as_i64().unwrap_or(0)
        ])?;
    }
    Ok(())
}

/// A closed month: kept whole (as a JSON value prints it), found by
/// product and month.
fn statement(tx: &Transaction<'_>, d: &ClosedMonth) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO statements (id, pk, month, data) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        d.id,
        d.pk,
        d.month,
        serde_json::to_value(d)?.to_string()
    ])?;
    Ok(())
}

fn delete(tx: &Transaction<'_>, entity: Entity, id: &str) -> Result<bool> {
    let sql = match entity {
        Entity::Code => "DELETE FROM codes WHERE id = ?1",
        Entity::Device => "DELETE FROM devices WHERE id = ?1",
        Entity::Batch => "DELETE FROM batches WHERE id = ?1",
        Entity::Product => "DELETE FROM products WHERE pk = ?1",
        _ => return Ok(false),
    };
    tx.execute(sql, [id])?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_times_are_kept_others_normalised_bad_ones_refused() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "2026-03-31T10:00:00.123456Z",
                Some("2026-03-31T10:00:00.123456Z"),
            ),
            ("2026-03-31T10:00:00Z", Some("2026-03-31T10:00:00.000000Z")),
            (
                "2026-03-31T12:00:00.5+02:00",
                Some("2026-03-31T10:00:00.500000Z"),
            ),
            (
                "2024-02-29T23:59:59.000000Z",
                Some("2024-02-29T23:59:59.000000Z"),
            ),
            ("2025-02-29T00:00:00.000000Z", None),
            ("2026-13-01T00:00:00.000000Z", None),
            ("2026-03-31T24:00:00.000000Z", None),
            ("yesterday", None),
        ];
        for (input, want) in cases {
            let v = Value::String((*input).into());
            let got = opt_ts(&v);
            match want {
                Some(w) => assert_eq!(got.expect(input).as_deref(), Some(*w), "{input}"),
                None => assert!(got.is_err(), "{input} accepted: {got:?}"),
            }
        }
        assert_eq!(opt_ts(&Value::Null).expect("null"), None);
    }

    use crate::cache::Cache;

    fn change(json: &str) -> Change {
        serde_json::from_str(json).expect(json)
    }

    /// A new cache in a temp dir (kept as long as the dir is).
    fn fresh_cache() -> (tempfile::TempDir, Cache) {
        let dir = tempfile::tempdir().expect("dir");
        let cache = Cache::open(&dir.path().join("c.sqlite3")).expect("cache");
        (dir, cache)
    }

    fn apply(cache: &Cache, json: &str) -> Result<bool> {
        let c = change(json);
        cache.write(|tx| apply_change(tx, &c))
    }

    type CodeRow = (String, Option<i64>, Option<i64>, String, String);

    fn code_row(cache: &Cache, id: i64) -> CodeRow {
        cache
            .read(|c| {
                Ok(c.query_row(
                    "SELECT code, product_id, device_id, consumed_at, expires_at FROM codes WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?)
            })
            .expect("code row")
    }

    /// (product, used, remaining) per pool.
    type Pools = Vec<(i64, i64, i64)>;

    /// `pool_counts` as kept by the triggers, and as recounted from `codes`.
    fn pools(cache: &Cache) -> (Pools, Pools) {
        cache
            .read(|c| {
                let rows = |sql: &str| -> Result<Pools> {
                    Ok(c.prepare(sql)?
                        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect::<rusqlite::Result<_>>()?)
                };
                Ok((
                    rows("SELECT product_id, used, remaining FROM pool_counts WHERE used + remaining > 0 ORDER BY 1")?,
                    rows("SELECT IFNULL(product_id, 0), SUM(consumed_at != ''), SUM(consumed_at = '') FROM codes GROUP BY 1 ORDER BY 1")?,
                ))
            })
            .expect("pools")
    }

    /// The server's own order on a first connection: the code update names
    /// the device before the device's insert arrives.
    #[test]
    fn a_code_consumed_before_its_device_arrives_is_linked_to_it() {
        let (_dir, cache) = fresh_cache();
        for change in [
            r#"{"entity":"code","id":"3","op":"insert","data":{"id":3,"code":"GH","batch_id":9,"product_id":7}}"#,
            r#"{"entity":"code","id":"3","op":"update","data":{"id":3,"device_id":8,"consumed_at":"2026-03-01T10:00:00Z","expires_at":"2027-03-01T10:00:00Z"}}"#,
            r#"{"entity":"device","id":"8","op":"insert","data":{"id":8,"pk":"p1","dk":"late","status":"active","activated_at":"2026-03-01T10:00:00Z","expires_at":"2027-03-01T10:00:00Z"}}"#,
        ] {
            apply(&cache, change).expect("apply");
        }
        let code_id: Option<i64> = cache
            .read(
                |c| Ok(c.query_row("SELECT code_id FROM devices WHERE id = 8", [], |r| r.get(0))?),
            )
            .expect("device row");
        assert_eq!(code_id, Some(3));
    }

    #[test]
    fn codes_and_devices_follow_the_feed() {
        let (_dir, cache) = fresh_cache();
        // A code string with an escape is unescaped (an owned string).
        apply(
            &cache,
            r#"{"seq":1,"entity":"code","id":"1","op":"insert","at":"x","data":{"id":1,"code":"AB\u002dCD","batch_id":9,"product_id":null}}"#,
        )
        .expect("insert");
        assert_eq!(
            code_row(&cache, 1),
            ("AB-CD".into(), None, None, String::new(), String::new())
        );
        // Assignment alone: only the product changes.
        apply(
            &cache,
            r#"{"entity":"code","id":"1","op":"update","data":{"id":1,"product_id":7}}"#,
        )
        .expect("assign");
        assert_eq!(code_row(&cache, 1).1, Some(7));
        let (kept, counted) = pools(&cache);
        assert_eq!(kept, vec![(7, 0, 1)]);
        assert_eq!(kept, counted);
        apply(
            &cache,
            r#"{"entity":"device","id":"5","op":"insert","data":{"id":5,"pk":"p1","dk":"d\"q","hardware_id":null,"status":"active","online":true,"offline_reason":null,"activated_at":"2026-03-01T12:00:00+02:00","expires_at":"2027-03-01T10:00:00.000000Z"}}"#,
        )
        .expect("device");
        // Consumption without a product: device and times set, the product kept;
        // a time in another form is normalised.
        apply(
            &cache,
            r#"{"entity":"code","id":"1","op":"update","data":{"id":1,"code":"AB-CD","device_id":5,"consumed_at":"2026-03-01T12:00:00+02:00","expires_at":"2027-03-01T10:00:00.000000Z"}}"#,
        )
        .expect("consume");
        assert_eq!(
            code_row(&cache, 1),
            (
                "AB-CD".into(),
                Some(7),
                Some(5),
                "2026-03-01T10:00:00.000000Z".into(),
                "2027-03-01T10:00:00.000000Z".into()
            )
        );
        let (kept, counted) = pools(&cache);
        assert_eq!(kept, vec![(7, 1, 0)]);
        assert_eq!(kept, counted);
        let (dk, code_id): (String, Option<i64>) = cache
            .read(|c| {
                Ok(
                    c.query_row("SELECT dk, code_id FROM devices WHERE id = 5", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?,
                )
            })
            .expect("device row");
        assert_eq!((dk.as_str(), code_id), ("d\"q", Some(1)));
        // A package upgrade: the device's new expiry, same period, moves its code's.
        apply(
            &cache,
            r#"{"entity":"device","id":"5","op":"update","data":{"id":5,"pk":"p1","dk":"d","status":"active","activated_at":"2026-03-01T10:00:00.000000Z","expires_at":"2028-03-01T10:00:00.000000Z"}}"#,
        )
        .expect("upgrade");
        assert_eq!(code_row(&cache, 1).4, "2028-03-01T10:00:00.000000Z");
        // Consumption with a product: both in one change.
        apply(
            &cache,
            r#"{"entity":"code","id":"2","op":"insert","data":{"id":2,"code":"EF","batch_id":9,"product_id":null}}"#,
        )
        .expect("insert 2");
        apply(
            &cache,
            r#"{"entity":"code","id":"2","op":"update","data":{"id":2,"product_id":8,"device_id":5,"consumed_at":"2028-03-01T10:00:00.000000Z","expires_at":null}}"#,
        )
        .expect("consume 2");
        assert_eq!(
            code_row(&cache, 2),
            (
                "EF".into(),
                Some(8),
                Some(5),
                "2028-03-01T10:00:00.000000Z".into(),
                String::new()
            )
        );
        let (kept, counted) = pools(&cache);
        assert_eq!(kept, vec![(7, 1, 0), (8, 1, 0)]);
        assert_eq!(kept, counted);
        // Deletes, unknown entities and ops.
        assert!(
            apply(
                &cache,
                r#"{"entity":"code","id":"1","op":"delete","data":null}"#
            )
            .expect("delete")
        );
        assert_eq!(pools(&cache).0, vec![(8, 1, 0)]);
        assert!(
            !apply(
                &cache,
                r#"{"entity":"lease","id":"1","op":"insert","data":{}}"#
            )
            .expect("lease")
        );
        assert!(!apply(&cache, r#"{"entity":"code","id":"2","op":"purge"}"#).expect("purge"));
    }

    fn snapshot(cache: &Cache, codes: &[&str], devices: &[&str]) {
        cache
            .write(|tx| {
                for json in codes {
                    snapshot_code(tx, serde_json::from_str(json).expect(json))?;
                }
                for json in devices {
                    snapshot_device(tx, serde_json::from_str(json).expect(json))?;
                }
                Ok(())
            })
            .expect("snapshot rows");
    }

    /// How many code and device rows the cache holds.
    fn row_counts(cache: &Cache) -> (i64, i64) {
        cache
            .read(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT COUNT(*) FROM codes), (SELECT COUNT(*) FROM devices)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .expect("count")
    }

    fn code_of(cache: &Cache, device: i64) -> Option<i64> {
        cache
            .read(|c| {
                Ok(
                    c.query_row("SELECT code_id FROM devices WHERE id = ?1", [device], |r| {
                        r.get(0)
                    })?,
                )
            })
            .expect("device row")
    }

    /// Snapshot rows: one upsert each keeps the pool counters equal to a
    /// recount (inserted or replacing a row), a device links its latest
    /// consumed code, and the feed replayed over them converges.
    #[test]
    fn snapshot_rows_keep_pool_counts_and_link_devices_to_their_latest_code() {
        let (_dir, cache) = fresh_cache();
        snapshot(
            &cache,
            &[
                r#"{"id":1,"code":"FREE","batch_id":1,"product_id":null,"device_id":null,"consumed_at":null,"expires_at":null}"#,
                r#"{"id":2,"code":"POOL","batch_id":2,"product_id":7,"device_id":null,"consumed_at":null,"expires_at":null}"#,
                r#"{"id":3,"code":"OLD","batch_id":2,"product_id":7,"device_id":5,"consumed_at":"2025-03-01T10:00:00.000000Z","expires_at":"2026-03-01T10:00:00.000000Z"}"#,
                r#"{"id":4,"code":"NEW","batch_id":2,"product_id":7,"device_id":5,"consumed_at":"2026-03-01T10:00:00.000000Z","expires_at":"2027-03-01T10:00:00.000000Z"}"#,
                r#"{"id":5,"code":"OTHER","batch_id":3,"product_id":8,"device_id":6,"consumed_at":"2026-03-01T12:00:00+02:00","expires_at":"2027-03-01T10:00:00.000000Z"}"#,
            ],
            &[
                r#"{"id":5,"pk":"p7","dk":"a","hardware_id":"IMEI1","status":"active","online":true,"offline_reason":null,"activated_at":"2026-03-01T10:00:00.000000Z","expires_at":"2027-03-01T10:00:00.000000Z"}"#,
                r#"{"id":6,"pk":"p8","dk":"b","hardware_id":null,"status":"active","online":false,"offline_reason":null,"activated_at":"2026-03-01T10:00:00.000000Z","expires_at":"2027-03-01T10:00:00.000000Z"}"#,
                r#"{"id":9,"pk":"p8","dk":"none","hardware_id":null,"status":"inactive","online":false,"offline_reason":"no_codes","activated_at":null,"expires_at":null}"#,
            ],
        );
        let (kept, counted) = pools(&cache);
        assert_eq!(kept, vec![(0, 0, 1), (7, 2, 1), (8, 1, 0)]);
        assert_eq!(kept, counted);
        assert_eq!(
            code_row(&cache, 5),
            (
                "OTHER".into(),
                Some(8),
                Some(6),
                "2026-03-01T10:00:00.000000Z".into(),
                "2027-03-01T10:00:00.000000Z".into()
            ),
            "times normalised"
        );
        assert_eq!(
            (code_of(&cache, 5), code_of(&cache, 6), code_of(&cache, 9)),
            (Some(4), Some(5), None)
        );
        // A row sent again replaces the old one through the update trigger.
        snapshot(
            &cache,
            &[
                r#"{"id":1,"code":"FREE","batch_id":1,"product_id":8,"device_id":9,"consumed_at":"2026-03-02T10:00:00.000000Z","expires_at":"2027-03-02T10:00:00.000000Z"}"#,
            ],
            &[
                r#"{"id":9,"pk":"p8","dk":"none","hardware_id":null,"status":"active","online":true,"offline_reason":null,"activated_at":"2026-03-02T10:00:00.000000Z","expires_at":"2027-03-02T10:00:00.000000Z"}"#,
            ],
        );
        let (kept, counted) = pools(&cache);
        assert_eq!(kept, vec![(7, 2, 1), (8, 2, 0)]);
        assert_eq!(kept, counted);
        assert_eq!(code_of(&cache, 9), Some(1));
        // The feed after the pin, replayed over rows that already show it:
        // an insert upserts, updates and deletes of missing rows do nothing.
        for change in [
            r#"{"entity":"code","id":"4","op":"insert","data":{"id":4,"code":"NEW","batch_id":2,"product_id":7}}"#,
            r#"{"entity":"code","id":"4","op":"update","data":{"id":4,"device_id":5,"consumed_at":"2026-03-01T10:00:00Z","expires_at":"2027-03-01T10:00:00Z"}}"#,
            r#"{"entity":"code","id":"99","op":"update","data":{"id":99,"device_id":98,"consumed_at":"2026-03-01T10:00:00Z","expires_at":"2027-03-01T10:00:00Z"}}"#,
            r#"{"entity":"code","id":"98","op":"update","data":{"id":98,"product_id":7}}"#,
            r#"{"entity":"code","id":"97","op":"delete","data":null}"#,
            r#"{"entity":"device","id":"96","op":"delete","data":null}"#,
            r#"{"entity":"device","id":"5","op":"insert","data":{"id":5,"pk":"p7","dk":"a","hardware_id":"IMEI1","status":"active","online":true,"activated_at":"2026-03-01T10:00:00Z","expires_at":"2027-03-01T10:00:00Z"}}"#,
        ] {
            apply(&cache, change).expect(change);
        }
        let (kept, counted) = pools(&cache);
        assert_eq!(kept, vec![(7, 2, 1), (8, 2, 0)]);
        assert_eq!(kept, counted);
        assert_eq!(code_of(&cache, 5), Some(4));
        assert_eq!(
            row_counts(&cache),
            (5, 3),
            "no row made up by an update of a missing one"
        );
    }

    /// A device change follows its activation's code (the one consumed at
    /// its `activated_at`), not the cache's link: replayed over a later
    /// state (the feed after a snapshot), the link may already name a
    /// later code than the change knew.
    #[test]
    fn a_device_change_re_bases_the_code_of_its_activation() {
        let (_dir, cache) = fresh_cache();
        for change in [
            r#"{"entity":"code","id":"1","op":"insert","data":{"id":1,"code":"K1","batch_id":1,"product_id":7}}"#,
            r#"{"entity":"code","id":"2","op":"insert","data":{"id":2,"code":"K2","batch_id":1,"product_id":7}}"#,
            r#"{"entity":"code","id":"1","op":"update","data":{"id":1,"device_id":5,"consumed_at":"2026-03-01T10:00:00Z","expires_at":"2027-03-01T10:00:00Z"}}"#,
            r#"{"entity":"device","id":"5","op":"insert","data":{"id":5,"pk":"p7","dk":"a","status":"active","activated_at":"2026-03-01T10:00:00Z","expires_at":"2027-03-01T10:00:00Z"}}"#,
            r#"{"entity":"code","id":"2","op":"update","data":{"id":2,"device_id":5,"consumed_at":"2028-03-01T10:00:00Z","expires_at":"2029-03-01T10:00:00Z"}}"#,
        ] {
            apply(&cache, change).expect(change);
        }
        assert_eq!(code_of(&cache, 5), Some(2));
        // The upgrade that re-based K1 before K2 was consumed, replayed.
        apply(
            &cache,
            r#"{"entity":"device","id":"5","op":"update","data":{"id":5,"pk":"p7","dk":"a","status":"active","activated_at":"2026-03-01T10:00:00.000000Z","expires_at":"2028-03-01T10:00:00.000000Z"}}"#,
        )
        .expect("upgrade");
        assert_eq!(code_row(&cache, 1).4, "2028-03-01T10:00:00.000000Z");
        assert_eq!(code_row(&cache, 2).4, "2029-03-01T10:00:00.000000Z");
        assert_eq!(
            code_of(&cache, 5),
            Some(2),
            "the link is the codes' business"
        );
    }

    /// The device statements are planned once per connection (the cache's
    /// connection turns on query planner stability; a connection without
    /// it re-prepares them whenever `?1` is bound again), and find a
    /// device's latest code in `codes_device` alone (it covers the link).
    #[test]
    fn device_statements_are_planned_once_and_read_the_device_index() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("c.sqlite3");
        let cache = Cache::open(&path).expect("cache");
        for i in 1..=20 {
            snapshot(
                &cache,
                &[&format!(
                    r#"{{"id":{i},"code":"C{i}","batch_id":1,"product_id":7,"device_id":{i},"consumed_at":"2026-03-01T10:00:00.000000Z","expires_at":"2027-03-01T10:00:00.000000Z"}}"#
                )],
                &[&format!(
                    r#"{{"id":{i},"pk":"p7","dk":"d{i}","status":"active","activated_at":"2026-03-01T10:00:00.000000Z","expires_at":"2027-03-01T10:00:00.000000Z"}}"#
                )],
            );
            apply(
                &cache,
                &format!(
                    r#"{{"entity":"device","id":"{}","op":"insert","data":{{"id":{},"pk":"p7","dk":"n{i}","status":"inactive"}}}}"#,
                    100 + i,
                    100 + i
                ),
            )
            .expect("device");
        }
        let reprepared = |c: &rusqlite::Connection, sql: &str| {
            c.prepare_cached(sql)
                .expect("cached")
                .get_status(rusqlite::StatementStatus::RePrepare)
        };
        {
            let c = cache.conn();
            assert_eq!(reprepared(&c, SNAPSHOT_DEVICE), 0);
            assert_eq!(reprepared(&c, LINK_CODE), 0);
            let plan = crate::cache::tests::device_plan(&c, SNAPSHOT_DEVICE);
            assert!(
                plan.iter()
                    .any(|p| p.contains("USING COVERING INDEX codes_device")),
                "{plan:?}"
            );
        }
        // What the setting prevents.
        let plain = rusqlite::Connection::open(&path).expect("open");
        for i in 1..=5 {
            plain
                .prepare_cached(LINK_CODE)
                .expect("cached")
                .execute([i])
                .expect("link");
        }
        assert!(reprepared(&plain, LINK_CODE) > 0);
    }

    #[test]
    fn malformed_rows_are_protocol_errors_and_change_nothing() {
        let (_dir, cache) = fresh_cache();
        for bad in [
            r#"{"entity":"code","id":"1","op":"insert","data":{"id":"1","code":"A","batch_id":1}}"#,
            r#"{"entity":"code","id":"1","op":"insert","data":null}"#,
            r#"{"entity":"code","id":"1","op":"update","data":{"id":1,"device_id":2,"consumed_at":"yesterday"}}"#,
            r#"{"entity":"device","id":"1","op":"insert","data":{"id":1,"pk":"p","status":"active"}}"#,
            r#"{"entity":"device","id":"1","op":"insert","data":{"id":1,"pk":"p","dk":"d","status":"active","online":"yes"}}"#,
        ] {
            let got = apply(&cache, bad);
            assert!(matches!(got, Err(Error::Protocol(_))), "{bad}: {got:?}");
        }
        assert_eq!(row_counts(&cache), (0, 0));
    }
}

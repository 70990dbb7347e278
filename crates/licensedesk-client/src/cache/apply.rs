//! Applies the server's change feed to the cache. Each entity's `data` is
//! the row after the change (see the server's `changes.rs`); unknown
//! entities (gateway orders, floating leases, …) are skipped.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};
use serde::Deserialize;
use serde_json::Value;

use crate::cache::ts;
use crate::error::{Error, Result};

/// One change of the feed, as the server sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    pub entity: String,
    pub id: String,
    pub op: String,
    #[serde(default)]
    pub data: Value,
}

fn opt_ts(v: &Value) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(ts(DateTime::parse_from_rfc3339(s)
            .map_err(|e| Error::Protocol(format!("bad time {s:?}: {e}")))?
            .with_timezone(&Utc)))),
        other => Err(Error::Protocol(format!("expected a time, got {other}"))),
    }
}

fn int(v: &Value, field: &str) -> Result<i64> {
    v[field]
        .as_i64()
        .ok_or_else(|| Error::Protocol(format!("change without integer {field:?}: {v}")))
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    v[field]
        .as_str()
        .ok_or_else(|| Error::Protocol(format!("change without text {field:?}: {v}")))
}

fn json_or_null(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| v.to_string())
}

/// Applies one change; returns whether it touched the cache.
pub fn apply_change(tx: &Transaction<'_>, c: &Change) -> Result<bool> {
    let d = &c.data;
    match (c.entity.as_str(), c.op.as_str()) {
        ("account", _) => account(tx, d)?,
        ("product", _) => product(tx, &c.id, d)?,
        ("batch", "insert") => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO batches (id, kind, pk, quantity, package, reference) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                int(d, "id")?,
                text(d, "kind")?,
                d["pk"].as_str(),
                int(d, "quantity")?,
                json_or_null(&d["package"]),
                d["reference"].as_str()
            ])?;
        }
        ("code", "insert") => {
            tx.prepare_cached(
                "INSERT INTO codes (id, code, batch_id, product_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET code = ?2, batch_id = ?3, product_id = ?4",
            )?
            .execute(params![
                int(d, "id")?,
                text(d, "code")?,
                int(d, "batch_id")?,
                d["product_id"].as_i64()
            ])?;
        }
        ("code", "update") => code_update(tx, d)?,
        ("device", "insert" | "update") => device(tx, d)?,
        ("usage", _) => usage(tx, &c.id, d)?,
        (_, "delete") => return delete(tx, &c.entity, &c.id),
        _ => return Ok(false),
    }
    Ok(true)
}

fn account(tx: &Transaction<'_>, d: &Value) -> Result<()> {
    let id = int(d, "id")?;
    tx.prepare_cached(
        "INSERT INTO account (id, name, kind, data_center) VALUES (?1, COALESCE(?2, ''), COALESCE(?3, 'individual'), COALESCE(?4, ''))
         ON CONFLICT (id) DO UPDATE SET name = COALESCE(?2, name), kind = COALESCE(?3, kind),
           data_center = COALESCE(?4, data_center), verified_enterprise = COALESCE(?5, verified_enterprise)",
    )?
    .execute(params![
        id,
        d["name"].as_str(),
        d["kind"].as_str(),
        d["data_center"].as_str(),
        d["verified_enterprise"].as_bool()
    ])?;
    Ok(())
}

fn product(tx: &Transaction<'_>, pk: &str, d: &Value) -> Result<()> {
    let has = |f: &str| d.get(f).is_some();
    if let Some(id) = d["id"].as_i64() {
        tx.prepare_cached(
            "INSERT INTO products (id, pk, name) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET pk = ?2, name = ?3",
        )?
        .execute(params![id, pk, text(d, "name")?])?;
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
        has("package"),
        json_or_null(&d["package"]),
        d["overage_policy"].as_str(),
        d["ota_topups"].as_i64(),
        d["message_topups"].as_i64()
    ])?;
    Ok(())
}

fn code_update(tx: &Transaction<'_>, d: &Value) -> Result<()> {
    let id = int(d, "id")?;
    if let Some(pid) = d["product_id"].as_i64() {
        tx.prepare_cached("UPDATE codes SET product_id = ?2 WHERE id = ?1")?
            .execute(params![id, pid])?;
    }
    if let Some(device) = d["device_id"].as_i64() {
        let consumed = opt_ts(&d["consumed_at"])?.unwrap_or_default();
        let expires = opt_ts(&d["expires_at"])?.unwrap_or_default();
        tx.prepare_cached(
            "UPDATE codes SET device_id = ?2, consumed_at = ?3, expires_at = ?4 WHERE id = ?1",
        )?
        .execute(params![id, device, consumed, expires])?;
        tx.prepare_cached("UPDATE devices SET code_id = ?2 WHERE id = ?1")?
            .execute(params![device, id])?;
    }
    Ok(())
}

fn device(tx: &Transaction<'_>, d: &Value) -> Result<()> {
    let id = int(d, "id")?;
    let activated = opt_ts(&d["activated_at"])?;
    let expires = opt_ts(&d["expires_at"])?;
    tx.prepare_cached(
        "INSERT INTO devices (id, pk, dk, hardware_id, status, online, offline_reason, activated_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET pk = ?2, dk = ?3, hardware_id = ?4, status = ?5, online = ?6,
           offline_reason = ?7, activated_at = ?8, expires_at = ?9",
    )?
    .execute(params![
        id,
        text(d, "pk")?,
        text(d, "dk")?,
        d["hardware_id"].as_str(),
        text(d, "status")?,
        d["online"].as_bool().unwrap_or(false),
        d["offline_reason"].as_str(),
        activated,
        expires
    ])?;
    // A package upgrade re-bases the current code's expiry without a code
    // change in the feed: follow the device's new expiry (same period only).
    if let (Some(act), Some(exp)) = (&activated, &expires) {
        tx.prepare_cached(
            "UPDATE codes SET expires_at = ?3 WHERE id = (SELECT code_id FROM devices WHERE id = ?1)
             AND device_id = ?1 AND consumed_at = ?2",
        )?
        .execute(params![id, act, exp])?;
    }
    Ok(())
}

fn usage(tx: &Transaction<'_>, device_id: &str, d: &Value) -> Result<()> {
    let device: i64 = device_id
        .parse()
        .map_err(|_| Error::Protocol(format!("usage change for device {device_id:?}")))?;
    let u = &d["usage"];
    tx.prepare_cached("INSERT OR REPLACE INTO usage_now (device_id, usage) VALUES (?1, ?2)")?
        .execute(params![device, u.to_string()])?;
    if let Some(day_end) = opt_ts(&u["messages_reset_at"])? {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO usage_days (device_id, day_end, messages, overage) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            device,
            day_end,
            u["messages_today"].as_i64().unwrap_or(0),
            u["messages_overage_today"].as_i64().unwrap_or(0)
        ])?;
    }
    Ok(())
}

fn delete(tx: &Transaction<'_>, entity: &str, id: &str) -> Result<bool> {
    let sql = match entity {
        "code" => "DELETE FROM codes WHERE id = ?1",
        "device" => "DELETE FROM devices WHERE id = ?1",
        "batch" => "DELETE FROM batches WHERE id = ?1",
        "product" => "DELETE FROM products WHERE pk = ?1",
        _ => return Ok(false),
    };
    tx.execute(sql, [id])?;
    Ok(true)
}

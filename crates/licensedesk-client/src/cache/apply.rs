//! Applies the server's change feed to the cache. Each entity's `data` is
//! the row after the change (see the server's `changes.rs`); unknown
//! entities (gateway orders, floating leases, …) are skipped.

use std::borrow::Cow;

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

/// A time as the cache stores it ([`ts`]: RFC 3339, microseconds, `Z`).
/// The server sends exactly that form, so a value already in it is kept
/// as is (checked field by field); any other RFC 3339 time is parsed and
/// re-formatted. Three of these per consumption record in a first sync.
fn opt_ts(v: &Value) -> Result<Option<Cow<'_, str>>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if is_canonical_ts(s) => Ok(Some(Cow::Borrowed(s))),
        Value::String(s) => Ok(Some(Cow::Owned(ts(DateTime::parse_from_rfc3339(s)
            .map_err(|e| Error::Protocol(format!("bad time {s:?}: {e}")))?
            .with_timezone(&Utc))))),
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
        let (consumed, expires) = (consumed.as_ref(), expires.as_ref());
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
    let code_id: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO devices (id, pk, dk, hardware_id, status, online, offline_reason, activated_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET pk = ?2, dk = ?3, hardware_id = ?4, status = ?5, online = ?6,
               offline_reason = ?7, activated_at = ?8, expires_at = ?9
             RETURNING code_id",
        )?
        .query_row(
            params![
                id,
                text(d, "pk")?,
                text(d, "dk")?,
                d["hardware_id"].as_str(),
                text(d, "status")?,
                d["online"].as_bool().unwrap_or(false),
                d["offline_reason"].as_str(),
                activated,
                expires
            ],
            |r| r.get(0),
        )?;
    // A package upgrade re-bases the current code's expiry without a code
    // change in the feed: follow the device's new expiry (same period only).
    // A device without a code yet (every new one) has nothing to follow.
    if let (Some(code), Some(act), Some(exp)) = (code_id, &activated, &expires) {
        tx.prepare_cached(
            "UPDATE codes SET expires_at = ?3 WHERE id = ?4 AND device_id = ?1 AND consumed_at = ?2",
        )?
        .execute(params![id, act, exp, code])?;
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
            day_end.as_ref(),
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
}

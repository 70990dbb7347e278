//! The account's read views that are queries more than rows: License
//! Management's consumption details (keyset-paged) and the devices with
//! near-expiry codes. Which codes a status filter or the near-expiry
//! window selects, and which devices their pool can renew, is core's
//! (`StatusFilter::terms`, `near_expiry_window`, `allocate_renewals`):
//! the SQL is built from what core decides.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use licensedesk_core::codes::{CodeStatus, StatusFilter, code_status};
use licensedesk_core::device::{ExpiryWindow, allocate_renewals, near_expiry_window};
use licensedesk_core::package::quota::local_day_start;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{Conn, Param};
use crate::error::{ApiError, Result};
use crate::store::{Store, accounts, codes, read};
use crate::time::stored;

/// A query's text and parameters, numbered as they are added.
struct Sql {
    text: String,
    args: Vec<Box<dyn Param + Send>>,
}

impl Sql {
    fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// The placeholder of a new parameter `v`.
    fn arg(&mut self, v: impl Param + Send + 'static) -> String {
        self.args.push(Box::new(v));
        format!("${}", self.args.len())
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn params(&self) -> Vec<&dyn Param> {
        self.args.iter().map(|a| a.as_ref() as &dyn Param).collect()
    }
}

/// A LIKE pattern matching `s` anywhere, with wildcards escaped. Both the
/// column and the pattern go through the engine's `LOWER` (`LOWER(col)
/// LIKE LOWER($n)`), so a search ignores case alike on both engines.
pub fn like(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// How the consumption details are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Id,
    ConsumedAt,
    ExpiresAt,
}

/// A License Management query, checked.
#[derive(Debug, Clone)]
pub struct ConsumptionQuery {
    pub limit: u32,
    pub pk: Option<String>,
    pub status: Option<StatusFilter>,
    pub expiring_within_days: Option<u32>,
    pub q: Option<String>,
    pub sort: Sort,
    pub desc: bool,
    /// Where the previous page ended: its last row's sort key and id.
    pub after: Option<(String, i64)>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CodeDetail {
    pub code: String,
    pub batch_id: i64,
    pub batch_kind: String,
    pub pk: Option<String>,
    pub product_name: Option<String>,
    pub dk: Option<String>,
    pub consumed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `unused`, `active` or `expired`.
    #[schema(value_type = String)]
    pub status: CodeStatus,
}

/// A page of the consumption details, with the counters of the account's
/// data center, and the sort key and id of its last row when more follow.
#[derive(Debug)]
pub struct ConsumptionPage {
    pub data_center: String,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    pub items: Vec<CodeDetail>,
    pub next: Option<(String, i64)>,
}

async fn consumption_in(
    c: &impl Conn,
    id: i64,
    q: &ConsumptionQuery,
    now: DateTime<Utc>,
) -> Result<ConsumptionPage> {
    let a = accounts::get(c, id).await?;
    let (counters, _) = codes::account_overview(c, id).await?;
    let key = match q.sort {
        Sort::Id => "''",
        Sort::ConsumedAt => "COALESCE(c.consumed_at, '')",
        Sort::ExpiresAt => "COALESCE(c.expires_at, '')",
    };
    let mut sql = Sql::new(&format!(
        "SELECT {key}, c.id, c.code, c.batch_id, b.kind, p.pk, p.name, d.dk, c.consumed_at, c.expires_at
         FROM codes c JOIN batches b ON b.id = c.batch_id
         LEFT JOIN products p ON p.id = c.product_id LEFT JOIN devices d ON d.id = c.device_id
         WHERE c.account_id = "
    ));
    let a1 = sql.arg(id);
    sql.push(&a1);
    if let Some(pk) = &q.pk {
        let a = sql.arg(pk.clone());
        sql.push(&format!(" AND p.pk = {a}"));
    }
    if let Some(f) = q.status {
        let t = f.terms(now);
        match t.consumed {
            Some(true) => sql.push(" AND c.consumed_at IS NOT NULL"),
            Some(false) => sql.push(" AND c.consumed_at IS NULL"),
            None => {}
        }
        if let Some(after) = t.expires_after {
            let a = sql.arg(stored(after));
            sql.push(&format!(
                " AND (c.expires_at IS NULL OR c.expires_at > {a})"
            ));
        }
        if let Some(by) = t.expired_by {
            let a = sql.arg(stored(by));
            sql.push(&format!(" AND c.expires_at <= {a}"));
        }
    }
    if let Some(days) = q.expiring_within_days {
        let w = near_expiry_window(now, days.min(36_500));
        let (from, to) = (sql.arg(stored(w.after)), sql.arg(stored(w.until)));
        sql.push(&format!(
            " AND c.expires_at > {from} AND c.expires_at <= {to}"
        ));
    }
    if let Some(t) = q.q.as_deref().filter(|t| !t.is_empty()) {
        let a = sql.arg(like(t));
        sql.push(&format!(
            " AND (LOWER(d.dk) LIKE LOWER({a}) ESCAPE '\\' OR LOWER(c.code) LIKE LOWER({a}) ESCAPE '\\')"
        ));
    }
    let (cmp, dir) = if q.desc { ("<", "DESC") } else { (">", "ASC") };
    if let Some((k, last)) = &q.after {
        let i = sql.arg(*last);
        if q.sort == Sort::Id {
            sql.push(&format!(" AND c.id {cmp} {i}"));
        } else {
            let k = sql.arg(k.clone());
            sql.push(&format!(" AND ({key}, c.id) {cmp} ({k}, {i})"));
        }
    }
    let l = sql.arg(i64::from(q.limit) + 1);
    if q.sort == Sort::Id {
        sql.push(&format!(" ORDER BY c.id {dir} LIMIT {l}"));
    } else {
        sql.push(&format!(" ORDER BY {key} {dir}, c.id {dir} LIMIT {l}"));
    }
    let mut rows = c
        .query(&sql.text, &sql.params(), |r| {
            let consumed_at = r.opt_time(8)?;
            let expires_at = r.opt_time(9)?;
            Ok((
                r.string(0)?,
                r.i64(1)?,
                CodeDetail {
                    code: r.string(2)?,
                    batch_id: r.i64(3)?,
                    batch_kind: r.string(4)?,
                    pk: r.opt_string(5)?,
                    product_name: r.opt_string(6)?,
                    dk: r.opt_string(7)?,
                    status: code_status(consumed_at, expires_at, now),
                    consumed_at,
                    expires_at,
                },
            ))
        })
        .await?;
    let more = rows.len() > q.limit as usize;
    rows.truncate(q.limit as usize);
    let next = if more {
        rows.last().map(|(k, id, _)| (k.clone(), *id))
    } else {
        None
    };
    Ok(ConsumptionPage {
        data_center: a.data_center,
        total: counters.total(),
        used: counters.used(),
        remaining: counters.remaining(),
        items: rows.into_iter().map(|(_, _, d)| d).collect(),
        next,
    })
}

/// A near-expiry search, checked.
#[derive(Debug, Clone)]
pub struct NearExpiryQuery {
    pub days: u32,
    pub q: Option<String>,
    pub product: Option<String>,
    pub pk: Option<String>,
    pub dk: Option<String>,
    /// Local dates (the data center's calendar), inclusive.
    pub activated_from: Option<NaiveDate>,
    pub activated_to: Option<NaiveDate>,
    pub expires_from: Option<NaiveDate>,
    pub expires_to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NearExpiryDevice {
    pub pk: String,
    pub product_name: String,
    pub dk: String,
    pub code: Option<String>,
    pub activated_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub days_left: i64,
    /// `true` when the product pool still has a code for this device once
    /// the devices of the product that expire earlier have taken theirs.
    pub replacement_available: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NearExpiryList {
    pub days: u32,
    pub devices: Vec<NearExpiryDevice>,
}

/// First instant of local date `d` in `tz`.
fn local_start(d: NaiveDate, tz: chrono_tz::Tz) -> Result<DateTime<Utc>> {
    local_day_start(d, tz)
        .ok_or_else(|| ApiError::invalid("DATE_INVALID", format!("{d} has no start in {tz}")))
}

/// Devices (ids) of the account expiring within the window that their
/// product pool can renew, as core's `allocate_renewals` hands out codes
/// (earliest expiry first), computed before any search filter.
async fn renewable_devices(
    c: &impl Conn,
    account_id: i64,
    w: ExpiryWindow,
) -> Result<HashSet<i64>> {
    let rows = c
        .query(
            "SELECT d.product_id, d.id, d.expires_at,
                    COALESCE((SELECT remaining FROM pool_counts WHERE product_id = d.product_id), 0)
             FROM devices d WHERE d.account_id = $1 AND d.status = 'active' AND d.expires_at > $2 AND d.expires_at <= $3
             ORDER BY d.product_id, d.expires_at, d.id",
            &[&account_id, &stored(w.after), &stored(w.until)],
            |r| Ok((r.i64(0)?, r.i64(1)?, r.time(2)?, r.u64(3)?)),
        )
        .await?;
    type Expiring = Vec<(i64, DateTime<Utc>)>;
    let mut by_product: HashMap<i64, (u64, Expiring)> = HashMap::new();
    for (product, device, expires, remaining) in rows {
        by_product
            .entry(product)
            .or_insert_with(|| (remaining, Vec::new()))
            .1
            .push((device, expires));
    }
    Ok(by_product
        .into_values()
        .flat_map(|(codes, expiring)| allocate_renewals(&expiring, codes).renew)
        .collect())
}

async fn near_expiry_in(
    c: &impl Conn,
    id: i64,
    q: &NearExpiryQuery,
    now: DateTime<Utc>,
) -> Result<NearExpiryList> {
    let tz = accounts::get(c, id).await?.tz()?;
    let w = near_expiry_window(now, q.days);
    let renewable = renewable_devices(c, id, w).await?;
    let mut sql = Sql::new(
        "SELECT p.pk, p.name, d.dk, (SELECT code FROM codes WHERE device_id = d.id AND active = 1),
                d.activated_at, d.expires_at, d.id
         FROM devices d JOIN products p ON p.id = d.product_id
         WHERE d.status = 'active'",
    );
    let (a, from, to) = (
        sql.arg(id),
        sql.arg(stored(w.after)),
        sql.arg(stored(w.until)),
    );
    sql.push(&format!(
        " AND d.account_id = {a} AND d.expires_at > {from} AND d.expires_at <= {to}"
    ));
    if let Some(t) = q.q.as_deref().filter(|t| !t.is_empty()) {
        let a = sql.arg(like(t));
        sql.push(&format!(
            " AND (LOWER(p.name) LIKE LOWER({a}) ESCAPE '\\' OR LOWER(p.pk) LIKE LOWER({a}) ESCAPE '\\' OR LOWER(d.dk) LIKE LOWER({a}) ESCAPE '\\')"
        ));
    }
    if let Some(v) = q.product.as_deref() {
        let a = sql.arg(like(v));
        sql.push(&format!(" AND LOWER(p.name) LIKE LOWER({a}) ESCAPE '\\'"));
    }
    if let Some(v) = q.pk.as_deref() {
        let a = sql.arg(v.to_owned());
        sql.push(&format!(" AND p.pk = {a}"));
    }
    if let Some(v) = q.dk.as_deref() {
        let a = sql.arg(like(v));
        sql.push(&format!(" AND LOWER(d.dk) LIKE LOWER({a}) ESCAPE '\\'"));
    }
    for (date, col, op, next_day) in [
        (q.activated_from, "d.activated_at", ">=", false),
        (q.activated_to, "d.activated_at", "<", true),
        (q.expires_from, "d.expires_at", ">=", false),
        (q.expires_to, "d.expires_at", "<", true),
    ] {
        if let Some(d) = date {
            let d = if next_day {
                d.succ_opt().unwrap_or(d)
            } else {
                d
            };
            let a = sql.arg(stored(local_start(d, tz)?));
            sql.push(&format!(" AND {col} {op} {a}"));
        }
    }
    sql.push(" ORDER BY d.expires_at, d.id LIMIT 5000");
    let devices = c
        .query(&sql.text, &sql.params(), |r| {
            let expires_at = r.time(5)?;
            Ok(NearExpiryDevice {
                pk: r.string(0)?,
                product_name: r.string(1)?,
                dk: r.string(2)?,
                code: r.opt_string(3)?,
                activated_at: r.opt_time(4)?,
                days_left: (expires_at - now).num_days(),
                expires_at,
                replacement_available: renewable.contains(&r.i64(6)?),
            })
        })
        .await?;
    Ok(NearExpiryList {
        days: q.days,
        devices,
    })
}

impl Store {
    pub async fn consumption(
        &self,
        account: i64,
        q: ConsumptionQuery,
        now: DateTime<Utc>,
    ) -> Result<ConsumptionPage> {
        read!(self, [q], |c| consumption_in(c, account, &q, now)).await
    }

    pub async fn near_expiry(
        &self,
        account: i64,
        q: NearExpiryQuery,
        now: DateTime<Utc>,
    ) -> Result<NearExpiryList> {
        read!(self, [q], |c| near_expiry_in(c, account, &q, now)).await
    }
}

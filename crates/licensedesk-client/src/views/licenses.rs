//! Resource Management → License Management: the data center's counters and
//! every code's consumption details, filtered, sorted and KEYSET-paged with
//! an opaque cursor (indexes `codes_*` make a page an index range scan), and
//! the same rows streamed as CSV.

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use licensedesk_core::codes::{CodeStatus, Counters, StatusFilter, code_status};
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, parse_opt, ts};
use crate::error::{Error, Result};
use crate::views::overview::counters;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LicenseSort {
    #[default]
    Id,
    Code,
    Batch,
    ConsumedAt,
    ExpiresAt,
}

impl LicenseSort {
    fn column(self) -> &'static str {
        match self {
            Self::Id => "c.id",
            Self::Code => "c.code",
            Self::Batch => "c.batch_id",
            Self::ConsumedAt => "c.consumed_at",
            Self::ExpiresAt => "c.expires_at",
        }
    }
}

/// Filter, sort and page of the License Management table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct LicenseQuery {
    /// Product key.
    pub pk: Option<String>,
    /// `unused`, `active`, `expired`, or a counter's word: `used` (active
    /// and expired) or `remaining` (unused), with their synonyms (core's
    /// `StatusFilter`).
    pub status: Option<String>,
    pub expiring_within_days: Option<u32>,
    /// Substring of a device key or a code.
    pub search: Option<String>,
    pub sort: LicenseSort,
    pub desc: bool,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size 1..=500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LicenseRow {
    pub code: String,
    #[ts(type = "number")]
    pub batch_id: i64,
    pub batch_kind: String,
    pub pk: Option<String>,
    pub product_name: Option<String>,
    pub dk: Option<String>,
    pub consumed_at: Option<String>,
    pub expires_at: Option<String>,
    /// `unused`, `active` or `expired` (core's `code_status` at `now`).
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LicensePage {
    pub data_center: String,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    pub rows: Vec<LicenseRow>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    k: serde_json::Value,
    id: i64,
}

fn status_str(s: CodeStatus) -> &'static str {
    match s {
        CodeStatus::Unused => "unused",
        CodeStatus::Active => "active",
        CodeStatus::Expired => "expired",
    }
}

/// Escapes a LIKE pattern matching `s` anywhere.
fn like(s: &str) -> String {
    let e = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{e}%")
}

/// WHERE clause and arguments of a query (without the cursor).
fn filter(q: &LicenseQuery, now: DateTime<Utc>, args: &mut Vec<Value>) -> Result<String> {
    let push = |v: Value, args: &mut Vec<Value>| {
        args.push(v);
        format!("?{}", args.len())
    };
    // A unary `+` keeps SQLite from choosing a range index on a column the
    // page is not sorted by (that would sort every match: ~0.5 s on 1M rows).
    let exp = if q.sort == LicenseSort::ExpiresAt {
        "c.expires_at"
    } else {
        "+c.expires_at"
    };
    let con = if q.sort == LicenseSort::ConsumedAt {
        "c.consumed_at"
    } else {
        "+c.consumed_at"
    };
    let mut sql = String::from(" WHERE 1");
    if let Some(pk) = &q.pk {
        let a = push(Value::Text(pk.clone()), args);
        sql.push_str(&format!(
            " AND c.product_id = (SELECT id FROM products WHERE pk = {a})"
        ));
    }
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(StatusFilter::parse(s).map_err(|e| Error::Invalid(e.to_string()))?),
    };
    match status {
        None => {}
        Some(StatusFilter::Is(CodeStatus::Unused)) => sql.push_str(&format!(" AND {con} = ''")),
        Some(StatusFilter::Is(CodeStatus::Active)) => {
            let a = push(Value::Text(ts(now)), args);
            sql.push_str(&format!(" AND {con} != '' AND {exp} > {a}"));
        }
        Some(StatusFilter::Is(CodeStatus::Expired)) => {
            let a = push(Value::Text(ts(now)), args);
            sql.push_str(&format!(" AND {con} != '' AND {exp} <= {a}"));
        }
        Some(StatusFilter::Consumed) => sql.push_str(&format!(" AND {con} != ''")),
    }
    if let Some(days) = q.expiring_within_days {
        let a = push(Value::Text(ts(now)), args);
        let b = push(
            Value::Text(ts(now + Duration::days(i64::from(days.min(36_500))))),
            args,
        );
        sql.push_str(&format!(" AND {exp} > {a} AND {exp} <= {b}"));
    }
    if let Some(t) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let a = push(Value::Text(like(t)), args);
        sql.push_str(&format!(
            " AND (c.code LIKE {a} ESCAPE '\\' OR c.device_id IN (SELECT id FROM devices WHERE dk LIKE {a} ESCAPE '\\'))"
        ));
    }
    Ok(sql)
}

const SELECT: &str = "SELECT c.id, c.code, c.batch_id, b.kind, p.pk, p.name, d.dk, c.consumed_at, c.expires_at, c.code, c.batch_id
     FROM codes c LEFT JOIN batches b ON b.id = c.batch_id
     LEFT JOIN products p ON p.id = c.product_id LEFT JOIN devices d ON d.id = c.device_id";

type Raw = (i64, LicenseRow, serde_json::Value);

fn row(r: &rusqlite::Row<'_>, sort: LicenseSort, now: DateTime<Utc>) -> rusqlite::Result<Raw> {
    let consumed: String = r.get(7)?;
    let expires: String = r.get(8)?;
    let key = match sort {
        LicenseSort::Id => serde_json::Value::Null,
        LicenseSort::Code => serde_json::Value::String(r.get(1)?),
        LicenseSort::Batch => serde_json::Value::from(r.get::<_, i64>(2)?),
        LicenseSort::ConsumedAt => serde_json::Value::String(consumed.clone()),
        LicenseSort::ExpiresAt => serde_json::Value::String(expires.clone()),
    };
    let status = code_status(
        parse_opt(Some(&consumed)).ok().flatten(),
        parse_opt(Some(&expires)).ok().flatten(),
        now,
    );
    let opt = |s: String| (!s.is_empty()).then_some(s);
    Ok((
        r.get(0)?,
        LicenseRow {
            code: r.get(1)?,
            batch_id: r.get(2)?,
            batch_kind: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            pk: r.get(4)?,
            product_name: r.get(5)?,
            dk: r.get(6)?,
            consumed_at: opt(consumed),
            expires_at: opt(expires),
            status: status_str(status).to_owned(),
        },
        key,
    ))
}

fn decode_cursor(c: &str) -> Result<Cursor> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            Error::Invalid(
                "page cursor is not one this app returned; start again without it".into(),
            )
        })
}

fn json_to_sql(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Number(n) => Value::Integer(n.as_i64().unwrap_or(0)),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        _ => Value::Null,
    }
}

/// The data center and the account's counters, above the table.
fn head(c: &Connection) -> Result<(String, Counters)> {
    let dc: String = c
        .query_row("SELECT data_center FROM account LIMIT 1", [], |r| r.get(0))
        .unwrap_or_default();
    Ok((dc, counters(c)?.0))
}

/// One page of the License Management table.
pub fn page(cache: &Cache, q: &LicenseQuery, now: DateTime<Utc>) -> Result<LicensePage> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500) as usize;
    let cursor = q.cursor.as_deref().map(decode_cursor).transpose()?;
    cache.read(|c| {
        let (dc, counters) = head(c)?;
        let mut args = Vec::new();
        let mut sql = format!("{SELECT}{}", filter(q, now, &mut args)?);
        let col = q.sort.column();
        let (cmp, dir) = if q.desc { ("<", "DESC") } else { (">", "ASC") };
        if let Some(cur) = &cursor {
            args.push(Value::Integer(cur.id));
            let i = args.len();
            if q.sort == LicenseSort::Id {
                sql.push_str(&format!(" AND c.id {cmp} ?{i}"));
            } else {
                args.push(json_to_sql(&cur.k));
                sql.push_str(&format!(" AND ({col}, c.id) {cmp} (?{}, ?{i})", i + 1));
            }
        }
        if q.sort == LicenseSort::Id {
            sql.push_str(&format!(" ORDER BY c.id {dir} LIMIT {}", limit + 1));
        } else {
            sql.push_str(&format!(
                " ORDER BY {col} {dir}, c.id {dir} LIMIT {}",
                limit + 1
            ));
        }
        let mut st = c.prepare_cached(&sql)?;
        let mut rows = st
            .query_map(params_from_iter(args), |r| row(r, q.sort, now))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|(id, _, k)| {
                URL_SAFE_NO_PAD.encode(
                    serde_json::to_vec(&Cursor {
                        k: k.clone(),
                        id: *id,
                    })
                    .unwrap_or_default(),
                )
            })
        } else {
            None
        };
        Ok(LicensePage {
            data_center: dc,
            total: counters.total(),
            used: counters.used(),
            remaining: counters.remaining(),
            rows: rows.into_iter().map(|(_, r, _)| r).collect(),
            next_cursor,
        })
    })
}

/// A window of the License Management table: `rows` from position
/// `offset` of the filtered, sorted set (what a virtualized table shows),
/// with the account's counters and, when asked, the set's length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LicenseWindow {
    pub data_center: String,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    /// Rows matching the filter, all of them (asked with `count`).
    pub count: Option<u64>,
    /// Position of `rows[0]` in the filtered, sorted set.
    pub offset: u64,
    pub rows: Vec<LicenseRow>,
}

/// The rows of the License Management table from position `offset` (the
/// query's filter and sort; its `limit`, 1..=500, is the window's size;
/// its `cursor` is not used), and with `count` the length of the whole
/// filtered set. A window's ids come from one index-ordered scan that
/// skips `offset` entries (an index-only scan when the filter is on the
/// sort's index: ~10 ms at 900,000 on this machine), then only its own
/// rows are read and joined.
pub fn window(
    cache: &Cache,
    q: &LicenseQuery,
    offset: u64,
    count: bool,
    now: DateTime<Utc>,
) -> Result<LicenseWindow> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    cache.read(|c| {
        let (dc, counters) = head(c)?;
        let mut args = Vec::new();
        let filter = filter(q, now, &mut args)?;
        let col = q.sort.column();
        let dir = if q.desc { "DESC" } else { "ASC" };
        let order = if q.sort == LicenseSort::Id {
            format!("c.id {dir}")
        } else {
            format!("{col} {dir}, c.id {dir}")
        };
        args.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
        let sql = format!(
            "{SELECT} JOIN (SELECT c.id FROM codes c{filter} ORDER BY {order} LIMIT {limit} OFFSET ?{}) w ON w.id = c.id
             ORDER BY {order}",
            args.len()
        );
        let rows = c
            .prepare_cached(&sql)?
            .query_map(params_from_iter(args), |r| row(r, q.sort, now))?
            .map(|r| r.map(|(_, row, _)| row))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(LicenseWindow {
            data_center: dc,
            total: counters.total(),
            used: counters.used(),
            remaining: counters.remaining(),
            count: count.then(|| count_rows(c, q, now)).transpose()?,
            offset,
            rows,
        })
    })
}

/// How many codes match the query's filter. A filter the pool counters
/// answer (none, a product, used or unused) reads them; any other counts
/// the matching rows (~0.3 s at 1M rows here).
fn count_rows(c: &Connection, q: &LicenseQuery, now: DateTime<Utc>) -> Result<u64> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(StatusFilter::parse(s).map_err(|e| Error::Invalid(e.to_string()))?),
    };
    let search = q.search.as_deref().is_some_and(|t| !t.trim().is_empty());
    let pool_column = match status {
        _ if search || q.expiring_within_days.is_some() => None,
        None => Some("used + remaining"),
        Some(StatusFilter::Is(CodeStatus::Unused)) => Some("remaining"),
        Some(StatusFilter::Consumed) => Some("used"),
        Some(StatusFilter::Is(_)) => None,
    };
    let n: i64 = match (pool_column, &q.pk) {
        (Some(col), None) => c.query_row(
            &format!("SELECT IFNULL(SUM({col}), 0) FROM pool_counts"),
            [],
            |r| r.get(0),
        )?,
        (Some(col), Some(pk)) => c.query_row(
            &format!(
                "SELECT IFNULL(SUM({col}), 0) FROM pool_counts WHERE product_id = (SELECT id FROM products WHERE pk = ?1)"
            ),
            [pk],
            |r| r.get(0),
        )?,
        (None, _) => {
            let mut args = Vec::new();
            let sql = format!("SELECT COUNT(*) FROM codes c{}", filter(q, now, &mut args)?);
            c.prepare_cached(&sql)?
                .query_row(params_from_iter(args), |r| r.get(0))?
        }
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Streams every row matching the filter (cursor and limit ignored) as CSV
/// to `out`, in the query's sort order. Returns the number of rows.
pub fn export_csv(
    cache: &Cache,
    q: &LicenseQuery,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<u64> {
    cache.read(|c| export_rows(c, q, now, out))
}

fn export_rows(
    c: &Connection,
    q: &LicenseQuery,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut args = Vec::new();
    let dir = if q.desc { "DESC" } else { "ASC" };
    let sql = format!(
        "{SELECT}{} ORDER BY {} {dir}, c.id {dir}",
        filter(q, now, &mut args)?,
        q.sort.column()
    );
    writeln!(
        out,
        "code,batch,batch_kind,pk,product,device_key,consumed_at,expires_at,status"
    )?;
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query(params_from_iter(args))?;
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        let (_, l, _) = row(r, q.sort, now)?;
        let o = |s: &Option<String>| csv_field(s.as_deref().unwrap_or(""));
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            csv_field(&l.code),
            l.batch_id,
            csv_field(&l.batch_kind),
            o(&l.pk),
            o(&l.product_name),
            o(&l.dk),
            o(&l.consumed_at),
            o(&l.expires_at),
            l.status
        )?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

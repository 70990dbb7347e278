//! Resource Management → License Management: the data center's counters and
//! every code's consumption details, filtered, sorted and KEYSET-paged with
//! an opaque cursor (indexes `codes_*` make a page an index range scan), and
//! the same rows streamed as CSV.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use licensedesk_core::codes::{CodeStatus, Counters, StatusFilter, code_status};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
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
/// The status `q` filters on, if any.
fn status_filter(q: &LicenseQuery) -> Result<Option<StatusFilter>> {
    match q.status.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => StatusFilter::parse(s)
            .map(Some)
            .map_err(|e| Error::Invalid(e.to_string())),
    }
}

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
    match status_filter(q)? {
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
/// filtered set. A window's ids come from one index-ordered scan (an
/// index-only scan when the filter is on the sort's index), then only its
/// own rows are read and joined. The scan starts at the row the set's
/// [`Marks`] place nearest before `offset` when there are marks (a seek,
/// then fewer than [`MARK_EVERY`] entries skipped), else at the set's
/// first row (skipping `offset` entries: ~15 ms at 900,000 here).
pub fn window(
    cache: &Cache,
    q: &LicenseQuery,
    offset: u64,
    count: bool,
    now: DateTime<Utc>,
) -> Result<LicenseWindow> {
    window_with(cache, q, offset, count, now, MARK_EVERY)
}

/// Positions of the filtered, sorted set apart between two marks.
const MARK_EVERY: u64 = 512;

/// The name the marks are kept under in the cache ([`Cache::derived`]).
const MARKS: &str = "licenses.marks";

/// What a set of marks is of: the filter (its SQL and arguments) and the
/// order.
#[derive(Debug, Clone, PartialEq)]
struct SetKey {
    filter: String,
    args: Vec<Value>,
    sort: LicenseSort,
    desc: bool,
}

impl SetKey {
    /// The set of `q` at `now`.
    #[cfg(test)]
    fn of(q: &LicenseQuery, now: DateTime<Utc>) -> Result<Option<Self>> {
        let mut args = Vec::new();
        let filter = filter(q, now, &mut args)?;
        Self::with(q, &filter, &args)
    }

    /// The set of `q`, whose rows are those of `filter` with `args`, when
    /// they do not depend on the time (a status of active or expired, or an
    /// expiry window, moves with `now`: such a set gets no marks).
    fn with(q: &LicenseQuery, filter: &str, args: &[Value]) -> Result<Option<Self>> {
        if q.expiring_within_days.is_some()
            || matches!(status_filter(q)?, Some(StatusFilter::Is(s)) if s != CodeStatus::Unused)
        {
            return Ok(None);
        }
        Ok(Some(Self {
            filter: filter.to_owned(),
            args: args.to_vec(),
            sort: q.sort,
            desc: q.desc,
        }))
    }
}

/// `ORDER BY` of a set sorted by `sort`.
fn order_by(sort: LicenseSort, desc: bool) -> String {
    let dir = if desc { "DESC" } else { "ASC" };
    if sort == LicenseSort::Id {
        format!("c.id {dir}")
    } else {
        format!("{} {dir}, c.id {dir}", sort.column())
    }
}

/// The condition "at or after (`from`), or strictly after, the row of
/// sort key `?first` and id `?first + 1`" in the order of `sort`.
fn seek(sort: LicenseSort, desc: bool, from: bool, first: usize) -> String {
    let cmp = match (desc, from) {
        (false, true) => ">=",
        (false, false) => ">",
        (true, true) => "<=",
        (true, false) => "<",
    };
    let id = first + 1;
    if sort == LicenseSort::Id {
        // The id is the key (`?first`, the same, is not read).
        format!(" AND c.id {cmp} ?{id}")
    } else {
        format!(" AND ({}, c.id) {cmp} (?{first}, ?{id})", sort.column())
    }
}

/// Marks of a filtered, sorted set: the sort key and id of the rows at
/// positions `every`, 2 × `every`, … (`at[j]` is at `(j + 1) × every`).
/// Read in the background for the rows of one generation of the cache
/// ([`Cache::derived`]) and dropped by the next write, so a window far
/// into a long set is a seek and a short skip, not a walk from its top.
#[derive(Debug)]
struct Marks {
    of: SetKey,
    every: u64,
    at: Vec<(Value, i64)>,
}

impl Marks {
    /// Reads the marks of `set` in one pass over it (each mark a skip of
    /// `every` entries from the one before, inside SQLite).
    fn read(c: &Connection, set: SetKey, every: u64) -> Result<Self> {
        let order = order_by(set.sort, set.desc);
        let col = if set.sort == LicenseSort::Id {
            "c.id"
        } else {
            set.sort.column()
        };
        let n = set.args.len();
        let first = format!(
            "SELECT {col}, c.id FROM codes c{} ORDER BY {order} LIMIT 1 OFFSET {every}",
            set.filter
        );
        let next = format!(
            "SELECT {col}, c.id FROM codes c{}{} ORDER BY {order} LIMIT 1 OFFSET {}",
            set.filter,
            seek(set.sort, set.desc, false, n + 1),
            every - 1
        );
        let mut at: Vec<(Value, i64)> = Vec::new();
        loop {
            let mut args = set.args.clone();
            let sql = match at.last() {
                None => &first,
                Some((k, id)) => {
                    args.push(k.clone());
                    args.push(Value::Integer(*id));
                    &next
                }
            };
            let mark = c
                .prepare_cached(sql)?
                .query_row(params_from_iter(args), |r| {
                    Ok((r.get::<_, Value>(0)?, r.get(1)?))
                })
                .optional()?;
            match mark {
                Some(m) => at.push(m),
                None => break,
            }
        }
        Ok(Self { of: set, every, at })
    }

    /// The mark at or before position `offset`: (its position, key, id).
    fn before(&self, offset: u64) -> Option<(u64, &Value, i64)> {
        let j = usize::try_from(offset / self.every)
            .ok()?
            .min(self.at.len());
        let (k, id) = self.at.get(j.checked_sub(1)?)?;
        Some((j as u64 * self.every, k, *id))
    }
}

/// Whether marks are being read (one set at a time in the process: a
/// read is a pass over the whole set).
static MARKING: AtomicBool = AtomicBool::new(false);

/// Reads the marks of `set` on a connection of its own, in the background,
/// unless marks are being read already (the next window far into the set
/// asks again) or the rows moved since `generation`.
fn mark_in_background(cache: &Cache, set: SetKey, generation: u64, every: u64) {
    if MARKING.swap(true, Ordering::SeqCst) {
        return;
    }
    /// Lets the next set be marked when this read ends, however it ends.
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            MARKING.store(false, Ordering::SeqCst);
        }
    }
    let cache = cache.clone();
    std::thread::spawn(move || {
        let _done = Done;
        let _ = cache.read_versioned_alone(|c, at| {
            if at == Some(generation) {
                let marks = Marks::read(c, set, every)?;
                cache.keep_derived(MARKS, generation, std::sync::Arc::new(marks));
            }
            Ok(())
        });
    });
}

/// [`window`] with marks `every` positions apart.
fn window_with(
    cache: &Cache,
    q: &LicenseQuery,
    offset: u64,
    count: bool,
    now: DateTime<Utc>,
    every: u64,
) -> Result<LicenseWindow> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let mut args = Vec::new();
    let mut filter = filter(q, now, &mut args)?;
    let set = SetKey::with(q, &filter, &args)?;
    let set = set.as_ref();
    let (window, mark) = cache.read_versioned(|c, generation| {
        let (dc, counters) = head(c)?;
        let order = order_by(q.sort, q.desc);
        let marks = generation
            .zip(set)
            .and_then(|(g, set)| cache.derived::<Marks>(MARKS, g).filter(|m| m.of == *set && m.every == every));
        let mut skip = offset;
        if let Some((at, k, id)) = marks.as_deref().and_then(|m| m.before(offset)) {
            filter.push_str(&seek(q.sort, q.desc, true, args.len() + 1));
            args.push(k.clone());
            args.push(Value::Integer(id));
            skip = offset - at;
        }
        args.push(Value::Integer(i64::try_from(skip).unwrap_or(i64::MAX)));
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
        let n = count.then(|| count_rows(c, q, now)).transpose()?;
        // A long set without marks gets them, for the next windows far
        // into it.
        let mark = match (generation, set) {
            (Some(g), Some(set))
                if marks.is_none()
                    && (offset >= 4 * every || n.is_some_and(|n| n >= 4 * every)) =>
            {
                Some((g, set.clone()))
            }
            _ => None,
        };
        Ok((
            LicenseWindow {
                data_center: dc,
                total: counters.total(),
                used: counters.used(),
                remaining: counters.remaining(),
                count: n,
                offset,
                rows,
            },
            mark,
        ))
    })?;
    if let Some((generation, set)) = mark {
        mark_in_background(cache, set, generation, every);
    }
    Ok(window)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration as Wait, Instant};

    use rusqlite::params;

    use super::*;

    const ROWS: i64 = 3_000;

    /// A cache of ROWS codes whose sort keys repeat a lot (a third unused,
    /// all of them `consumed_at = ''`; 40 distinct consumption and expiry
    /// times), over three products and the unassigned pool, half of the
    /// consumed ones on a device.
    fn cache(dir: &std::path::Path) -> Cache {
        let cache = Cache::open(&dir.join("c.sqlite3")).expect("cache");
        cache
            .write(|tx| {
                tx.execute_batch(
                    "INSERT INTO account (id, name, kind, data_center) VALUES (1, 'a', 'enterprise', 'dc');
                     INSERT INTO products (id, pk, name) VALUES (1, 'pa', 'A'), (2, 'pb', 'B'), (3, 'pc', 'C');
                     INSERT INTO batches (id, kind, quantity) VALUES (1, 'purchase', 3000);",
                )?;
                let mut code = tx.prepare(
                    "INSERT INTO codes (id, code, batch_id, product_id, device_id, consumed_at, expires_at)
                     VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)",
                )?;
                let mut device =
                    tx.prepare("INSERT INTO devices (id, pk, dk, status) VALUES (?1, 'pa', ?2, 'active')")?;
                for i in 1..=ROWS {
                    // Ids not in code order, nor in time order.
                    let id = (i * 7_919) % 10_007;
                    let product = (i % 4 != 0).then_some(i % 4);
                    let consumed = i % 3 != 0;
                    let at = |d: i64| format!("2026-{:02}-{:02}T00:00:00.000000Z", 1 + d % 12, 1 + d % 28);
                    let dev = (consumed && i % 2 == 0).then_some(id);
                    if let Some(d) = dev {
                        device.execute(params![d, format!("dev-{:05}", i % 97)])?;
                    }
                    code.execute(params![
                        id,
                        format!("CODE-{:05}", (i * 31) % 4_001),
                        product,
                        dev,
                        if consumed { at(i % 40) } else { String::new() },
                        if consumed { at(i % 37 + 1) } else { String::new() },
                    ])?;
                }
                Ok(())
            })
            .expect("rows");
        cache
    }

    fn codes(w: &LicenseWindow) -> Vec<&str> {
        w.rows.iter().map(|r| r.code.as_str()).collect()
    }

    /// Asks for the marks of `q` (its first window) until they are kept
    /// (read in the background, one set at a time: the tests run together).
    fn marked(cache: &Cache, q: &LicenseQuery, now: DateTime<Utc>, every: u64) -> Arc<Marks> {
        let set = SetKey::of(q, now).expect("set").expect("a set with marks");
        let end = Instant::now() + Wait::from_secs(20);
        loop {
            window_with(cache, q, 0, true, now, every).expect("window");
            let found = cache
                .read_versioned(|_, g| Ok(g.and_then(|g| cache.derived::<Marks>(MARKS, g))))
                .expect("read");
            if let Some(m) = found.filter(|m| m.of == set && m.every == every) {
                return m;
            }
            assert!(Instant::now() < end, "no marks for {q:?}");
            std::thread::sleep(Wait::from_millis(5));
        }
    }

    /// A window read from the marks holds the rows the walk from the top
    /// holds, for every sort and every filter that gets marks, at offsets
    /// on and beside the marks, at the last row and past the end.
    #[test]
    fn a_window_from_the_marks_is_the_window_from_the_top() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = cache(dir.path());
        let now = Utc::now();
        const EVERY: u64 = 7;
        let filters = [
            LicenseQuery::default(),
            LicenseQuery {
                pk: Some("pa".into()),
                ..Default::default()
            },
            LicenseQuery {
                status: Some("unused".into()),
                ..Default::default()
            },
            LicenseQuery {
                status: Some("used".into()),
                pk: Some("pb".into()),
                ..Default::default()
            },
            LicenseQuery {
                search: Some("dev-0001".into()),
                ..Default::default()
            },
            LicenseQuery {
                search: Some("CODE-01".into()),
                status: Some("remaining".into()),
                ..Default::default()
            },
        ];
        let mut checked = 0;
        for base in filters {
            for sort in [
                LicenseSort::Id,
                LicenseSort::Code,
                LicenseSort::Batch,
                LicenseSort::ConsumedAt,
                LicenseSort::ExpiresAt,
            ] {
                for desc in [false, true] {
                    let q = LicenseQuery {
                        sort,
                        desc,
                        limit: Some(23),
                        ..base.clone()
                    };
                    // Marks very far apart: never read, every window from the top.
                    let first =
                        window_with(&cache, &q, 0, true, now, u64::MAX / 8).expect("window");
                    let n = first.count.expect("count");
                    assert!(n > 4 * EVERY, "{n} rows: {q:?}");
                    // The first window of the set asks for its marks.
                    let marks = marked(&cache, &q, now, EVERY);
                    assert_eq!(marks.at.len() as u64, (n - 1) / EVERY, "{q:?}");
                    for offset in [
                        1,
                        EVERY - 1,
                        EVERY,
                        EVERY + 1,
                        3 * EVERY + 5,
                        n / 2,
                        n - 23,
                        n - 1,
                        n,
                        n + 5,
                    ] {
                        let walked = window_with(&cache, &q, offset, false, now, u64::MAX / 8)
                            .expect("walk");
                        let sought =
                            window_with(&cache, &q, offset, false, now, EVERY).expect("seek");
                        assert_eq!(codes(&sought), codes(&walked), "{q:?} at {offset}");
                        assert_eq!(
                            walked.rows.len() as u64,
                            23.min(n.saturating_sub(offset)),
                            "{q:?} at {offset}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 5 * 2 * 10);
    }

    /// A write drops the marks: a window after it is read from the top
    /// (the rows moved), then from the new marks.
    #[test]
    fn marks_are_not_read_after_a_write() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = cache(dir.path());
        let now = Utc::now();
        let q = LicenseQuery {
            sort: LicenseSort::ConsumedAt,
            desc: true,
            limit: Some(10),
            ..Default::default()
        };
        let before = marked(&cache, &q, now, 7);
        // Codes consumed later than all others: at the top, every row moves down.
        cache
            .write(|tx| {
                tx.execute(
                    "UPDATE codes SET consumed_at = '2027-01-01T00:00:00.000000Z', expires_at = '2028-01-01T00:00:00.000000Z'
                     WHERE id IN (SELECT id FROM codes WHERE consumed_at = '' LIMIT 5)",
                    [],
                )?;
                Ok(())
            })
            .expect("write");
        let after_write = window_with(&cache, &q, 700, false, now, 7).expect("window");
        let walked = window_with(&cache, &q, 700, false, now, u64::MAX / 8).expect("walk");
        assert_eq!(codes(&after_write), codes(&walked));
        let after = marked(&cache, &q, now, 7);
        assert!(!Arc::ptr_eq(&before, &after));
        assert_ne!(
            before.at[0], after.at[0],
            "the new marks are of the moved rows"
        );
        let sought = window_with(&cache, &q, 700, false, now, 7).expect("window");
        assert_eq!(codes(&sought), codes(&walked));
    }

    /// A set that moves with the time (a status of active or expired, an
    /// expiry window) gets no marks.
    #[test]
    fn a_set_of_the_time_gets_no_marks() {
        let now = Utc::now();
        for q in [
            LicenseQuery {
                status: Some("active".into()),
                ..Default::default()
            },
            LicenseQuery {
                status: Some("expired".into()),
                ..Default::default()
            },
            LicenseQuery {
                expiring_within_days: Some(30),
                ..Default::default()
            },
        ] {
            assert_eq!(SetKey::of(&q, now).expect("set"), None, "{q:?}");
        }
    }

    /// A far window is an index seek, not a walk from the top, for the
    /// sorts the table offers.
    #[test]
    fn a_far_window_seeks_the_sort_index() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = cache(dir.path());
        for (sort, index) in [
            (LicenseSort::ConsumedAt, "codes_consumed"),
            (LicenseSort::ExpiresAt, "codes_expires"),
            (LicenseSort::Code, "codes_code"),
        ] {
            for desc in [false, true] {
                let sql = format!(
                    "EXPLAIN QUERY PLAN SELECT c.id FROM codes c WHERE 1{} ORDER BY {} LIMIT 10 OFFSET 5",
                    seek(sort, desc, true, 1),
                    order_by(sort, desc)
                );
                let plan: Vec<String> = cache
                    .read(|c| {
                        Ok(c.prepare(&sql)?
                            .query_map(params!["2026-01-01", 5], |r| r.get(3))?
                            .collect::<rusqlite::Result<_>>()?)
                    })
                    .expect("plan");
                assert!(
                    plan.iter()
                        .any(|p| p.contains(&format!("SEARCH c USING COVERING INDEX {index} ("))),
                    "{sort:?} {desc}: {plan:?}"
                );
                assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
            }
        }
    }
}

//! The change feed's rows: every mutation writes its `changes` row in the
//! same transaction ([`record`]), so the feed is exactly the history of
//! committed writes; a client pages through it ([`page`]) or, when fresh,
//! takes the snapshot ([`snapshot_page`]) first.

use std::time::Duration;

use chrono::{DateTime, Utc};
pub use licensedesk_protocol::feed::{Change, Op, Record};
pub use licensedesk_protocol::snapshot::{SnapshotCode, SnapshotDevice};
use serde_json::value::RawValue;

use crate::db::{Conn, Engine, Row};
use crate::error::{ApiError, Result};
use crate::store::{Store, read};

/// A place in an account's change feed, just after one change.
///
/// On SQLite one writer commits one transaction at a time, so `seq` (a
/// rowid) grows in commit order and a position is a `seq`. PostgreSQL
/// assigns `seq` before the commit, so a change with a lower `seq` may
/// commit after a higher one was read: there the feed is read in the order
/// of the writing transaction's id, then `seq` (`txid`, `seq`), and only as
/// far as the oldest transaction still running (`pg_snapshot_xmin`): every
/// change after a position returned is then one that commits later, never
/// one left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// The writing transaction's id (PostgreSQL; 0 on SQLite).
    pub txid: i64,
    pub seq: i64,
}

impl Position {
    /// The position as a cursor carries it: `{seq}` on SQLite,
    /// `{txid}:{seq}` on PostgreSQL.
    pub fn text(self, engine: Engine) -> String {
        match engine {
            Engine::Sqlite => self.seq.to_string(),
            Engine::Postgres => format!("{}:{}", self.txid, self.seq),
        }
    }

    /// [`Position::text`] read back (non-negative numbers only).
    pub fn parse(s: &str, engine: Engine) -> Option<Self> {
        let num = |p: &str| {
            p.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0 && !p.starts_with('+'))
        };
        match engine {
            Engine::Sqlite => Some(Self {
                txid: 0,
                seq: num(s)?,
            }),
            Engine::Postgres => {
                let (t, q) = s.split_once(':')?;
                Some(Self {
                    txid: num(t)?,
                    seq: num(q)?,
                })
            }
        }
    }
}

/// The oldest transaction still running, as PostgreSQL's snapshot of the
/// reading transaction sees it (`pg_snapshot_xmin`): every change of a
/// lower `txid` is committed (or gone).
///
/// A snapshot lists the running transactions of the whole cluster; one of
/// another database can never write this one's changes, so it is left
/// out when `pg_stat_activity` places it there (a long transaction of
/// another application on the same cluster, or another test's database,
/// would otherwise hold every client's feed back). A transaction not found
/// there (ended since, or of a role whose sessions this one may not see)
/// still counts: the horizon only ever errs low. `backend_xid` is the
/// 32-bit form of the snapshot's 64-bit ids.
const PG_HORIZON: &str = "COALESCE(
    (SELECT MIN(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE NOT EXISTS (
        SELECT 1 FROM pg_stat_activity a
         WHERE a.datname IS DISTINCT FROM current_database() AND a.datid IS NOT NULL
           AND a.backend_xid::text::bigint = x::text::bigint % 4294967296)),
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint)";

/// Appends `record` to `account_id`'s feed; call inside the transaction
/// that makes the change. The entity, its id and the operation are the
/// record's; its payload is stored as the JSON it serializes to.
pub async fn record(
    c: &impl Conn,
    account_id: i64,
    at: DateTime<Utc>,
    record: &Record<'_>,
) -> Result<()> {
    c.exec(
        "INSERT INTO changes (account_id, entity, entity_id, op, at, data) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &account_id,
            &record.entity().as_str(),
            &record.id(),
            &record.op().as_str(),
            &crate::time::stored(at),
            &record.data()?,
        ],
    )
    .await?;
    Ok(())
}

const CHANGE_COLS: &str = "seq, entity, entity_id, op, at, data";

fn change(r: &Row<'_>) -> Result<Change> {
    Ok(Change {
        seq: r.i64(0)?,
        entity: serde_json::from_value(serde_json::Value::String(r.string(1)?))?,
        id: r.string(2)?,
        op: serde_json::from_value(serde_json::Value::String(r.string(3)?))?,
        at: licensedesk_protocol::instant(r.time(4)?).to_string(),
        // Sent as stored: [`record`] wrote it with `serde_json`, so it is
        // passed through without being parsed into a value and printed again.
        data: r.opt_string(5)?.map(RawValue::from_string).transpose()?,
    })
}

/// The last `seq` of the whole feed (0 when empty).
pub async fn end(c: &impl Conn) -> Result<i64> {
    c.one(
        "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM changes",
        &[],
        |r| r.i64(0),
    )
    .await
}

/// Refuses a position past the end of this database's change feed. Every
/// position this server hands out is a `seq` it had already written, and
/// the feed only grows, so a position past its end means the database was
/// put back to an older state of itself (a file restored from a backup,
/// same instance id): the client's mirror holds changes this database no
/// longer has, and reading on from there would skip the changes written
/// since under the same numbers. CURSOR_INVALID makes the client start over.
///
/// (Once the restored database has written past the cursor again, this no
/// longer shows; `licensedesk-server restore` gives a restored database a
/// new instance id, which does.)
pub async fn check_not_ahead(c: &impl Conn, position: i64, cursor: &str) -> Result<()> {
    if position > end(c).await? {
        return Err(ApiError::invalid(
            "CURSOR_INVALID",
            format!(
                "cursor {cursor:?} is past the end of this server's change feed (its data was restored from an older backup); start again from the beginning"
            ),
        ));
    }
    Ok(())
}

/// Up to `limit` changes of `account` after `since`, and one more when
/// there are (so the caller knows more remain), each with its position;
/// and whether committed changes of the account wait behind the horizon
/// (PostgreSQL: an older transaction still running).
/// The end is read first: the feed only grows, so an end read before the
/// page is never past it.
async fn page_in(
    c: &impl Conn,
    account: i64,
    since: Position,
    limit: i64,
    cursor: &str,
) -> Result<(Vec<(Change, Position)>, bool)> {
    check_not_ahead(c, since.seq, cursor).await?;
    let rows = page_rows(c, account, since, limit).await?;
    let held_back = c.engine() == Engine::Postgres
        && rows.len() as i64 <= limit
        && c.one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM changes WHERE account_id = $1 AND txid >= {PG_HORIZON})"
            ),
            &[&account],
            |r| r.bool(0),
        )
        .await?;
    Ok((rows, held_back))
}

async fn page_rows(
    c: &impl Conn,
    account: i64,
    since: Position,
    limit: i64,
) -> Result<Vec<(Change, Position)>> {
    match c.engine() {
        Engine::Sqlite => {
            c.query(
                &format!(
                    "SELECT {CHANGE_COLS} FROM changes WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                ),
                &[&account, &since.seq, &(limit + 1)],
                |r| {
                    let ch = change(r)?;
                    let at = Position { txid: 0, seq: ch.seq };
                    Ok((ch, at))
                },
            )
            .await
        }
        Engine::Postgres => {
            c.query(
                &format!(
                    "SELECT {CHANGE_COLS}, txid FROM changes WHERE account_id = $1 AND (txid, seq) > ($2, $3)
                     AND txid < {PG_HORIZON} ORDER BY txid, seq LIMIT $4"
                ),
                &[&account, &since.txid, &since.seq, &(limit + 1)],
                |r| {
                    let ch = change(r)?;
                    let at = Position {
                        txid: r.i64(6)?,
                        seq: ch.seq,
                    };
                    Ok((ch, at))
                },
            )
            .await
        }
    }
}

/// The `changes` section of the snapshot: the terms on `entity` are those
/// of the partial index `changes_account_rest` (migration 7), written the
/// same way, so that SQLite reads that index and never a code or device
/// change.
pub const REST_CHANGES_SQL: &str = "SELECT seq, entity, entity_id, op, at, data FROM changes
     WHERE account_id = $1 AND seq > $2 AND seq <= $3 AND entity != 'code' AND entity != 'device'
     ORDER BY seq LIMIT $4";

/// The `changes` section on PostgreSQL: the changes of the transactions
/// finished before the pin ([`Position::txid`]), by `seq`.
const PG_REST_CHANGES_SQL: &str = "SELECT seq, entity, entity_id, op, at, data FROM changes
     WHERE account_id = $1 AND seq > $2 AND txid < $3 AND entity != 'code' AND entity != 'device'
     ORDER BY seq LIMIT $4";

/// The `codes` section's query (index `codes_account`).
pub const CODES_SQL: &str =
    "SELECT id, code, batch_id, product_id, device_id, consumed_at, expires_at FROM codes
     WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3";

/// The `devices` section's query (index `devices_account`).
pub const DEVICES_SQL: &str = "SELECT d.id, p.pk, d.dk, d.hardware_id, d.status, d.online, d.offline_reason, d.activated_at, d.expires_at
     FROM devices d JOIN products p ON p.id = d.product_id
     WHERE d.account_id = $1 AND d.id > $2 ORDER BY d.id LIMIT $3";

/// The snapshot's three sections, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Changes,
    Codes,
    Devices,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Self::Changes => "changes",
            Self::Codes => "codes",
            Self::Devices => "devices",
        }
    }

    pub fn next(self) -> Option<Self> {
        match self {
            Self::Changes => Some(Self::Codes),
            Self::Codes => Some(Self::Devices),
            Self::Devices => None,
        }
    }
}

/// Where a snapshot page starts: the pin, the section and the last key
/// read in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotAt {
    pub upto: Position,
    pub section: Section,
    pub last: i64,
}

/// One snapshot page's rows.
#[derive(Debug, Default)]
pub struct SnapshotRows {
    pub changes: Vec<Change>,
    pub codes: Vec<SnapshotCode>,
    pub devices: Vec<SnapshotDevice>,
}

/// A snapshot page: its rows, where the next starts, whether rows remain,
/// and (first page only) the count of the whole snapshot.
#[derive(Debug)]
pub struct SnapshotPage {
    pub rows: SnapshotRows,
    pub next: SnapshotAt,
    pub has_more: bool,
    pub total: Option<u64>,
}

/// Rows of a snapshot pinned at `upto` (index counts).
async fn count(c: &impl Conn, account: i64, upto: Position) -> Result<u64> {
    let changes = match c.engine() {
        Engine::Sqlite => "seq <= $2",
        Engine::Postgres => "txid < $2",
    };
    let bound = match c.engine() {
        Engine::Sqlite => upto.seq,
        Engine::Postgres => upto.txid,
    };
    c.one(
        &format!(
            "SELECT (SELECT COUNT(*) FROM changes WHERE account_id = $1 AND {changes} AND entity != 'code' AND entity != 'device')
                  + (SELECT COUNT(*) FROM codes WHERE account_id = $1)
                  + (SELECT COUNT(*) FROM devices WHERE account_id = $1)"
        ),
        &[&account, &bound],
        |r| r.u64(0),
    )
    .await
}

/// Where a new snapshot is pinned: after the account's last change
/// (SQLite), or before the oldest transaction still running (PostgreSQL:
/// every change of an older transaction is in the snapshot, every other
/// one comes after the pin in the feed).
async fn pin(c: &impl Conn, account: i64) -> Result<Position> {
    match c.engine() {
        Engine::Sqlite => Ok(Position {
            txid: 0,
            seq: c
                .one(
                    "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM changes WHERE account_id = $1",
                    &[&account],
                    |r| r.i64(0),
                )
                .await?,
        }),
        Engine::Postgres => Ok(Position {
            txid: c
                .one(&format!("SELECT {PG_HORIZON}"), &[], |r| r.i64(0))
                .await?,
            seq: 0,
        }),
    }
}

fn code_row(r: &Row<'_>) -> Result<SnapshotCode> {
    Ok(SnapshotCode {
        id: r.i64(0)?,
        code: r.string(1)?,
        batch_id: r.i64(2)?,
        product_id: r.opt_i64(3)?,
        device_id: r.opt_i64(4)?,
        consumed_at: r.opt_string(5)?,
        expires_at: r.opt_string(6)?,
    })
}

fn device_row(r: &Row<'_>) -> Result<SnapshotDevice> {
    Ok(SnapshotDevice {
        id: r.i64(0)?,
        pk: r.string(1)?,
        dk: r.string(2)?,
        hardware_id: r.opt_string(3)?,
        status: r.string(4)?,
        online: r.bool(5)?,
        offline_reason: r.opt_string(6)?,
        activated_at: r.opt_string(7)?,
        expires_at: r.opt_string(8)?,
    })
}

/// Up to `limit` rows from `start` on (a new snapshot pinned at the
/// account's last change when `start` is `None`), across sections.
async fn snapshot_in(
    c: &impl Conn,
    account: i64,
    start: Option<SnapshotAt>,
    limit: i64,
    cursor: &str,
) -> Result<SnapshotPage> {
    let (mut at, total) = match start {
        Some(s) => {
            check_not_ahead(c, s.upto.seq, cursor).await?;
            (s, None)
        }
        None => {
            let upto = pin(c, account).await?;
            let first = SnapshotAt {
                upto,
                section: Section::Changes,
                last: 0,
            };
            (first, Some(count(c, account, upto).await?))
        }
    };
    let mut rows = SnapshotRows::default();
    let mut room = limit;
    loop {
        // One row more than there is room for says whether the section
        // goes on.
        let (n, last) = match at.section {
            Section::Changes => {
                let (sql, bound) = match c.engine() {
                    Engine::Sqlite => (REST_CHANGES_SQL, at.upto.seq),
                    Engine::Postgres => (PG_REST_CHANGES_SQL, at.upto.txid),
                };
                let mut got = c
                    .query(sql, &[&account, &at.last, &bound, &(room + 1)], change)
                    .await?;
                let n = got.len() as i64;
                got.truncate(room as usize);
                let last = got.last().map(|r| r.seq);
                rows.changes.append(&mut got);
                (n, last)
            }
            Section::Codes => {
                let mut got = c
                    .query(CODES_SQL, &[&account, &at.last, &(room + 1)], code_row)
                    .await?;
                let n = got.len() as i64;
                got.truncate(room as usize);
                let last = got.last().map(|r| r.id);
                rows.codes.append(&mut got);
                (n, last)
            }
            Section::Devices => {
                let mut got = c
                    .query(DEVICES_SQL, &[&account, &at.last, &(room + 1)], device_row)
                    .await?;
                let n = got.len() as i64;
                got.truncate(room as usize);
                let last = got.last().map(|r| r.id);
                rows.devices.append(&mut got);
                (n, last)
            }
        };
        if let Some(last) = last {
            at.last = last;
        }
        if n > room {
            return Ok(SnapshotPage {
                rows,
                next: at,
                has_more: true,
                total,
            });
        }
        room -= n;
        match at.section.next() {
            Some(section) => {
                at.section = section;
                at.last = 0;
            }
            None => {
                return Ok(SnapshotPage {
                    rows,
                    next: at,
                    has_more: false,
                    total,
                });
            }
        }
    }
}

/// Reads of a feed page held back by the horizon before it is answered
/// as it is (5 + 10 + … ms, about a second in all).
const HORIZON_WAITS: u32 = 13;

impl Store {
    /// A page of `account`'s change feed after `since` (`cursor` is how the
    /// client named it, for the error), with one change more than `limit`
    /// when more remain.
    pub async fn changes(
        &self,
        account: i64,
        since: Position,
        limit: i64,
        cursor: String,
    ) -> Result<Vec<(Change, Position)>> {
        // A change committed behind an older transaction still running
        // (PostgreSQL) is not served until that one ends; a client that
        // just wrote expects to read its write, so the read waits for the
        // horizon a little (it is usually a matter of milliseconds) before
        // answering without it (the next poll has it).
        let mut wait = Duration::from_millis(5);
        for tries_left in (0..=HORIZON_WAITS).rev() {
            let cursor = cursor.clone();
            let (rows, held_back) = read!(self, [cursor], |c| page_in(
                c, account, since, limit, &cursor
            ))
            .await?;
            if !held_back || tries_left == 0 {
                return Ok(rows);
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(100));
        }
        unreachable!("the last try answers")
    }

    /// A page of `account`'s snapshot from `start` (a new one when `None`),
    /// read in one read transaction.
    pub async fn snapshot(
        &self,
        account: i64,
        start: Option<SnapshotAt>,
        limit: i64,
        cursor: String,
    ) -> Result<SnapshotPage> {
        read!(self, [cursor], |c| snapshot_in(
            c, account, start, limit, &cursor
        ))
        .await
    }
}

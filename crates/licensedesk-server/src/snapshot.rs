//! The snapshot: a fresh client's first sync. Instead of the whole change
//! feed (three changes per consumption record: the code's insert, its
//! device's insert, the code's consumption), `GET /v1/snapshot` pages
//! through the account's current state, in three sections, each keyset
//! paged:
//!
//! 1. `changes`: the feed's changes up to `upto` that are about neither a
//!    code nor a device (account, products, batches, usage, and what the
//!    client skips), as the feed sends them;
//! 2. `codes`: every code of the account as a full row, by id;
//! 3. `devices`: every device of the account as a full row, by id.
//!
//! The first page pins `upto`, the account's last feed `seq`; the client
//! then continues with the feed from `c{upto}`. Pages are read at different
//! times, so a row may already show changes made after `upto`; the feed
//! replays every one of those on top, and the client's apply of each change
//! is absolute and idempotent (an insert upserts, an update or delete of a
//! missing row does nothing), so the cache converges to the server's state.

use axum::extract::State;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::extract::{Json, Query};
use crate::auth::Caller;
use crate::changes::{Change, read_changes};
use crate::error::{ApiError, Result};

/// Default page size (rows of all sections together).
pub const DEFAULT_LIMIT: u32 = 2000;
/// Largest page size.
pub const MAX_LIMIT: u32 = 5000;

/// The `changes` section's query: the terms on `entity` are those of the
/// partial index `changes_account_rest` (migration 7), written the same
/// way, so that SQLite reads that index and never a code or device change.
pub const REST_CHANGES_SQL: &str = "SELECT seq, entity, entity_id, op, at, data FROM changes
     WHERE account_id = ?1 AND seq > ?2 AND seq <= ?3 AND entity != 'code' AND entity != 'device'
     ORDER BY seq LIMIT ?4";

/// The `codes` section's query (index `codes_account`).
pub const CODES_SQL: &str =
    "SELECT id, code, batch_id, product_id, device_id, consumed_at, expires_at FROM codes
     WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3";

/// The `devices` section's query (index `devices_account`).
pub const DEVICES_SQL: &str = "SELECT d.id, p.pk, d.dk, d.hardware_id, d.status, d.online, d.offline_reason, d.activated_at, d.expires_at
     FROM devices d JOIN products p ON p.id = d.product_id
     WHERE d.account_id = ?1 AND d.id > ?2 ORDER BY d.id LIMIT ?3";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// Cursor returned as `next` by the previous page; absent = start a
    /// new snapshot (pinned at the account's current last change).
    pub cursor: Option<String>,
    /// Rows per page (all sections together), 1..=5000 (default 2000).
    pub limit: Option<u32>,
}

/// A code as it is now. Times are RFC 3339 UTC with microseconds.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SnapshotCode {
    pub id: i64,
    pub code: String,
    pub batch_id: i64,
    /// `null` = unassigned.
    pub product_id: Option<i64>,
    /// The device that consumed it (`null` = unconsumed).
    pub device_id: Option<i64>,
    #[schema(format = DateTime)]
    pub consumed_at: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// A device as it is now: the fields of the feed's device rows.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SnapshotDevice {
    pub id: i64,
    pub pk: String,
    pub dk: String,
    pub hardware_id: Option<String>,
    pub status: String,
    pub online: bool,
    pub offline_reason: Option<String>,
    #[schema(format = DateTime)]
    pub activated_at: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SnapshotPage {
    /// Feed changes up to `upto` about neither a code nor a device, in
    /// `seq` order (first section).
    pub changes: Vec<Change>,
    /// Codes by id (second section).
    pub codes: Vec<SnapshotCode>,
    /// Devices by id (third section).
    pub devices: Vec<SnapshotDevice>,
    /// Opaque cursor of the next page (pass as `cursor`).
    pub next: String,
    /// `false` on the last page: continue with the change feed from `upto`.
    pub has_more: bool,
    /// The change-feed cursor the snapshot is complete up to (`since` of
    /// the feed once the last page is applied).
    pub upto: String,
    /// Rows of the whole snapshot, counted when its first page was read
    /// (first page only; rows written since may make it a bit more).
    pub total: Option<u64>,
    /// The server's time, signed (for the client's clock guard).
    #[schema(value_type = Object)]
    pub server_time: serde_json::Value,
}

/// The three sections, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Changes,
    Codes,
    Devices,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Self::Changes => "changes",
            Self::Codes => "codes",
            Self::Devices => "devices",
        }
    }

    fn next(self) -> Option<Self> {
        match self {
            Self::Changes => Some(Self::Codes),
            Self::Codes => Some(Self::Devices),
            Self::Devices => None,
        }
    }
}

/// Where a page starts: `s{upto}.{section}.{last key read}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    upto: i64,
    section: Section,
    last: i64,
}

impl Cursor {
    fn parse(s: &str) -> Result<Self> {
        let invalid = || {
            ApiError::invalid(
                "CURSOR_INVALID",
                format!(
                    "snapshot cursor {s:?} is not one this server returned; start again without `cursor`"
                ),
            )
        };
        let rest = s.strip_prefix('s').ok_or_else(invalid)?;
        let mut parts = rest.split('.');
        let (Some(upto), Some(section), Some(last), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let num = |p: &str| {
            p.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0 && !p.starts_with('+'))
                .ok_or_else(invalid)
        };
        let section = match section {
            "changes" => Section::Changes,
            "codes" => Section::Codes,
            "devices" => Section::Devices,
            _ => return Err(invalid()),
        };
        Ok(Self {
            upto: num(upto)?,
            section,
            last: num(last)?,
        })
    }

    fn format(self) -> String {
        format!("s{}.{}.{}", self.upto, self.section.name(), self.last)
    }
}

/// One page's rows.
#[derive(Default)]
struct Rows {
    changes: Vec<Change>,
    codes: Vec<SnapshotCode>,
    devices: Vec<SnapshotDevice>,
}

/// The account's current state in pages: its non-bulk changes, codes and
/// devices (see the module doc). Start without `cursor`; continue with
/// `next` while `has_more`; then follow the change feed from `upto`.
#[utoipa::path(get, path = "/v1/snapshot", tag = "sync", params(SnapshotQuery),
    responses((status = 200, body = SnapshotPage), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SnapshotQuery>,
) -> Result<Json<SnapshotPage>> {
    let start = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(Cursor::parse(crate::changes::own_position(
            c,
            &state.instance,
        )?)?),
    };
    let limit = i64::from(q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT));
    let account = caller.account_id;
    let cursor = q.cursor.clone().unwrap_or_default();
    let (rows, next, has_more, total) = state
        .db
        .read(move |c| {
            // One read transaction: the page (and the first page's pin and
            // counts) is one consistent view.
            let tx = c.unchecked_transaction()?;
            let (start, total) = match start {
                Some(s) => {
                    crate::changes::check_not_ahead(&tx, s.upto, &cursor)?;
                    (s, None)
                }
                None => {
                    let upto: i64 = tx
                        .prepare_cached(
                            "SELECT IFNULL(MAX(seq), 0) FROM changes WHERE account_id = ?1",
                        )?
                        .query_row([account], |r| r.get(0))?;
                    let first = Cursor {
                        upto,
                        section: Section::Changes,
                        last: 0,
                    };
                    (first, Some(count(&tx, account, upto)?))
                }
            };
            let (rows, next, has_more) = read_page(&tx, account, start, limit)?;
            tx.commit()?;
            Ok((rows, next, has_more, total))
        })
        .await?;
    Ok(Json(SnapshotPage {
        changes: rows.changes,
        codes: rows.codes,
        devices: rows.devices,
        next: crate::changes::with_instance(&next.format(), &state.instance),
        has_more,
        upto: crate::changes::with_instance(&format!("c{}", next.upto), &state.instance),
        total,
        server_time: crate::api::keys::signed_time(&state),
    }))
}

/// Rows of a snapshot pinned at `upto` (index counts).
fn count(c: &Connection, account: i64, upto: i64) -> Result<u64> {
    let n: i64 = c
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM changes WHERE account_id = ?1 AND seq <= ?2 AND entity != 'code' AND entity != 'device')
                  + (SELECT COUNT(*) FROM codes WHERE account_id = ?1)
                  + (SELECT COUNT(*) FROM devices WHERE account_id = ?1)",
        )?
        .query_row(params![account, upto], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Up to `limit` rows from `start` on, across sections; returns them, the
/// cursor after the last one, and whether rows remain.
fn read_page(
    c: &Connection,
    account: i64,
    start: Cursor,
    limit: i64,
) -> Result<(Rows, Cursor, bool)> {
    let mut rows = Rows::default();
    let mut at = start;
    let mut room = limit;
    loop {
        // One row more than there is room for says whether the section
        // goes on.
        let (n, last) = match at.section {
            Section::Changes => {
                let mut got = read_changes(
                    c,
                    REST_CHANGES_SQL,
                    params![account, at.last, at.upto, room + 1],
                )?;
                let n = got.len() as i64;
                got.truncate(room as usize);
                let last = got.last().map(|r| r.seq);
                rows.changes.append(&mut got);
                (n, last)
            }
            Section::Codes => {
                let mut got = read_codes(c, account, at.last, room + 1)?;
                let n = got.len() as i64;
                got.truncate(room as usize);
                let last = got.last().map(|r| r.id);
                rows.codes.append(&mut got);
                (n, last)
            }
            Section::Devices => {
                let mut got = read_devices(c, account, at.last, room + 1)?;
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
            return Ok((rows, at, true));
        }
        room -= n;
        match at.section.next() {
            Some(section) => {
                at.section = section;
                at.last = 0;
            }
            None => return Ok((rows, at, false)),
        }
    }
}

fn read_codes(c: &Connection, account: i64, after: i64, limit: i64) -> Result<Vec<SnapshotCode>> {
    read_rows(c, CODES_SQL, account, after, limit, |r| {
        Ok(SnapshotCode {
            id: r.get(0)?,
            code: r.get(1)?,
            batch_id: r.get(2)?,
            product_id: r.get(3)?,
            device_id: r.get(4)?,
            consumed_at: r.get(5)?,
            expires_at: r.get(6)?,
        })
    })
}

fn read_devices(
    c: &Connection,
    account: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<SnapshotDevice>> {
    read_rows(c, DEVICES_SQL, account, after, limit, |r| {
        Ok(SnapshotDevice {
            id: r.get(0)?,
            pk: r.get(1)?,
            dk: r.get(2)?,
            hardware_id: r.get(3)?,
            status: r.get(4)?,
            online: r.get(5)?,
            offline_reason: r.get(6)?,
            activated_at: r.get(7)?,
            expires_at: r.get(8)?,
        })
    })
}

/// One keyset page of a row section: `sql` takes the account, the last key
/// read and the page size.
fn read_rows<T>(
    c: &Connection,
    sql: &str,
    account: i64,
    after: i64,
    limit: i64,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare_cached(sql)?;
    let rows = st
        .query_map(params![account, after, limit], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        for c in ["s0.changes.0", "s812.codes.1000", "s9.devices.77"] {
            assert_eq!(Cursor::parse(c).expect(c).format(), c);
        }
        for bad in [
            "",
            "c12",
            "s",
            "s1",
            "s1.codes",
            "s1.codes.",
            "s1.code.2",
            "s-1.codes.2",
            "s1.codes.-2",
            "s1.codes.2.3",
            "s1.codes.+2",
            "sx.codes.2",
            "s1.codes.99999999999999999999",
        ] {
            let e = Cursor::parse(bad).expect_err(bad);
            assert!(
                matches!(
                    e,
                    ApiError::Invalid {
                        code: "CURSOR_INVALID",
                        ..
                    }
                ),
                "{bad}: {e:?}"
            );
        }
    }
}

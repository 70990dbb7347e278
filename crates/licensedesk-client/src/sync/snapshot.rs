//! The first sync of a fresh cache: the server's snapshot (`GET
//! /v1/snapshot`) instead of the feed's whole history. It sends the
//! account's codes and devices once each, as full rows, and of the feed
//! up to its pin (`upto`) only the changes about anything else; the sync
//! then follows the feed from `upto`.
//!
//! Each page is applied in ONE transaction together with the snapshot
//! cursor, the counters and the verified server time, so a crash resumes
//! the snapshot at the page after the last committed one. The last page
//! sets the feed cursor to `upto` and drops the snapshot cursor in the same
//! transaction. Pages are read by the server at different times, so a row
//! may already show a change made after `upto`: the feed replays every
//! such change on top, and applying a change is absolute and idempotent
//! (see `cache::apply`), so the cache ends equal to the server.
//!
//! On an empty cache (the usual first sync) the pages load in bulk
//! (`cache::bulk`): plain inserts into bare tables, the pool counters added
//! per page, `codes_device` built before the first device (whose link to
//! its latest code reads it), the triggers built in the last page's
//! transaction and the other indexes right after it, each in a transaction
//! of its own. A cache that already holds rows gets one upsert per row,
//! through the triggers.
//!
//! A page is parsed once, on the blocking thread that applies it, into
//! rows borrowing from the page's text; its cursor is handed back as soon
//! as it is parsed, so the next page is fetched while this one is written.

use chrono::{DateTime, Utc};
use licensedesk_core::keys::KeySet;
use licensedesk_protocol::Text;
use licensedesk_protocol::api::sync::SnapshotPage;
use serde_json::value::RawValue;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{
    CancelToken, SyncEngine, SyncPhase, SyncProgress, SyncReport, add_meta, mark_server_time,
};
use crate::cache::apply::{
    BULK_CODE, BULK_DEVICE, apply_change, bulk_code, bulk_device, snapshot_code, snapshot_device,
};
use crate::cache::bulk::{self, PoolDelta};
use crate::cache::{Cache, get_meta, keys, set_meta, ts};
use crate::error::{Error, Result};
use crate::http::ServerApi;

/// One snapshot page as the server sends it, borrowing its rows' strings
/// and its signed time from its text.
type Page<'a> = SnapshotPage<Text<'a>, &'a RawValue>;

/// What the fetch loop needs of a page before it is written.
struct Head {
    next: String,
    has_more: bool,
}

/// A page as applied.
struct Applied {
    changes: u64,
    changes_applied: u64,
    rows: u64,
    upto: String,
    server_time: DateTime<Utc>,
    /// Rows of the snapshot so far, and of all of it (as far as known).
    done: u64,
    total: Option<u64>,
}

impl SyncEngine {
    /// Runs (or resumes) the snapshot of a fresh cache to its last page.
    /// A server without the snapshot leaves the cache as it was (the feed
    /// then replays the whole history).
    pub(super) async fn run_snapshot(
        &self,
        set: &mut KeySet,
        report: &mut SyncReport,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
        cancel: &CancelToken,
    ) -> Result<()> {
        let cursor = self.cache.meta(keys::SNAPSHOT_CURSOR)?.unwrap_or_default();
        let fresh = cursor.is_empty();
        let mut pending = Some(self.fetch_snapshot(cursor));
        let mut refreshed = false;
        while let Some(handle) = pending.take() {
            if cancel.is_cancelled() {
                handle.abort();
                return Err(Error::Cancelled);
            }
            let mut body = match handle.await.map_err(|e| Error::Protocol(e.to_string()))? {
                Err(Error::Server { status: 404, .. }) if fresh && report.pages == 0 => {
                    return Ok(());
                }
                other => other?,
            };
            let applied = loop {
                let (head_tx, head_rx) = oneshot::channel();
                let (cache, keyset) = (self.cache.clone(), set.clone());
                let task = tokio::task::spawn_blocking(move || {
                    let out = apply(&cache, &body, &keyset, head_tx);
                    (body, out)
                });
                if let Ok(head) = head_rx.await
                    && head.has_more
                {
                    pending = Some(self.fetch_snapshot(head.next));
                }
                let (back, out) = task.await.map_err(|e| Error::Protocol(e.to_string()))?;
                match out {
                    // The server's keys rotated: fetch them once and retry.
                    Err(Error::ServerTimeInvalid(_)) if !refreshed => {
                        refreshed = true;
                        *set = self.keyset(true).await?;
                        body = back;
                    }
                    other => break other?,
                }
            };
            report.pages += 1;
            report.changes_fetched += applied.changes;
            report.changes_applied += applied.changes_applied;
            report.snapshot_rows += applied.rows;
            report.cursor = applied.upto;
            report.server_time = Some(ts(applied.server_time));
            progress(SyncProgress {
                phase: SyncPhase::Snapshot,
                done: applied.done,
                total: applied.total.map(|t| t.max(applied.done)),
                full: true,
            });
        }
        Ok(())
    }

    fn fetch_snapshot(&self, cursor: String) -> JoinHandle<Result<String>> {
        let api: ServerApi = self.api.clone();
        let limit = self.snapshot_page_size;
        tokio::spawn(async move {
            let mut q = vec![("limit", limit.to_string())];
            if !cursor.is_empty() {
                q.push(("cursor", cursor));
            }
            api.get_text("/v1/snapshot", &q).await
        })
    }
}

/// Parses a page, verifies its server time, hands its cursor to `head`,
/// and applies it in ONE transaction with the snapshot's cursor (or, on
/// the last page, the feed's), its counters and the server time.
fn apply(cache: &Cache, body: &str, set: &KeySet, head: oneshot::Sender<Head>) -> Result<Applied> {
    let page: Page<'_> =
        serde_json::from_str(body).map_err(|e| Error::Protocol(format!("snapshot page: {e}")))?;
    let server_time = SyncEngine::verify_time(set, page.server_time.get())?;
    let _ = head.send(Head {
        next: page.next.clone(),
        has_more: page.has_more,
    });
    let Page {
        changes,
        codes,
        devices,
        next,
        has_more,
        upto,
        total,
        ..
    } = page;
    let rows = (codes.len() + devices.len()) as u64;
    let mut bulk_ends = false;
    let applied = cache.write(|tx| {
        // A fresh snapshot on an empty cache loads into bare tables.
        if get_meta(tx, keys::SNAPSHOT_CURSOR)?.is_none() {
            bulk::begin(tx)?;
        }
        let mut changes_applied = 0;
        for c in &changes {
            changes_applied += u64::from(apply_change(tx, c)?);
        }
        let in_bulk = bulk::active(tx)?;
        if in_bulk {
            let mut pools = PoolDelta::default();
            let mut st = tx.prepare_cached(BULK_CODE)?;
            for code in codes {
                bulk_code(&mut st, code, &mut pools)?;
            }
            pools.write(tx)?;
            if !devices.is_empty() {
                bulk::restore_index(tx, bulk::LINK_INDEX)?;
            }
            let mut st = tx.prepare_cached(BULK_DEVICE)?;
            for device in devices {
                bulk_device(&mut st, device)?;
            }
        } else {
            for code in codes {
                snapshot_code(tx, code)?;
            }
            for device in devices {
                snapshot_device(tx, device)?;
            }
        }
        if !has_more && in_bulk {
            bulk::restore_triggers(tx)?;
            bulk_ends = true;
        }
        add_meta(tx, keys::CHANGES_SEEN, changes.len() as u64)?;
        add_meta(tx, keys::SNAPSHOT_ROWS, rows)?;
        add_meta(tx, keys::SNAPSHOT_DONE, rows + changes.len() as u64)?;
        if let Some(total) = total {
            set_meta(tx, keys::SNAPSHOT_TOTAL, &total.to_string())?;
        }
        set_meta(tx, keys::SNAPSHOT_UPTO, &upto)?;
        if has_more {
            set_meta(tx, keys::SNAPSHOT_CURSOR, &next)?;
        } else {
            tx.prepare_cached("DELETE FROM meta WHERE key = ?1")?
                .execute([keys::SNAPSHOT_CURSOR])?;
            set_meta(tx, keys::CURSOR, &upto)?;
        }
        mark_server_time(tx, server_time)?;
        let num =
            |key| -> Result<Option<u64>> { Ok(get_meta(tx, key)?.and_then(|s| s.parse().ok())) };
        Ok(Applied {
            changes: changes.len() as u64,
            changes_applied,
            rows,
            upto: upto.clone(),
            server_time,
            done: num(keys::SNAPSHOT_DONE)?.unwrap_or(0),
            total: num(keys::SNAPSHOT_TOTAL)?,
        })
    })?;
    if bulk_ends {
        bulk::finish(cache)?;
    }
    Ok(applied)
}

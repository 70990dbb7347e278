//! Sync: the change feed, page by page. Each page is applied in ONE
//! transaction together with its cursor and the verified server time, so a
//! crash at any point resumes from the last committed page and never
//! applies a change twice. The next page is fetched while the current one
//! is written.
//!
//! A fresh cache starts with the server's snapshot instead of the feed's
//! whole history (`sync/snapshot.rs`), then follows the feed from where the
//! snapshot is complete.

mod snapshot;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use licensedesk_core::keys::{Envelope, KeySet, SERVER_TIME_CONTEXT};
use licensedesk_protocol::api::accounts::Overview;
use licensedesk_protocol::api::sync::ChangesPage;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::task::JoinHandle;

use crate::cache::apply::apply_change;
use crate::cache::{Cache, get_meta, keys, set_meta, ts};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::ServerApi;

/// Default (and the server's maximum) page size of the change feed.
pub const PAGE_SIZE: u32 = 1000;
/// Default page size of the snapshot (rows): the server's largest (fewer,
/// larger transactions in a first sync).
pub const SNAPSHOT_PAGE_SIZE: u32 = 5000;
/// The server's largest snapshot page.
pub const SNAPSHOT_PAGE_MAX: u32 = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Fetching the server's public keys.
    Keys,
    /// Replaying queued offline actions.
    Outbox,
    /// The first sync of a cache: downloading the account as it is now.
    Snapshot,
    /// Mirroring the change feed (after a snapshot, what changed since).
    Changes,
    /// Refreshing account details.
    Account,
    Done,
}

/// Progress: `done` of `total` in `phase`. The change feed does not say how
/// long it is, so `total` is `None` there until the last page; the
/// snapshot's total is the server's count when it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub done: u64,
    pub total: Option<u64>,
    /// `true` during the first (full) sync of a cache.
    pub full: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncReport {
    pub full: bool,
    pub pages: u64,
    /// Code and device rows received in the snapshot (a fresh cache's
    /// first sync).
    pub snapshot_rows: u64,
    /// Change-feed changes received from the server (in a snapshot, those
    /// that are about neither a code nor a device).
    pub changes_fetched: u64,
    /// Of those, changes that touched the cache.
    pub changes_applied: u64,
    pub cursor: String,
    /// The verified server time of the last page (RFC 3339).
    pub server_time: Option<String>,
    /// The server refused the cache's cursor (`CURSOR_INVALID`: its data
    /// was replaced or restored from a backup), so this run emptied the
    /// mirror (the outbox kept) and synced from the start.
    pub started_over: bool,
}

/// Cancels a running sync between pages (a cancelled sync resumes later).
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A feed page as the server sends it, its signed time kept as raw JSON
/// (to verify the envelope it is).
type Page = ChangesPage<Box<RawValue>>;

#[derive(Deserialize)]
struct ServerTime {
    server_time: DateTime<Utc>,
}

/// Mirrors one account's change feed into one cache.
#[derive(Clone)]
pub struct SyncEngine {
    cache: Cache,
    api: ServerApi,
    clock: Arc<dyn Clock>,
    page_size: u32,
    snapshot_page_size: u32,
    snapshot: bool,
}

impl SyncEngine {
    pub fn new(cache: Cache, api: ServerApi, clock: Arc<dyn Clock>) -> Self {
        Self {
            cache,
            api,
            clock,
            page_size: PAGE_SIZE,
            snapshot_page_size: SNAPSHOT_PAGE_SIZE,
            snapshot: true,
        }
    }

    /// Smaller feed pages (tests exercise resumption with them).
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, PAGE_SIZE);
        self
    }

    /// Snapshot page size (rows), up to the server's 5000.
    pub fn with_snapshot_page_size(mut self, n: u32) -> Self {
        self.snapshot_page_size = n.clamp(1, SNAPSHOT_PAGE_MAX);
        self
    }

    /// Whether a fresh cache starts with a snapshot (the default) or
    /// replays the whole feed (tests compare the two).
    pub fn with_snapshot(mut self, on: bool) -> Self {
        self.snapshot = on;
        self
    }

    /// The server's key set as this profile trusts it: the served set is
    /// fetched and kept only if it chains to the trusted one (see
    /// [`crate::trust`]); a set that does not is refused with its code
    /// (`KEYSET_UNTRUSTED`, …) and the sync stops, changing nothing.
    async fn keyset(&self, _refresh: bool) -> Result<KeySet> {
        let served = self.api.get_text("/v1/keys", &[]).await?;
        crate::trust::TrustStore::beside(self.cache.path()).refresh(served.as_bytes())
    }

    /// The signed server time of a page (its JSON), verified.
    fn verify_time(set: &KeySet, json: &str) -> Result<DateTime<Utc>> {
        let env: Envelope =
            serde_json::from_str(json).map_err(|e| Error::ServerTimeInvalid(e.to_string()))?;
        let payload = set
            .verify(SERVER_TIME_CONTEXT, &env)
            .map_err(|e| Error::ServerTimeInvalid(e.to_string()))?;
        let t: ServerTime = serde_json::from_slice(&payload)
            .map_err(|e| Error::ServerTimeInvalid(e.to_string()))?;
        Ok(t.server_time)
    }

    async fn fetch(api: ServerApi, cursor: String, limit: u32) -> Result<Page> {
        let mut q = vec![("limit", limit.to_string())];
        if !cursor.is_empty() {
            q.push(("since", cursor));
        }
        api.get("/v1/changes", &q).await
    }

    /// Runs the sync to the end of the feed: a fresh cache's snapshot
    /// first (or its rest, after an interruption), then the change feed.
    ///
    /// A server that refuses the cache's cursor (`CURSOR_INVALID`: its data
    /// was replaced or restored, or the profile's URL now reaches another
    /// server) no longer has the history the cache mirrors: the mirror is
    /// emptied (the outbox kept) and synced again from the start, once.
    pub async fn run(
        &self,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
        cancel: &CancelToken,
    ) -> Result<SyncReport> {
        match self.run_once(progress, cancel).await {
            Err(Error::Server { code, .. }) if code == "CURSOR_INVALID" => {
                self.cache.write(crate::cache::reset_mirror)?;
                let mut report = self.run_once(progress, cancel).await?;
                report.started_over = true;
                Ok(report)
            }
            other => other,
        }
    }

    async fn run_once(
        &self,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
        cancel: &CancelToken,
    ) -> Result<SyncReport> {
        progress(SyncProgress {
            phase: SyncPhase::Keys,
            done: 0,
            total: Some(1),
            full: false,
        });
        let mut set = self.keyset(false).await?;
        let full = self.cache.meta(keys::FULL_DONE)?.is_none();
        let mut report = SyncReport {
            full,
            ..SyncReport::default()
        };
        if self.snapshot && full && self.cache.meta(keys::CURSOR)?.is_none() {
            self.run_snapshot(&mut set, &mut report, progress, cancel)
                .await?;
        }
        let cursor = self.cache.meta(keys::CURSOR)?.unwrap_or_default();
        report.cursor.clone_from(&cursor);
        let mut pending: Option<JoinHandle<Result<Page>>> = Some(tokio::spawn(Self::fetch(
            self.api.clone(),
            cursor,
            self.page_size,
        )));
        let mut fetched_here = 0;
        while let Some(handle) = pending.take() {
            if cancel.is_cancelled() {
                handle.abort();
                return Err(Error::Cancelled);
            }
            let page = handle.await.map_err(|e| Error::Protocol(e.to_string()))??;
            let server_time = match Self::verify_time(&set, page.server_time.get()) {
                Ok(t) => t,
                Err(_) => {
                    set = self.keyset(true).await?;
                    Self::verify_time(&set, page.server_time.get())?
                }
            };
            if page.has_more {
                pending = Some(tokio::spawn(Self::fetch(
                    self.api.clone(),
                    page.next.clone(),
                    self.page_size,
                )));
            }
            let fetched = page.changes.len() as u64;
            let cache = self.cache.clone();
            let applied =
                tokio::task::spawn_blocking(move || apply_page(&cache, &page, server_time))
                    .await
                    .map_err(|e| Error::Protocol(e.to_string()))??;
            report.pages += 1;
            report.changes_fetched += fetched;
            report.changes_applied += applied.0;
            report.cursor = applied.1;
            report.server_time = Some(ts(server_time));
            fetched_here += fetched;
            let total = pending.is_none().then_some(fetched_here);
            progress(SyncProgress {
                phase: SyncPhase::Changes,
                done: fetched_here,
                total,
                full,
            });
        }
        Ok(report)
    }

    /// Refreshes what the feed does not carry (the data center's time zone)
    /// and stamps the sync as complete. Returns the data center.
    pub async fn finish(&self) -> Result<String> {
        let account = self.fetch_account().await?;
        self.finish_with(&account)
    }

    /// The account's details (`GET /v1/account`): its data center and
    /// time zone, which the feed does not carry.
    pub fn fetch_account(&self) -> impl Future<Output = Result<Overview>> + Send + 'static {
        let api = self.api.clone();
        async move { api.get("/v1/account", &[]).await }
    }

    /// [`Self::finish`] with the account's details fetched already.
    pub fn finish_with(&self, ov: &Overview) -> Result<String> {
        let now = ts(self.clock.now());
        self.cache.write(|tx| {
            set_meta(tx, keys::TIME_ZONE, &ov.time_zone)?;
            set_meta(tx, keys::FULL_DONE, &now)?;
            set_meta(tx, keys::LAST_SYNCED, &now)
        })?;
        Ok(ov.data_center.clone())
    }
}

/// Applies one page, its cursor and the verified server time in ONE
/// transaction. Returns (changes applied, new cursor).
fn apply_page(cache: &Cache, page: &Page, server_time: DateTime<Utc>) -> Result<(u64, String)> {
    cache.write(|tx| {
        let mut applied = 0;
        for c in &page.changes {
            applied += u64::from(apply_change(tx, c)?);
        }
        set_meta(tx, keys::CURSOR, &page.next)?;
        add_meta(tx, keys::CHANGES_SEEN, page.changes.len() as u64)?;
        mark_server_time(tx, server_time)?;
        Ok((applied, page.next.clone()))
    })
}

/// Adds `n` to a counter kept in `meta`.
fn add_meta(tx: &Transaction<'_>, key: &str, n: u64) -> Result<()> {
    let seen: u64 = get_meta(tx, key)?.and_then(|s| s.parse().ok()).unwrap_or(0);
    set_meta(tx, key, &(seen + n).to_string())
}

/// Stores a page's verified server time and advances the clock mark.
fn mark_server_time(tx: &Transaction<'_>, server_time: DateTime<Utc>) -> Result<()> {
    set_meta(tx, keys::SERVER_TIME, &ts(server_time))?;
    let mark = get_meta(tx, keys::CLOCK_MARK)?
        .map(|s| crate::cache::parse_ts(&s))
        .transpose()?;
    let mark = licensedesk_core::clock::advance(mark, server_time);
    set_meta(tx, keys::CLOCK_MARK, &ts(mark))
}

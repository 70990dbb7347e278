//! LicenseDesk desktop backend (no tauri): a SQLite cache per profile, sync
//! with the license server (a fresh cache's snapshot, then its change
//! feed), an outbox of offline
//! actions, views and charts computed from the cache.
//!
//! The facade:
//! - [`Client`]: a data directory — profiles, tokens, opening a [`Session`];
//! - [`Session`]: one profile's open [`Cache`] and server — `sync`,
//!   views (`overview`, `cards`, `licenses`, `near_expiry`, `device_quota`,
//!   `export_csv`), the [`Outbox`], charts;
//! - [`SyncEngine`]: the mirror itself, snapshot and change feed (used by
//!   `Session::sync`).
//!
//! Every domain rule is `licensedesk-core`'s; time comes from a [`Clock`].

pub mod alerts;
pub mod cache;
pub mod charts;
pub mod clock;
pub mod error;
pub mod http;
pub mod outbox;
pub mod profiles;
pub mod secrets;
pub mod sync;
pub mod trust;
pub mod views;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use alerts::{Alert, AlertStore, NotificationRecord};
pub use cache::Cache;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorBody, Result};
pub use outbox::{FlushReport, Outbox, OutboxAction, OutboxItem};
pub use profiles::{NewProfile, Profile, Profiles};
pub use secrets::{
    ApiToken, FileTokenStore, KeyringTokenStore, OsTokenStore, TokenStore, TokenStoreInfo,
    TokenStoreKind,
};
pub use sync::{CancelToken, SyncEngine, SyncPhase, SyncProgress, SyncReport};
pub use trust::{KeySetView, TrustStore};
pub use views::accounts::{AccountSummary, AllAccounts};
pub use views::billing::{ProductBilling, Statement};
pub use views::devices::{DeviceQuota, NearExpiryDevice, NearExpiryPage, NearExpiryQuery};
pub use views::licenses::{LicensePage, LicenseQuery, LicenseRow, LicenseSort, LicenseWindow};
pub use views::overview::{AccountOverview, ProductCard, Staleness};

use crate::http::ServerApi;

/// The app's data directory: profiles registry, tokens, one cache per profile.
#[derive(Clone)]
pub struct Client {
    dir: PathBuf,
    profiles: Profiles,
    tokens: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
}

impl Client {
    /// Uses `data_dir` (created if needed), the system clock, and tokens in
    /// the OS keyring when one answers, otherwise in 0600 files under
    /// `data_dir/secrets` ([`OsTokenStore`]; [`Self::token_store`] says
    /// which).
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let tokens = Arc::new(OsTokenStore::open(&data_dir.join("secrets")));
        Ok(Self::with(data_dir, tokens, Arc::new(SystemClock)))
    }

    /// [`Self::open`] with tokens only ever in 0600 files (tests, headless
    /// tools: never the user's keyring).
    pub fn open_with_file_tokens(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let tokens = Arc::new(FileTokenStore::new(&data_dir.join("secrets")));
        Ok(Self::with(data_dir, tokens, Arc::new(SystemClock)))
    }

    /// With another token store (an OS keyring) or clock (tests).
    pub fn with(data_dir: &Path, tokens: Arc<dyn TokenStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            dir: data_dir.to_owned(),
            profiles: Profiles::new(data_dir),
            tokens,
            clock,
        }
    }

    pub fn profiles(&self) -> &Profiles {
        &self.profiles
    }

    /// Where the API tokens are kept (keyring or file) and why.
    pub fn token_store(&self) -> TokenStoreInfo {
        self.tokens.describe()
    }

    /// Adds a profile and stores its token (its key set is pinned by its
    /// first sync: prefer [`Self::add_profile_trusting`]).
    pub fn add_profile(&self, new: NewProfile, token: &ApiToken) -> Result<Profile> {
        let p = self.profiles.add(new)?;
        self.tokens.set(&p.id, token)?;
        Ok(p)
    }

    /// Adds a profile that trusts `keys` (the server's key set the user
    /// checked, or a key set file): licenses verify at once, offline too.
    pub fn add_profile_trusting(
        &self,
        new: NewProfile,
        token: &ApiToken,
        keys: &licensedesk_core::keys::KeySet,
    ) -> Result<Profile> {
        let p = self.profiles.add(new)?;
        let pinned = self
            .trust(&p.id)
            .pin(keys)
            .and_then(|()| self.tokens.set(&p.id, token));
        if let Err(e) = pinned {
            let _ = self.remove_profile(&p.id);
            return Err(e);
        }
        Ok(p)
    }

    /// The trusted key set of profile `id`.
    pub fn trust(&self, profile_id: &str) -> TrustStore {
        TrustStore::beside(&self.profiles.cache_path(profile_id))
    }

    /// Removes a profile, its token and its cache.
    pub fn remove_profile(&self, id: &str) -> Result<()> {
        self.profiles.remove(id)?;
        self.tokens.delete(id)?;
        let dir = self.dir.join("profiles").join(id);
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        Ok(())
    }

    /// Opens a profile's session (its cache; no network yet).
    pub fn session(&self, profile_id: &str) -> Result<Session> {
        let profile = self.profiles.get(profile_id)?;
        let token = self
            .tokens
            .get(profile_id)?
            .ok_or_else(|| Error::TokenMissing(profile_id.to_owned()))?;
        let cache = Cache::open(&self.profiles.cache_path(profile_id))?;
        let mut s = Session::new(cache, &profile.server_url, token, self.clock.clone())?;
        s.profile = Some((profile, self.profiles.clone()));
        Ok(s)
    }

    /// A profile's cache alone (no token needed: reading it never talks to
    /// the server).
    pub fn cache(&self, profile_id: &str) -> Result<Cache> {
        self.profiles.get(profile_id)?;
        Cache::open(&self.profiles.cache_path(profile_id))
    }

    /// Every profile's overview and cards from its cache (works offline).
    pub fn all_accounts(&self) -> Result<AllAccounts> {
        views::accounts::all_accounts(&self.profiles, self.clock.now())
    }

    /// The alert state of this data directory (`alerts.sqlite3`).
    pub fn alert_store(&self) -> Result<AlertStore> {
        AlertStore::open(&self.dir.join("alerts.sqlite3"))
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Switches the active profile and opens its session.
    pub fn switch_profile(&self, profile_id: &str) -> Result<Session> {
        self.profiles.set_active(profile_id)?;
        self.session(profile_id)
    }
}

/// One profile: its cache and its server.
#[derive(Clone)]
pub struct Session {
    cache: Cache,
    api: ServerApi,
    clock: Arc<dyn Clock>,
    profile: Option<(Profile, Profiles)>,
}

impl Session {
    /// A session over an explicit cache file and server (tests, `ld-sync`).
    pub fn new(
        cache: Cache,
        server_url: &str,
        token: ApiToken,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Ok(Self {
            api: ServerApi::new(server_url, token)?,
            cache,
            clock,
            profile: None,
        })
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// This profile's server and credentials (base URL and API token, read
    /// from the token store when the session was opened).
    pub fn api(&self) -> &ServerApi {
        &self.api
    }

    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref().map(|(p, _)| p)
    }

    /// This profile's trusted key set (beside its cache).
    pub fn trust(&self) -> TrustStore {
        TrustStore::beside(self.cache.path())
    }

    pub fn outbox(&self) -> Outbox {
        Outbox::new(self.cache.clone())
    }

    pub fn engine(&self) -> SyncEngine {
        SyncEngine::new(self.cache.clone(), self.api.clone(), self.clock.clone())
    }

    /// Sync now: replay the outbox, mirror the account (a fresh cache's
    /// snapshot, then the change feed), refresh the account details.
    /// Progress goes to `progress`; `cancel` stops between pages.
    pub async fn sync(
        &self,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
        cancel: &CancelToken,
    ) -> Result<SyncReport> {
        self.sync_with(self.engine(), progress, cancel).await
    }

    /// [`Self::sync`] with a configured engine (page size).
    pub async fn sync_with(
        &self,
        engine: SyncEngine,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
        cancel: &CancelToken,
    ) -> Result<SyncReport> {
        let pending = self.outbox().pending_count()?;
        progress(SyncProgress {
            phase: SyncPhase::Outbox,
            done: 0,
            total: Some(pending),
            full: false,
        });
        // The account's details are asked for beside the sync (they do
        // not depend on it): on a large account the server counts its
        // codes for them, which then costs the sync nothing.
        let account = AbortOnDrop(tokio::spawn(engine.fetch_account()));
        self.outbox().flush(&self.api, self.clock.now()).await?;
        let report = engine.run(progress, cancel).await?;
        progress(SyncProgress {
            phase: SyncPhase::Account,
            done: 0,
            total: Some(1),
            full: report.full,
        });
        let account = account.join().await?;
        let dc = engine.finish_with(&account)?;
        if let Some((p, profiles)) = &self.profile {
            profiles.set_data_center(&p.id, &dc)?;
        }
        progress(SyncProgress {
            phase: SyncPhase::Done,
            done: 1,
            total: Some(1),
            full: report.full,
        });
        Ok(report)
    }

    /// Syncs every `every` until `cancel`; each result goes to `on_result`
    /// (an unreachable server is just reported; the next tick retries).
    pub fn spawn_periodic(
        &self,
        every: Duration,
        cancel: CancelToken,
        on_result: impl Fn(Result<SyncReport>) + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let s = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !cancel.is_cancelled() {
                tick.tick().await;
                if cancel.is_cancelled() {
                    break;
                }
                on_result(s.sync(&|_| {}, &cancel).await);
            }
        })
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn overview(&self) -> Result<AccountOverview> {
        views::overview::overview(&self.cache, self.now())
    }

    pub fn staleness(&self) -> Result<Staleness> {
        self.cache
            .read(|c| views::overview::staleness(c, self.now()))
    }

    pub fn cards(&self) -> Result<Vec<ProductCard>> {
        views::overview::cards(&self.cache, self.now())
    }

    /// A product's overage policy, top-ups left, this month's overage and
    /// closed months.
    pub fn billing(&self, pk: &str) -> Result<ProductBilling> {
        views::billing::billing(self.cache(), pk, self.now())
    }

    pub fn licenses(&self, q: &LicenseQuery) -> Result<LicensePage> {
        views::licenses::page(&self.cache, q, self.now())
    }

    /// The License Management rows from position `offset` (see
    /// [`views::licenses::window`]), with the filtered set's length when
    /// `count`.
    pub fn license_window(
        &self,
        q: &LicenseQuery,
        offset: u64,
        count: bool,
    ) -> Result<LicenseWindow> {
        views::licenses::window(&self.cache, q, offset, count, self.now())
    }

    pub fn export_csv(&self, q: &LicenseQuery, out: &mut dyn Write) -> Result<u64> {
        views::licenses::export_csv(&self.cache, q, self.now(), out)
    }

    pub fn near_expiry(&self, q: &NearExpiryQuery) -> Result<NearExpiryPage> {
        views::devices::near_expiry(&self.cache, q, self.now())
    }

    pub fn device_quota(&self, pk: &str, dk: &str) -> Result<DeviceQuota> {
        views::devices::device_quota(&self.cache, pk, dk, self.now())
    }

    /// Queues an offline action (replayed by the next sync).
    pub fn enqueue(&self, action: &OutboxAction) -> Result<OutboxItem> {
        self.outbox().enqueue(action, self.now())
    }
}

/// A task aborted when its handle is dropped (a sync that failed or was
/// cancelled does not leave its side request running).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<Result<T>> {
    async fn join(mut self) -> Result<T> {
        (&mut self.0)
            .await
            .map_err(|e| Error::Protocol(e.to_string()))?
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

//! LicenseDesk license server: an axum HTTP API over SQLite. Every rule is
//! enforced by calling `licensedesk-core`; this crate only stores, routes,
//! authenticates and serialises.
//!
//! Tests and the load generator build the router with [`build_app`] and run
//! it on a loopback listener with [`serve`].

pub mod api;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod keystore;
pub mod ratelimit;
pub mod schemas;
pub mod signing;
pub mod store;
pub mod time;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};

use axum::Router;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::idempotency::InFlight;
use crate::keystore::KeyStore;
use crate::ratelimit::FailureLimiter;
use crate::store::Store;

/// Everything a handler needs (see [`Shared`]); cheap to clone: one
/// reference count, which axum's extractors and the idempotency middleware
/// clone on every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The server's state, shared by every request.
pub struct Shared {
    /// Every SQL statement of the server runs through the store.
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub keys: KeyStore,
    pub settings: Settings,
    pub admin_token_hash: String,
    pub limiter: FailureLimiter,
    pub inflight: InFlight,
    /// This database's instance id (see migration 8): sync cursors carry it.
    pub instance: String,
    tokens: RwLock<HashMap<String, i64>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Opens (or creates) the data directory: database with migrations and
    /// signing keys.
    pub fn open(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        settings: Settings,
        admin_token: &str,
    ) -> anyhow::Result<Self> {
        backup::create_data_dir(data_dir)?;
        let db = Db::open(&data_dir.join(db::FILE_NAME))?;
        let instance: String = db
            .write_sync(|c| {
                db::sqlite::instance(c)?
                    .ok_or_else(|| error::ApiError::Internal("it has none".into()))
            })
            .map_err(|e| anyhow::anyhow!("reading the database's instance id: {e}"))?;
        let keys = KeyStore::open_or_create(&data_dir.join("keys"), clock.now())?;
        let store = Store::sqlite(db);
        Ok(Self::with(
            store,
            clock,
            keys,
            settings,
            admin_token,
            instance,
        ))
    }

    /// The state of a server on `store`, whichever engine it is.
    fn with(
        store: Store,
        clock: Arc<dyn Clock>,
        keys: KeyStore,
        settings: Settings,
        admin_token: &str,
        instance: String,
    ) -> Self {
        let limiter = FailureLimiter::new(
            store.clone(),
            settings.fail_limit,
            settings.fail_window_secs,
        );
        Self(Arc::new(Shared {
            store,
            clock,
            keys,
            settings,
            admin_token_hash: auth::hash_token(admin_token),
            limiter,
            inflight: InFlight::default(),
            instance,
            tokens: RwLock::new(HashMap::new()),
        }))
    }

    /// The server on a PostgreSQL database (`url`), its signing keys in
    /// `data_dir/keys` (every node of a fleet is given the same keys dir).
    pub async fn open_postgres(
        data_dir: &Path,
        url: &str,
        clock: Arc<dyn Clock>,
        settings: Settings,
        admin_token: &str,
    ) -> anyhow::Result<Self> {
        backup::create_data_dir(data_dir)?;
        let pg = db::pg::Pg::open(url).await?;
        let store = Store::postgres(pg);
        let instance = store
            .instance()
            .await
            .map_err(|e| anyhow::anyhow!("reading the database's instance id: {e}"))?;
        let keys = node_keys(&store, &data_dir.join("keys"), clock.now()).await?;
        Ok(Self::with(
            store,
            clock,
            keys,
            settings,
            admin_token,
            instance,
        ))
    }

    /// The clock's time, to the microsecond (the stored precision).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        self.clock.now().trunc_subsecs(6)
    }

    pub(crate) fn cached_account(&self, token_hash: &str) -> Option<i64> {
        self.tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token_hash)
            .copied()
    }

    pub(crate) fn cache_account(&self, token_hash: &str, id: i64) {
        self.tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token_hash.to_owned(), id);
    }
}

/// The whole HTTP API.
pub fn build_app(state: AppState) -> Router {
    api::router(state)
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A node's signing keys, checked against those the other nodes of its
/// database sign with (`store::nodes`): a node given no keys where the
/// database has some, or other keys, does not start.
async fn node_keys(
    store: &Store,
    dir: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<KeyStore> {
    use store::nodes::{KeysAgree, PublicKeys};
    let kids = |k: &PublicKeys| k.keys().cloned().collect::<Vec<_>>().join(", ");
    const COPY: &str = "give every node the same keys directory: copy DATA_DIR/keys from a running node (after `rotate-key`, from the node that rotated) and start again";
    if !dir.join("current").exists()
        && let Some(db) = store
            .signing_keys()
            .await
            .map_err(|e| anyhow::anyhow!("reading the database's signing keys: {e}"))?
    {
        anyhow::bail!(
            "{} holds no signing key, but this database's other nodes sign with keys {}: {COPY}",
            dir.display(),
            kids(&db)
        );
    }
    let keys = KeyStore::open_or_create(dir, now)?;
    let node: PublicKeys = keys
        .signer
        .keyset()
        .entries()
        .iter()
        .map(|e| (e.kid.clone(), e.public_key.clone()))
        .collect();
    match store
        .agree_signing_keys(&store::Ctx::at(now), node.clone())
        .await
        .map_err(|e| anyhow::anyhow!("recording the signing keys: {e}"))?
    {
        KeysAgree::Differ(db) => anyhow::bail!(
            "the signing keys in {} ({}) are not the ones this database's other nodes sign with ({}): {COPY}",
            dir.display(),
            kids(&node),
            kids(&db)
        ),
        KeysAgree::Recorded | KeysAgree::Same | KeysAgree::Rotated => Ok(keys),
    }
}

//! The kit's SQLite store: migrations (`user_version`), WAL with
//! `synchronous=FULL` (the ledger is the durability point), every write in
//! `BEGIN IMMEDIATE`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use licensedesk_core::delegate::{DelegateCert, DelegateScope, ScopeRef};
use licensedesk_core::gateway::AllotmentSource;
use licensedesk_core::keys::{Envelope, KeySet};
use licensedesk_core::ledger::{ChainSummary, ExportEntry, LedgerRecord, verify_chain};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::key::DelegateKey;
use crate::{Error, Result};

const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_init.sql")];

/// A field kit: its data directory, delegate key and database.
#[derive(Debug)]
pub struct Kit {
    dir: PathBuf,
    pub(crate) db: Connection,
}

/// Where a ledger record stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    PendingSync,
    Reconciled,
    Conflict,
}

/// One issued license (one gateway) as the Field Kit view lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct IssuedView {
    pub allotment_id: String,
    pub seq: u64,
    pub slot: u32,
    pub fingerprint: String,
    pub license_id: String,
    /// RFC 3339.
    #[ts(type = "string")]
    pub issued_at: DateTime<Utc>,
    pub state: SyncState,
    /// The server's code and message when `state` is `Conflict`.
    pub code: Option<String>,
    pub message: Option<String>,
}

/// Whether an allotment was checked out from one order or from a gateway
/// product's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Order,
    Product,
}

impl ScopeKind {
    /// What to check out: order number or product `reference`.
    pub fn source(self, reference: &str) -> AllotmentSource {
        let reference = reference.trim().to_owned();
        match self {
            Self::Order => AllotmentSource::Order(reference),
            Self::Product => AllotmentSource::Product(reference),
        }
    }
}

/// What an allotment's delegate certificate lets this kit issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AllotmentScope {
    pub kind: ScopeKind,
    /// The order number (order scope) or the product (product scope).
    pub reference: String,
    /// The order number, if any.
    pub order: Option<String>,
    /// The product (of a product scope, or the order's product).
    pub product: Option<String>,
    pub customer: String,
    pub plugins: Vec<String>,
    pub max_connections: u32,
    pub max_tags: u32,
    /// Longest validity of one license, in days.
    pub max_license_days: u32,
}

impl AllotmentScope {
    fn of(scope: &DelegateScope) -> Self {
        let (kind, reference) = match scope.reference() {
            Some(ScopeRef::Order(o)) => (ScopeKind::Order, o.to_owned()),
            Some(ScopeRef::Product(p)) => (ScopeKind::Product, p.to_owned()),
            // A verified certificate always names one (core's validate).
            None => (ScopeKind::Order, String::new()),
        };
        Self {
            kind,
            reference,
            order: scope.order.clone(),
            product: scope.product.clone(),
            customer: scope.customer.clone(),
            plugins: scope.plugins.clone(),
            max_connections: scope.max_connections,
            max_tags: scope.max_tags,
            max_license_days: scope.max_license_days,
        }
    }
}

/// An allotment with what is left of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AllotmentSummary {
    pub allotment_id: String,
    pub server: String,
    /// What the allotment is for and what its licenses grant.
    pub scope: AllotmentScope,
    pub max_licenses: u32,
    pub issued: u32,
    pub remaining: u32,
    /// RFC 3339.
    #[ts(type = "string")]
    pub not_before: DateTime<Utc>,
    /// RFC 3339: the delegate certificate's end.
    #[ts(type = "string")]
    pub not_after: DateTime<Utc>,
    /// Seconds from `now` to `not_after` (0 once expired).
    pub expires_in_secs: i64,
    /// `now` is past `not_after`: nothing more can be issued.
    pub expired: bool,
    pub pending_sync: u32,
    pub reconciled: u32,
    pub conflicts: u32,
    /// The server's state and count after the last reconcile.
    pub server_state: String,
    pub consumed: u32,
    /// RFC 3339, the last reconcile.
    #[ts(type = "string | null")]
    pub synced_at: Option<DateTime<Utc>>,
}

/// What the kit keeps of an allotment to issue under it.
#[derive(Debug, Clone)]
pub(crate) struct Allotment {
    pub cert: DelegateCert,
    pub cert_env: Envelope,
    pub keyset: KeySet,
}

fn migrate(db: &mut Connection) -> Result<()> {
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let version = usize::try_from(version).unwrap_or(0);
    if version >= MIGRATIONS.len() {
        return Ok(());
    }
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for sql in &MIGRATIONS[version..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Db(format!("stored time '{s}': {e}")))
}

impl Kit {
    /// Opens (or creates) the kit in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, &e))?;
        let mut db = Connection::open(dir.join("field.sqlite3"))?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut db)?;
        Ok(Self {
            dir: dir.to_owned(),
            db,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The delegate key of `allotment_id` (the private half stays here).
    pub fn delegate_key(&self, allotment_id: &str) -> Result<DelegateKey> {
        let a = Self::allotment_in(&self.db, allotment_id)?;
        DelegateKey::load(&self.dir, &a.cert.delegate_kid)
    }

    /// Stores a checked-out allotment (verified by the caller).
    pub(crate) fn store_allotment(
        &mut self,
        server: &str,
        cert: &DelegateCert,
        cert_env: &Envelope,
        keyset: &KeySet,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO allotments (id, server, order_no, certificate, keyset, max_licenses, not_before, not_after, checked_out_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO NOTHING",
            params![
                cert.allotment_id,
                server,
                cert.scope.order.clone().unwrap_or_default(),
                cert_env.to_json(),
                keyset.to_json(),
                cert.max_licenses,
                ts(cert.not_before),
                ts(cert.not_after),
                ts(now)
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn allotment_in(c: &Connection, id: &str) -> Result<Allotment> {
        let row: Option<(String, String)> = c
            .query_row(
                "SELECT certificate, keyset FROM allotments WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (cert_json, keyset_json) = row.ok_or_else(|| Error::AllotmentNotFound(id.into()))?;
        let cert_env: Envelope =
            serde_json::from_str(&cert_json).map_err(|e| Error::Db(e.to_string()))?;
        let keyset =
            KeySet::from_json(keyset_json.as_bytes()).map_err(|e| Error::Db(e.to_string()))?;
        let cert = licensedesk_core::delegate::verify_cert(cert_env.as_ref(), &keyset)?;
        Ok(Allotment {
            cert,
            cert_env,
            keyset,
        })
    }

    /// The ledger of an allotment, in order, with each record's license.
    pub(crate) fn entries_in(c: &Connection, id: &str) -> Result<Vec<ExportEntry>> {
        let mut stmt = c.prepare_cached(
            "SELECT record, license FROM ledger WHERE allotment_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        rows.map(|row| {
            let (record, license) = row?;
            let record: LedgerRecord =
                serde_json::from_str(&record).map_err(|e| Error::Db(e.to_string()))?;
            Ok(ExportEntry { record, license })
        })
        .collect()
    }

    pub(crate) fn clock_mark_in(c: &Connection) -> Result<Option<DateTime<Utc>>> {
        let mark: Option<String> = c
            .query_row("SELECT mark FROM clock WHERE id = 1", [], |r| r.get(0))
            .optional()?;
        mark.as_deref().map(parse_ts).transpose()
    }

    pub(crate) fn set_clock_mark_in(c: &Connection, mark: DateTime<Utc>) -> Result<()> {
        c.execute(
            "INSERT INTO clock (id, mark) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET mark = excluded.mark",
            [ts(mark)],
        )?;
        Ok(())
    }

    pub(crate) fn insert_record(c: &Connection, e: &ExportEntry) -> Result<()> {
        let r = &e.record;
        let json = serde_json::to_string(r).map_err(|e| Error::Db(e.to_string()))?;
        c.prepare_cached(
            "INSERT INTO ledger (allotment_id, seq, record, license, fingerprint, slot, license_id, issued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            r.allotment_id,
            r.seq as i64,
            json,
            e.license,
            r.fingerprint,
            r.slot,
            r.license_id,
            ts(r.issued_at)
        ])?;
        Ok(())
    }

    /// The clock guard's high-water mark.
    pub fn clock_mark(&self) -> Result<Option<DateTime<Utc>>> {
        Self::clock_mark_in(&self.db)
    }

    /// The ledger of `allotment_id` (records and licenses, in order).
    pub fn ledger(&self, allotment_id: &str) -> Result<Vec<ExportEntry>> {
        Self::allotment_in(&self.db, allotment_id)?;
        Self::entries_in(&self.db, allotment_id)
    }

    /// Checks the stored chain (hashes, links, slot rule).
    pub fn verify_ledger(&self, allotment_id: &str) -> Result<ChainSummary> {
        let a = Self::allotment_in(&self.db, allotment_id)?;
        let records: Vec<LedgerRecord> = self
            .ledger(allotment_id)?
            .into_iter()
            .map(|e| e.record)
            .collect();
        Ok(verify_chain(
            &a.cert.allotment_id,
            a.cert.max_licenses,
            &records,
        )?)
    }

    /// The ledger export (what reconcile uploads and `ldctl ledger verify`
    /// checks), its head signed by this kit's delegate key.
    pub fn export(&self, allotment_id: &str) -> Result<String> {
        let a = Self::allotment_in(&self.db, allotment_id)?;
        let entries = Self::entries_in(&self.db, allotment_id)?;
        let key = DelegateKey::load(&self.dir, &a.cert.delegate_kid)?;
        Ok(licensedesk_core::ledger::export(
            &a.cert_env,
            &entries,
            key.signing(),
        ))
    }

    /// The server key set stored at checkout (what gateways must trust).
    pub fn server_keys(&self, allotment_id: &str) -> Result<KeySet> {
        Ok(Self::allotment_in(&self.db, allotment_id)?.keyset)
    }

    /// Every license issued under `allotment_id`, in ledger order, with its
    /// sync state.
    pub fn issued(&self, allotment_id: &str) -> Result<Vec<IssuedView>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT seq, slot, fingerprint, license_id, issued_at, sync_state, sync_code, sync_message
             FROM ledger WHERE allotment_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([allotment_id], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, slot, fingerprint, license_id, issued_at, state, code, message) = row?;
            Ok(IssuedView {
                allotment_id: allotment_id.to_owned(),
                seq,
                slot,
                fingerprint,
                license_id,
                issued_at: parse_ts(&issued_at)?,
                state: match state.as_str() {
                    "reconciled" => SyncState::Reconciled,
                    "conflict" => SyncState::Conflict,
                    _ => SyncState::PendingSync,
                },
                code,
                message,
            })
        })
        .collect()
    }

    /// Every allotment of this kit, newest first, with what is left at `now`.
    pub fn allotments(&self, now: DateTime<Utc>) -> Result<Vec<AllotmentSummary>> {
        let ids: Vec<String> = self
            .db
            .prepare_cached("SELECT id FROM allotments ORDER BY checked_out_at DESC, id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.iter().map(|id| self.summary(id, now)).collect()
    }

    /// One allotment with what is left at `now`.
    pub fn summary(&self, allotment_id: &str, now: DateTime<Utc>) -> Result<AllotmentSummary> {
        let row = self
            .db
            .query_row(
                "SELECT server, max_licenses, not_before, not_after, server_state, consumed, synced_at
                 FROM allotments WHERE id = ?1",
                [allotment_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, u32>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| Error::AllotmentNotFound(allotment_id.into()))?;
        let (server, max, not_before, not_after, server_state, consumed, synced_at) = row;
        let scope = AllotmentScope::of(&Self::allotment_in(&self.db, allotment_id)?.cert.scope);
        let issued = self.issued(allotment_id)?;
        let count = |s: SyncState| issued.iter().filter(|i| i.state == s).count() as u32;
        let used = issued.iter().map(|i| i.slot).max().unwrap_or(0);
        let not_after = parse_ts(&not_after)?;
        Ok(AllotmentSummary {
            allotment_id: allotment_id.to_owned(),
            server,
            scope,
            max_licenses: max,
            issued: issued.len() as u32,
            remaining: max.saturating_sub(used),
            not_before: parse_ts(&not_before)?,
            not_after,
            expires_in_secs: (not_after - now).num_seconds().max(0),
            expired: now >= not_after,
            pending_sync: count(SyncState::PendingSync),
            reconciled: count(SyncState::Reconciled),
            conflicts: count(SyncState::Conflict),
            server_state,
            consumed,
            synced_at: synced_at.as_deref().map(parse_ts).transpose()?,
        })
    }
}

//! The two online steps: checkout and reconcile, and the audit log (over
//! the one client of `licensedesk-http`: its timeouts, its retries of the
//! GETs and of the reconcile, which carries an `Idempotency-Key`; the
//! caller's bearer token is passed in and never stored here).

use chrono::{DateTime, Utc};
use licensedesk_core::delegate::{DelegateCert, verify_cert};
use licensedesk_core::gateway::AllotmentSource;
use licensedesk_core::keys::{Envelope, KeySet};
use licensedesk_protocol::api::field::{
    self as wire, AllotmentView, CheckoutRequest, ReconcileReport,
};
use rusqlite::{TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::key::DelegateKey;
use crate::store::{AllotmentSummary, Kit};
use crate::{Error, Result};

/// What one reconcile did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReconcileOutcome {
    /// Records uploaded.
    pub entries: u64,
    /// Records the server stored for the first time with this upload.
    pub new_entries: u64,
    /// Slots consumed for the first time with this upload.
    pub newly_consumed: u32,
    /// Slots consumed in all (server side).
    pub consumed: u32,
    pub conflicts: u32,
    pub summary: AllotmentSummary,
}

/// Checks out `count` licenses of `source` (an order, or a gateway
/// product's orders) for `days` days from the server at `base` for a new
/// delegate key of this kit (one key per allotment); verifies the
/// certificate with the server's key set and stores it. Returns the
/// allotment.
pub async fn checkout(
    kit: &mut Kit,
    base: &str,
    token: &str,
    source: &AllotmentSource,
    count: u32,
    days: u32,
    now: DateTime<Utc>,
) -> Result<AllotmentSummary> {
    let key = DelegateKey::generate(kit.dir())?;
    match checkout_with(kit, &key, base, token, source, count, days, now).await {
        Ok(summary) => Ok(summary),
        Err(e) => {
            key.discard(kit.dir());
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn checkout_with(
    kit: &mut Kit,
    key: &DelegateKey,
    base: &str,
    token: &str,
    source: &AllotmentSource,
    count: u32,
    days: u32,
    now: DateTime<Utc>,
) -> Result<AllotmentSummary> {
    let http = licensedesk_http::Client::new(base)?;
    let keyset: KeySet = http.get("/v1/keys").json().await?;
    let (order_no, product) = match source {
        AllotmentSource::Order(order) => (Some(order.trim().to_owned()), None),
        AllotmentSource::Product(product) => (None, Some(product.trim().to_owned())),
    };
    let body = CheckoutRequest {
        order_no,
        product,
        count,
        days,
        delegate_kid: key.kid().to_owned(),
        delegate_public_key: key.public_key(),
    };
    let view: AllotmentView = http
        .post_json("/v1/field/allotments", &body)
        .bearer(Some(token))
        .json()
        .await?;
    let env: Envelope = serde_json::from_str(&view.certificate)
        .map_err(|e| Error::CertNotForThisKit(e.to_string()))?;
    let cert: DelegateCert = verify_cert(env.as_ref(), &keyset)?;
    if cert.delegate_kid != key.kid()
        || cert.delegate_public_key != key.public_key()
        || cert.allotment_id != view.allotment_id
    {
        return Err(Error::CertNotForThisKit(format!(
            "certificate for key '{}'",
            cert.delegate_kid
        )));
    }
    kit.store_allotment(base, &cert, &env, &keyset, now)?;
    kit.summary(&cert.allotment_id, now)
}

/// Uploads the ledger of `allotment_id` to the server at `base` (the one it
/// was checked out from; its address may have changed) and stores each
/// record's result. One call is one upload under a fresh `Idempotency-Key`,
/// re-sent with the same key as the retry policy allows (a lost answer is
/// replayed, not re-applied); the server stores each record and consumes
/// each slot once, so calling this any number of times is safe and each
/// answer reports what that call changed.
pub async fn reconcile(
    kit: &mut Kit,
    base: &str,
    token: &str,
    allotment_id: &str,
    now: DateTime<Utc>,
) -> Result<ReconcileOutcome> {
    kit.verify_ledger(allotment_id)?;
    let body = kit.export(allotment_id)?;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| Error::RandomUnavailable(e.to_string()))?;
    let key = format!("field-reconcile-{}", hex::encode(nonce));
    let http = licensedesk_http::Client::new(base)?;
    let report: ReconcileReport = http
        .post_bytes(
            &format!("/v1/field/allotments/{allotment_id}/reconcile"),
            body.into_bytes(),
        )
        .bearer(Some(token))
        .idempotency_key(&key)
        .json()
        .await?;
    kit.store_reconcile(allotment_id, &report, now)?;
    Ok(ReconcileOutcome {
        entries: report.entries,
        new_entries: report.new_entries,
        newly_consumed: report.newly_consumed,
        consumed: report.allotment.consumed,
        conflicts: report.conflicts.len() as u32,
        summary: kit.summary(allotment_id, now)?,
    })
}

fn conflict_message(code: &str) -> String {
    match code {
        "HARDWARE_ALREADY_ACTIVATED" => {
            "this gateway got a license of the slot's order elsewhere meanwhile; its field license was not counted".into()
        }
        "ORDER_EXHAUSTED" => {
            "issued after the allotment was returned or expired, and the order has no license left".into()
        }
        other => format!("the server did not count this license ({other})"),
    }
}

impl Kit {
    fn store_reconcile(
        &mut self,
        allotment_id: &str,
        report: &ReconcileReport,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE ledger SET sync_state = 'reconciled', sync_code = NULL, sync_message = NULL
             WHERE allotment_id = ?1 AND seq <= ?2",
            params![allotment_id, report.entries as i64],
        )?;
        for c in &report.conflicts {
            tx.execute(
                "UPDATE ledger SET sync_state = 'conflict', sync_code = ?3, sync_message = ?4
                 WHERE allotment_id = ?1 AND slot = ?2",
                params![allotment_id, c.slot, c.code, conflict_message(&c.code)],
            )?;
        }
        tx.execute(
            "UPDATE allotments SET server_state = ?2, consumed = ?3, synced_at = ?4 WHERE id = ?1",
            params![
                allotment_id,
                report.allotment.state,
                report.allotment.consumed,
                now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// One entry of the server's field audit log (checkout, issuance, reconcile,
/// return, expire): `GET /v1/field/audit`'s [`wire::AuditEntry`], as the UI
/// reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditEntry {
    pub id: i64,
    pub allotment_id: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub action: String,
    /// What the server recorded with the action (counts, state, …).
    #[ts(type = "Record<string, unknown>")]
    pub detail: serde_json::Value,
}

/// One page of the server's audit log, newest first: `next_cursor` reads
/// the older entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// A page of the server's audit log of `allotment_id`, newest first (from
/// `cursor`, a previous page's `next_cursor`; `None` for the newest), from
/// the server at `base` (online, read-only).
pub async fn audit(
    base: &str,
    token: &str,
    allotment_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<AuditPage> {
    let mut q: Vec<(&str, String)> = vec![
        ("allotment", allotment_id.to_owned()),
        ("limit", limit.clamp(1, 500).to_string()),
    ];
    if let Some(c) = cursor {
        q.push(("cursor", c.to_owned()));
    }
    let page: wire::AuditPage = licensedesk_http::Client::new(base)?
        .get("/v1/field/audit")
        .query(&q)
        .bearer(Some(token))
        .json()
        .await?;
    Ok(AuditPage::from(page))
}

impl From<wire::AuditPage> for AuditPage {
    fn from(p: wire::AuditPage) -> Self {
        Self {
            entries: p
                .entries
                .into_iter()
                .map(|e| AuditEntry {
                    id: e.id,
                    allotment_id: e.allotment_id,
                    at: e.at,
                    action: e.action,
                    detail: e.detail,
                })
                .collect(),
            next_cursor: p.next_cursor,
        }
    }
}

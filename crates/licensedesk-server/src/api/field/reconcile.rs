//! Reconciliation: the kit uploads its ledger export; core verifies it
//! completely; each new record is stored once (`PRIMARY KEY (allotment_id,
//! seq)`) and each new slot is consumed once (`PRIMARY KEY (allotment_id,
//! slot)` + the order's `UNIQUE (order_id, fingerprint)`), so any number of
//! retries consumes nothing more. A slot consumes a license of the order
//! its allotment part names (`field_allotment_orders`, core's
//! `AllotmentPart::contains`).

use axum::extract::State;
use chrono::{DateTime, Utc};
use licensedesk_core::Coded;
use licensedesk_core::gateway::{Held, OrderActivation, decide_order_activation};
use licensedesk_core::ledger::{ExportEntry, VerifiedLedger, verify_export};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{AllotmentView, Part, allotment_parts, allotment_view, audit, order_free};
use crate::AppState;
use crate::api::extract::{Bytes, Json, Path};
use crate::api::gateways::held_elsewhere;
use crate::auth::Caller;
use crate::changes::{self, Op};
use crate::db::ts;
use crate::error::{ApiError, Result};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotConflict {
    pub slot: u32,
    pub fingerprint: String,
    pub license_id: String,
    /// `HARDWARE_ALREADY_ACTIVATED` (the gateway got a license of this order
    /// — of a product allotment: of any order of its product — elsewhere
    /// meanwhile) or `ORDER_EXHAUSTED` (issued after the allotment
    /// was returned or expired, and the order has no license left).
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReconcileReport {
    pub allotment: AllotmentView,
    /// Records in the uploaded ledger.
    pub entries: u64,
    /// Records this upload stored for the first time.
    pub new_entries: u64,
    /// Slots this upload consumed for the first time.
    pub newly_consumed: u32,
    /// Every conflicting slot of the allotment.
    pub conflicts: Vec<SlotConflict>,
}

struct Allotment {
    account_id: i64,
    id: String,
    parts: Vec<Part>,
    open: bool,
    certificate: String,
    /// The product of a product allotment: a gateway already licensed from
    /// any of the account's orders of it is a conflict, not a second license.
    product: Option<String>,
}

impl Allotment {
    /// The part `slot` belongs to (the ledger was verified: slots are
    /// 1..=max_licenses, which the parts cover).
    fn part(&self, slot: u32) -> Result<&Part> {
        self.parts
            .iter()
            .find(|p| p.slots.contains(slot))
            .ok_or_else(|| ApiError::Internal(format!("slot {slot} of {} has no order", self.id)))
    }
}

fn load(c: &Connection, account_id: i64, id: &str) -> Result<Allotment> {
    let (open, certificate, product) = c
        .query_row(
            "SELECT state = 'open', certificate, product FROM field_allotments WHERE id = ?1 AND account_id = ?2",
            params![id, account_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or(ApiError::NotFound("allotment"))?;
    let parts = allotment_parts(c, id)?;
    Ok(Allotment {
        account_id,
        id: id.to_owned(),
        parts,
        open,
        certificate,
        product,
    })
}

/// Whether `fingerprint` already holds a license of one of the account's
/// orders of `product` (a product allotment's "activated elsewhere").
fn same_order_holds(tx: &Connection, order_id: i64, fingerprint: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM gateway_activations WHERE order_id = ?1 AND fingerprint = ?2)",
        )?
        .query_row(params![order_id, fingerprint], |r| r.get(0))?)
}

fn order_product(tx: &Connection, order_id: i64) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT product FROM gateway_orders WHERE id = ?1")?
        .query_row([order_id], |r| r.get(0))?)
}

/// Stores the record once; `true` when it is new. A different record under
/// the same sequence number is a forked ledger.
fn store_record(
    tx: &Connection,
    a: &Allotment,
    e: &ExportEntry,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = &e.record;
    // At most MAX_RECORDS (core): always fits.
    let seq = i64::try_from(r.seq).unwrap_or(i64::MAX);
    let inserted = tx
        .prepare_cached(
            "INSERT INTO field_issuances (allotment_id, seq, slot, fingerprint, license_id, record_hash, issued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (allotment_id, seq) DO NOTHING",
        )?
        .execute(params![a.id, seq, r.slot, r.fingerprint, r.license_id, r.hash, ts(r.issued_at)])?;
    if inserted == 0 {
        let stored: String = tx
            .prepare_cached(
                "SELECT record_hash FROM field_issuances WHERE allotment_id = ?1 AND seq = ?2",
            )?
            .query_row(params![a.id, seq], |row| row.get(0))?;
        if stored != r.hash {
            return Err(ApiError::conflict(
                "LEDGER_FORKED",
                format!(
                    "record {} differs from the one already reconciled: upload the kit's own, complete ledger",
                    r.seq
                ),
            ));
        }
        return Ok(false);
    }
    let detail = json!({"seq": r.seq, "slot": r.slot, "fingerprint": r.fingerprint, "license_id": r.license_id,
        "issued_at": r.issued_at});
    audit(tx, a.account_id, &a.id, "issuance", now, &detail)?;
    Ok(true)
}

/// Consumes the entry's slot once; `true` when it was consumed now.
fn consume_slot(
    tx: &Connection,
    a: &Allotment,
    e: &ExportEntry,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = &e.record;
    let part = a.part(r.slot)?;
    // Decided before the slot row exists: an open allotment holds its
    // reservation; a closed one needs a free license of the order.
    let capacity = a.open || order_free(tx, part.order_id, part.quantity)? > 0;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO field_slots (allotment_id, slot, fingerprint, license_id, status, reconciled_at)
             VALUES (?1, ?2, ?3, ?4, 'consumed', ?5) ON CONFLICT (allotment_id, slot) DO NOTHING",
        )?
        .execute(params![a.id, r.slot, r.fingerprint, r.license_id, ts(now)])?;
    if inserted == 0 {
        return Ok(false);
    }
    // One rule for a second license of the same hardware (core's
    // `decide_order_activation`): a gateway holding a license of this
    // order, or of another order of its product, gets no second one. Here
    // a re-issue is a conflict too: the field license is a second copy,
    // and nothing is consumed.
    let product = match &a.product {
        Some(p) => Some(p.clone()),
        None => order_product(tx, part.order_id)?,
    };
    let held = if same_order_holds(tx, part.order_id, &r.fingerprint)? {
        Held::SameOrder
    } else {
        held_elsewhere(
            tx,
            a.account_id,
            part.order_id,
            product.as_deref(),
            &r.fingerprint,
        )?
    };
    // The slot's capacity: its own reservation while the allotment is
    // open, else a free license of its order.
    let (activated, quantity) = if capacity { (0, 1) } else { (1, 1) };
    let decision = decide_order_activation(
        &part.slots.order_no,
        product.as_deref(),
        &held,
        activated,
        quantity,
    );
    let refused = match decision {
        Ok(OrderActivation::Issue) => {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO gateway_activations (order_id, fingerprint, license_id, license, issued_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )?
                .execute(params![part.order_id, r.fingerprint, r.license_id, e.license, ts(r.issued_at)])?;
            (inserted == 0).then_some("HARDWARE_ALREADY_ACTIVATED")
        }
        Ok(OrderActivation::Reissue) => Some("HARDWARE_ALREADY_ACTIVATED"),
        Err(e) => Some(e.code()),
    };
    if let Some(code) = refused {
        tx.prepare_cached(
            "UPDATE field_slots SET status = 'conflict', conflict_code = ?3 WHERE allotment_id = ?1 AND slot = ?2",
        )?
        .execute(params![a.id, r.slot, code])?;
        return Ok(false);
    }
    changes::record(
        tx,
        a.account_id,
        "gateway_activation",
        &r.license_id,
        Op::Insert,
        now,
        &json!({"order_no": part.slots.order_no, "fingerprint": r.fingerprint, "license_id": r.license_id,
                "issued_at": r.issued_at, "allotment_id": a.id}),
    )?;
    Ok(true)
}

fn conflicts(c: &Connection, id: &str) -> Result<Vec<SlotConflict>> {
    let mut st = c.prepare_cached(
        "SELECT slot, fingerprint, license_id, conflict_code FROM field_slots
         WHERE allotment_id = ?1 AND status = 'conflict' ORDER BY slot",
    )?;
    let rows = st
        .query_map([id], |r| {
            Ok(SlotConflict {
                slot: r.get(0)?,
                fingerprint: r.get(1)?,
                license_id: r.get(2)?,
                code: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn reconcile_tx(
    tx: &Connection,
    account: i64,
    id: &str,
    ledger: &VerifiedLedger,
    now: DateTime<Utc>,
) -> Result<ReconcileReport> {
    let a = load(tx, account, id)?;
    if ledger.cert_envelope.to_json() != a.certificate {
        return Err(ApiError::conflict(
            "FIELD_CERT_MISMATCH",
            "this ledger was issued under another allotment's certificate: reconcile it against its own allotment",
        ));
    }
    let (mut new_entries, mut newly_consumed) = (0u64, 0u32);
    let mut seen_slots = std::collections::HashSet::new();
    for e in &ledger.entries {
        new_entries += u64::from(store_record(tx, &a, e, now)?);
        if seen_slots.insert(e.record.slot) {
            newly_consumed += u32::from(consume_slot(tx, &a, e, now)?);
        }
    }
    let conflicts = conflicts(tx, id)?;
    let detail = json!({"entries": ledger.summary.records, "new_entries": new_entries,
        "newly_consumed": newly_consumed, "conflicts": conflicts.len()});
    audit(tx, account, id, "reconcile", now, &detail)?;
    if new_entries > 0 {
        changes::record(tx, account, "field_allotment", id, Op::Update, now, &detail)?;
    }
    Ok(ReconcileReport {
        allotment: allotment_view(tx, account, id)?,
        entries: ledger.summary.records,
        new_entries,
        newly_consumed,
        conflicts,
    })
}

/// Reconcile a field kit's ledger export (the body): every entry's chain
/// and the ledger are verified; each slot is consumed exactly once however
/// often the same ledger (or a longer one) is uploaded.
#[utoipa::path(post, path = "/v1/field/allotments/{id}/reconcile", tag = "field", params(("id" = String, Path)),
    request_body(content = String, description = "the ledger export JSON", content_type = "application/json"),
    responses((status = 200, body = ReconcileReport), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn reconcile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Bytes(body): Bytes,
) -> Result<Json<ReconcileReport>> {
    let now = state.now();
    // Verified before the write: signature checks never hold the writer.
    let ledger = verify_export(&body, state.keys.signer.keyset()).map_err(ApiError::core)?;
    let report = state
        .db
        .write(move |tx| reconcile_tx(tx, caller.account_id, &id, &ledger, now))
        .await?;
    Ok(Json(report))
}

//! Reconciliation: the kit uploads its ledger export; core verifies it
//! completely (before the write); each new record is stored once
//! (`PRIMARY KEY (allotment_id, seq)`) and each new slot is consumed once
//! (`PRIMARY KEY (allotment_id, slot)` + the order's `UNIQUE (order_id,
//! fingerprint)`), so any number of retries consumes nothing more. A slot
//! consumes a license of the order its allotment part names
//! (`field_allotment_orders`, core's `AllotmentPart::contains`).

use chrono::{DateTime, Utc};
use licensedesk_core::Coded;
use licensedesk_core::gateway::{Held, OrderActivation, decide_order_activation};
use licensedesk_core::ledger::{ExportEntry, VerifiedLedger};
use licensedesk_protocol::api::field::{ReconcileReport, SlotConflict};
use licensedesk_protocol::feed::{Activation, Record};
use serde_json::json;

use super::{Part, allotment_parts, allotment_updated, allotment_view, audit};
use crate::db::Conn;
use crate::error::{ApiError, Result};
use crate::store::changes;
use crate::store::gateways::{held_elsewhere, order_free};
use crate::store::{Ctx, Store, write};
use crate::time::stored;

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

async fn load(c: &impl Conn, account_id: i64, id: &str) -> Result<Allotment> {
    let (open, certificate, product) = c
        .opt(
            "SELECT state = 'open', certificate, product FROM field_allotments WHERE id = $1 AND account_id = $2",
            &[&id, &account_id],
            |r| Ok((r.bool(0)?, r.string(1)?, r.opt_string(2)?)),
        )
        .await?
        .ok_or(ApiError::NotFound("allotment"))?;
    let parts = allotment_parts(c, id).await?;
    Ok(Allotment {
        account_id,
        id: id.to_owned(),
        parts,
        open,
        certificate,
        product,
    })
}

/// Whether `fingerprint` already holds a license of order `order_id`.
async fn same_order_holds(c: &impl Conn, order_id: i64, fingerprint: &str) -> Result<bool> {
    c.one(
        "SELECT EXISTS (SELECT 1 FROM gateway_activations WHERE order_id = $1 AND fingerprint = $2)",
        &[&order_id, &fingerprint],
        |r| r.bool(0),
    )
    .await
}

async fn order_product(c: &impl Conn, order_id: i64) -> Result<Option<String>> {
    c.one(
        "SELECT product FROM gateway_orders WHERE id = $1",
        &[&order_id],
        |r| r.opt_string(0),
    )
    .await
}

/// Stores the record once; `true` when it is new. A different record under
/// the same sequence number is a forked ledger.
async fn store_record(
    c: &impl Conn,
    a: &Allotment,
    e: &ExportEntry,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = &e.record;
    // At most MAX_RECORDS (core): always fits.
    let seq = i64::try_from(r.seq).unwrap_or(i64::MAX);
    let inserted = c
        .exec(
            "INSERT INTO field_issuances (allotment_id, seq, slot, fingerprint, license_id, record_hash, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (allotment_id, seq) DO NOTHING",
            &[
                &a.id,
                &seq,
                &i64::from(r.slot),
                &r.fingerprint,
                &r.license_id,
                &r.hash,
                &stored(r.issued_at),
            ],
        )
        .await?;
    if inserted == 0 {
        let hash = c
            .one(
                "SELECT record_hash FROM field_issuances WHERE allotment_id = $1 AND seq = $2",
                &[&a.id, &seq],
                |row| row.string(0),
            )
            .await?;
        if hash != r.hash {
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
    audit(c, a.account_id, &a.id, "issuance", now, &detail).await?;
    Ok(true)
}

/// Consumes the entry's slot once; `true` when it was consumed now.
async fn consume_slot(
    c: &impl Conn,
    a: &Allotment,
    e: &ExportEntry,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = &e.record;
    let part = a.part(r.slot)?;
    // Decided before the slot row exists: an open allotment holds its
    // reservation; a closed one needs a free license of the order.
    let capacity = a.open || order_free(c, part.order_id, part.quantity).await? > 0;
    let inserted = c
        .exec(
            "INSERT INTO field_slots (allotment_id, slot, fingerprint, license_id, status, reconciled_at)
             VALUES ($1, $2, $3, $4, 'consumed', $5) ON CONFLICT (allotment_id, slot) DO NOTHING",
            &[
                &a.id,
                &i64::from(r.slot),
                &r.fingerprint,
                &r.license_id,
                &stored(now),
            ],
        )
        .await?;
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
        None => order_product(c, part.order_id).await?,
    };
    let held = if same_order_holds(c, part.order_id, &r.fingerprint).await? {
        Held::SameOrder
    } else {
        held_elsewhere(
            c,
            a.account_id,
            part.order_id,
            product.as_deref(),
            &r.fingerprint,
        )
        .await?
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
            let inserted = c
                .exec(
                    "INSERT INTO gateway_activations (order_id, fingerprint, license_id, license, issued_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    &[
                        &part.order_id,
                        &r.fingerprint,
                        &r.license_id,
                        &e.license,
                        &stored(r.issued_at),
                    ],
                )
                .await?;
            (inserted == 0).then_some("HARDWARE_ALREADY_ACTIVATED")
        }
        Ok(OrderActivation::Reissue) => Some("HARDWARE_ALREADY_ACTIVATED"),
        Err(e) => Some(e.code()),
    };
    if let Some(code) = refused {
        c.exec(
            "UPDATE field_slots SET status = 'conflict', conflict_code = $3 WHERE allotment_id = $1 AND slot = $2",
            &[&a.id, &i64::from(r.slot), &code],
        )
        .await?;
        return Ok(false);
    }
    changes::record(
        c,
        a.account_id,
        now,
        &Record::GatewayActivated(Activation {
            allotment_id: Some(a.id.clone()),
            fingerprint: r.fingerprint.clone(),
            issued_at: Some(r.issued_at),
            license_id: r.license_id.clone(),
            order_no: part.slots.order_no.clone(),
            reissued: None,
        }),
    )
    .await?;
    Ok(true)
}

async fn conflicts(c: &impl Conn, id: &str) -> Result<Vec<SlotConflict>> {
    c.query(
        "SELECT slot, fingerprint, license_id, conflict_code FROM field_slots
         WHERE allotment_id = $1 AND status = 'conflict' ORDER BY slot",
        &[&id],
        |r| {
            Ok(SlotConflict {
                slot: r.u32(0)?,
                fingerprint: r.string(1)?,
                license_id: r.string(2)?,
                code: r.opt_string(3)?.unwrap_or_default(),
            })
        },
    )
    .await
}

/// Reconciles a verified ledger against allotment `id` of the account.
async fn reconcile(
    c: &impl Conn,
    account: i64,
    id: &str,
    ledger: &VerifiedLedger,
    now: DateTime<Utc>,
) -> Result<ReconcileReport> {
    let a = load(c, account, id).await?;
    if ledger.cert_envelope.to_json() != a.certificate {
        return Err(ApiError::conflict(
            "FIELD_CERT_MISMATCH",
            "this ledger was issued under another allotment's certificate: reconcile it against its own allotment",
        ));
    }
    let (mut new_entries, mut newly_consumed) = (0u64, 0u32);
    let mut seen_slots = std::collections::HashSet::new();
    for e in &ledger.entries {
        new_entries += u64::from(store_record(c, &a, e, now).await?);
        if seen_slots.insert(e.record.slot) {
            newly_consumed += u32::from(consume_slot(c, &a, e, now).await?);
        }
    }
    let conflicts = conflicts(c, id).await?;
    let detail = json!({"entries": ledger.summary.records, "new_entries": new_entries,
        "newly_consumed": newly_consumed, "conflicts": conflicts.len()});
    audit(c, account, id, "reconcile", now, &detail).await?;
    if new_entries > 0 {
        changes::record(c, account, now, &allotment_updated(id, detail)).await?;
    }
    Ok(ReconcileReport {
        allotment: allotment_view(c, account, id).await?,
        entries: ledger.summary.records,
        new_entries,
        newly_consumed,
        conflicts,
    })
}

impl Store {
    /// Reconciles a field kit's verified ledger export against allotment
    /// `id`: each slot is consumed exactly once however often the same
    /// ledger (or a longer one) is uploaded.
    pub async fn reconcile_allotment(
        &self,
        ctx: &Ctx,
        account: i64,
        id: String,
        ledger: VerifiedLedger,
    ) -> Result<ReconcileReport> {
        let now = ctx.now;
        write!(self, ctx, [id, ledger], |c| reconcile(
            c, account, &id, &ledger, now
        ))
        .await
    }
}

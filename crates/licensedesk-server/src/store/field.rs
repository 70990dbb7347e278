//! Offline field activation (issue 6): a field kit checks out an allotment
//! of an order's gateway licenses (or of a gateway product's orders) for
//! its own delegate key, issues them offline, and reconciles its ledger
//! ([`reconcile`]); each allotment slot is consumed exactly once. Returns,
//! expiry at `not_after`, and the audit log of it all. Every rule
//! (certificate, chain, ledger, slot rule, plan) is licensedesk-core's;
//! this module stores and counts.

pub mod reconcile;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use licensedesk_core::Coded as _;
use licensedesk_core::delegate::{DelegateCert, sign_cert};
use licensedesk_core::gateway::{
    AllotmentPart, AllotmentSource, OrderSupply, check_product, plan_allotment,
};
use licensedesk_protocol::api::field::{
    AllotmentOrderView, AllotmentView, AuditEntry, AuditPage, CheckoutRequest,
};
use serde_json::json;

use crate::db::{Conn, Row};
use crate::error::{ApiError, Result};
use crate::signing::Signer;
use crate::store::changes::{self, Record};
use crate::store::gateways::order_free;
use crate::store::{Ctx, Store, read, write};
use crate::time::stored;

/// The feed's record of an allotment's change: its audit entry's detail.
pub(crate) fn allotment_updated(id: &str, detail: serde_json::Value) -> Record<'static> {
    Record::AllotmentUpdated {
        id: id.to_owned(),
        detail,
    }
}

/// Server-side caps of one checkout.
pub const MAX_ALLOTMENT_LICENSES: u32 = 500;
pub const MAX_ALLOTMENT_DAYS: u32 = 90;

/// What a checkout asks to draw from: exactly one order or product.
fn checkout_source(req: &CheckoutRequest) -> Result<AllotmentSource> {
    let given = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match (given(&req.order_no), given(&req.product)) {
        (Some(order), None) => Ok(AllotmentSource::Order(order)),
        (None, Some(product)) => {
            check_product(&product).map_err(ApiError::core)?;
            Ok(AllotmentSource::Product(product))
        }
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "ALLOTMENT_SCOPE_INVALID",
            "give either an order number or a product to check out from, not both",
        )),
        (None, None) => Err(ApiError::invalid(
            "ALLOTMENT_SCOPE_INVALID",
            "give an order number or a product to check out from",
        )),
    }
}

/// Appends an entry to the account's field audit log.
async fn audit(
    c: &impl Conn,
    account_id: i64,
    allotment_id: &str,
    action: &str,
    now: DateTime<Utc>,
    detail: &serde_json::Value,
) -> Result<()> {
    c.exec(
        "INSERT INTO field_audit (account_id, allotment_id, at, action, detail) VALUES ($1, $2, $3, $4, $5)",
        &[&account_id, &allotment_id, &stored(now), &action, &detail.to_string()],
    )
    .await?;
    Ok(())
}

/// The caller's orders `source` may draw from, with what each has free,
/// keyed by order number → row id.
async fn supplies(
    c: &impl Conn,
    account_id: i64,
    source: &AllotmentSource,
) -> Result<(Vec<OrderSupply>, HashMap<String, i64>)> {
    let (column, value) = match source {
        AllotmentSource::Order(o) => ("order_no", o),
        AllotmentSource::Product(p) => ("product", p),
    };
    let rows = c
        .query(
            &format!(
                "SELECT id, quantity, created_at, order_no, product, customer, max_connections, max_tags, plugins,
                   validity_days FROM gateway_orders WHERE account_id = $1 AND {column} = $2 ORDER BY id"
            ),
            &[&account_id, value],
            |r| {
                Ok((
                    r.i64(0)?,
                    r.u32(1)?,
                    OrderSupply {
                        order_no: r.string(3)?,
                        product: r.opt_string(4)?,
                        created_at: r.time(2)?,
                        customer: r.string(5)?,
                        free: 0,
                        plugins: serde_json::from_str(r.str(8)?).unwrap_or_default(),
                        max_connections: r.u32(6)?,
                        max_tags: r.u32(7)?,
                        validity_days: r.u32(9)?,
                    },
                ))
            },
        )
        .await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound(match source {
            AllotmentSource::Order(_) => "order",
            AllotmentSource::Product(_) => "gateway order of this product",
        }));
    }
    let mut ids = HashMap::with_capacity(rows.len());
    let mut out = Vec::with_capacity(rows.len());
    for (id, quantity, mut supply) in rows {
        supply.free = order_free(c, id, quantity).await?;
        ids.insert(supply.order_no.clone(), id);
        out.push(supply);
    }
    Ok((out, ids))
}

fn scope_name(source: &AllotmentSource) -> &'static str {
    match source {
        AllotmentSource::Order(_) => "order",
        AllotmentSource::Product(_) => "product",
    }
}

/// Checks out allotment `id`: reserves `req.count` licenses of an order,
/// or of a gateway product's orders (oldest order first), for `req.days`,
/// and signs a delegate certificate for the kit's public key.
async fn checkout(
    c: &impl Conn,
    signer: &Signer,
    account_id: i64,
    req: &CheckoutRequest,
    id: &str,
    now: DateTime<Utc>,
) -> Result<AllotmentView> {
    if req.count == 0
        || req.count > MAX_ALLOTMENT_LICENSES
        || req.days == 0
        || req.days > MAX_ALLOTMENT_DAYS
    {
        return Err(ApiError::invalid(
            "ALLOTMENT_INVALID",
            format!(
                "an allotment is 1 to {MAX_ALLOTMENT_LICENSES} licenses for 1 to {MAX_ALLOTMENT_DAYS} days"
            ),
        ));
    }
    let source = checkout_source(req)?;
    let (supplies, order_ids) = supplies(c, account_id, &source).await?;
    let plan = plan_allotment(&source, &supplies, req.count)
        .map_err(|e| ApiError::conflict(e.code(), e.to_string()))?;
    let cert = DelegateCert {
        v: 1,
        allotment_id: id.to_owned(),
        delegate_kid: req.delegate_kid.clone(),
        delegate_public_key: req.delegate_public_key.clone(),
        scope: plan.scope,
        max_licenses: req.count,
        not_before: now,
        not_after: now + Duration::days(i64::from(req.days)),
    };
    cert.validate().map_err(ApiError::core)?;
    let envelope = sign_cert(&cert, signer.key()).to_json();
    let (order_id, product) = match &source {
        AllotmentSource::Order(o) => (order_ids.get(o).copied(), None),
        AllotmentSource::Product(p) => (None, Some(p.as_str())),
    };
    // One certificate per delegate key (and allotment id).
    let taken = c
        .opt(
            "SELECT 1 FROM field_allotments WHERE delegate_public_key = $1 OR id = $2",
            &[&cert.delegate_public_key, &id],
            |_| Ok(()),
        )
        .await?;
    if taken.is_some() {
        return Err(ApiError::conflict(
            "DELEGATE_KEY_REUSED",
            "this delegate key already has an allotment: generate a new key",
        ));
    }
    c.exec(
        "INSERT INTO field_allotments (id, account_id, order_id, product, delegate_kid, delegate_public_key,
           max_licenses, not_before, not_after, certificate, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8)",
        &[
            &id,
            &account_id,
            &order_id,
            &product,
            &cert.delegate_kid,
            &cert.delegate_public_key,
            &i64::from(cert.max_licenses),
            &stored(cert.not_before),
            &stored(cert.not_after),
            &envelope,
        ],
    )
    .await?;
    for part in &plan.parts {
        let order_id = order_ids
            .get(&part.order_no)
            .ok_or(ApiError::NotFound("order"))?;
        c.exec(
            "INSERT INTO field_allotment_orders (allotment_id, order_id, first_slot, count) VALUES ($1, $2, $3, $4)",
            &[&id, order_id, &i64::from(part.first_slot), &i64::from(part.count)],
        )
        .await?;
    }
    let orders: Vec<_> = plan
        .parts
        .iter()
        .map(|p| json!({"order_no": p.order_no, "count": p.count}))
        .collect();
    let detail = json!({"scope": scope_name(&source), "order_no": cert.scope.order, "product": cert.scope.product,
        "orders": orders, "max_licenses": req.count, "not_after": cert.not_after, "delegate_kid": cert.delegate_kid});
    audit(c, account_id, id, "checkout", now, &detail).await?;
    changes::record(
        c,
        account_id,
        now,
        &Record::AllotmentCreated {
            id: id.to_string(),
            detail,
        },
    )
    .await?;
    allotment_view(c, account_id, id).await
}

/// One order an allotment's slots count against.
pub(crate) struct Part {
    pub slots: AllotmentPart,
    pub order_id: i64,
    pub quantity: u32,
}

/// The orders an allotment's slots count against, in slot order.
pub(crate) async fn allotment_parts(c: &impl Conn, id: &str) -> Result<Vec<Part>> {
    c.query(
        "SELECT o.order_no, p.first_slot, p.count, o.id, o.quantity FROM field_allotment_orders p
         JOIN gateway_orders o ON o.id = p.order_id WHERE p.allotment_id = $1 ORDER BY p.first_slot",
        &[&id],
        |r| {
            Ok(Part {
                slots: AllotmentPart {
                    order_no: r.string(0)?,
                    first_slot: r.u32(1)?,
                    count: r.u32(2)?,
                },
                order_id: r.i64(3)?,
                quantity: r.u32(4)?,
            })
        },
    )
    .await
}

fn allotment_row(r: &Row<'_>) -> Result<AllotmentView> {
    let (max, state) = (r.u32(3)?, r.string(6)?);
    let (consumed, conflicts) = (r.u32(8)?, r.u32(9)?);
    let open = state == "open";
    let order_no = r.opt_string(1)?;
    Ok(AllotmentView {
        allotment_id: r.string(0)?,
        scope: if order_no.is_some() {
            "order"
        } else {
            "product"
        }
        .to_owned(),
        order_no,
        product: r.opt_string(2)?,
        orders: Vec::new(),
        max_licenses: max,
        consumed,
        conflicts,
        reserved: if open {
            max.saturating_sub(consumed + conflicts)
        } else {
            0
        },
        not_before: r.time(4)?,
        not_after: r.time(5)?,
        state,
        certificate: r.string(7)?,
    })
}

/// Allotment `id` of the account, with its counts and orders.
pub(crate) async fn allotment_view(
    c: &impl Conn,
    account_id: i64,
    id: &str,
) -> Result<AllotmentView> {
    let mut v = c
        .opt(
            "SELECT a.id, o.order_no, COALESCE(a.product, o.product), a.max_licenses, a.not_before, a.not_after,
               a.state, a.certificate,
               (SELECT COUNT(*) FROM field_slots s WHERE s.allotment_id = a.id AND s.status = 'consumed'),
               (SELECT COUNT(*) FROM field_slots s WHERE s.allotment_id = a.id AND s.status = 'conflict')
             FROM field_allotments a LEFT JOIN gateway_orders o ON o.id = a.order_id
             WHERE a.id = $1 AND a.account_id = $2",
            &[&id, &account_id],
            allotment_row,
        )
        .await?
        .ok_or(ApiError::NotFound("allotment"))?;
    v.orders = allotment_parts(c, id)
        .await?
        .into_iter()
        .map(|p| AllotmentOrderView {
            order_no: p.slots.order_no,
            first_slot: p.slots.first_slot,
            count: p.slots.count,
        })
        .collect();
    Ok(v)
}

/// Returns an allotment: its unused reservations go back to the order.
/// Returning again changes nothing.
async fn return_allotment(
    c: &impl Conn,
    account: i64,
    id: &str,
    now: DateTime<Utc>,
) -> Result<AllotmentView> {
    let before = allotment_view(c, account, id).await?;
    let n = c
        .exec(
            "UPDATE field_allotments SET state = 'returned', closed_at = $2 WHERE id = $1 AND state = 'open'",
            &[&id, &stored(now)],
        )
        .await?;
    if n == 1 {
        let detail = json!({"state": "returned", "released": before.reserved});
        audit(c, account, id, "return", now, &detail).await?;
        changes::record(c, account, now, &allotment_updated(id, detail)).await?;
    }
    allotment_view(c, account, id).await
}

/// The accounts with an open allotment past its `not_after` (maintenance).
async fn accounts_with_expired_allotments(c: &impl Conn, now: DateTime<Utc>) -> Result<Vec<i64>> {
    c.query(
        "SELECT DISTINCT account_id FROM field_allotments WHERE state = 'open' AND not_after <= $1",
        &[&stored(now)],
        |r| r.i64(0),
    )
    .await
}

/// Maintenance: the open allotments of `account_id` past their
/// `not_after` expire, releasing their unused reservations. Returns how
/// many expired.
async fn expire_account_allotments(
    c: &impl Conn,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<u64> {
    let expired = c
        .query(
            "UPDATE field_allotments SET state = 'expired', closed_at = $1
             WHERE account_id = $2 AND state = 'open' AND not_after <= $1 RETURNING id",
            &[&stored(now), &account_id],
            |r| r.string(0),
        )
        .await?;
    for id in &expired {
        let detail = json!({"state": "expired"});
        audit(c, account_id, id, "expire", now, &detail).await?;
        changes::record(c, account_id, now, &allotment_updated(id, detail)).await?;
    }
    Ok(expired.len() as u64)
}

fn audit_row(r: &Row<'_>) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.i64(0)?,
        allotment_id: r.string(1)?,
        at: r.string(2)?,
        action: r.string(3)?,
        detail: serde_json::from_str(r.str(4)?).unwrap_or_default(),
    })
}

/// Up to `limit` audit entries of the account older than entry `before`
/// (of one allotment, if given), newest first, and where the next page
/// starts.
async fn audit_page(
    c: &impl Conn,
    account: i64,
    allotment: Option<&str>,
    before: i64,
    limit: u32,
) -> Result<AuditPage> {
    let more = i64::from(limit) + 1;
    let mut entries = match allotment {
        None => {
            c.query(
                "SELECT id, allotment_id, at, action, detail FROM field_audit
                 WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                &[&account, &before, &more],
                audit_row,
            )
            .await?
        }
        Some(allotment) => {
            c.query(
                "SELECT id, allotment_id, at, action, detail FROM field_audit
                 WHERE account_id = $1 AND id < $2 AND allotment_id = $3 ORDER BY id DESC LIMIT $4",
                &[&account, &before, &allotment, &more],
                audit_row,
            )
            .await?
        }
    };
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next_cursor = more
        .then(|| entries.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(AuditPage {
        entries,
        next_cursor,
    })
}

impl Store {
    /// Checks out allotment `id` for the account's field kit, its
    /// certificate signed with `signer`.
    pub async fn checkout_allotment(
        &self,
        ctx: &Ctx,
        signer: Arc<Signer>,
        account: i64,
        req: CheckoutRequest,
        id: String,
    ) -> Result<AllotmentView> {
        let now = ctx.now;
        write!(self, ctx, [signer, req, id], |c| checkout(
            c, &signer, account, &req, &id, now
        ))
        .await
    }

    pub async fn allotment(&self, account: i64, id: String) -> Result<AllotmentView> {
        read!(self, [id], |c| allotment_view(c, account, &id)).await
    }

    pub async fn return_allotment(
        &self,
        ctx: &Ctx,
        account: i64,
        id: String,
    ) -> Result<AllotmentView> {
        let now = ctx.now;
        write!(self, ctx, [id], |c| return_allotment(c, account, &id, now)).await
    }

    /// A page of the account's field audit log (see [`audit_page`]).
    pub async fn field_audit(
        &self,
        account: i64,
        allotment: Option<String>,
        before: i64,
        limit: u32,
    ) -> Result<AuditPage> {
        read!(self, [allotment], |c| audit_page(
            c,
            account,
            allotment.as_deref(),
            before,
            limit
        ))
        .await
    }

    /// The accounts with an open allotment past its `not_after`.
    pub async fn accounts_with_expired_allotments(&self, now: DateTime<Utc>) -> Result<Vec<i64>> {
        read!(self, [], |c| accounts_with_expired_allotments(c, now)).await
    }

    /// Expires one account's allotments past their `not_after`.
    pub async fn expire_allotments(&self, ctx: &Ctx, account: i64) -> Result<u64> {
        let now = ctx.now;
        write!(self, ctx, [], |c| expire_account_allotments(
            c, account, now
        ))
        .await
    }
}

//! Offline field activation (issue 6): a field kit checks out an allotment
//! of an order's gateway licenses (or of a gateway product's orders) for
//! its own delegate key, issues them
//! offline, and reconciles its ledger here; the server consumes each
//! allotment slot exactly once. Every rule (certificate, chain, ledger, slot
//! rule) is licensedesk-core's; this module stores and counts.

pub mod reconcile;

use std::collections::HashMap;

use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use licensedesk_core::Coded as _;
use licensedesk_core::delegate::{DelegateCert, sign_cert};
use licensedesk_core::gateway::{
    AllotmentPart, AllotmentSource, OrderSupply, check_product, plan_allotment,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::common::os_entropy;
use crate::api::extract::{Json, Path, Query};
use crate::auth::Caller;
use crate::changes::{self, Op};
use crate::db::ts;
use crate::error::{ApiError, Result};

pub use reconcile::{ReconcileReport, SlotConflict};

/// Server-side caps of one checkout.
pub const MAX_ALLOTMENT_LICENSES: u32 = 500;
pub const MAX_ALLOTMENT_DAYS: u32 = 90;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    /// Check out from this order… (exactly one of `order_no` and `product`)
    #[serde(default)]
    pub order_no: Option<String>,
    /// …or from the account's orders of this gateway product, oldest first
    /// (licensedesk-core's `plan_allotment`).
    #[serde(default)]
    pub product: Option<String>,
    pub count: u32,
    pub days: u32,
    pub delegate_kid: String,
    /// base64url (no padding) Ed25519 public key; the private key never
    /// leaves the field kit.
    pub delegate_public_key: String,
}

impl CheckoutRequest {
    /// What the allotment is checked out from: exactly one order or product.
    fn source(&self) -> Result<AllotmentSource> {
        let given = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        match (given(&self.order_no), given(&self.product)) {
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
}

/// Slots `first_slot .. first_slot + count` of an allotment count against
/// order `order_no`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AllotmentOrderView {
    pub order_no: String,
    pub first_slot: u32,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AllotmentView {
    pub allotment_id: String,
    /// `order` (checked out from one order) or `product` (from the
    /// product's orders).
    pub scope: String,
    /// The order of an order allotment.
    pub order_no: Option<String>,
    /// The product of a product allotment, or the order's product.
    pub product: Option<String>,
    /// The orders the slots count against, in slot order.
    pub orders: Vec<AllotmentOrderView>,
    pub max_licenses: u32,
    /// Slots reconciled as consumed.
    pub consumed: u32,
    pub conflicts: u32,
    /// Slots still reserved (0 once returned or expired).
    pub reserved: u32,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub state: String,
    /// The signed delegate certificate envelope (JSON text).
    pub certificate: String,
}

pub(crate) fn audit(
    tx: &Connection,
    account_id: i64,
    allotment_id: &str,
    action: &str,
    now: DateTime<Utc>,
    detail: &serde_json::Value,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO field_audit (account_id, allotment_id, at, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![account_id, allotment_id, ts(now), action, detail.to_string()])?;
    Ok(())
}

/// Licenses of `order_id` still reserved by open allotments: each open
/// allotment's part of the order less its slots already reconciled.
pub fn reserved_for_order(c: &Connection, order_id: i64) -> Result<u32> {
    Ok(c.prepare_cached(
        "SELECT COALESCE(SUM(p.count - (SELECT COUNT(*) FROM field_slots s WHERE s.allotment_id = p.allotment_id
               AND s.slot >= p.first_slot AND s.slot < p.first_slot + p.count)), 0)
         FROM field_allotment_orders p JOIN field_allotments a ON a.id = p.allotment_id
         WHERE p.order_id = ?1 AND a.state = 'open'",
    )?
    .query_row([order_id], |r| r.get(0))?)
}

/// The order's licenses neither activated nor reserved.
pub(crate) fn order_free(c: &Connection, order_id: i64, quantity: u32) -> Result<u32> {
    let activated: u32 = c
        .prepare_cached("SELECT COUNT(*) FROM gateway_activations WHERE order_id = ?1")?
        .query_row([order_id], |r| r.get(0))?;
    Ok(quantity.saturating_sub(activated.saturating_add(reserved_for_order(c, order_id)?)))
}

/// The caller's orders `source` may draw from, with what each has free,
/// keyed by order number → row id.
fn supplies(
    c: &Connection,
    account_id: i64,
    source: &AllotmentSource,
) -> Result<(Vec<OrderSupply>, HashMap<String, i64>)> {
    let (column, value) = match source {
        AllotmentSource::Order(o) => ("order_no", o),
        AllotmentSource::Product(p) => ("product", p),
    };
    let rows = c
        .prepare_cached(&format!(
            "SELECT id, quantity, created_at, order_no, product, customer, max_connections, max_tags, plugins,
               validity_days FROM gateway_orders WHERE account_id = ?1 AND {column} = ?2 ORDER BY id"
        ))?
        .query_map(params![account_id, value], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                OrderSupply {
                    order_no: r.get(3)?,
                    product: r.get(4)?,
                    created_at: DateTime::<Utc>::MIN_UTC,
                    customer: r.get(5)?,
                    free: 0,
                    plugins: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                    max_connections: r.get(6)?,
                    max_tags: r.get(7)?,
                    validity_days: r.get(9)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if rows.is_empty() {
        return Err(ApiError::NotFound(match source {
            AllotmentSource::Order(_) => "order",
            AllotmentSource::Product(_) => "gateway order of this product",
        }));
    }
    let mut ids = HashMap::with_capacity(rows.len());
    let mut out = Vec::with_capacity(rows.len());
    for (id, quantity, created_at, mut supply) in rows {
        supply.created_at = crate::db::parse_ts(&created_at)?;
        supply.free = order_free(c, id, quantity)?;
        ids.insert(supply.order_no.clone(), id);
        out.push(supply);
    }
    Ok((out, ids))
}

fn checkout_tx(
    tx: &Connection,
    state: &AppState,
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
    let source = req.source()?;
    let (supplies, order_ids) = supplies(tx, account_id, &source)?;
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
    let envelope = sign_cert(&cert, state.keys.signer.key()).to_json();
    let (order_id, product) = match &source {
        AllotmentSource::Order(o) => (order_ids.get(o).copied(), None),
        AllotmentSource::Product(p) => (None, Some(p.as_str())),
    };
    tx.prepare_cached(
        "INSERT INTO field_allotments (id, account_id, order_id, product, delegate_kid, delegate_public_key,
           max_licenses, not_before, not_after, certificate, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?8)",
    )?
    .execute(params![id, account_id, order_id, product, cert.delegate_kid, cert.delegate_public_key,
        cert.max_licenses, ts(cert.not_before), ts(cert.not_after), envelope])
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            ApiError::conflict("DELEGATE_KEY_REUSED", "this delegate key already has an allotment: generate a new key")
        }
        e => e.into(),
    })?;
    for part in &plan.parts {
        let order_id = order_ids
            .get(&part.order_no)
            .ok_or(ApiError::NotFound("order"))?;
        tx.prepare_cached(
            "INSERT INTO field_allotment_orders (allotment_id, order_id, first_slot, count) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, order_id, part.first_slot, part.count])?;
    }
    let orders: Vec<_> = plan
        .parts
        .iter()
        .map(|p| json!({"order_no": p.order_no, "count": p.count}))
        .collect();
    let detail = json!({"scope": scope_name(&source), "order_no": cert.scope.order, "product": cert.scope.product,
        "orders": orders, "max_licenses": req.count, "not_after": cert.not_after, "delegate_kid": cert.delegate_kid});
    audit(tx, account_id, id, "checkout", now, &detail)?;
    changes::record(
        tx,
        account_id,
        "field_allotment",
        id,
        Op::Insert,
        now,
        &detail,
    )?;
    allotment_view(tx, account_id, id)
}

fn scope_name(source: &AllotmentSource) -> &'static str {
    match source {
        AllotmentSource::Order(_) => "order",
        AllotmentSource::Product(_) => "product",
    }
}

/// Check out an allotment: reserve `count` licenses of an order, or of a
/// gateway product's orders (oldest order first), for `days` and sign a
/// delegate certificate for the kit's public key.
#[utoipa::path(post, path = "/v1/field/allotments", tag = "field", request_body = CheckoutRequest,
    responses((status = 200, body = AllotmentView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CheckoutRequest>,
) -> Result<Json<AllotmentView>> {
    let now = state.now();
    let id = format!("alt-{}", hex::encode(os_entropy()?));
    let st = state.clone();
    let view = state
        .db
        .write(move |tx| checkout_tx(tx, &st, caller.account_id, &req, &id, now))
        .await?;
    Ok(Json(view))
}

/// One order an allotment's slots count against.
pub(crate) struct Part {
    pub slots: AllotmentPart,
    pub order_id: i64,
    pub quantity: u32,
}

/// The orders an allotment's slots count against, in slot order.
pub(crate) fn allotment_parts(c: &Connection, id: &str) -> Result<Vec<Part>> {
    let rows = c
        .prepare_cached(
            "SELECT o.order_no, p.first_slot, p.count, o.id, o.quantity FROM field_allotment_orders p
             JOIN gateway_orders o ON o.id = p.order_id WHERE p.allotment_id = ?1 ORDER BY p.first_slot",
        )?
        .query_map([id], |r| {
            Ok(Part {
                slots: AllotmentPart {
                    order_no: r.get(0)?,
                    first_slot: r.get(1)?,
                    count: r.get(2)?,
                },
                order_id: r.get(3)?,
                quantity: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn allotment_view(c: &Connection, account_id: i64, id: &str) -> Result<AllotmentView> {
    c.query_row(
        "SELECT a.id, o.order_no, COALESCE(a.product, o.product), a.max_licenses, a.not_before, a.not_after,
           a.state, a.certificate,
           (SELECT COUNT(*) FROM field_slots s WHERE s.allotment_id = a.id AND s.status = 'consumed'),
           (SELECT COUNT(*) FROM field_slots s WHERE s.allotment_id = a.id AND s.status = 'conflict')
         FROM field_allotments a LEFT JOIN gateway_orders o ON o.id = a.order_id
         WHERE a.id = ?1 AND a.account_id = ?2",
        params![id, account_id],
        |r| {
            let (max, state): (u32, String) = (r.get(3)?, r.get(6)?);
            let (consumed, conflicts): (u32, u32) = (r.get(8)?, r.get(9)?);
            let open = state == "open";
            let order_no: Option<String> = r.get(1)?;
            Ok((AllotmentView {
                allotment_id: r.get(0)?,
                scope: if order_no.is_some() { "order" } else { "product" }.to_owned(),
                order_no,
                product: r.get(2)?,
                orders: Vec::new(),
                max_licenses: max,
                consumed,
                conflicts,
                reserved: if open { max.saturating_sub(consumed + conflicts) } else { 0 },
                not_before: DateTime::<Utc>::MIN_UTC,
                not_after: DateTime::<Utc>::MIN_UTC,
                state,
                certificate: r.get(7)?,
            }, r.get::<_, String>(4)?, r.get::<_, String>(5)?))
        },
    )
    .optional()?
    .ok_or(ApiError::NotFound("allotment"))
    .and_then(|(mut v, nb, na)| {
        v.not_before = crate::db::parse_ts(&nb)?;
        v.not_after = crate::db::parse_ts(&na)?;
        v.orders = allotment_parts(c, id)?
            .into_iter()
            .map(|p| AllotmentOrderView {
                order_no: p.slots.order_no,
                first_slot: p.slots.first_slot,
                count: p.slots.count,
            })
            .collect();
        Ok(v)
    })
}

/// One allotment of the caller's account.
#[utoipa::path(get, path = "/v1/field/allotments/{id}", tag = "field", params(("id" = String, Path)),
    responses((status = 200, body = AllotmentView), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_allotment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AllotmentView>> {
    let view = state
        .db
        .read(move |c| allotment_view(c, caller.account_id, &id))
        .await?;
    Ok(Json(view))
}

/// Return an allotment: its unused reservations go back to the order.
/// Returning again changes nothing.
#[utoipa::path(post, path = "/v1/field/allotments/{id}/return", tag = "field", params(("id" = String, Path)),
    responses((status = 200, body = AllotmentView), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn return_allotment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AllotmentView>> {
    let now = state.now();
    let account = caller.account_id;
    let view = state
        .db
        .write(move |tx| {
            let before = allotment_view(tx, account, &id)?;
            let n = tx.execute(
                "UPDATE field_allotments SET state = 'returned', closed_at = ?2 WHERE id = ?1 AND state = 'open'",
                params![id, ts(now)],
            )?;
            if n == 1 {
                let detail = json!({"state": "returned", "released": before.reserved});
                audit(tx, account, &id, "return", now, &detail)?;
                changes::record(tx, account, "field_allotment", &id, Op::Update, now, &detail)?;
            }
            allotment_view(tx, account, &id)
        })
        .await?;
    Ok(Json(view))
}

/// The accounts with an open allotment past its `not_after` (maintenance).
pub fn accounts_with_expired_allotments(c: &Connection, now: DateTime<Utc>) -> Result<Vec<i64>> {
    Ok(c.prepare_cached(
        "SELECT DISTINCT account_id FROM field_allotments WHERE state = 'open' AND not_after <= ?1",
    )?
    .query_map([ts(now)], |r| r.get(0))?
    .collect::<rusqlite::Result<_>>()?)
}

/// Maintenance: the open allotments of `account_id` past their
/// `not_after` expire, releasing their unused reservations. Returns how
/// many expired.
pub fn expire_account_allotments(
    tx: &Connection,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<u64> {
    let expired: Vec<String> = tx
        .prepare_cached(
            "UPDATE field_allotments SET state = 'expired', closed_at = ?1
             WHERE account_id = ?2 AND state = 'open' AND not_after <= ?1 RETURNING id",
        )?
        .query_map(params![ts(now), account_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &expired {
        let detail = json!({"state": "expired"});
        audit(tx, account_id, id, "expire", now, &detail)?;
        changes::record(
            tx,
            account_id,
            "field_allotment",
            id,
            Op::Update,
            now,
            &detail,
        )?;
    }
    Ok(expired.len() as u64)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub allotment_id: String,
    pub at: String,
    pub action: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this allotment's entries.
    pub allotment: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`: entries older
    /// than that page's last.
    pub cursor: Option<String>,
    /// Page size 1..=500 (default 100).
    pub limit: Option<u32>,
}

/// One page of the field audit log, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next (older) page starts; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The field audit log of the caller's account (checkouts, issuances,
/// reconciliations, returns, expiries), newest first, paged by cursor.
#[utoipa::path(get, path = "/v1/field/audit", tag = "field", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("LIMIT_INVALID", "limit must be 1 to 500"));
    }
    let before: i64 = match q.cursor.as_deref() {
        None | Some("") => i64::MAX,
        Some(c) => c.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::invalid(
                "CURSOR_INVALID",
                "the cursor is not one this server returned: start again without it",
            )
        })?,
    };
    let page = state
        .db
        .read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, allotment_id, at, action, detail FROM field_audit
                 WHERE account_id = ?1 AND id < ?2 AND (?3 IS NULL OR allotment_id = ?3)
                 ORDER BY id DESC LIMIT ?4",
            )?;
            let mut entries = st
                .query_map(
                    params![caller.account_id, before, q.allotment, limit + 1],
                    |r| {
                        Ok(AuditEntry {
                            id: r.get(0)?,
                            allotment_id: r.get(1)?,
                            at: r.get(2)?,
                            action: r.get(3)?,
                            detail: serde_json::from_str(&r.get::<_, String>(4)?)
                                .unwrap_or_default(),
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let more = entries.len() > limit as usize;
            entries.truncate(limit as usize);
            let next_cursor = more
                .then(|| entries.last().map(|e| e.id.to_string()))
                .flatten();
            Ok(AuditPage {
                entries,
                next_cursor,
            })
        })
        .await?;
    Ok(Json(page))
}

//! Gateway licenses: orders (the vendor's), order lookup, online activation
//! (an order's activation code + a hardware fingerprint → a signed license,
//! re-issued to the same hardware), offline request bundles answered with
//! a signed response, what an order has free (activated and reserved by
//! field allotments), and the license installs desktop clients report
//! ([`installs`]).
//! Every rule is core's (`decide_order_activation`, the bounds); this
//! module reads what it needs and writes what it decided.

pub mod installs;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use licensedesk_core::bounds;
use licensedesk_core::gateway::{
    Held, LicenseKind, OrderActivation, check_product, decide_order_activation,
};
use licensedesk_core::license::{LicensePayload, sign_license, verify_license};
use licensedesk_core::offline::{
    Credential, OfflineRequest, ResponseItem, ResponseOutcome, ResponsePayload, sign_response,
};
use licensedesk_protocol::api::gateways::{ActivateResponse, ActivationView, OrderView};
use licensedesk_protocol::feed::{Activation, GatewayOrder};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::db::{Conn, Param, Row};
use crate::error::{ApiError, Result};
use crate::signing::Signer;
use crate::store::changes::{self, Record};
use crate::store::codes::os_entropy;
use crate::store::{Ctx, Store, accounts, read, write};
use crate::time::stored;

pub use installs::{InstallView, NewInstall};

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewOrder {
    pub account_id: i64,
    pub order_no: String,
    pub email: String,
    pub customer: String,
    pub quantity: u32,
    pub max_connections: u32,
    pub max_tags: u32,
    #[serde(default)]
    pub plugins: Vec<String>,
    pub validity_days: u32,
    /// The edge software product the order sells licenses of (e.g.
    /// `edge-gateway-pro`); field allotments may draw from a product's
    /// orders. Its licenses name it.
    #[serde(default)]
    pub product: Option<String>,
}

struct OrderRow {
    id: i64,
    account_id: i64,
    order: NewOrder,
    code: String,
}

const ORDER_COLS: &str =
    "id, account_id, order_no, email, customer, activation_code, quantity, max_connections,
     max_tags, plugins, validity_days, product";

fn order_row(r: &Row<'_>) -> Result<OrderRow> {
    Ok(OrderRow {
        id: r.i64(0)?,
        account_id: r.i64(1)?,
        code: r.string(5)?,
        order: NewOrder {
            account_id: r.i64(1)?,
            order_no: r.string(2)?,
            email: r.string(3)?,
            customer: r.string(4)?,
            quantity: r.u32(6)?,
            max_connections: r.u32(7)?,
            max_tags: r.u32(8)?,
            plugins: serde_json::from_str(r.str(9)?).unwrap_or_default(),
            validity_days: r.u32(10)?,
            product: r.opt_string(11)?,
        },
    })
}

/// The order whose `column` (`id`, `order_no` or `activation_code`, the
/// store's own literals) is `value`.
async fn order_where(
    c: &impl Conn,
    column: &'static str,
    value: &dyn Param,
) -> Result<Option<OrderRow>> {
    c.opt(
        &format!("SELECT {ORDER_COLS} FROM gateway_orders WHERE {column} = $1"),
        &[value],
        order_row,
    )
    .await
}

/// How many licenses of the order were activated (online or reconciled).
async fn activated(c: &impl Conn, order_id: i64) -> Result<u32> {
    c.one(
        "SELECT COUNT(*) FROM gateway_activations WHERE order_id = $1",
        &[&order_id],
        |r| r.u32(0),
    )
    .await
}

/// Licenses of `order_id` still reserved by open field allotments: each
/// open allotment's part of the order less its slots already reconciled.
pub async fn reserved_for_order(c: &impl Conn, order_id: i64) -> Result<u32> {
    c.one(
        "SELECT CAST(COALESCE(SUM(p.count - (SELECT COUNT(*) FROM field_slots s WHERE s.allotment_id = p.allotment_id
               AND s.slot >= p.first_slot AND s.slot < p.first_slot + p.count)), 0) AS BIGINT)
         FROM field_allotment_orders p JOIN field_allotments a ON a.id = p.allotment_id
         WHERE p.order_id = $1 AND a.state = 'open'",
        &[&order_id],
        |r| r.u32(0),
    )
    .await
}

/// The order's licenses neither activated nor reserved.
pub async fn order_free(c: &impl Conn, order_id: i64, quantity: u32) -> Result<u32> {
    let activated = activated(c, order_id).await?;
    Ok(quantity.saturating_sub(activated.saturating_add(reserved_for_order(c, order_id).await?)))
}

async fn view(c: &impl Conn, o: &OrderRow) -> Result<OrderView> {
    let activations = c
        .query(
            "SELECT fingerprint, license_id, issued_at, reissued FROM gateway_activations WHERE order_id = $1 ORDER BY id",
            &[&o.id],
            |r| {
                Ok(ActivationView {
                    fingerprint: r.string(0)?,
                    license_id: r.string(1)?,
                    issued_at: r.time(2)?,
                    reissued: r.u32(3)?,
                })
            },
        )
        .await?;
    let used = activations.len() as u32;
    let reserved = reserved_for_order(c, o.id).await?;
    Ok(OrderView {
        order_no: o.order.order_no.clone(),
        product: o.order.product.clone(),
        customer: o.order.customer.clone(),
        activation_code: o.code.clone(),
        quantity: o.order.quantity,
        used,
        remaining: o
            .order
            .quantity
            .saturating_sub(used.saturating_add(reserved)),
        max_connections: o.order.max_connections,
        max_tags: o.order.max_tags,
        plugins: o.order.plugins.clone(),
        validity_days: o.order.validity_days,
        activations,
    })
}

/// Every term of an order within its bound (domain.md §5).
fn check_order(o: &NewOrder) -> std::result::Result<(), bounds::BoundsError> {
    bounds::ORDER_NUMBER.check(&o.order_no)?;
    bounds::email(&o.email)?;
    bounds::NAME.named("customer").check(&o.customer)?;
    bounds::ORDER_QUANTITY.check_u32(o.quantity)?;
    bounds::LICENSE_VALIDITY_DAYS.check_u32(o.validity_days)?;
    bounds::license_terms(o.max_connections, o.max_tags, &o.plugins)
}

/// Inserts an order with the activation code `code`.
pub async fn insert_order(
    c: &impl Conn,
    o: &NewOrder,
    code: &str,
    now: DateTime<Utc>,
) -> Result<OrderView> {
    check_order(o).map_err(ApiError::core)?;
    if let Some(product) = &o.product {
        check_product(product).map_err(ApiError::core)?;
    }
    accounts::get(c, o.account_id).await?;
    // Order numbers and activation codes are unique.
    let taken = c
        .opt(
            "SELECT 1 FROM gateway_orders WHERE order_no = $1 OR activation_code = $2",
            &[&o.order_no, &code],
            |_| Ok(()),
        )
        .await?;
    if taken.is_some() {
        return Err(ApiError::conflict(
            "ORDER_EXISTS",
            format!("order {} already exists", o.order_no),
        ));
    }
    let id = c
        .insert(
            "INSERT INTO gateway_orders (account_id, order_no, email, customer, activation_code, quantity,
               max_connections, max_tags, plugins, validity_days, created_at, product)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            &[
                &o.account_id,
                &o.order_no,
                &o.email.trim().to_lowercase(),
                &o.customer,
                &code,
                &i64::from(o.quantity),
                &i64::from(o.max_connections),
                &i64::from(o.max_tags),
                &serde_json::to_string(&o.plugins)?,
                &i64::from(o.validity_days),
                &stored(now),
                &o.product,
            ],
        )
        .await?;
    changes::record(
        c,
        o.account_id,
        now,
        &Record::GatewayOrderCreated(GatewayOrder {
            activation_code: code.to_owned(),
            customer: o.customer.clone(),
            id,
            max_connections: o.max_connections,
            max_tags: o.max_tags,
            order_no: o.order_no.clone(),
            plugins: o.plugins.clone(),
            product: o.product.clone(),
            quantity: o.quantity,
            validity_days: o.validity_days,
        }),
    )
    .await?;
    let row = order_where(c, "id", &id)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    view(c, &row).await
}

/// The order numbered `order_no` if its e-mail is `email` (compared as
/// stored: trimmed, lower case).
async fn lookup(c: &impl Conn, order_no: &str, email: &str) -> Result<Option<OrderView>> {
    let Some(o) = order_where(c, "order_no", &order_no.trim()).await? else {
        return Ok(None);
    };
    if o.order.email != email.trim().to_lowercase() {
        return Ok(None);
    }
    view(c, &o).await.map(Some)
}

/// What hardware `fp` holds of another order of product `product` of the
/// same account (core's [`Held`]): an order without a product is its own
/// product, so nothing is held elsewhere.
pub async fn held_elsewhere(
    c: &impl Conn,
    account_id: i64,
    order_id: i64,
    product: Option<&str>,
    fp: &str,
) -> Result<Held> {
    let Some(product) = product else {
        return Ok(Held::Nothing);
    };
    let other = c
        .opt(
            "SELECT o.order_no FROM gateway_activations a JOIN gateway_orders o ON o.id = a.order_id
             WHERE o.account_id = $1 AND o.product = $2 AND a.fingerprint = $3 AND o.id != $4
             ORDER BY a.id LIMIT 1",
            &[&account_id, &product, &fp, &order_id],
            |r| r.string(0),
        )
        .await?;
    Ok(other.map_or(Held::Nothing, |order| Held::OtherOrder { order }))
}

/// Activates (or re-issues for the same hardware) one license of the order.
/// Idempotent per (order, fingerprint): the UNIQUE constraint makes a second
/// consumption for the same hardware impossible.
async fn activate_order(
    c: &impl Conn,
    signer: &Signer,
    o: &OrderRow,
    fp: &str,
    now: DateTime<Utc>,
) -> Result<ActivateResponse> {
    let existing = c
        .opt(
            "SELECT id, license_id, license FROM gateway_activations WHERE order_id = $1 AND fingerprint = $2",
            &[&o.id, &fp],
            |r| Ok((r.i64(0)?, r.string(1)?, r.string(2)?)),
        )
        .await?;
    // Licenses reserved by open field allotments are not available online.
    let taken = activated(c, o.id)
        .await?
        .saturating_add(reserved_for_order(c, o.id).await?);
    let held = match &existing {
        Some(_) => Held::SameOrder,
        None => held_elsewhere(c, o.account_id, o.id, o.order.product.as_deref(), fp).await?,
    };
    let decision = decide_order_activation(
        &o.order.order_no,
        o.order.product.as_deref(),
        &held,
        taken,
        o.order.quantity,
    )
    .map_err(ApiError::core)?;
    let (license_id, license, reissued) =
        if let (OrderActivation::Reissue, Some((id, license_id, old))) = (decision, existing) {
            let payload = verify_license(old.as_bytes(), signer.keyset())
                .map_err(ApiError::core)?
                .into_payload();
            let license = sign_license(&payload, signer.key());
            c.exec(
            "UPDATE gateway_activations SET license = $2, reissued = reissued + 1 WHERE id = $1",
            &[&id, &license],
        )
        .await?;
            changes::record(
                c,
                o.account_id,
                now,
                &Record::GatewayReissued(Activation {
                    allotment_id: None,
                    fingerprint: fp.to_owned(),
                    issued_at: None,
                    license_id: license_id.clone(),
                    order_no: o.order.order_no.clone(),
                    reissued: Some(true),
                }),
            )
            .await?;
            (license_id, license, true)
        } else {
            let license_id = format!("lic-{}", hex::encode(os_entropy()?));
            let payload = LicensePayload {
                license_id: license_id.clone(),
                kind: LicenseKind::Activation,
                customer: o.order.customer.clone(),
                issued_at: now,
                expire_at: now + Duration::days(i64::from(o.order.validity_days)),
                max_connections: o.order.max_connections,
                max_tags: o.order.max_tags,
                plugins: o.order.plugins.clone(),
                hardware: Some(fp.to_owned()),
                product: o.order.product.clone(),
                order: Some(o.order.order_no.clone()),
            };
            let license = sign_license(&payload, signer.key());
            c.exec(
            "INSERT INTO gateway_activations (order_id, fingerprint, license_id, license, issued_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&o.id, &fp, &license_id, &license, &stored(now)],
        )
        .await?;
            changes::record(
                c,
                o.account_id,
                now,
                &Record::GatewayActivated(Activation {
                    allotment_id: None,
                    fingerprint: fp.to_owned(),
                    issued_at: Some(now),
                    license_id: license_id.clone(),
                    order_no: o.order.order_no.clone(),
                    reissued: None,
                }),
            )
            .await?;
            (license_id, license, false)
        };
    let remaining = order_free(c, o.id, o.order.quantity).await?;
    Ok(ActivateResponse {
        license,
        license_id,
        reissued,
        remaining,
    })
}

/// Activates hardware `fp` (normalised) with activation code `code`
/// (canonical): 404 for an unknown code.
pub async fn activate(
    c: &impl Conn,
    signer: &Signer,
    code: &str,
    fp: &str,
    now: DateTime<Utc>,
) -> Result<ActivateResponse> {
    let o = order_where(c, "activation_code", &code)
        .await?
        .ok_or(ApiError::NotFound("activation code"))?;
    activate_order(c, signer, &o, fp, now).await
}

/// Answers an offline request bundle: one license or refusal per gateway,
/// signed as one response; also how many entries named an unknown code
/// (failed attempts, for rate limiting). Entries naming an order number or
/// a product are refused (an order needs its e-mail: use its activation
/// code; a product is for field kits).
async fn answer_offline(
    c: &impl Conn,
    signer: &Signer,
    request: &OfflineRequest,
    now: DateTime<Utc>,
) -> Result<(String, u32)> {
    let mut items = Vec::new();
    let mut failures = 0u32;
    for entry in request.gateways() {
        let outcome = match &entry.credential {
            Credential::Code(code) => {
                match order_where(c, "activation_code", &code.canonical()).await? {
                    Some(o) => match activate_order(c, signer, &o, &entry.fingerprint, now).await {
                        Ok(r) => ResponseOutcome::License(r.license),
                        Err(e) => ResponseOutcome::Refused {
                            code: e.code().into(),
                            message: e.to_string(),
                        },
                    },
                    None => {
                        failures += 1;
                        ResponseOutcome::Refused {
                            code: "NOT_FOUND".into(),
                            message: "activation code not found".into(),
                        }
                    }
                }
            }
            Credential::Order(_) | Credential::Product(_) => ResponseOutcome::Refused {
                code: "ORDER_CREDENTIAL_UNSUPPORTED".into(),
                message: "offline activation needs the order's activation code".into(),
            },
        };
        items.push(ResponseItem {
            nonce: entry.nonce.clone(),
            fingerprint: entry.fingerprint.clone(),
            outcome,
        });
    }
    let payload = ResponsePayload {
        issued_at: now,
        items,
    };
    Ok((sign_response(&payload, signer.key()), failures))
}

impl Store {
    /// Creates an order with activation code `code` (the vendor's).
    pub async fn create_order(
        &self,
        ctx: &Ctx,
        order: NewOrder,
        code: String,
    ) -> Result<OrderView> {
        let now = ctx.now;
        write!(self, ctx, [order, code], |c| insert_order(
            c, &order, &code, now
        ))
        .await
    }

    /// The order numbered `order_no` if its e-mail is `email`.
    pub async fn lookup_order(&self, order_no: String, email: String) -> Result<Option<OrderView>> {
        read!(self, [order_no, email], |c| lookup(c, &order_no, &email)).await
    }

    /// Activates hardware `fp` (normalised) with the order's activation
    /// code `code` (canonical), signing with `signer`.
    pub async fn activate_gateway(
        &self,
        ctx: &Ctx,
        signer: Arc<Signer>,
        code: String,
        fp: String,
    ) -> Result<ActivateResponse> {
        let now = ctx.now;
        write!(self, ctx, [signer, code, fp], |c| activate(
            c, &signer, &code, &fp, now
        ))
        .await
    }

    /// Answers an offline request bundle: the signed response, and how
    /// many entries named an unknown activation code.
    pub async fn answer_offline(
        &self,
        ctx: &Ctx,
        signer: Arc<Signer>,
        request: OfflineRequest,
    ) -> Result<(String, u32)> {
        let now = ctx.now;
        write!(self, ctx, [signer, request], |c| answer_offline(
            c, &signer, &request, now
        ))
        .await
    }
}

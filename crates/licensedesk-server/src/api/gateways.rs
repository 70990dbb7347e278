//! Gateway licenses: orders (admin), order lookup (order number + e-mail),
//! online activation with a code + hardware fingerprint, offline activation
//! (request bundle in, signed response bundle out).

use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::bounds;
use licensedesk_core::fingerprint::normalize_fingerprint;
use licensedesk_core::gateway::{
    Held, LicenseKind, OrderActivation, check_product, decide_order_activation,
};
use licensedesk_core::license::{LicensePayload, sign_license, verify_license};
use licensedesk_core::offline::{
    Credential, ResponseItem, ResponseOutcome, ResponsePayload, parse_request, sign_response,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::common::os_entropy;
use crate::api::extract::{Bytes, Json};
use crate::auth::{Admin, Attempter};
use crate::changes::{self, Op};
use crate::db::ts;
use crate::error::{ApiError, Result};

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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub order_no: String,
    pub product: Option<String>,
    pub customer: String,
    pub activation_code: String,
    pub quantity: u32,
    pub used: u32,
    pub remaining: u32,
    pub max_connections: u32,
    pub max_tags: u32,
    pub plugins: Vec<String>,
    pub validity_days: u32,
    pub activations: Vec<ActivationView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivationView {
    pub fingerprint: String,
    pub license_id: String,
    pub issued_at: DateTime<Utc>,
    pub reissued: u32,
}

struct OrderRow {
    id: i64,
    account_id: i64,
    order: NewOrder,
    code: String,
}

fn order_where(c: &rusqlite::Connection, cond: &str, arg: &str) -> Result<Option<OrderRow>> {
    Ok(c.query_row(
        &format!(
            "SELECT id, account_id, order_no, email, customer, activation_code, quantity, max_connections,
                    max_tags, plugins, validity_days, product FROM gateway_orders WHERE {cond} = ?1"
        ),
        [arg],
        |r| {
            Ok(OrderRow {
                id: r.get(0)?,
                account_id: r.get(1)?,
                code: r.get(5)?,
                order: NewOrder {
                    account_id: r.get(1)?,
                    order_no: r.get(2)?,
                    email: r.get(3)?,
                    customer: r.get(4)?,
                    quantity: r.get(6)?,
                    max_connections: r.get(7)?,
                    max_tags: r.get(8)?,
                    plugins: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
                    validity_days: r.get(10)?,
                    product: r.get(11)?,
                },
            })
        },
    )
    .optional()?)
}

fn view(c: &rusqlite::Connection, o: &OrderRow) -> Result<OrderView> {
    let mut st = c.prepare_cached(
        "SELECT fingerprint, license_id, issued_at, reissued FROM gateway_activations WHERE order_id = ?1 ORDER BY id",
    )?;
    let activations = st
        .query_map([o.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get::<_, String>(2)?,
                r.get(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(fingerprint, license_id, at, reissued)| {
            Ok(ActivationView {
                fingerprint,
                license_id,
                issued_at: crate::db::parse_ts(&at)?,
                reissued,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let used = activations.len() as u32;
    let reserved = crate::api::field::reserved_for_order(c, o.id)?;
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

/// Inserts an order with a fresh activation code.
pub fn insert_order(
    tx: &Connection,
    o: &NewOrder,
    code: &str,
    now: DateTime<Utc>,
) -> Result<OrderView> {
    check_order(o).map_err(ApiError::core)?;
    if let Some(product) = &o.product {
        check_product(product).map_err(ApiError::core)?;
    }
    crate::api::common::account(tx, o.account_id)?;
    let id: i64 = tx
        .query_row(
            "INSERT INTO gateway_orders (account_id, order_no, email, customer, activation_code, quantity,
               max_connections, max_tags, plugins, validity_days, created_at, product)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
            params![o.account_id, o.order_no, o.email.trim().to_lowercase(), o.customer, code, o.quantity,
                    o.max_connections, o.max_tags, serde_json::to_string(&o.plugins)?, o.validity_days, ts(now),
                    o.product],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                ApiError::conflict("ORDER_EXISTS", format!("order {} already exists", o.order_no))
            }
            e => e.into(),
        })?;
    changes::record(
        tx,
        o.account_id,
        "gateway_order",
        &o.order_no,
        Op::Insert,
        now,
        &json!({"id": id, "order_no": o.order_no, "customer": o.customer, "activation_code": code,
                "quantity": o.quantity, "max_connections": o.max_connections, "max_tags": o.max_tags,
                "plugins": o.plugins, "validity_days": o.validity_days, "product": o.product}),
    )?;
    let row = order_where(tx, "id", &id.to_string())?.ok_or(ApiError::NotFound("order"))?;
    view(tx, &row)
}

/// Create a gateway license order with an activation code (admin).
#[utoipa::path(post, path = "/v1/admin/gateway-orders", tag = "gateways", request_body = NewOrder,
    responses((status = 200, body = OrderView)), security(("bearer" = [])))]
pub async fn create_order(
    State(state): State<AppState>,
    _admin: Admin,
    Json(o): Json<NewOrder>,
) -> Result<Json<OrderView>> {
    let now = state.now();
    let code = crate::api::common::code_from_entropy(os_entropy()?);
    Ok(Json(
        state
            .db
            .write(move |tx| insert_order(tx, &o, &code, now))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderLookup {
    pub order_no: String,
    pub email: String,
}

/// Look up an order with its number and e-mail (rate limited on failure).
#[utoipa::path(post, path = "/v1/gateway/orders/lookup", tag = "gateways", request_body = OrderLookup,
    responses((status = 200, body = OrderView), (status = 404, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn lookup_order(
    State(state): State<AppState>,
    who: Attempter,
    Json(q): Json<OrderLookup>,
) -> Result<Json<OrderView>> {
    let now = state.now();
    state.limiter.check(&who.keys(), now)?;
    let found = state
        .db
        .read(move |c| {
            let Some(o) = order_where(c, "order_no", q.order_no.trim())? else {
                return Ok(None);
            };
            if o.order.email != q.email.trim().to_lowercase() {
                return Ok(None);
            }
            view(c, &o).map(Some)
        })
        .await?;
    found.map(Json).ok_or_else(|| {
        state.limiter.record_failure(&who.keys(), now);
        ApiError::NotFound("order with this number and e-mail")
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivateRequest {
    pub code: String,
    pub fingerprint: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivateResponse {
    /// The armoured, signed license file text.
    pub license: String,
    pub license_id: String,
    /// `true` when this hardware already had a license from this order.
    pub reissued: bool,
    pub remaining: u32,
}

/// What hardware `fp` holds of another order of product `product` of the
/// same account (core's [`Held`]): an order without a product is its own
/// product, so nothing is held elsewhere.
pub(crate) fn held_elsewhere(
    tx: &Connection,
    account_id: i64,
    order_id: i64,
    product: Option<&str>,
    fp: &str,
) -> Result<Held> {
    let Some(product) = product else {
        return Ok(Held::Nothing);
    };
    let other: Option<String> = tx
        .prepare_cached(
            "SELECT o.order_no FROM gateway_activations a JOIN gateway_orders o ON o.id = a.order_id
             WHERE o.account_id = ?1 AND o.product = ?2 AND a.fingerprint = ?3 AND o.id != ?4
             ORDER BY a.id LIMIT 1",
        )?
        .query_row(params![account_id, product, fp, order_id], |r| r.get(0))
        .optional()?;
    Ok(other.map_or(Held::Nothing, |order| Held::OtherOrder { order }))
}

/// Activates (or re-issues for the same hardware) one license of the order.
/// Idempotent per (order, fingerprint): the UNIQUE constraint makes a second
/// consumption for the same hardware impossible.
fn activate_tx(
    tx: &Connection,
    state: &AppState,
    o: &OrderRow,
    fp: &str,
    now: DateTime<Utc>,
) -> Result<ActivateResponse> {
    let existing: Option<(i64, String, String)> = tx
        .query_row(
            "SELECT id, license_id, license FROM gateway_activations WHERE order_id = ?1 AND fingerprint = ?2",
            params![o.id, fp],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let signer = &state.keys.signer;
    let activated: u32 = tx
        .prepare_cached("SELECT COUNT(*) FROM gateway_activations WHERE order_id = ?1")?
        .query_row([o.id], |r| r.get(0))?;
    // Licenses reserved by open field allotments are not available online.
    let activated = activated.saturating_add(crate::api::field::reserved_for_order(tx, o.id)?);
    let held = match &existing {
        Some(_) => Held::SameOrder,
        None => held_elsewhere(tx, o.account_id, o.id, o.order.product.as_deref(), fp)?,
    };
    let decision = decide_order_activation(
        &o.order.order_no,
        o.order.product.as_deref(),
        &held,
        activated,
        o.order.quantity,
    )
    .map_err(ApiError::core)?;
    let (license_id, license, reissued) = if let (
        OrderActivation::Reissue,
        Some((id, license_id, old)),
    ) = (decision, existing)
    {
        let payload = verify_license(old.as_bytes(), signer.keyset())
            .map_err(ApiError::core)?
            .into_payload();
        let license = sign_license(&payload, signer.key());
        tx.prepare_cached(
            "UPDATE gateway_activations SET license = ?2, reissued = reissued + 1 WHERE id = ?1",
        )?
        .execute(params![id, license])?;
        changes::record(
            tx,
            o.account_id,
            "gateway_activation",
            &license_id,
            Op::Update,
            now,
            &json!({"order_no": o.order.order_no, "fingerprint": fp, "license_id": license_id, "reissued": true}),
        )?;
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
        tx.prepare_cached("INSERT INTO gateway_activations (order_id, fingerprint, license_id, license, issued_at) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(
            params![o.id, fp, license_id, license, ts(now)],
        )?;
        changes::record(
            tx,
            o.account_id,
            "gateway_activation",
            &license_id,
            Op::Insert,
            now,
            &json!({"order_no": o.order.order_no, "fingerprint": fp, "license_id": license_id, "issued_at": now}),
        )?;
        (license_id, license, false)
    };
    let used: u32 = tx
        .prepare_cached("SELECT COUNT(*) FROM gateway_activations WHERE order_id = ?1")?
        .query_row([o.id], |r| r.get(0))?;
    let reserved = crate::api::field::reserved_for_order(tx, o.id)?;
    Ok(ActivateResponse {
        license,
        license_id,
        reissued,
        remaining: o
            .order
            .quantity
            .saturating_sub(used.saturating_add(reserved)),
    })
}

/// Activate a gateway online: activation code + hardware fingerprint →
/// signed license. The same hardware again gets its license re-issued
/// without consuming another one. Unknown codes count as failed attempts.
#[utoipa::path(post, path = "/v1/gateway/activate", tag = "gateways", request_body = ActivateRequest,
    responses((status = 200, body = ActivateResponse), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn activate(
    State(state): State<AppState>,
    who: Attempter,
    Json(req): Json<ActivateRequest>,
) -> Result<Json<ActivateResponse>> {
    let now = state.now();
    state.limiter.check(&who.keys(), now)?;
    let fail = |e: ApiError| {
        state.limiter.record_failure(&who.keys(), now);
        e
    };
    let code = ActivationCode::parse(&req.code)
        .map_err(|e| fail(ApiError::core(e)))?
        .canonical();
    let fp = normalize_fingerprint(&req.fingerprint).map_err(ApiError::core)?;
    let st = state.clone();
    let out = state
        .db
        .write(move |tx| {
            let o = order_where(tx, "activation_code", &code)?
                .ok_or(ApiError::NotFound("activation code"))?;
            activate_tx(tx, &st, &o, &fp, now)
        })
        .await
        .map_err(|e| {
            if matches!(e, ApiError::NotFound(_)) {
                fail(e)
            } else {
                e
            }
        })?;
    Ok(Json(out))
}

/// Offline activation: a request bundle (`.ldreq` JSON) in, a signed
/// response bundle (`.ldresp`) out, one license or refusal per gateway.
/// Entries naming an order number or a product are refused (an order needs
/// its e-mail: use its activation code; a product is for field kits).
#[utoipa::path(post, path = "/v1/gateway/offline", tag = "gateways",
    request_body(content = String, description = "the request bundle JSON", content_type = "application/json"),
    responses((status = 200, description = "the signed response bundle", body = String),
        (status = 400, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn offline_activate(
    State(state): State<AppState>,
    who: Attempter,
    Bytes(body): Bytes,
) -> Result<String> {
    let now = state.now();
    state.limiter.check(&who.keys(), now)?;
    let request = parse_request(&body).map_err(ApiError::core)?;
    let st = state.clone();
    let (response, failures) = state
        .db
        .write(move |tx| {
            let mut items = Vec::new();
            let mut failures = 0u32;
            for entry in request.gateways() {
                let outcome = match &entry.credential {
                    Credential::Code(code) => {
                        match order_where(tx, "activation_code", &code.canonical())? {
                            Some(o) => match activate_tx(tx, &st, &o, &entry.fingerprint, now) {
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
            Ok((sign_response(&payload, st.keys.signer.key()), failures))
        })
        .await?;
    for _ in 0..failures {
        state.limiter.record_failure(&who.keys(), now);
    }
    Ok(response)
}

/// Activates `fingerprint` with activation code `code` inside `tx` (demo
/// seeding uses it to start with real, signed activations).
pub(crate) fn activate_in(
    tx: &Connection,
    state: &AppState,
    code: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<ActivateResponse> {
    let o =
        order_where(tx, "activation_code", code)?.ok_or(ApiError::NotFound("activation code"))?;
    let fp = normalize_fingerprint(fingerprint).map_err(ApiError::core)?;
    activate_tx(tx, state, &o, &fp, now)
}

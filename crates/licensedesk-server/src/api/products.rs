//! Products: cards, creation, package upgrade, assignment of unassigned
//! codes, and (admin) crediting purchased batches and top-ups.

use axum::extract::State;
use chrono::{DateTime, Utc};
use licensedesk_core::bounds;
use licensedesk_core::codes::{BatchEffect, check_assign, check_batch};
use licensedesk_core::package::Package;
use licensedesk_core::package::quota::OveragePolicy;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::common::{
    self, PRODUCT_COLS, ProductRow, os_entropy, policy_str, product_from_row,
};
use crate::api::extract::{Json, Path};
use crate::api::pool::{self, Entropy};
use crate::auth::{Admin, Caller};
use crate::changes::{self, Op};
use crate::db::ts;
use crate::error::{ApiError, Result};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductCard {
    pub pk: String,
    pub name: String,
    /// The product's package (absent until its first codes).
    #[schema(value_type = Option<crate::api::schemas::PackageSchema>)]
    pub package: Option<Package>,
    /// One-line summary, e.g. `5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d`.
    pub package_summary: Option<String>,
    /// `block` or `bill`.
    pub overage_policy: String,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    pub devices: u64,
    pub ota_topups: i64,
    pub message_topups: i64,
}

pub fn card(c: &Connection, p: &ProductRow) -> Result<ProductCard> {
    let counters = pool::product_counters(c, p.id)?;
    let devices: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM devices WHERE product_id = ?1")?
        .query_row([p.id], |r| r.get(0))?;
    Ok(ProductCard {
        pk: p.pk.clone(),
        name: p.name.clone(),
        package_summary: p.package.as_ref().map(Package::summary),
        package: p.package.clone(),
        overage_policy: policy_str(p.policy).to_owned(),
        total: counters.total(),
        used: counters.used(),
        remaining: counters.remaining(),
        devices: devices as u64,
        ota_topups: p.ota_topups,
        message_topups: p.message_topups,
    })
}

/// Product cards of the account.
#[utoipa::path(get, path = "/v1/products", tag = "products",
    responses((status = 200, body = Vec<ProductCard>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ProductCard>>> {
    let id = caller.account_id;
    let cards = state
        .db
        .read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {PRODUCT_COLS} FROM products WHERE account_id = ?1 ORDER BY name, pk"
            ))?;
            let rows = st
                .query_map([id], product_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.iter().map(|p| card(c, p)).collect()
        })
        .await?;
    Ok(Json(cards))
}

/// One product card.
#[utoipa::path(get, path = "/v1/products/{pk}", tag = "products", params(("pk" = String, Path)),
    responses((status = 200, body = ProductCard), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(pk): Path<String>,
) -> Result<Json<ProductCard>> {
    let id = caller.account_id;
    let c = state
        .db
        .read(move |c| card(c, &common::product_by_pk(c, id, &pk)?))
        .await?;
    Ok(Json(c))
}

/// A customer's new product (domain.md §4): a name, nothing else; the
/// server makes the PK, as the consoles do, and the package comes with the
/// first codes the product receives.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProduct {
    /// 1 to 200 printable characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Refused (403 `VENDOR_ONLY`): the server makes the PK.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub pk: Option<serde_json::Value>,
    /// Refused (403 `VENDOR_ONLY`): a package comes with the codes bought.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub package: Option<serde_json::Value>,
    /// Refused (403 `VENDOR_ONLY`): the vendor sets the overage policy.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub overage_policy: Option<serde_json::Value>,
}

/// A product the vendor sets up for an account: its PK (made by the server
/// when absent), package and overage policy.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VendorProduct {
    pub account_id: i64,
    /// 1 to 200 printable characters.
    pub name: String,
    /// 1 to 64 characters of `A-Z a-z 0-9 - _ . :`; made by the server when absent.
    pub pk: Option<String>,
    /// Optional package; otherwise the first codes the product receives set it.
    #[schema(value_type = Option<crate::api::schemas::PackageSchema>)]
    pub package: Option<Package>,
    /// `block` (default) or `bill`.
    #[schema(value_type = Option<crate::api::schemas::OveragePolicySchema>)]
    pub overage_policy: Option<OveragePolicy>,
}

/// Inserts a product. `pk: None` makes one (`p` + 10 hex digits, drawn
/// again on the rare collision).
pub fn create_product(
    tx: &Connection,
    account_id: i64,
    name: &str,
    pk: Option<&str>,
    package: Option<&Package>,
    policy: OveragePolicy,
    now: DateTime<Utc>,
) -> Result<ProductRow> {
    let name = bounds::NAME.check(name).map_err(ApiError::core)?;
    if let Some(p) = package {
        p.validate().map_err(ApiError::core)?;
    }
    let taken = |pk: &str| -> Result<bool> {
        Ok(tx
            .prepare_cached("SELECT 1 FROM products WHERE pk = ?1")?
            .query_row([pk], |_| Ok(()))
            .optional()?
            .is_some())
    };
    let pk = match pk {
        Some(pk) => {
            let pk = bounds::PRODUCT_KEY.check(pk).map_err(ApiError::core)?;
            if taken(pk)? {
                return Err(ApiError::conflict(
                    "PRODUCT_KEY_TAKEN",
                    format!("product key {pk} is already in use: choose another or omit it"),
                ));
            }
            pk.to_owned()
        }
        None => loop {
            let pk = format!("p{}", &hex::encode(os_entropy()?)[..10]);
            if !taken(&pk)? {
                break pk;
            }
        },
    };
    let package_json = package.map(serde_json::to_string).transpose()?;
    let policy = policy_str(policy);
    // Its first month to close is the one it is created in.
    let closed_through =
        crate::api::statements::closed_before(now, common::account(tx, account_id)?.tz()?)?;
    let id: i64 = tx.prepare_cached("INSERT INTO products (account_id, pk, name, package, overage_policy, created_at, updated_at, closed_through)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) RETURNING id")?.query_row(
        params![account_id, pk, name, package_json, policy, ts(now), closed_through],
        |r| r.get(0),
    )?;
    changes::record(
        tx,
        account_id,
        "product",
        &pk,
        Op::Insert,
        now,
        &json!({"id": id, "pk": pk, "name": name, "package": package, "overage_policy": policy}),
    )?;
    common::product_by_pk(tx, account_id, &pk)
}

/// Create a product by name (the account's token). The server makes its
/// PK; its package comes with the first codes it receives: a purchased
/// batch's package, or the server's free development package when free
/// codes are assigned to it. Setting `pk`, `package` or `overage_policy`
/// is the vendor's (403 `VENDOR_ONLY`).
#[utoipa::path(post, path = "/v1/products", tag = "products", request_body = NewProduct,
    responses((status = 200, body = ProductCard), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewProduct>,
) -> Result<Json<ProductCard>> {
    for (field, set) in [
        ("pk", req.pk.is_some()),
        ("package", req.package.is_some()),
        ("overage_policy", req.overage_policy.is_some()),
    ] {
        if set {
            return Err(ApiError::Forbidden {
                code: "VENDOR_ONLY",
                message: format!(
                    "`{field}` is not the account's to set: create a product by its name only; the server makes its PK, and its package and overage policy come with the codes bought from the vendor"
                ),
            });
        }
    }
    let id = caller.account_id;
    let now = state.now();
    let c = state
        .db
        .write(move |tx| {
            let p = create_product(tx, id, &req.name, None, None, OveragePolicy::default(), now)?;
            card(tx, &p)
        })
        .await?;
    Ok(Json(c))
}

/// Set up a product for an account (vendor): its name, and optionally its
/// PK, package and overage policy.
#[utoipa::path(post, path = "/v1/admin/products", tag = "admin", request_body = VendorProduct,
    responses((status = 200, body = ProductCard), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_for_account(
    State(state): State<AppState>,
    _admin: Admin,
    Json(req): Json<VendorProduct>,
) -> Result<Json<ProductCard>> {
    let now = state.now();
    let c = state
        .db
        .write(move |tx| {
            common::account(tx, req.account_id)?;
            let p = create_product(
                tx,
                req.account_id,
                &req.name,
                req.pk.as_deref(),
                req.package.as_ref(),
                req.overage_policy.unwrap_or_default(),
                now,
            )?;
            card(tx, &p)
        })
        .await?;
    Ok(Json(c))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePackage {
    pub account_id: i64,
    pub pk: String,
    /// The new package (every term within its bounds); absent: unchanged.
    #[schema(value_type = Option<crate::api::schemas::PackageSchema>)]
    pub package: Option<Package>,
    /// `block` or `bill`; absent: unchanged.
    #[schema(value_type = Option<crate::api::schemas::OveragePolicySchema>)]
    pub overage_policy: Option<OveragePolicy>,
}

/// Change a product's package and/or overage policy (vendor; an upgrade is
/// a purchase): applies to every device of the product at once.
#[utoipa::path(post, path = "/v1/admin/packages", tag = "admin", request_body = ChangePackage,
    responses((status = 200, body = ProductCard), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn change_package(
    State(state): State<AppState>,
    _admin: Admin,
    Json(req): Json<ChangePackage>,
) -> Result<Json<ProductCard>> {
    if let Some(p) = &req.package {
        p.validate().map_err(ApiError::core)?;
    }
    let now = state.now();
    let c = state
        .db
        .write(move |tx| {
            let p = common::product_by_pk(tx, req.account_id, &req.pk)?;
            let package = req.package.clone().or_else(|| p.package.clone());
            let policy = req.overage_policy.unwrap_or(p.policy);
            tx.prepare_cached("UPDATE products SET package = ?1, overage_policy = ?2, updated_at = ?3 WHERE id = ?4")?.execute(
                params![package.as_ref().map(serde_json::to_string).transpose()?, policy_str(policy), ts(now), p.id],
            )?;
            changes::record(
                tx,
                p.account_id,
                "product",
                &p.pk,
                Op::Update,
                now,
                &json!({"pk": p.pk, "package": package, "overage_policy": policy_str(policy)}),
            )?;
            if let Some(new) = &req.package {
                crate::api::devices::rebase_product(tx, &p, new, now)?;
            }
            card(tx, &common::product_by_pk(tx, p.account_id, &p.pk)?)
        })
        .await?;
    Ok(Json(c))
}

/// Formerly an account changed its own package here; that is a purchase,
/// the vendor's (`POST /v1/admin/packages`): always 403 `VENDOR_ONLY`.
#[utoipa::path(post, path = "/v1/products/{pk}/package", tag = "products", params(("pk" = String, Path)),
    responses((status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
#[deprecated = "the vendor changes packages: POST /v1/admin/packages"]
pub async fn upgrade(_caller: Caller, Path(_pk): Path<String>) -> Result<Json<ProductCard>> {
    Err(ApiError::vendor_only(
        "changing a product's package (an upgrade is a purchase)",
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignRequest {
    /// 1 to 1,000,000, at most the account's unassigned codes.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub count: u64,
}

/// Assign unassigned codes (e.g. free codes) to a product (1 to 1,000,000
/// at once). A product without a package takes the server's free
/// development package.
#[utoipa::path(post, path = "/v1/products/{pk}/assign", tag = "products", params(("pk" = String, Path)),
    request_body = AssignRequest, responses((status = 200, body = ProductCard), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(pk): Path<String>,
    Json(req): Json<AssignRequest>,
) -> Result<Json<ProductCard>> {
    let id = caller.account_id;
    let now = state.now();
    let free = state.settings.free_package.clone();
    let c = state
        .db
        .write(move |tx| {
            let mut p = common::product_by_pk(tx, id, &pk)?;
            let available = pool::unassigned(tx, id)?;
            let n = check_assign(req.count, available).map_err(ApiError::core)?;
            if p.package.is_none() {
                // Free codes bring the free development package (domain.md §4).
                tx.prepare_cached(
                    "UPDATE products SET package = ?1, updated_at = ?2 WHERE id = ?3",
                )?
                .execute(params![serde_json::to_string(&free)?, ts(now), p.id])?;
                changes::record(
                    tx,
                    id,
                    "product",
                    &p.pk,
                    Op::Update,
                    now,
                    &json!({"pk": p.pk, "package": free}),
                )?;
                p.package = Some(free.clone());
            }
            pool::assign(tx, id, p.id, n, now)?;
            card(tx, &p)
        })
        .await?;
    Ok(Json(c))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreditBatch {
    pub account_id: i64,
    pub pk: String,
    pub count: u64,
    #[schema(value_type = crate::api::schemas::PackageSchema)]
    pub package: Package,
    /// Purchase reference (order number, invoice…).
    pub reference: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreditedBatch {
    pub batch_id: i64,
    pub product: ProductCard,
}

/// Credits a purchased batch, enforcing package consistency.
pub fn credit_batch(
    tx: &Connection,
    req: &CreditBatch,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<CreditedBatch> {
    let p = common::product_by_pk(tx, req.account_id, &req.pk)?;
    let effect =
        check_batch(p.package.as_ref(), &req.package, req.count).map_err(ApiError::core)?;
    let package_json = serde_json::to_string(&req.package)?;
    if effect == BatchEffect::SetsProductPackage {
        tx.prepare_cached("UPDATE products SET package = ?1, updated_at = ?2 WHERE id = ?3")?
            .execute(params![package_json, ts(now), p.id])?;
        changes::record(
            tx,
            p.account_id,
            "product",
            &p.pk,
            Op::Update,
            now,
            &json!({"pk": p.pk, "package": req.package}),
        )?;
    }
    let batch: i64 = tx.prepare_cached("INSERT INTO batches (account_id, product_id, kind, package, quantity, reference, created_at)
         VALUES (?1, ?2, 'purchase', ?3, ?4, ?5, ?6) RETURNING id")?.query_row(
        params![p.account_id, p.id, package_json, req.count as i64, req.reference, ts(now)],
        |r| r.get(0),
    )?;
    changes::record(
        tx,
        p.account_id,
        "batch",
        batch,
        Op::Insert,
        now,
        &json!({"id": batch, "kind": "purchase", "pk": p.pk, "quantity": req.count, "package": req.package, "reference": req.reference}),
    )?;
    pool::insert_codes(tx, p.account_id, batch, Some(p.id), req.count, now, entropy)?;
    let p = common::product_by_pk(tx, req.account_id, &req.pk)?;
    Ok(CreditedBatch {
        batch_id: batch,
        product: card(tx, &p)?,
    })
}

/// Credit a purchased batch of codes to a product (admin). A batch whose
/// package differs from the product's is refused (PACKAGE_MISMATCH).
#[utoipa::path(post, path = "/v1/admin/batches", tag = "admin", request_body = CreditBatch,
    responses((status = 200, body = CreditedBatch), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn credit(
    State(state): State<AppState>,
    _admin: Admin,
    Json(req): Json<CreditBatch>,
) -> Result<Json<CreditedBatch>> {
    bounds::BATCH_COUNT
        .check(req.count)
        .map_err(ApiError::core)?;
    if let Some(r) = &req.reference {
        bounds::REFERENCE.check(r).map_err(ApiError::core)?;
    }
    let now = state.now();
    let out = state
        .db
        .write(move |tx| credit_batch(tx, &req, now, &mut || os_entropy()))
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TopUp {
    pub account_id: i64,
    pub pk: String,
    /// Prepaid OTA attempts to add.
    #[serde(default)]
    pub ota_attempts: u32,
    /// Prepaid messages to add.
    #[serde(default)]
    pub messages: u32,
}

/// Adds prepaid top-ups to a product's balance and records the product's
/// new balance in the feed.
pub fn credit_topup(
    tx: &Connection,
    account_id: i64,
    pk: &str,
    ota_attempts: u32,
    messages: u32,
    now: DateTime<Utc>,
) -> Result<ProductRow> {
    let p = common::product_by_pk(tx, account_id, pk)?;
    tx.prepare_cached("UPDATE products SET ota_topups = ota_topups + ?1, message_topups = message_topups + ?2, updated_at = ?3 WHERE id = ?4")?.execute(
        params![ota_attempts, messages, ts(now), p.id],
    )?;
    let p = common::product_by_pk(tx, account_id, pk)?;
    changes::record(
        tx,
        p.account_id,
        "product",
        &p.pk,
        Op::Update,
        now,
        &json!({"pk": p.pk, "ota_topups": p.ota_topups, "message_topups": p.message_topups}),
    )?;
    Ok(p)
}

/// Credit prepaid top-up packages to a product (admin).
#[utoipa::path(post, path = "/v1/admin/topups", tag = "admin", request_body = TopUp,
    responses((status = 200, body = ProductCard)), security(("bearer" = [])))]
pub async fn topup(
    State(state): State<AppState>,
    _admin: Admin,
    Json(req): Json<TopUp>,
) -> Result<Json<ProductCard>> {
    bounds::topup(req.ota_attempts, req.messages).map_err(ApiError::core)?;
    let now = state.now();
    let c = state
        .db
        .write(move |tx| {
            let p = credit_topup(
                tx,
                req.account_id,
                &req.pk,
                req.ota_attempts,
                req.messages,
                now,
            )?;
            card(tx, &p)
        })
        .await?;
    Ok(Json(c))
}

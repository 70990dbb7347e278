//! Products: cards, creation by name (the account) or with its terms (the
//! vendor), package changes and purchases (the vendor), assignment of
//! unassigned codes (the account).

use axum::extract::State;
use licensedesk_core::bounds;
use licensedesk_core::package::Package;
use licensedesk_core::package::quota::OveragePolicy;
use licensedesk_protocol::api::accounts::AssignRequest;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::extract::{Json, Path};
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, Result};
use crate::store::Ctx;
use crate::store::products::{CreditBatch, CreditedBatch, NewProduct as StoreProduct, ProductCard};

/// Product cards of the account.
#[utoipa::path(get, path = "/v1/products", tag = "products",
    responses((status = 200, body = Vec<ProductCard>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ProductCard>>> {
    Ok(Json(state.store.product_cards(caller.account_id).await?))
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
    Ok(Json(state.store.product_card(caller.account_id, pk).await?))
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
    #[schema(value_type = Option<crate::schemas::PackageSchema>)]
    pub package: Option<Package>,
    /// `block` (default) or `bill`.
    #[schema(value_type = Option<crate::schemas::OveragePolicySchema>)]
    pub overage_policy: Option<OveragePolicy>,
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
    ctx: Ctx,
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
    let new = StoreProduct {
        account_id: caller.account_id,
        name: req.name,
        pk: None,
        package: None,
        policy: OveragePolicy::default(),
    };
    Ok(Json(state.store.create_product(&ctx, new).await?))
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
    ctx: Ctx,
    Json(req): Json<VendorProduct>,
) -> Result<Json<ProductCard>> {
    let new = StoreProduct {
        account_id: req.account_id,
        name: req.name,
        pk: req.pk,
        package: req.package,
        policy: req.overage_policy.unwrap_or_default(),
    };
    Ok(Json(state.store.create_product(&ctx, new).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePackage {
    pub account_id: i64,
    pub pk: String,
    /// The new package (every term within its bounds); absent: unchanged.
    #[schema(value_type = Option<crate::schemas::PackageSchema>)]
    pub package: Option<Package>,
    /// `block` or `bill`; absent: unchanged.
    #[schema(value_type = Option<crate::schemas::OveragePolicySchema>)]
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
    ctx: Ctx,
    Json(req): Json<ChangePackage>,
) -> Result<Json<ProductCard>> {
    if let Some(p) = &req.package {
        p.validate().map_err(ApiError::core)?;
    }
    Ok(Json(
        state
            .store
            .change_package(
                &ctx,
                req.account_id,
                req.pk,
                req.package,
                req.overage_policy,
            )
            .await?,
    ))
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

/// Assign unassigned codes (e.g. free codes) to a product (1 to 1,000,000
/// at once). A product without a package takes the server's free
/// development package.
#[utoipa::path(post, path = "/v1/products/{pk}/assign", tag = "products", params(("pk" = String, Path)),
    request_body = AssignRequest, responses((status = 200, body = ProductCard), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    ctx: Ctx,
    Path(pk): Path<String>,
    Json(req): Json<AssignRequest>,
) -> Result<Json<ProductCard>> {
    let free = state.settings.free_package.clone();
    Ok(Json(
        state
            .store
            .assign_codes(&ctx, caller.account_id, pk, req.count, free)
            .await?,
    ))
}

/// Credit a purchased batch of codes to a product (admin). A batch whose
/// package differs from the product's is refused (PACKAGE_MISMATCH).
#[utoipa::path(post, path = "/v1/admin/batches", tag = "admin", request_body = CreditBatch,
    responses((status = 200, body = CreditedBatch), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn credit(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Json(req): Json<CreditBatch>,
) -> Result<Json<CreditedBatch>> {
    bounds::BATCH_COUNT
        .check(req.count)
        .map_err(ApiError::core)?;
    if let Some(r) = &req.reference {
        bounds::REFERENCE.check(r).map_err(ApiError::core)?;
    }
    Ok(Json(state.store.credit_batch(&ctx, req).await?))
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

/// Credit prepaid top-up packages to a product (admin).
#[utoipa::path(post, path = "/v1/admin/topups", tag = "admin", request_body = TopUp,
    responses((status = 200, body = ProductCard)), security(("bearer" = [])))]
pub async fn topup(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Json(req): Json<TopUp>,
) -> Result<Json<ProductCard>> {
    bounds::topup(req.ota_attempts, req.messages).map_err(ApiError::core)?;
    Ok(Json(
        state
            .store
            .credit_topup(&ctx, req.account_id, req.pk, req.ota_attempts, req.messages)
            .await?,
    ))
}

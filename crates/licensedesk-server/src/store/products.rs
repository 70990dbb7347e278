//! Products: cards, creation, packages (set by the first codes, changed by
//! the vendor), assignment of unassigned codes, purchased batches and
//! top-ups.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use licensedesk_core::bounds;
use licensedesk_core::codes::{BatchEffect, check_assign, check_batch};
use licensedesk_core::package::Package;
use licensedesk_core::package::quota::OveragePolicy;
use licensedesk_core::package::statement::Month;
use licensedesk_protocol::feed::{BatchChange, ProductChange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{Conn, Row};
use crate::error::{ApiError, Result};
use crate::store::changes::{self, Record};
use crate::store::codes::{self, Entropy};
use crate::store::{Ctx, Lane, Store, accounts, read, write};
use crate::time::stored;

#[derive(Debug, Clone)]
pub struct ProductRow {
    pub id: i64,
    pub account_id: i64,
    pub pk: String,
    pub name: String,
    pub package: Option<Package>,
    pub policy: OveragePolicy,
    pub ota_topups: i64,
    pub message_topups: i64,
}

/// The columns [`from_row`] reads, in its order: a macro, so that each
/// statement reading them is one constant text (`concat!`), not a string
/// formatted per call.
macro_rules! product_cols {
    () => {
        "id, account_id, pk, name, package, overage_policy, ota_topups, message_topups"
    };
}
pub(crate) use product_cols;

pub fn from_row(r: &Row<'_>) -> Result<ProductRow> {
    Ok(ProductRow {
        id: r.i64(0)?,
        account_id: r.i64(1)?,
        pk: r.string(2)?,
        name: r.string(3)?,
        package: r.opt_str(4)?.and_then(|p| serde_json::from_str(p).ok()),
        policy: serde_json::from_value(serde_json::Value::String(r.string(5)?)).unwrap_or_default(),
        ota_topups: r.i64(6)?,
        message_topups: r.i64(7)?,
    })
}

/// Serialised form of a policy (`"block"` / `"bill"`).
pub fn policy_str(p: OveragePolicy) -> &'static str {
    match p {
        OveragePolicy::Block => "block",
        OveragePolicy::Bill => "bill",
    }
}

/// The feed's record of a product that took `package`.
fn package_set(pk: &str, package: &Package) -> Result<Record<'static>> {
    Ok(Record::ProductUpdated(ProductChange {
        package: Some(Some(serde_json::to_value(package)?)),
        ..ProductChange::of(pk)
    }))
}

/// The label of the local month before the one containing `t`: a new
/// product's `closed_through` (its first month to close is the one it is
/// created in), and the last month a close may reach at `t`.
pub fn closed_before(t: DateTime<Utc>, tz: Tz) -> Result<String> {
    let this = Month::containing(t, tz).map_err(ApiError::core)?;
    let prev = this
        .first
        .pred_opt()
        .and_then(|d| Month::of_date(d, tz))
        .ok_or_else(|| ApiError::Internal(format!("no month before {}", this.label)))?;
    Ok(prev.label)
}

/// The feed's record of a product's new top-up balances.
pub fn topups_changed(pk: &str, ota_topups: i64, message_topups: i64) -> Record<'static> {
    Record::ProductUpdated(ProductChange {
        message_topups: Some(message_topups),
        ota_topups: Some(ota_topups),
        ..ProductChange::of(pk)
    })
}

/// The product with key `pk` of account `account_id`, or 404.
pub async fn by_pk(c: &impl Conn, account_id: i64, pk: &str) -> Result<ProductRow> {
    c.opt(
        concat!(
            "SELECT ",
            product_cols!(),
            " FROM products WHERE account_id = $1 AND pk = $2"
        ),
        &[&account_id, &pk],
        from_row,
    )
    .await?
    .ok_or(ApiError::NotFound("product"))
}

pub async fn by_id(c: &impl Conn, id: i64) -> Result<ProductRow> {
    c.one(
        concat!("SELECT ", product_cols!(), " FROM products WHERE id = $1"),
        &[&id],
        from_row,
    )
    .await
}

/// The products of an account.
pub async fn of_account(c: &impl Conn, account_id: i64) -> Result<Vec<ProductRow>> {
    c.query(
        concat!(
            "SELECT ",
            product_cols!(),
            " FROM products WHERE account_id = $1 ORDER BY name, pk"
        ),
        &[&account_id],
        from_row,
    )
    .await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductCard {
    pub pk: String,
    pub name: String,
    /// The product's package (absent until its first codes).
    #[schema(value_type = Option<crate::schemas::PackageSchema>)]
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

pub async fn card(c: &impl Conn, p: &ProductRow) -> Result<ProductCard> {
    let counters = codes::product_counters(c, p.id).await?;
    let devices = c
        .one(
            "SELECT COUNT(*) FROM devices WHERE product_id = $1",
            &[&p.id],
            |r| r.u64(0),
        )
        .await?;
    Ok(ProductCard {
        pk: p.pk.clone(),
        name: p.name.clone(),
        package_summary: p.package.as_ref().map(Package::summary),
        package: p.package.clone(),
        overage_policy: policy_str(p.policy).to_owned(),
        total: counters.total(),
        used: counters.used(),
        remaining: counters.remaining(),
        devices,
        ota_topups: p.ota_topups,
        message_topups: p.message_topups,
    })
}

/// Inserts a product. `pk: None` makes one (`p` + 10 hex digits, drawn
/// again on the rare collision).
pub async fn create(
    c: &impl Conn,
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
    let taken = async |pk: &str| -> Result<bool> {
        Ok(
            c.opt("SELECT 1 FROM products WHERE pk = $1", &[&pk], |_| Ok(()))
                .await?
                .is_some(),
        )
    };
    let pk = match pk {
        Some(pk) => {
            let pk = bounds::PRODUCT_KEY.check(pk).map_err(ApiError::core)?;
            if taken(pk).await? {
                return Err(ApiError::conflict(
                    "PRODUCT_KEY_TAKEN",
                    format!("product key {pk} is already in use: choose another or omit it"),
                ));
            }
            pk.to_owned()
        }
        None => loop {
            let pk = format!("p{}", &hex::encode(codes::os_entropy()?)[..10]);
            if !taken(&pk).await? {
                break pk;
            }
        },
    };
    let package_json = package.map(serde_json::to_string).transpose()?;
    let policy = policy_str(policy);
    // Its first month to close is the one it is created in.
    let tz = accounts::get(c, account_id).await?.tz()?;
    let closed_through = closed_before(now, tz)?;
    let id = c
        .insert(
            "INSERT INTO products (account_id, pk, name, package, overage_policy, created_at, updated_at, closed_through)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id",
            &[&account_id, &pk, &name, &package_json, &policy, &stored(now), &closed_through],
        )
        .await?;
    changes::record(
        c,
        account_id,
        now,
        &Record::ProductCreated(ProductChange {
            id: Some(id),
            name: Some(name.to_owned()),
            overage_policy: Some(policy.to_owned()),
            package: Some(package.map(serde_json::to_value).transpose()?),
            ..ProductChange::of(&pk)
        }),
    )
    .await?;
    by_pk(c, account_id, &pk).await
}

/// Assigns `count` unassigned codes to product `pk`; a product without a
/// package takes the server's free development package (domain.md §4).
async fn assign_in(
    c: &impl Conn,
    account_id: i64,
    pk: &str,
    count: u64,
    free: &Package,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut p = by_pk(c, account_id, pk).await?;
    let available = codes::unassigned(c, account_id).await?;
    let n = check_assign(count, available).map_err(ApiError::core)?;
    if p.package.is_none() {
        c.exec(
            "UPDATE products SET package = $1, updated_at = $2 WHERE id = $3",
            &[&serde_json::to_string(free)?, &stored(now), &p.id],
        )
        .await?;
        changes::record(c, account_id, now, &package_set(&p.pk, free)?).await?;
        p.package = Some(free.clone());
    }
    codes::assign(c, account_id, p.id, n, now).await?;
    Ok(())
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreditBatch {
    pub account_id: i64,
    pub pk: String,
    pub count: u64,
    #[schema(value_type = crate::schemas::PackageSchema)]
    pub package: Package,
    /// Purchase reference (order number, invoice…).
    pub reference: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreditedBatch {
    pub batch_id: i64,
    pub product: ProductCard,
}

/// Credits a purchased batch, enforcing package consistency (core's
/// `check_batch`: the first batch sets the product's package).
pub async fn credit_batch(
    c: &impl Conn,
    req: &CreditBatch,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<i64> {
    let p = by_pk(c, req.account_id, &req.pk).await?;
    let effect =
        check_batch(p.package.as_ref(), &req.package, req.count).map_err(ApiError::core)?;
    let package_json = serde_json::to_string(&req.package)?;
    if effect == BatchEffect::SetsProductPackage {
        c.exec(
            "UPDATE products SET package = $1, updated_at = $2 WHERE id = $3",
            &[&package_json, &stored(now), &p.id],
        )
        .await?;
        changes::record(c, p.account_id, now, &package_set(&p.pk, &req.package)?).await?;
    }
    let batch = c
        .insert(
            "INSERT INTO batches (account_id, product_id, kind, package, quantity, reference, created_at)
             VALUES ($1, $2, 'purchase', $3, $4, $5, $6) RETURNING id",
            &[&p.account_id, &p.id, &package_json, &(req.count as i64), &req.reference, &stored(now)],
        )
        .await?;
    changes::record(
        c,
        p.account_id,
        now,
        &Record::BatchCreated(BatchChange {
            id: batch,
            kind: "purchase".to_owned(),
            package: Some(serde_json::to_value(&req.package)?),
            pk: Some(p.pk.clone()),
            quantity: req.count,
            reference: Some(req.reference.clone()),
        }),
    )
    .await?;
    codes::insert(c, p.account_id, batch, Some(p.id), req.count, now, entropy).await?;
    Ok(batch)
}

/// Adds prepaid top-ups to a product's balance and records the product's
/// new balance in the feed.
pub async fn credit_topup(
    c: &impl Conn,
    account_id: i64,
    pk: &str,
    ota_attempts: u32,
    messages: u32,
    now: DateTime<Utc>,
) -> Result<ProductRow> {
    let p = by_pk(c, account_id, pk).await?;
    c.exec(
        "UPDATE products SET ota_topups = ota_topups + $1, message_topups = message_topups + $2, updated_at = $3 WHERE id = $4",
        &[&i64::from(ota_attempts), &i64::from(messages), &stored(now), &p.id],
    )
    .await?;
    let p = by_pk(c, account_id, pk).await?;
    changes::record(
        c,
        p.account_id,
        now,
        &topups_changed(&p.pk, p.ota_topups, p.message_topups),
    )
    .await?;
    Ok(p)
}

async fn cards_in(c: &impl Conn, account_id: i64) -> Result<Vec<ProductCard>> {
    let mut out = Vec::new();
    for p in of_account(c, account_id).await? {
        out.push(card(c, &p).await?);
    }
    Ok(out)
}

/// A new product's terms as the vendor sets them.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub account_id: i64,
    pub name: String,
    pub pk: Option<String>,
    pub package: Option<Package>,
    pub policy: OveragePolicy,
}

impl Store {
    pub async fn product_cards(&self, account: i64) -> Result<Vec<ProductCard>> {
        read!(self, [], |c| cards_in(c, account)).await
    }

    pub async fn product_card(&self, account: i64, pk: String) -> Result<ProductCard> {
        read!(self, [pk], |c| async {
            card(c, &by_pk(c, account, &pk).await?).await
        })
        .await
    }

    /// A product (of an existing account, which is checked).
    pub async fn create_product(&self, ctx: &Ctx, new: NewProduct) -> Result<ProductCard> {
        let now = ctx.now;
        write!(self, ctx, [new], |c| async {
            accounts::get(c, new.account_id).await?;
            let p = create(
                c,
                new.account_id,
                &new.name,
                new.pk.as_deref(),
                new.package.as_ref(),
                new.policy,
                now,
            )
            .await?;
            card(c, &p).await
        })
        .await
    }

    pub async fn assign_codes(
        &self,
        ctx: &Ctx,
        account: i64,
        pk: String,
        count: u64,
        free: Package,
    ) -> Result<ProductCard> {
        let now = ctx.now;
        let key = pk.clone();
        let lane = Lane::pool(account, &pk);
        write!(self, ctx, lane = lane, [key, free], |c| assign_in(
            c, account, &key, count, &free, now
        ))
        .await?;
        self.product_card(account, pk).await
    }

    pub async fn credit_batch(&self, ctx: &Ctx, req: CreditBatch) -> Result<CreditedBatch> {
        let now = ctx.now;
        let (account, pk) = (req.account_id, req.pk.clone());
        let lane = Lane::pool(account, &pk);
        let batch_id = write!(self, ctx, lane = lane, [req], |c| credit_batch(
            c,
            &req,
            now,
            &mut || codes::os_entropy()
        ))
        .await?;
        Ok(CreditedBatch {
            batch_id,
            product: self.product_card(account, pk).await?,
        })
    }

    pub async fn credit_topup(
        &self,
        ctx: &Ctx,
        account: i64,
        pk: String,
        ota_attempts: u32,
        messages: u32,
    ) -> Result<ProductCard> {
        let now = ctx.now;
        let key = pk.clone();
        write!(self, ctx, [key], |c| async {
            credit_topup(c, account, &key, ota_attempts, messages, now)
                .await
                .map(|_| ())
        })
        .await?;
        self.product_card(account, pk).await
    }
}

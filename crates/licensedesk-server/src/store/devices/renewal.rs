//! Renewal at expiry (maintenance, account by account) and a product's
//! change of package, which rebases its devices at once: core decides
//! (`decide_renewal`, `DeviceCodeState::rebased`), these functions read and
//! write.

use licensedesk_core::package::quota::OveragePolicy;
use licensedesk_protocol::feed::ProductChange;

use super::*;
use crate::store::products::ProductCard;
use crate::store::write;

/// Applies core's renewal decision to one device. Returns
/// `(renewals, taken_offline)`.
async fn renew_device(
    c: &impl Conn,
    d: &mut DeviceRow,
    p: &ProductRow,
    now: DateTime<Utc>,
) -> Result<(u64, bool)> {
    let Some(pkg) = &p.package else {
        return Ok((0, false));
    };
    let state = code_state(d);
    let decision = decide_with_pool(
        c,
        p.id,
        |n| decide_renewal(&state, now, &pkg.validity, n).map_err(ApiError::core),
        |d| matches!(d, RenewalDecision::WentOffline { .. }),
    )
    .await?;
    let (periods, offline) = match decision {
        RenewalDecision::NotDue => return Ok((0, false)),
        RenewalDecision::Renewed { periods } => (periods, false),
        RenewalDecision::WentOffline { periods, .. } => (periods, true),
    };
    let done = consume_periods(c, d, p, &periods, now).await?;
    let offline = offline || done < periods.len();
    if offline {
        take_offline(c, d).await?;
    }
    save(c, d, now).await?;
    record_device(c, d, &p.pk, Op::Update, now).await?;
    Ok((done as u64, offline))
}

/// After a package upgrade: every active device's current code expiry is
/// recomputed with the new validity (core's `rebased`).
async fn rebase_product(
    c: &impl Conn,
    p: &ProductRow,
    pkg: &Package,
    now: DateTime<Utc>,
) -> Result<()> {
    let ids = c
        .query(
            "SELECT id FROM devices WHERE product_id = $1 AND status = 'active'",
            &[&p.id],
            |r| r.i64(0),
        )
        .await?;
    for id in ids {
        let mut d = by_id(c, id).await?;
        if let DeviceCodeState::Active {
            consumed_at,
            expires_at,
        } = code_state(&d)
            .rebased(&pkg.validity)
            .map_err(ApiError::core)?
        {
            d.activated_at = Some(consumed_at);
            d.expires_at = Some(expires_at);
            c.exec(
                "UPDATE codes SET expires_at = $2 WHERE device_id = $1 AND active = 1",
                &[&d.id, &stored(expires_at)],
            )
            .await?;
            save(c, &d, now).await?;
            record_device(c, &d, &p.pk, Op::Update, now).await?;
        }
    }
    Ok(())
}

/// The accounts with a device whose code expired by `now` (maintenance).
pub(super) async fn accounts_due_renewal(c: &impl Conn, now: DateTime<Utc>) -> Result<Vec<i64>> {
    c.query(
        "SELECT DISTINCT account_id FROM devices WHERE status = 'active' AND expires_at <= $1",
        &[&stored(now)],
        |r| r.i64(0),
    )
    .await
}

/// Renews (or takes offline) every device of `account_id` whose code
/// expired by `now`; returns `(renewals, taken offline)`.
pub(super) async fn renew_account(
    c: &impl Conn,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<(u64, u64)> {
    let ids = c
        .query(
            "SELECT id FROM devices WHERE account_id = $1 AND status = 'active' AND expires_at <= $2
             ORDER BY expires_at, id",
            &[&account_id, &stored(now)],
            |r| r.i64(0),
        )
        .await?;
    let (mut renewed, mut offline) = (0, 0);
    for id in ids {
        let mut d = by_id(c, id).await?;
        let p = products::by_id(c, d.product_id).await?;
        let (r, off) = renew_device(c, &mut d, &p, now).await?;
        renewed += r;
        offline += u64::from(off);
    }
    Ok((renewed, offline))
}

/// Sets a product's package and/or policy (an absent one stays); a new
/// package applies to every device of the product at once.
async fn change_package_in(
    c: &impl Conn,
    account_id: i64,
    pk: &str,
    package: Option<&Package>,
    policy: Option<OveragePolicy>,
    now: DateTime<Utc>,
) -> Result<ProductCard> {
    let p = products::by_pk(c, account_id, pk).await?;
    let new = package.cloned().or_else(|| p.package.clone());
    let policy = policy.unwrap_or(p.policy);
    c.exec(
        "UPDATE products SET package = $1, overage_policy = $2, updated_at = $3 WHERE id = $4",
        &[
            &new.as_ref().map(serde_json::to_string).transpose()?,
            &products::policy_str(policy),
            &stored(now),
            &p.id,
        ],
    )
    .await?;
    changes::record(
        c,
        p.account_id,
        now,
        &Record::ProductUpdated(ProductChange {
            overage_policy: Some(products::policy_str(policy).to_owned()),
            package: Some(new.as_ref().map(serde_json::to_value).transpose()?),
            ..ProductChange::of(&p.pk)
        }),
    )
    .await?;
    if let Some(package) = package {
        rebase_product(c, &p, package, now).await?;
    }
    products::card(c, &products::by_pk(c, p.account_id, &p.pk).await?).await
}

impl Store {
    pub async fn change_package(
        &self,
        ctx: &Ctx,
        account: i64,
        pk: String,
        package: Option<Package>,
        policy: Option<OveragePolicy>,
    ) -> Result<ProductCard> {
        let now = ctx.now;
        write!(self, ctx, [pk, package], |c| change_package_in(
            c,
            account,
            &pk,
            package.as_ref(),
            policy,
            now
        ))
        .await
    }
}

//! Renewal at expiry (maintenance, account by account) and the package
//! rebase of an upgrade: core decides (`decide_renewal`,
//! `DeviceCodeState::rebased`), these functions read and write.

use super::*;

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
pub async fn rebase_product(
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

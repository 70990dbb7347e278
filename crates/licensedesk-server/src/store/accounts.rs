//! Accounts: creation with their free codes, lookups (by id, by token),
//! the overview's counters, verification as enterprise. Every lookup is
//! scoped: a row of another account is "not found", never "forbidden".

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use licensedesk_core::account::{AccountKind, verify_as_enterprise};
use licensedesk_protocol::api::accounts::Overview;
use licensedesk_protocol::feed::{AccountChange, BatchChange};

use crate::db::Conn;
use crate::error::{ApiError, Result};
use crate::store::changes::{self, Record};
use crate::store::codes::{self, Entropy};
use crate::store::{Ctx, Store, read, write};

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub data_center: String,
    pub verified_enterprise: bool,
}

impl AccountRow {
    /// The data center's time zone ("a day" and "a month" are its local ones).
    pub fn tz(&self) -> Result<Tz> {
        data_center_tz(&self.data_center)
    }
}

/// Time zone of a data center (core's table).
pub fn data_center_tz(dc: &str) -> Result<Tz> {
    licensedesk_core::datacenter::time_zone(dc).map_err(ApiError::core)
}

/// Parses a stored or requested account kind.
pub fn parse_kind(kind: &str) -> Result<AccountKind> {
    serde_json::from_value(serde_json::Value::String(kind.to_owned())).map_err(|_| {
        ApiError::invalid(
            "ACCOUNT_KIND_INVALID",
            format!("account kind {kind:?} is neither \"individual\" nor \"enterprise\""),
        )
    })
}

/// Account `id`, or 404.
pub async fn get(c: &impl Conn, id: i64) -> Result<AccountRow> {
    c.opt(
        "SELECT id, name, kind, data_center, verified_enterprise FROM accounts WHERE id = $1",
        &[&id],
        |r| {
            Ok(AccountRow {
                id: r.i64(0)?,
                name: r.string(1)?,
                kind: r.string(2)?,
                data_center: r.string(3)?,
                verified_enterprise: r.bool(4)?,
            })
        },
    )
    .await?
    .ok_or(ApiError::NotFound("account"))
}

/// Creates an account with its free codes; returns its id.
pub async fn create(
    c: &impl Conn,
    name: &str,
    kind: &str,
    data_center: &str,
    token_hash: &str,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<i64> {
    let parsed = parse_kind(kind)?;
    data_center_tz(data_center)?;
    let name = licensedesk_core::bounds::NAME
        .check(name)
        .map_err(ApiError::core)?;
    let id = c
        .insert(
            "INSERT INTO accounts (name, kind, data_center, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&name, &kind, &data_center, &token_hash, &crate::time::stored(now)],
        )
        .await?;
    changes::record(
        c,
        id,
        now,
        &Record::AccountCreated(AccountChange {
            data_center: Some(data_center.to_owned()),
            id,
            kind: Some(kind.to_owned()),
            name: Some(name.to_owned()),
            verified_enterprise: None,
        }),
    )
    .await?;
    grant_free_codes(c, id, u64::from(parsed.initial_free_codes()), now, entropy).await?;
    Ok(id)
}

async fn grant_free_codes(
    c: &impl Conn,
    account_id: i64,
    n: u64,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let batch = c
        .insert(
            "INSERT INTO batches (account_id, kind, quantity, created_at) VALUES ($1, 'free', $2, $3) RETURNING id",
            &[&account_id, &(n as i64), &crate::time::stored(now)],
        )
        .await?;
    changes::record(
        c,
        account_id,
        now,
        &Record::BatchCreated(BatchChange {
            id: batch,
            kind: "free".to_owned(),
            package: None,
            pk: None,
            quantity: n,
            reference: None,
        }),
    )
    .await?;
    codes::insert(c, account_id, batch, None, n, now, entropy).await
}

pub async fn overview(c: &impl Conn, id: i64) -> Result<Overview> {
    let a = get(c, id).await?;
    let (counters, unassigned) = codes::account_overview(c, id).await?;
    let free = c
        .one(
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM batches WHERE account_id = $1 AND kind = 'free'",
            &[&id],
            |r| r.u64(0),
        )
        .await?;
    Ok(Overview {
        id,
        time_zone: a.tz()?.name().to_owned(),
        name: a.name,
        kind: a.kind,
        data_center: a.data_center,
        verified_enterprise: a.verified_enterprise,
        total: counters.total(),
        used: counters.used(),
        remaining: counters.remaining(),
        unassigned,
        free_codes: free,
    })
}

/// An individual account verified as enterprise: it becomes one and
/// receives 5 more free codes, once (core's rule).
async fn verify_enterprise_in(
    c: &impl Conn,
    id: i64,
    now: DateTime<Utc>,
    entropy: Entropy<'_>,
) -> Result<Overview> {
    let a = get(c, id).await?;
    let grant = verify_as_enterprise(parse_kind(&a.kind)?, a.verified_enterprise)
        .map_err(ApiError::core)?;
    let kind = serde_json::to_value(grant.kind)?;
    c.exec(
        "UPDATE accounts SET kind = $2, verified_enterprise = TRUE WHERE id = $1",
        &[&id, &kind.as_str()],
    )
    .await?;
    changes::record(
        c,
        id,
        now,
        &Record::AccountUpdated(AccountChange {
            data_center: None,
            id,
            kind: Some("enterprise".to_owned()),
            name: None,
            verified_enterprise: Some(true),
        }),
    )
    .await?;
    grant_free_codes(c, id, u64::from(grant.free_codes), now, entropy).await?;
    overview(c, id).await
}

/// The account whose API token hashes to `token_hash`.
async fn by_token(c: &impl Conn, token_hash: &str) -> Result<Option<i64>> {
    c.opt(
        "SELECT id FROM accounts WHERE token_hash = $1",
        &[&token_hash],
        |r| r.i64(0),
    )
    .await
}

impl Store {
    /// A new account with its free codes (and the token hash it is known by).
    pub async fn create_account(
        &self,
        ctx: &Ctx,
        name: String,
        kind: String,
        data_center: String,
        token_hash: String,
    ) -> Result<i64> {
        let now = ctx.now;
        write!(
            self,
            ctx,
            [name, kind, data_center, token_hash],
            |c| create(c, &name, &kind, &data_center, &token_hash, now, &mut || {
                codes::os_entropy()
            })
        )
        .await
    }

    pub async fn overview(&self, account: i64) -> Result<Overview> {
        read!(self, [], |c| overview(c, account)).await
    }

    pub async fn verify_enterprise(&self, ctx: &Ctx, account: i64) -> Result<Overview> {
        let now = ctx.now;
        write!(self, ctx, [], |c| verify_enterprise_in(
            c,
            account,
            now,
            &mut || codes::os_entropy()
        ))
        .await
    }

    pub async fn account_by_token(&self, token_hash: String) -> Result<Option<i64>> {
        read!(self, [token_hash], |c| by_token(c, &token_hash)).await
    }

    /// The database's instance id (made with the schema; sync cursors
    /// carry it).
    pub async fn instance(&self) -> Result<String> {
        read!(self, [], |c| async {
            c.opt("SELECT value FROM meta WHERE key = 'instance'", &[], |r| {
                r.string(0)
            })
            .await?
            .ok_or_else(|| ApiError::Internal("the database has no instance id".into()))
        })
        .await
    }

    /// Gives the database a new instance id (after a restore that is not
    /// `restore`'s own, e.g. `pg_restore`): every client's sync cursor is
    /// then refused and clients sync again from the start. Returns it.
    pub async fn renew_instance(&self, now: chrono::DateTime<chrono::Utc>) -> Result<String> {
        let id = new_instance_id()?;
        let ctx = Ctx::at(now);
        write!(self, &ctx, [id], |c| async {
            c.exec("DELETE FROM meta WHERE key = 'instance'", &[])
                .await?;
            c.exec(
                "INSERT INTO meta (key, value) VALUES ('instance', $1)",
                &[&id],
            )
            .await?;
            Ok::<_, ApiError>(id.clone())
        })
        .await
    }

    pub async fn account(&self, account: i64) -> Result<AccountRow> {
        read!(self, [], |c| get(c, account)).await
    }
}

/// A random (version 4) UUID, as the instance migrations make them.
fn new_instance_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| ApiError::Internal(format!("randomness: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

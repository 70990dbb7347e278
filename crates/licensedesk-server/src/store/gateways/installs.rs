//! License installs reported by desktop clients: each report is one row
//! and one change-feed entry, written in one transaction (with the
//! request's `Idempotency-Key` record, so a replayed report records
//! nothing more).

use chrono::{DateTime, Utc};
use licensedesk_protocol::feed::GatewayInstall;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Conn;
use crate::error::Result;
use crate::store::changes::{self, Record};
use crate::store::{Ctx, Store, read, write};
use crate::time::stored;

// A license install a desktop client reported, as recorded (no doc
// comment: it would become the schema's description in the OpenAPI document).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstallView {
    pub id: i64,
    pub license_id: String,
    pub fingerprint: String,
    pub kind: String,
    pub source: String,
    pub installed_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// A reported install, checked (bounds, a normalised fingerprint).
#[derive(Debug, Clone)]
pub struct NewInstall {
    pub license_id: String,
    pub fingerprint: String,
    pub kind: &'static str,
    pub source: &'static str,
    pub installed_at: DateTime<Utc>,
}

/// Records one install and its change-feed entry; returns its id.
async fn record_install(
    c: &impl Conn,
    account: i64,
    i: &NewInstall,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id = c
        .insert(
            "INSERT INTO gateway_installs (account_id, license_id, fingerprint, kind, source, installed_at, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &account,
                &i.license_id,
                &i.fingerprint,
                &i.kind,
                &i.source,
                &stored(i.installed_at),
                &stored(now),
            ],
        )
        .await?;
    changes::record(
        c,
        account,
        now,
        &Record::GatewayInstalled(GatewayInstall {
            fingerprint: i.fingerprint.clone(),
            id,
            installed_at: i.installed_at,
            kind: i.kind.to_owned(),
            license_id: i.license_id.clone(),
            source: i.source.to_owned(),
        }),
    )
    .await?;
    Ok(id)
}

async fn installs(c: &impl Conn, account: i64) -> Result<Vec<InstallView>> {
    c.query(
        "SELECT id, license_id, fingerprint, kind, source, installed_at, recorded_at
         FROM gateway_installs WHERE account_id = $1 ORDER BY id",
        &[&account],
        |r| {
            Ok(InstallView {
                id: r.i64(0)?,
                license_id: r.string(1)?,
                fingerprint: r.string(2)?,
                kind: r.string(3)?,
                source: r.string(4)?,
                installed_at: r.time(5)?,
                recorded_at: r.time(6)?,
            })
        },
    )
    .await
}

impl Store {
    /// Records a license install reported by a desktop client.
    pub async fn record_install(
        &self,
        ctx: &Ctx,
        account: i64,
        install: NewInstall,
    ) -> Result<i64> {
        let now = ctx.now;
        write!(self, ctx, [install], |c| record_install(
            c, account, &install, now
        ))
        .await
    }

    /// The account's recorded installs, oldest first.
    pub async fn installs(&self, account: i64) -> Result<Vec<InstallView>> {
        read!(self, [], |c| installs(c, account)).await
    }
}

//! `Idempotency-Key` records: a key's request hash and, once answered, its
//! response (status, body, type). A write records its key (status 0, the
//! write's result) in the same transaction as its effect ([`reserve`]); the
//! HTTP layer then keeps the final response ([`Store::finish_idempotent`]).

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::error::Result;
use crate::store::{Store, read};
use crate::time::stored;

/// A request's key as the store keeps it: who (the scope), which key, the
/// request it was first used with, and (when a previous attempt committed
/// but its response was lost) the write's recorded result to replay.
#[derive(Debug, Clone)]
pub struct Keyed {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
    pub replay: Option<String>,
}

/// What is recorded under a key.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub request_hash: String,
    /// 0 while only the write's result is recorded (its response pending).
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// Records (status 0 = committed, response pending) the write's result
/// under the request's key, in the write's transaction.
pub async fn reserve(c: &impl Conn, k: &Keyed, result: &str, now: DateTime<Utc>) -> Result<()> {
    c.exec(
        "INSERT INTO idempotency (scope, key, request_hash, status, body, created_at)
         VALUES ($1, $2, $3, 0, $4, $5)
         ON CONFLICT (scope, key) DO NOTHING",
        &[
            &k.scope,
            &k.key,
            &k.request_hash,
            &result.as_bytes(),
            &stored(now),
        ],
    )
    .await?;
    Ok(())
}

/// What is recorded under a request's key, if anything.
pub async fn recorded(c: &impl Conn, k: &Keyed) -> Result<Option<Recorded>> {
    get(c, &k.scope, &k.key).await
}

async fn get(c: &impl Conn, scope: &str, key: &str) -> Result<Option<Recorded>> {
    c.opt(
        "SELECT request_hash, status, body, content_type FROM idempotency WHERE scope = $1 AND key = $2",
        &[&scope, &key],
        |r| {
            Ok(Recorded {
                request_hash: r.string(0)?,
                status: u16::try_from(r.i64(1)?).unwrap_or(0),
                body: r.bytes(2)?,
                content_type: r.opt_string(3)?,
            })
        },
    )
    .await
}

async fn finish(c: &impl Conn, k: &Keyed, r: &Recorded, now: DateTime<Utc>) -> Result<()> {
    c.exec(
        "INSERT INTO idempotency (scope, key, request_hash, status, body, created_at, content_type)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (scope, key) DO UPDATE SET status = $4, body = $5, content_type = $7",
        &[
            &k.scope,
            &k.key,
            &k.request_hash,
            &i64::from(r.status),
            &r.body,
            &stored(now),
            &r.content_type,
        ],
    )
    .await?;
    Ok(())
}

async fn forget(c: &impl Conn, before: DateTime<Utc>) -> Result<u64> {
    c.exec(
        "DELETE FROM idempotency WHERE created_at < $1",
        &[&stored(before)],
    )
    .await
}

impl Store {
    /// What is recorded under `(scope, key)`, if anything.
    pub async fn idempotent(&self, scope: String, key: String) -> Result<Option<Recorded>> {
        read!(self, [scope, key], |c| get(c, &scope, &key)).await
    }

    /// Keeps a keyed request's final response.
    pub async fn finish_idempotent(
        &self,
        k: Keyed,
        response: Recorded,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let ctx = super::Ctx::at(now);
        super::write!(self, &ctx, [k, response], |c| finish(c, &k, &response, now)).await
    }

    /// Forgets the records made before `before`.
    pub async fn forget_idempotent(&self, before: DateTime<Utc>) -> Result<u64> {
        let ctx = super::Ctx::at(before);
        super::write!(self, &ctx, [], |c| forget(c, before)).await
    }
}

//! Failed code attempts per limiter key (a token's hash, a client
//! address), in the database so every node of a fleet counts the same
//! ones ([`crate::ratelimit`] decides with them).

use chrono::{DateTime, Duration, Utc};

use crate::db::Conn;
use crate::error::Result;
use crate::store::{Ctx, Store, read, write};
use crate::time::{parse, stored};

/// The failures of `key` after `since`: how many, and the oldest.
async fn failures_since(
    c: &impl Conn,
    key: &str,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>)> {
    c.one(
        "SELECT COUNT(*), MIN(at) FROM failed_attempts WHERE key = $1 AND at > $2",
        &[&key, &stored(since)],
        |r| Ok((r.i64(0)?, r.opt_string(1)?)),
    )
    .await
    .and_then(|(n, oldest)| Ok((n, oldest.as_deref().map(parse).transpose()?)))
}

/// Records a failure of each of `keys` at `now`, and forgets their
/// failures that left the window.
async fn record(
    c: &impl Conn,
    keys: &[String],
    now: DateTime<Utc>,
    window: Duration,
) -> Result<()> {
    for key in keys {
        c.exec(
            "DELETE FROM failed_attempts WHERE key = $1 AND at <= $2",
            &[key, &stored(now - window)],
        )
        .await?;
        c.exec(
            "INSERT INTO failed_attempts (key, at) VALUES ($1, $2)",
            &[key, &stored(now)],
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// For each of `keys`, its failures within `window` before `now`: how
    /// many, and the oldest.
    pub async fn recent_failures(
        &self,
        keys: Vec<String>,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<Vec<(i64, Option<DateTime<Utc>>)>> {
        read!(self, [keys], |c| async move {
            let mut out = Vec::with_capacity(keys.len());
            for key in &keys {
                out.push(failures_since(c, key, now - window).await?);
            }
            Ok(out)
        })
        .await
    }

    /// Records one failed attempt of each of `keys`.
    pub async fn record_failure(
        &self,
        keys: Vec<String>,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<()> {
        let ctx = Ctx::at(now);
        write!(self, &ctx, [keys], |c| record(c, &keys, now, window)).await
    }

    /// Forgets every failure older than `window` (maintenance).
    pub async fn forget_failures(&self, now: DateTime<Utc>, window: Duration) -> Result<u64> {
        let ctx = Ctx::at(now);
        let before = stored(now - window);
        write!(self, &ctx, [before], |c| c
            .exec("DELETE FROM failed_attempts WHERE at <= $1", &[&before]))
        .await
    }
}

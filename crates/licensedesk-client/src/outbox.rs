//! The outbox: actions taken offline, queued durably in the cache with an
//! idempotency key each, replayed exactly once when the server is back (the
//! server honours `Idempotency-Key`). A rejected item is kept with its
//! error `{code, message}` until the user retries or dismisses it.

use chrono::{DateTime, Utc};
use licensedesk_core::gateway::{InstallSource, LicenseKind};
use licensedesk_protocol::api::accounts::AssignRequest;
use licensedesk_protocol::api::gateways::ActivateRequest;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, ts};
use crate::error::{Error, ErrorBody, Result};
use crate::http::ServerApi;

/// What can be queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxAction {
    /// Activate a gateway license (activation code + hardware fingerprint).
    GatewayActivation { code: String, fingerprint: String },
    /// Assign unassigned codes to a product.
    AssignCodes { pk: String, count: u64 },
    /// Report a license installed for a gateway (domain.md §2: "the install
    /// is recorded for sync with the server"). The license's kind is
    /// `license_kind` here (`kind` is this enum's tag) and `kind` on the wire.
    LicenseInstall {
        license_id: String,
        fingerprint: String,
        #[ts(type = "string")]
        installed_at: DateTime<Utc>,
        /// `trial`, `file`, `activation` or `floating`.
        license_kind: String,
        /// `file`, `activation`, `offline` or `field`.
        source: String,
    },
}

impl OutboxAction {
    fn kind(&self) -> &'static str {
        match self {
            Self::GatewayActivation { .. } => "gateway_activation",
            Self::AssignCodes { .. } => "assign_codes",
            Self::LicenseInstall { .. } => "license_install",
        }
    }

    /// (path, JSON body) of the request that performs it.
    fn request(&self) -> Result<(String, String)> {
        Ok(match self {
            Self::GatewayActivation { code, fingerprint } => (
                "/v1/gateway/activate".into(),
                body(&ActivateRequest {
                    code: code.clone(),
                    fingerprint: fingerprint.clone(),
                })?,
            ),
            Self::AssignCodes { pk, count } => {
                if pk.is_empty() || pk.contains('/') {
                    return Err(Error::Invalid(format!("product key {pk:?}")));
                }
                (
                    format!("/v1/products/{pk}/assign"),
                    body(&AssignRequest { count: *count })?,
                )
            }
            Self::LicenseInstall {
                license_id,
                fingerprint,
                installed_at,
                license_kind,
                source,
            } => {
                if license_id.trim().is_empty() {
                    return Err(Error::Invalid("an install needs a license id".into()));
                }
                LicenseKind::parse(license_kind).map_err(|e| Error::Invalid(e.to_string()))?;
                InstallSource::parse(source).map_err(|e| Error::Invalid(e.to_string()))?;
                (
                    "/v1/gateway/installs".into(),
                    serde_json::json!({"license_id": license_id, "fingerprint": fingerprint,
                        "installed_at": installed_at, "kind": license_kind, "source": source})
                    .to_string(),
                )
            }
        })
    }
}

/// A request's body as queued: through a JSON value, whose keys sort, as
/// every queued body always was (and as it is sent again).
fn body(request: &impl Serialize) -> Result<String> {
    Ok(serde_json::to_value(request)?.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct OutboxItem {
    pub id: i64,
    pub kind: String,
    /// `pending`, `done` or `rejected`.
    pub state: String,
    pub attempts: i64,
    pub created_at: String,
    pub updated_at: String,
    pub path: String,
    pub body: String,
    /// Why the server refused it (kept until retried or dismissed).
    pub error: Option<ErrorBody>,
    /// The server's answer once done (JSON).
    pub response: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct FlushReport {
    pub sent: u64,
    pub rejected: u64,
}

const COLS: &str = "id, kind, state, attempts, created_at, updated_at, path, body, error_code, error_message, response";

fn item(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxItem> {
    let code: Option<String> = r.get(8)?;
    let message: Option<String> = r.get(9)?;
    Ok(OutboxItem {
        id: r.get(0)?,
        kind: r.get(1)?,
        state: r.get(2)?,
        attempts: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        path: r.get(6)?,
        body: r.get(7)?,
        error: code.map(|code| ErrorBody::new(code, message.unwrap_or_default())),
        response: r.get(10)?,
    })
}

fn new_key() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Invalid(format!("randomness: {e}")))?;
    Ok(format!("ld-{}", hex::encode(b)))
}

/// The outbox of one cache.
#[derive(Debug, Clone)]
pub struct Outbox {
    cache: Cache,
}

impl Outbox {
    pub fn new(cache: Cache) -> Self {
        Self { cache }
    }

    /// Queues an action (durably, before returning).
    pub fn enqueue(&self, action: &OutboxAction, now: DateTime<Utc>) -> Result<OutboxItem> {
        let (path, body) = action.request()?;
        let key = new_key()?;
        self.cache.write(|tx| {
            let id: i64 = tx.query_row(
                "INSERT INTO outbox (idempotency_key, kind, method, path, body, state, created_at, updated_at)
                 VALUES (?1, ?2, 'POST', ?3, ?4, 'pending', ?5, ?5) RETURNING id",
                params![key, action.kind(), path, body, ts(now)],
                |r| r.get(0),
            )?;
            Ok(tx.query_row(&format!("SELECT {COLS} FROM outbox WHERE id = ?1"), [id], item)?)
        })
    }

    /// Pending and rejected items (done items are history: see [`Self::all`]).
    pub fn list(&self) -> Result<Vec<OutboxItem>> {
        self.query("WHERE state != 'done' ORDER BY id")
    }

    pub fn all(&self) -> Result<Vec<OutboxItem>> {
        self.query("ORDER BY id")
    }

    fn query(&self, tail: &str) -> Result<Vec<OutboxItem>> {
        self.cache.read(|c| {
            let mut st = c.prepare(&format!("SELECT {COLS} FROM outbox {tail}"))?;
            let rows = st
                .query_map([], item)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    pub fn pending_count(&self) -> Result<u64> {
        let n: i64 = self.cache.read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )?)
        })?;
        Ok(n as u64)
    }

    /// Puts a rejected item back in the queue, under a new idempotency key
    /// (the server remembers the old key's refusal).
    pub fn retry(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let key = new_key()?;
        self.cache.write(|tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'pending', idempotency_key = ?2, error_code = NULL, error_message = NULL,
                 updated_at = ?3 WHERE id = ?1 AND state = 'rejected'",
                params![id, key, ts(now)],
            )?;
            if n == 0 {
                return Err(Error::OutboxItemNotFound(id));
            }
            Ok(())
        })
    }

    /// Removes a rejected item the user has read. Pending items cannot be
    /// dismissed (they may already be on their way).
    pub fn dismiss(&self, id: i64) -> Result<()> {
        self.cache.write(|tx| {
            let n = tx.execute(
                "DELETE FROM outbox WHERE id = ?1 AND state = 'rejected'",
                [id],
            )?;
            if n == 0 {
                return Err(Error::OutboxItemNotFound(id));
            }
            Ok(())
        })
    }

    fn next_pending(&self) -> Result<Option<(i64, String, String, String)>> {
        self.cache.read(|c| {
            Ok(c.query_row(
                "SELECT id, idempotency_key, path, body FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?)
        })
    }

    /// Sends pending items in order. Stops at the first transport failure
    /// (returns it; nothing is lost). A refusal marks the item rejected.
    pub async fn flush(&self, api: &ServerApi, now: DateTime<Utc>) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        while let Some((id, key, path, body)) = self.next_pending()? {
            let body: serde_json::Value = serde_json::from_str(&body)?;
            self.cache.write(|tx| {
                tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?1",
                    [id],
                )?;
                Ok(())
            })?;
            match api.post::<_, serde_json::Value>(&path, &body, &key).await {
                Ok(resp) => {
                    self.mark(id, "done", None, Some(resp.to_string()), now)?;
                    report.sent += 1;
                }
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    self.mark(id, "rejected", Some(e.body()), None, now)?;
                    report.rejected += 1;
                }
            }
        }
        Ok(report)
    }

    fn mark(
        &self,
        id: i64,
        state: &str,
        err: Option<ErrorBody>,
        response: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (code, message) = err.map(|e| (e.code, e.message)).unzip();
        self.cache.write(|tx| {
            tx.execute(
                "UPDATE outbox SET state = ?2, error_code = ?3, error_message = ?4, response = ?5, updated_at = ?6 WHERE id = ?1",
                params![id, state, code, message, response, ts(now)],
            )?;
            Ok(())
        })
    }
}

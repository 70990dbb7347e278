//! Lookups shared by the API areas. Every lookup is scoped by account: a row
//! of another account is "not found" (404), never "forbidden", so ids do not
//! leak across accounts.

use chrono_tz::Tz;
use licensedesk_core::package::Package;
use licensedesk_core::package::quota::OveragePolicy;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{ApiError, Result};

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
        crate::api::accounts::data_center_tz(&self.data_center)
    }
}

pub fn account(c: &Connection, id: i64) -> Result<AccountRow> {
    c.prepare_cached(
        "SELECT id, name, kind, data_center, verified_enterprise FROM accounts WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(AccountRow {
            id: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            data_center: r.get(3)?,
            verified_enterprise: r.get(4)?,
        })
    })
    .optional()?
    .ok_or(ApiError::NotFound("account"))
}

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

pub const PRODUCT_COLS: &str =
    "id, account_id, pk, name, package, overage_policy, ota_topups, message_topups";

pub fn product_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProductRow> {
    let package: Option<String> = r.get(4)?;
    let policy: String = r.get(5)?;
    Ok(ProductRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        pk: r.get(2)?,
        name: r.get(3)?,
        package: package.and_then(|p| serde_json::from_str(&p).ok()),
        policy: serde_json::from_value(serde_json::Value::String(policy)).unwrap_or_default(),
        ota_topups: r.get(6)?,
        message_topups: r.get(7)?,
    })
}

/// The product with key `pk` of account `account_id`, or 404.
pub fn product_by_pk(c: &Connection, account_id: i64, pk: &str) -> Result<ProductRow> {
    c.prepare_cached(&format!(
        "SELECT {PRODUCT_COLS} FROM products WHERE account_id = ?1 AND pk = ?2"
    ))?
    .query_row(params![account_id, pk], product_from_row)
    .optional()?
    .ok_or(ApiError::NotFound("product"))
}

/// Serialised form of a policy (`"block"` / `"bill"`).
pub fn policy_str(p: OveragePolicy) -> &'static str {
    match p {
        OveragePolicy::Block => "block",
        OveragePolicy::Bill => "bill",
    }
}

/// A new activation code string from 16 bytes of entropy (OS randomness in
/// production, a seeded generator for the demo).
pub fn code_from_entropy(entropy: [u8; 16]) -> String {
    licensedesk_core::activation_code::ActivationCode::from_entropy(entropy).canonical()
}

/// 16 bytes of OS randomness.
pub fn os_entropy() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| ApiError::Internal(format!("OS randomness: {e}")))?;
    Ok(b)
}

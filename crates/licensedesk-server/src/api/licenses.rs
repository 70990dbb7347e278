//! Resource Management → License Management: the account's data center
//! counters and every code's consumption details, keyset-paged.

use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use licensedesk_core::codes::{CodeStatus, StatusFilter, code_status};
use rusqlite::params_from_iter;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::extract::{Json, Query};
use crate::api::{common, pool};
use crate::auth::Caller;
use crate::db::{parse_ts_opt, ts};
use crate::error::{ApiError, Result};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsumptionQuery {
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size 1..=500 (default 100).
    pub limit: Option<u32>,
    /// Filter by product key.
    pub pk: Option<String>,
    /// `unused`, `active` or `expired`; or `used` / `consumed` (active and
    /// expired) or `remaining` / `available` (unused); any case.
    pub status: Option<String>,
    /// Only codes expiring within this many days from now.
    pub expiring_within_days: Option<u32>,
    /// Search a device key or a code (substring).
    pub q: Option<String>,
    /// `id` (default), `consumed_at` or `expires_at`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CodeDetail {
    pub code: String,
    pub batch_id: i64,
    pub batch_kind: String,
    pub pk: Option<String>,
    pub product_name: Option<String>,
    pub dk: Option<String>,
    pub consumed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `unused`, `active` or `expired`.
    #[schema(value_type = String)]
    pub status: CodeStatus,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsumptionPage {
    pub data_center: String,
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    pub items: Vec<CodeDetail>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    k: String,
    id: i64,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::invalid("QUERY_INVALID", msg)
}

/// License Management consumption details (the account's data center only).
#[utoipa::path(get, path = "/v1/licenses", tag = "licenses", params(ConsumptionQuery),
    responses((status = 200, body = ConsumptionPage), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn consumption(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ConsumptionQuery>,
) -> Result<Json<ConsumptionPage>> {
    let id = caller.account_id;
    let now = state.now();
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let sort_col = match q.sort.as_deref().unwrap_or("id") {
        "id" => "printf('%020d', c.id)",
        "consumed_at" => "COALESCE(c.consumed_at, '')",
        "expires_at" => "COALESCE(c.expires_at, '')",
        other => {
            return Err(bad(format!(
                "sort {other:?}: use id, consumed_at or expires_at"
            )));
        }
    };
    let desc = match q.order.as_deref().unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => return Err(bad(format!("order {other:?}: use asc or desc"))),
    };
    let status = q
        .status
        .as_deref()
        .map(|s| StatusFilter::parse(s).map_err(|e| bad(e.to_string())))
        .transpose()?;
    let cursor: Option<Cursor> = q
        .cursor
        .as_deref()
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| {
                    bad("cursor is not one this server returned; start again without it")
                })
        })
        .transpose()?;
    let page = state
        .db
        .read(move |c| {
            let a = common::account(c, id)?;
            let (counters, _) = pool::account_overview(c, id)?;
            let mut sql = format!(
                "SELECT {sort_col}, c.id, c.code, c.batch_id, b.kind, p.pk, p.name, d.dk, c.consumed_at, c.expires_at
                 FROM codes c JOIN batches b ON b.id = c.batch_id
                 LEFT JOIN products p ON p.id = c.product_id LEFT JOIN devices d ON d.id = c.device_id
                 WHERE c.account_id = ?1"
            );
            let mut args = vec![Value::Integer(id)];
            let arg = |v: Value, args: &mut Vec<Value>| {
                args.push(v);
                format!("?{}", args.len())
            };
            if let Some(pk) = &q.pk {
                let a = arg(Value::Text(pk.clone()), &mut args);
                sql.push_str(&format!(" AND p.pk = {a}"));
            }
            // Consumed codes always have an expiry; one without is active,
            // as core's `code_status` has it.
            match status {
                None => {}
                Some(StatusFilter::Is(CodeStatus::Unused)) => sql.push_str(" AND c.consumed_at IS NULL"),
                Some(StatusFilter::Is(CodeStatus::Active)) => {
                    let a = arg(Value::Text(ts(now)), &mut args);
                    sql.push_str(&format!(
                        " AND c.consumed_at IS NOT NULL AND (c.expires_at IS NULL OR c.expires_at > {a})"
                    ));
                }
                Some(StatusFilter::Is(CodeStatus::Expired)) => {
                    let a = arg(Value::Text(ts(now)), &mut args);
                    sql.push_str(&format!(" AND c.consumed_at IS NOT NULL AND c.expires_at <= {a}"));
                }
                Some(StatusFilter::Consumed) => sql.push_str(" AND c.consumed_at IS NOT NULL"),
            }
            if let Some(days) = q.expiring_within_days {
                let a = arg(Value::Text(ts(now)), &mut args);
                let b = arg(Value::Text(ts(now + Duration::days(i64::from(days.min(36_500))))), &mut args);
                sql.push_str(&format!(" AND c.expires_at > {a} AND c.expires_at <= {b}"));
            }
            if let Some(t) = q.q.as_deref().filter(|t| !t.is_empty()) {
                let a = arg(Value::Text(crate::api::expiry::like(t)), &mut args);
                sql.push_str(&format!(" AND (d.dk LIKE {a} ESCAPE '\\' OR c.code LIKE {a} ESCAPE '\\')"));
            }
            let (cmp, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
            if let Some(cur) = &cursor {
                let k = arg(Value::Text(cur.k.clone()), &mut args);
                let i = arg(Value::Integer(cur.id), &mut args);
                sql.push_str(&format!(" AND ({sort_col}, c.id) {cmp} ({k}, {i})"));
            }
            let l = arg(Value::Integer(i64::from(limit) + 1), &mut args);
            sql.push_str(&format!(" ORDER BY {sort_col} {dir}, c.id {dir} LIMIT {l}"));
            let mut st = c.prepare(&sql)?;
            let mut rows = st
                .query_map(params_from_iter(args), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        CodeRaw {
                            code: r.get(2)?,
                            batch_id: r.get(3)?,
                            batch_kind: r.get(4)?,
                            pk: r.get(5)?,
                            product_name: r.get(6)?,
                            dk: r.get(7)?,
                            consumed_at: r.get(8)?,
                            expires_at: r.get(9)?,
                        },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let more = rows.len() > limit as usize;
            rows.truncate(limit as usize);
            let next_cursor = if more {
                rows.last().map(|(k, id, _)| {
                    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&Cursor { k: k.clone(), id: *id }).unwrap_or_default())
                })
            } else {
                None
            };
            let items = rows
                .into_iter()
                .map(|(_, _, r)| {
                    let consumed_at = parse_ts_opt(r.consumed_at)?;
                    let expires_at = parse_ts_opt(r.expires_at)?;
                    Ok(CodeDetail {
                        code: r.code,
                        batch_id: r.batch_id,
                        batch_kind: r.batch_kind,
                        pk: r.pk,
                        product_name: r.product_name,
                        dk: r.dk,
                        status: code_status(consumed_at, expires_at, now),
                        consumed_at,
                        expires_at,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(ConsumptionPage {
                data_center: a.data_center,
                total: counters.total(),
                used: counters.used(),
                remaining: counters.remaining(),
                items,
                next_cursor,
            })
        })
        .await?;
    Ok(Json(page))
}

struct CodeRaw {
    code: String,
    batch_id: i64,
    batch_kind: String,
    pk: Option<String>,
    product_name: Option<String>,
    dk: Option<String>,
    consumed_at: Option<String>,
    expires_at: Option<String>,
}

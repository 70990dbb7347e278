//! The change feed: every mutation writes a row in `changes` in the same
//! transaction, so the feed is exactly the history of committed writes.
//! `GET /v1/changes?since=CURSOR&limit=N` pages through it per account.

use axum::extract::State;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::extract::{Json, Query};
use crate::auth::Caller;
use crate::db::{parse_ts, ts};
use crate::error::{ApiError, Result};

/// What happened to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Insert,
    Update,
    Delete,
    Purge,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Purge => "purge",
        }
    }
}

/// Appends a change; call inside the transaction that makes it. `data` is
/// stored as its JSON (a `json!` value, or a struct serialising to the same
/// object without building one: see `api::devices`).
pub fn record(
    tx: &Connection,
    account_id: i64,
    entity: &str,
    entity_id: impl ToString,
    op: Op,
    at: DateTime<Utc>,
    data: &(impl Serialize + ?Sized),
) -> Result<()> {
    tx.prepare_cached("INSERT INTO changes (account_id, entity, entity_id, op, at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(
        params![
            account_id,
            entity,
            entity_id.to_string(),
            op.as_str(),
            ts(at),
            serde_json::to_string(data)?
        ],
    )?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Cursor returned as `next` by the previous page; absent = from the start.
    pub since: Option<String>,
    /// Page size, 1..=1000 (default 500).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Change {
    pub seq: i64,
    pub entity: String,
    pub id: String,
    pub op: Op,
    pub at: DateTime<Utc>,
    /// The entity after the change (insert/update), or what was removed.
    /// Sent as stored: [`record`] wrote it with `serde_json`, so it is
    /// passed through without being parsed into a value and printed again.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Opaque cursor to pass as `since` next time (even when empty).
    pub next: String,
    pub has_more: bool,
    /// The server's time, signed (for the client's clock guard).
    #[schema(value_type = Object)]
    pub server_time: serde_json::Value,
}

/// Runs `sql`, which selects `seq, entity, entity_id, op, at, data` from
/// `changes`, and returns its rows as feed changes (the feed's and the
/// snapshot's query).
pub(crate) fn read_changes(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Change>> {
    let mut st = c.prepare_cached(sql)?;
    let mut rows = st.query(params)?;
    let mut changes = Vec::new();
    while let Some(r) = rows.next()? {
        let op: String = r.get(3)?;
        let at: String = r.get(4)?;
        changes.push(Change {
            seq: r.get(0)?,
            entity: r.get(1)?,
            id: r.get(2)?,
            op: serde_json::from_value(serde_json::Value::String(op))?,
            at: parse_ts(&at)?,
            data: RawValue::from_string(
                r.get::<_, Option<String>>(5)?
                    .unwrap_or_else(|| "null".to_owned()),
            )?,
        });
    }
    Ok(changes)
}

/// A sync cursor as sent: `{body}@{instance}`, the database's instance id
/// (migration 8) after the position, so that a cursor of another database
/// (the server's data replaced or restored, the URL now another server's)
/// is refused instead of read as a position in this one.
pub fn with_instance(body: &str, instance: &str) -> String {
    format!("{body}@{instance}")
}

/// The position part of a cursor of this database. A cursor without an
/// instance (written before migration 8) is taken as this database's.
pub fn own_position<'a>(cursor: &'a str, instance: &str) -> Result<&'a str> {
    match cursor.split_once('@') {
        None => Ok(cursor),
        Some((body, i)) if i == instance => Ok(body),
        Some(_) => Err(ApiError::invalid(
            "CURSOR_INVALID",
            format!(
                "cursor {cursor:?} comes from another database of this server (its data was replaced or restored); start again from the beginning"
            ),
        )),
    }
}

/// Refuses a position past the end of this database's change feed. Every
/// position this server hands out is a `seq` it had already written, and
/// the feed only grows, so a position past its end means the database was
/// put back to an older state of itself (a file restored from a backup,
/// same instance id): the client's mirror holds changes this database no
/// longer has, and reading on from there would skip the changes written
/// since under the same numbers. CURSOR_INVALID makes the client start over.
///
/// (Once the restored database has written past the cursor again, this no
/// longer shows; `licensedesk-server restore` gives a restored database a
/// new instance id, which does.)
pub(crate) fn check_not_ahead(c: &Connection, position: i64, cursor: &str) -> Result<()> {
    let end: i64 = c
        .prepare_cached("SELECT IFNULL(MAX(seq), 0) FROM changes")?
        .query_row([], |r| r.get(0))?;
    if position > end {
        return Err(ApiError::invalid(
            "CURSOR_INVALID",
            format!(
                "cursor {cursor:?} is past the end of this server's change feed (its data was restored from an older backup); start again from the beginning"
            ),
        ));
    }
    Ok(())
}

fn parse_cursor(s: Option<&str>, instance: &str) -> Result<i64> {
    match s {
        None | Some("") => Ok(0),
        Some(c) => own_position(c, instance)?
            .strip_prefix("c")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::invalid(
                    "CURSOR_INVALID",
                    format!(
                        "cursor {c:?} is not one this server returned; start again without `since`"
                    ),
                )
            }),
    }
}

/// Mirror an account incrementally.
#[utoipa::path(get, path = "/v1/changes", tag = "sync", params(ChangesQuery),
    responses((status = 200, body = ChangesPage), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn feed(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ChangesQuery>,
) -> Result<Json<ChangesPage>> {
    let since = parse_cursor(q.since.as_deref(), &state.instance)?;
    let limit = i64::from(q.limit.unwrap_or(500).clamp(1, 1000));
    let account = caller.account_id;
    let cursor = q.since.clone().unwrap_or_default();
    let mut changes = state
        .db
        .read(move |c| {
            // Before the page: the feed only grows, so an end read first is
            // never past a page read after it.
            check_not_ahead(c, since, &cursor)?;
            read_changes(
                c,
                "SELECT seq, entity, entity_id, op, at, data FROM changes
                 WHERE account_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                params![account, since, limit + 1],
            )
        })
        .await?;
    let has_more = changes.len() as i64 > limit;
    changes.truncate(limit as usize);
    let last = changes.last().map_or(since, |c| c.seq);
    Ok(Json(ChangesPage {
        changes,
        next: with_instance(&format!("c{last}"), &state.instance),
        has_more,
        server_time: crate::api::keys::signed_time(&state),
    }))
}

//! What a client syncs with: the change feed (`GET /v1/changes`, pages
//! after a cursor) and, for a fresh client, the snapshot (`GET
//! /v1/snapshot`: the account's current state in three keyset-paged
//! sections, pinned at a feed position the feed then continues from).
//!
//! Every cursor ends in `@` and the database's instance id (migration 8),
//! so that a cursor of another database (the server's data replaced or
//! restored, the URL now another server's) is refused with
//! `CURSOR_INVALID` instead of read as a position in this one.

use axum::extract::State;
use licensedesk_protocol::api::sync::{ChangesPage, SnapshotPage};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::api::extract::{Json, Query};
use crate::auth::Caller;
use crate::db::Engine;
use crate::error::{ApiError, Result};
use crate::store::changes::{Position, Section, SnapshotAt};

/// Default snapshot page size (rows of all sections together).
pub const DEFAULT_LIMIT: u32 = 2000;
/// Largest snapshot page size.
pub const MAX_LIMIT: u32 = 5000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Cursor returned as `next` by the previous page; absent = from the start.
    pub since: Option<String>,
    /// Page size, 1..=1000 (default 500).
    pub limit: Option<u32>,
}

/// A sync cursor as sent: `{body}@{instance}`.
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

/// A feed cursor: `c{position}` (see [`Position::text`]).
fn parse_cursor(s: Option<&str>, instance: &str, engine: Engine) -> Result<Position> {
    match s {
        None | Some("") => Ok(Position::default()),
        Some(c) => own_position(c, instance)?
            .strip_prefix("c")
            .and_then(|p| Position::parse(p, engine))
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
    let engine = state.store.kind();
    let since = parse_cursor(q.since.as_deref(), &state.instance, engine)?;
    let limit = i64::from(q.limit.unwrap_or(500).clamp(1, 1000));
    let mut rows = state
        .store
        .changes(caller.account_id, since, limit, q.since.unwrap_or_default())
        .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let last = rows.last().map_or(since, |(_, at)| *at);
    Ok(Json(ChangesPage {
        changes: rows.into_iter().map(|(c, _)| c).collect(),
        next: with_instance(&format!("c{}", last.text(engine)), &state.instance),
        has_more,
        server_time: crate::api::keys::signed_time(&state),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// Cursor returned as `next` by the previous page; absent = start a
    /// new snapshot (pinned at the account's current last change).
    pub cursor: Option<String>,
    /// Rows per page (all sections together), 1..=5000 (default 2000).
    pub limit: Option<u32>,
}

/// A snapshot cursor: `s{upto}.{section}.{last key read}`.
fn parse_snapshot_cursor(s: &str, engine: Engine) -> Result<SnapshotAt> {
    let invalid = || {
        ApiError::invalid(
            "CURSOR_INVALID",
            format!(
                "snapshot cursor {s:?} is not one this server returned; start again without `cursor`"
            ),
        )
    };
    let rest = s.strip_prefix('s').ok_or_else(invalid)?;
    let mut parts = rest.split('.');
    let (Some(upto), Some(section), Some(last), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let num = |p: &str| {
        p.parse::<i64>()
            .ok()
            .filter(|n| *n >= 0 && !p.starts_with('+'))
            .ok_or_else(invalid)
    };
    let section = match section {
        "changes" => Section::Changes,
        "codes" => Section::Codes,
        "devices" => Section::Devices,
        _ => return Err(invalid()),
    };
    Ok(SnapshotAt {
        upto: Position::parse(upto, engine).ok_or_else(invalid)?,
        section,
        last: num(last)?,
    })
}

fn format_snapshot_cursor(at: SnapshotAt, engine: Engine) -> String {
    format!(
        "s{}.{}.{}",
        at.upto.text(engine),
        at.section.name(),
        at.last
    )
}

/// The account's current state in pages: its non-bulk changes, codes and
/// devices. Start without `cursor`; continue with `next` while `has_more`;
/// then follow the change feed from `upto`. Pages are read at different
/// times, so a row may already show changes made after `upto`; the feed
/// replays every one of those on top, and a client's apply of each change
/// is absolute and idempotent, so its cache converges to the server's.
#[utoipa::path(get, path = "/v1/snapshot", tag = "sync", params(SnapshotQuery),
    responses((status = 200, body = SnapshotPage), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SnapshotQuery>,
) -> Result<Json<SnapshotPage>> {
    let engine = state.store.kind();
    let start = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(parse_snapshot_cursor(
            own_position(c, &state.instance)?,
            engine,
        )?),
    };
    let limit = i64::from(q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT));
    let page = state
        .store
        .snapshot(
            caller.account_id,
            start,
            limit,
            q.cursor.unwrap_or_default(),
        )
        .await?;
    Ok(Json(SnapshotPage {
        changes: page.rows.changes,
        codes: page.rows.codes,
        devices: page.rows.devices,
        next: with_instance(&format_snapshot_cursor(page.next, engine), &state.instance),
        has_more: page.has_more,
        upto: with_instance(
            &format!("c{}", page.next.upto.text(engine)),
            &state.instance,
        ),
        total: page.total,
        server_time: crate::api::keys::signed_time(&state),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        for c in ["s0.changes.0", "s812.codes.1000", "s9.devices.77"] {
            assert_eq!(
                format_snapshot_cursor(
                    parse_snapshot_cursor(c, Engine::Sqlite).expect(c),
                    Engine::Sqlite
                ),
                c
            );
        }
        for bad in [
            "",
            "c12",
            "s",
            "s1",
            "s1.codes",
            "s1.codes.",
            "s1.code.2",
            "s-1.codes.2",
            "s1.codes.-2",
            "s1.codes.2.3",
            "s1.codes.+2",
            "sx.codes.2",
            "s1.codes.99999999999999999999",
        ] {
            let e = parse_snapshot_cursor(bad, Engine::Sqlite).expect_err(bad);
            assert!(
                matches!(
                    e,
                    ApiError::Invalid {
                        code: "CURSOR_INVALID",
                        ..
                    }
                ),
                "{bad}: {e:?}"
            );
        }
    }
}

//! License installs reported by desktop clients: the desktop app installs a
//! verified license file (or an activation's license) for a gateway and
//! reports it through its outbox. Each report is one row and one change-feed
//! entry, written in the same transaction; exactly-once delivery of a
//! replayed report relies on the `Idempotency-Key` middleware.

use std::borrow::Cow;

use axum::extract::State;
use chrono::{DateTime, Utc};
use licensedesk_core::bounds;
use licensedesk_core::fingerprint::normalize_fingerprint;
use licensedesk_core::gateway::{InstallSource, LicenseKind};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::AppState;
use crate::api::extract::Json;
use crate::auth::Caller;
use crate::changes::{self, Op};
use crate::db::{parse_ts, ts};
use crate::error::{ApiError, Result};

/// The OpenAPI schema of core's [`InstallSource`] (core knows no utoipa): a
/// string, one of [`InstallSource::ALL`], as the component `InstallSource`.
struct InstallSourceSchema;

impl utoipa::PartialSchema for InstallSourceSchema {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Where the installed license came from."))
            .enum_values(Some(InstallSource::ALL.map(InstallSource::as_str)))
            .into()
    }
}

impl ToSchema for InstallSourceSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("InstallSource")
    }
}

/// The OpenAPI schema of the report's `kind`, core's [`LicenseKind`]: a
/// string, one of [`LicenseKind::ALL`]'s names, which its description
/// lists too (inline, not a component, as it always was).
fn license_kind_schema() -> Schema {
    let names = LicenseKind::ALL.map(|k| format!("`{k}`"));
    let (last, rest) = names.split_last().expect("LicenseKind::ALL is not empty");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!("{} or {last}.", rest.join(", "))))
        .enum_values(Some(LicenseKind::ALL.map(LicenseKind::as_str)))
        .into()
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct InstallReport {
    pub license_id: String,
    /// Hardware fingerprint of the gateway the license was installed for.
    pub fingerprint: String,
    pub installed_at: DateTime<Utc>,
    #[schema(schema_with = license_kind_schema)]
    pub kind: LicenseKind,
    #[schema(value_type = InstallSourceSchema)]
    pub source: InstallSource,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstallRecorded {
    pub id: i64,
    pub recorded: bool,
}

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

/// Record a license install reported by a desktop client. Send it with an
/// `Idempotency-Key`: a replay answers the same and records nothing more.
#[utoipa::path(post, path = "/v1/gateway/installs", tag = "gateways", request_body = InstallReport,
    responses((status = 200, body = InstallRecorded), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Json(r): Json<InstallReport>,
) -> Result<Json<InstallRecorded>> {
    let license_id = bounds::LICENSE_ID
        .check(&r.license_id)
        .map_err(ApiError::core)?
        .to_owned();
    bounds::instant("installed_at", r.installed_at).map_err(ApiError::core)?;
    let fp = normalize_fingerprint(&r.fingerprint).map_err(ApiError::core)?;
    let account = caller.account_id;
    let now = state.now();
    let (kind, source) = (r.kind.as_str(), r.source.as_str());
    let installed_at = r.installed_at;
    let id = state
        .db
        .write(move |tx| {
            let id: i64 = tx.query_row(
                "INSERT INTO gateway_installs (account_id, license_id, fingerprint, kind, source, installed_at, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                params![account, license_id, fp, kind, source, ts(installed_at), ts(now)],
                |row| row.get(0),
            )?;
            changes::record(
                tx,
                account,
                "gateway_install",
                id,
                Op::Insert,
                now,
                &json!({"id": id, "license_id": license_id, "fingerprint": fp, "kind": kind,
                        "source": source, "installed_at": installed_at}),
            )?;
            Ok(id)
        })
        .await?;
    Ok(Json(InstallRecorded { id, recorded: true }))
}

/// The caller's recorded license installs, oldest first.
#[utoipa::path(get, path = "/v1/gateway/installs", tag = "gateways",
    responses((status = 200, body = Vec<InstallView>), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<InstallView>>> {
    let account = caller.account_id;
    let rows = state
        .db
        .read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, license_id, fingerprint, kind, source, installed_at, recorded_at
                 FROM gateway_installs WHERE account_id = ?1 ORDER BY id",
            )?;
            let rows = st
                .query_map([account], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(
                    |(id, license_id, fingerprint, kind, source, installed, recorded)| {
                        Ok(InstallView {
                            id,
                            license_id,
                            fingerprint,
                            kind,
                            source,
                            installed_at: parse_ts(&installed)?,
                            recorded_at: parse_ts(&recorded)?,
                        })
                    },
                )
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    Ok(Json(rows))
}

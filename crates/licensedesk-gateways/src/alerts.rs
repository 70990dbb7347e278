//! The gateway registry's alerts (issue 16): core's rules over each
//! gateway's license as last known. A license expiring within the window
//! (or expired: the gateway fell back to the trial), a floating license
//! whose lease lapses within minutes, and a gateway using more than its
//! license allows. Their scope is core's `GATEWAYS_SCOPE`.

use chrono::{DateTime, Utc};
use licensedesk_core::alert::{
    self, AlertKey, AlertKind, GATEWAYS_SCOPE, Level, Observed, Thresholds,
};
use licensedesk_core::gateway::LicenseKind;
use serde_json::{Map, Value, json};

use crate::Registry;
use crate::dto::{GatewayLicenseView, TrialFallback};

fn observed(kind: AlertKind, gateway: &str, level: Level, params: Value) -> Observed {
    Observed {
        key: AlertKey {
            scope: GATEWAYS_SCOPE.to_owned(),
            kind,
            subject: gateway.to_owned(),
        },
        level,
        params: match params {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

/// The conditions of one gateway's license view at `now`.
pub fn observe_gateway(
    v: &GatewayLicenseView,
    t: &Thresholds,
    now: DateTime<Utc>,
) -> Vec<Observed> {
    let g = &v.gateway;
    let mut out = Vec::new();
    let over = v.connections.over_limit || v.tags.over_limit;
    out.push(observed(
        AlertKind::GatewayOverLimit,
        &g.id,
        alert::gateway_over_limit(over),
        json!({
            "gateway": g.name,
            "fingerprint": g.fingerprint,
            "connections_in_use": v.connections.in_use,
            "connections_max": v.connections.max,
            "tags_in_use": v.tags.in_use,
            "tags_max": v.tags.max,
        }),
    ));
    // The installed license's end, when it is what the gateway runs under
    // or lapsed into the trial; not one bound elsewhere or not yet valid.
    let installed = v
        .installed
        .as_ref()
        .filter(|_| matches!(v.trial, None | Some(TrialFallback::Expired { .. })));
    let (expiring, lapsing) = match installed {
        Some(l) if l.kind == LicenseKind::Floating => {
            (Level::Off, alert::lease_lapsing(l.expire_at, now, t))
        }
        Some(l) => (alert::gateway_expiring(l.expire_at, now, t), Level::Off),
        None => (Level::Off, Level::Off),
    };
    let end = installed.map(|l| l.expire_at.to_rfc3339());
    let days = installed.map(|l| (l.expire_at - now).num_days());
    let minutes = installed.map(|l| (l.expire_at - now).num_minutes());
    out.push(observed(
        AlertKind::GatewayExpiring,
        &g.id,
        expiring,
        json!({
            "gateway": g.name,
            "fingerprint": g.fingerprint,
            "expire_at": end,
            "days": days,
            "expired": v.expired,
        }),
    ));
    out.push(observed(
        AlertKind::LeaseLapsing,
        &g.id,
        lapsing,
        json!({
            "gateway": g.name,
            "fingerprint": g.fingerprint,
            "lapses_at": end,
            "minutes": minutes,
        }),
    ));
    out
}

/// The conditions of every gateway of the registry at `now`.
pub fn observe(reg: &Registry, t: &Thresholds, now: DateTime<Utc>) -> Vec<Observed> {
    reg.list(now)
        .iter()
        .filter_map(|g| reg.view(&g.id, now).ok())
        .flat_map(|v| observe_gateway(&v, t, now))
        .collect()
}

//! Gateway licenses of edge software (domain.md §2): the trial, what a
//! gateway runs under at a given instant, and usage against limits.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::MAX_FUTURE_SKEW_MINUTES;
use crate::error::Coded;
use crate::fingerprint::same_hardware;
use crate::license::LicensePayload;

/// How a gateway license came to be: the one list of those names (a
/// license's payload carries it, the gateway views show it, the desktop
/// client reports it, the server stores it). Serialised in lower case
/// (`"trial"`, `"file"`, `"activation"`, `"floating"`), the strings
/// [`LicenseKind::as_str`] gives and [`LicenseKind::parse`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseKind {
    Trial,
    File,
    Activation,
    Floating,
}

impl LicenseKind {
    /// Every kind, in the order the messages list them.
    pub const ALL: [Self; 4] = [Self::Trial, Self::File, Self::Activation, Self::Floating];

    /// The kind's name on the wire, in license payloads and in the server's
    /// install records.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trial => "trial",
            Self::File => "file",
            Self::Activation => "activation",
            Self::Floating => "floating",
        }
    }

    /// The kind named `s`, exactly as [`LicenseKind::as_str`] writes it
    /// (case-sensitive, no surrounding spaces).
    pub fn parse(s: &str) -> Result<Self, LicenseKindUnknown> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| LicenseKindUnknown {
                found: s.chars().take(64).collect(),
            })
    }
}

impl std::fmt::Display for LicenseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LicenseKind {
    type Err = LicenseKindUnknown;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A name that is not a [`LicenseKind`] (`found`: its first 64
/// characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("unknown license kind {found:?}: use one of {}", known_license_kinds())]
pub struct LicenseKindUnknown {
    pub found: String,
}

impl Coded for LicenseKindUnknown {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        "LICENSE_KIND_UNKNOWN"
    }
}

fn known_license_kinds() -> String {
    LicenseKind::ALL.map(LicenseKind::as_str).join(", ")
}

/// Where an installed gateway license came from (domain.md §2: "the
/// install is recorded for sync with the server", with its source): the
/// registry's install hook is told it, the desktop client queues it, the
/// server stores it. Serialised in lower case (`"file"`, `"activation"`,
/// `"offline"`, `"field"`), the strings [`InstallSource::as_str`] gives and
/// [`InstallSource::parse`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstallSource {
    /// A license file (dialog or drop).
    File,
    /// Issued online for an activation code (at once, or replayed later).
    Activation,
    /// Carried by an offline activation response.
    Offline,
    /// Issued by a field kit (offline field activation).
    Field,
}

impl InstallSource {
    /// Every source, in the order the messages list them.
    pub const ALL: [Self; 4] = [Self::File, Self::Activation, Self::Offline, Self::Field];

    /// The source's name on the wire and in the server's install records.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Activation => "activation",
            Self::Offline => "offline",
            Self::Field => "field",
        }
    }

    /// The source named `s`, exactly as [`InstallSource::as_str`] writes it
    /// (case-sensitive, no surrounding spaces).
    pub fn parse(s: &str) -> Result<Self, InstallSourceUnknown> {
        Self::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| InstallSourceUnknown {
                found: s.chars().take(64).collect(),
            })
    }
}

impl std::fmt::Display for InstallSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for InstallSource {
    type Err = InstallSourceUnknown;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A name that is not an [`InstallSource`] (`found`: its first 64
/// characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error(
    "unknown install source {found:?}: use one of {}",
    known_install_sources()
)]
pub struct InstallSourceUnknown {
    pub found: String,
}

impl Coded for InstallSourceUnknown {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        "INSTALL_SOURCE_UNKNOWN"
    }
}

fn known_install_sources() -> String {
    InstallSource::ALL.map(InstallSource::as_str).join(", ")
}

/// Limits of a gateway license: connections and data tags (points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    pub max_connections: u32,
    pub max_tags: u32,
}

/// The built-in trial a gateway runs under with no valid license: 30 points,
/// i.e. 30 connections and 30 data tags (domain.md §2, "Trial").
pub const TRIAL_LIMITS: Limits = Limits {
    max_connections: 30,
    max_tags: 30,
};

/// The two limited resources of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Connections,
    Tags,
}

impl Resource {
    /// Human name used in messages.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Connections => "connections",
            Self::Tags => "data tags",
        }
    }

    /// This resource's limit.
    pub const fn of(self, limits: &Limits) -> u32 {
        match self {
            Self::Connections => limits.max_connections,
            Self::Tags => limits.max_tags,
        }
    }
}

/// Errors of gateway-license rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum GatewayError {
    /// A new limit would be below what the gateway already uses.
    #[error("cannot set max {} to {limit}: {in_use} are in use; remove some first, or keep the limit at {in_use} or more", .resource.label())]
    LimitBelowUsage {
        resource: Resource,
        limit: u32,
        in_use: u32,
    },
    /// Adding more would exceed the effective license's limit.
    #[error("cannot add {requested} {}: {in_use} of {max} are in use; install a license with a higher limit or remove some first", .resource.label())]
    LimitReached {
        resource: Resource,
        requested: u32,
        in_use: u32,
        max: u32,
    },
}

impl Coded for GatewayError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::LimitBelowUsage { .. } => "LIMIT_BELOW_USAGE",
            Self::LimitReached { .. } => "LIMIT_REACHED",
        }
    }
}

/// The fields of an installed license that decide what the gateway runs
/// under (domain.md §2). Signature and format are checked by
/// [`crate::license`] before a license is installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseTerms {
    pub kind: LicenseKind,
    pub issued_at: DateTime<Utc>,
    pub expire_at: DateTime<Utc>,
    pub limits: Limits,
    pub plugins: Vec<String>,
    /// Hardware fingerprint the license is bound to; `None` when it is not
    /// node-locked.
    pub hardware: Option<String>,
}

impl From<&LicensePayload> for LicenseTerms {
    /// The terms of a verified license file's payload.
    fn from(p: &LicensePayload) -> Self {
        Self {
            kind: p.kind,
            issued_at: p.issued_at,
            expire_at: p.expire_at,
            limits: Limits {
                max_connections: p.max_connections,
                max_tags: p.max_tags,
            },
            plugins: p.plugins.clone(),
            hardware: p.hardware.clone(),
        }
    }
}

/// Why a gateway runs under the trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum TrialReason {
    /// No license is installed.
    NoneInstalled,
    /// The installed license expired at `at`; it is shown as expired.
    Expired { at: DateTime<Utc> },
    /// The installed license is issued later than now (beyond the allowed
    /// clock skew): valid from `from`.
    NotYetValid { from: DateTime<Utc> },
    /// The installed license is bound to other hardware.
    HardwareMismatch { bound: String, actual: String },
}

/// What a gateway runs under at a given instant. Serialised with a `mode`
/// tag (`"licensed"` / `"trial"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum EffectiveLicense {
    /// The installed license applies.
    Licensed { terms: LicenseTerms },
    /// The built-in trial applies ([`TRIAL_LIMITS`], no plugins).
    Trial { reason: TrialReason, limits: Limits },
}

impl EffectiveLicense {
    fn trial(reason: TrialReason) -> Self {
        Self::Trial {
            reason,
            limits: TRIAL_LIMITS,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        match self {
            Self::Licensed { terms } => terms.limits,
            Self::Trial { limits, .. } => *limits,
        }
    }

    /// The kind in force (`trial` when falling back).
    pub fn kind(&self) -> LicenseKind {
        match self {
            Self::Licensed { terms } => terms.kind,
            Self::Trial { .. } => LicenseKind::Trial,
        }
    }

    /// Plugins enabled (none under the trial).
    pub fn plugins(&self) -> &[String] {
        match self {
            Self::Licensed { terms } => &terms.plugins,
            Self::Trial { .. } => &[],
        }
    }

    /// Whether `plugin` is enabled.
    pub fn has_plugin(&self, plugin: &str) -> bool {
        self.plugins().iter().any(|p| p == plugin)
    }
}

/// What a gateway whose hardware fingerprint is `gateway_hardware` runs
/// under at `now` (domain.md §2): the installed license if it is bound to
/// this hardware (or unbound), issued no later than `now` plus the allowed
/// clock skew, and not expired (`now < expire_at`); otherwise the trial,
/// with the reason. The checks are the same as at install time.
pub fn effective_license(
    installed: Option<&LicenseTerms>,
    gateway_hardware: &str,
    now: DateTime<Utc>,
) -> EffectiveLicense {
    let Some(terms) = installed else {
        return EffectiveLicense::trial(TrialReason::NoneInstalled);
    };
    if let Some(bound) = &terms.hardware
        && !same_hardware(bound, gateway_hardware)
    {
        return EffectiveLicense::trial(TrialReason::HardwareMismatch {
            bound: bound.clone(),
            actual: gateway_hardware.chars().take(64).collect(),
        });
    }
    let latest_issue = now
        .checked_add_signed(TimeDelta::minutes(MAX_FUTURE_SKEW_MINUTES))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if terms.issued_at > latest_issue {
        return EffectiveLicense::trial(TrialReason::NotYetValid {
            from: terms.issued_at,
        });
    }
    if now >= terms.expire_at {
        return EffectiveLicense::trial(TrialReason::Expired {
            at: terms.expire_at,
        });
    }
    EffectiveLicense::Licensed {
        terms: terms.clone(),
    }
}

/// What is in use on a gateway.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InUse {
    pub connections: u32,
    pub tags: u32,
}

impl InUse {
    /// The amount in use of `resource`.
    pub const fn of(self, resource: Resource) -> u32 {
        match resource {
            Resource::Connections => self.connections,
            Resource::Tags => self.tags,
        }
    }
}

/// Usage of one resource against its limit, as the "View license" page
/// shows it (domain.md §2: max vs in use). Serialised with the derived
/// `percent` and `over_limit` so that the UI computes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "UsageWire", from = "UsageIn")]
pub struct Usage {
    in_use: u32,
    max: u32,
}

#[derive(Serialize)]
struct UsageWire {
    in_use: u32,
    max: u32,
    percent: Option<u32>,
    over_limit: bool,
}

#[derive(Deserialize)]
struct UsageIn {
    in_use: u32,
    max: u32,
}

impl From<Usage> for UsageWire {
    fn from(u: Usage) -> Self {
        Self {
            in_use: u.in_use,
            max: u.max,
            percent: u.percent(),
            over_limit: u.over_limit(),
        }
    }
}

impl From<UsageIn> for Usage {
    fn from(u: UsageIn) -> Self {
        Self::new(u.in_use, u.max)
    }
}

impl Usage {
    pub const fn new(in_use: u32, max: u32) -> Self {
        Self { in_use, max }
    }

    pub const fn in_use(&self) -> u32 {
        self.in_use
    }

    pub const fn max(&self) -> u32 {
        self.max
    }

    /// `in_use / max` in whole percent, rounded down (above 100 when over
    /// the limit); `None` when `max` is 0.
    pub fn percent(&self) -> Option<u32> {
        let pct = u64::from(self.in_use) * 100 / u64::from(self.max).max(1);
        (self.max > 0).then(|| u32::try_from(pct).unwrap_or(u32::MAX))
    }

    /// More in use than allowed (e.g. after falling back to the trial).
    pub const fn over_limit(&self) -> bool {
        self.in_use > self.max
    }

    /// How many more fit under the limit.
    pub const fn available(&self) -> u32 {
        self.max.saturating_sub(self.in_use)
    }
}

/// Connections and tags usage of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LicenseUsage {
    pub connections: Usage,
    pub tags: Usage,
}

/// Usage of `in_use` against `limits` (usually [`EffectiveLicense::limits`]).
pub const fn license_usage(limits: &Limits, in_use: &InUse) -> LicenseUsage {
    LicenseUsage {
        connections: Usage::new(in_use.connections, limits.max_connections),
        tags: Usage::new(in_use.tags, limits.max_tags),
    }
}

/// Refuses new limits below what is in use (e.g. lowering the points of a
/// floating license): [`GatewayError::LimitBelowUsage`] naming the resource,
/// the new limit and the amount in use. Connections are checked first.
pub fn check_new_limits(new: &Limits, in_use: &InUse) -> Result<(), GatewayError> {
    for resource in [Resource::Connections, Resource::Tags] {
        let (limit, used) = (resource.of(new), in_use.of(resource));
        if limit < used {
            return Err(GatewayError::LimitBelowUsage {
                resource,
                limit,
                in_use: used,
            });
        }
    }
    Ok(())
}

/// Refuses adding `requested` more of `resource` beyond `limits`
/// (domain.md §2: beyond the trial's 30 points a real license is needed).
pub fn check_add(
    limits: &Limits,
    in_use: &InUse,
    resource: Resource,
    requested: u32,
) -> Result<(), GatewayError> {
    let (max, used) = (resource.of(limits), in_use.of(resource));
    match used.checked_add(requested) {
        Some(after) if after <= max => Ok(()),
        _ => Err(GatewayError::LimitReached {
            resource,
            requested,
            in_use: used,
            max,
        }),
    }
}

mod allotment;
mod order;
pub mod usage;
pub use allotment::{
    AllotmentError, AllotmentPart, AllotmentPlan, AllotmentSource, MAX_PRODUCT_LEN, OrderSupply,
    ProductInvalid, check_product, plan_allotment,
};
pub use order::{ActivationRefused, Held, OrderActivation, decide_order_activation};

#[cfg(test)]
mod tests;

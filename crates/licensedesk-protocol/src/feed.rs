//! The change feed: every mutation of an account's data is one [`Record`]
//! (an entity, an operation and the entity's payload); the server stores
//! it as a row of its feed and sends it as a [`Change`]; a client reads a
//! `Change` back into the `Record` ([`Change::record`]) and applies it.
//!
//! Payloads are partial where the server's write is: an update carries
//! what it changed (a product's update its package, or its balances), and
//! a field it never sent is left out, not sent as `null`. A field whose
//! payload may hold `null` or leave it out (a product's `package`) is an
//! `Option<Option<_>>`: absent, `null`, or a value.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

mod payload;
pub use payload::*;

/// The kind of entity a change is about. A name this version does not
/// know reads as `Other` (a client skips it); the server never writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Account,
    Product,
    Batch,
    Code,
    Device,
    /// A device's usage now (its id is the device's).
    Usage,
    /// A product's closed month (written once).
    Statement,
    /// A product's device logs, purged past their retention (id: the PK).
    DeviceLogs,
    FloatingPool,
    /// A gateway's lease of a floating pool (id: `pool/fingerprint`).
    FloatingLease,
    GatewayOrder,
    /// A gateway license issued for an order (id: the license id).
    GatewayActivation,
    GatewayInstall,
    FieldAllotment,
    #[serde(other, skip_serializing)]
    Other,
}

impl Entity {
    /// The name the feed stores and sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Product => "product",
            Self::Batch => "batch",
            Self::Code => "code",
            Self::Device => "device",
            Self::Usage => "usage",
            Self::Statement => "statement",
            Self::DeviceLogs => "device_logs",
            Self::FloatingPool => "floating_pool",
            Self::FloatingLease => "floating_lease",
            Self::GatewayOrder => "gateway_order",
            Self::GatewayActivation => "gateway_activation",
            Self::GatewayInstall => "gateway_install",
            Self::FieldAllotment => "field_allotment",
            Self::Other => "other",
        }
    }
}

/// What happened to an entity.
// An operation this version does not know reads as `Other`; the server
// never writes it (nor does the OpenAPI document name it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Insert,
    Update,
    Delete,
    Purge,
    #[serde(other, skip_serializing)]
    Other,
}

impl Op {
    /// The name the feed stores and sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Purge => "purge",
            Self::Other => "other",
        }
    }
}

/// One change of the feed, as sent.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Change {
    // A client reads the feed by cursor and does not need `seq` or `at`:
    // absent, they read as 0 and "" (and `at` is not checked).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(required = true))]
    pub seq: i64,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub entity: Entity,
    pub id: String,
    pub op: Op,
    // When it was written (RFC 3339, as [`crate::instant`] writes it).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = DateTime<Utc>, required = true))]
    pub at: String,
    /// The entity after the change (insert/update), or what was removed.
    /// Sent as stored: the server wrote it with `serde_json`, so it is
    /// passed through without being parsed into a value and printed again.
    // `None` is `null` (or absent).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object, required = true))]
    pub data: Option<Box<RawValue>>,
}

impl Change {
    /// `data`'s text (`null` when there is none).
    pub fn data_str(&self) -> &str {
        self.data.as_deref().map_or("null", RawValue::get)
    }

    /// The record this change carries, borrowing from it; `None` for an
    /// entity or operation this version does not apply (`Other`, or a
    /// combination the server does not write, such as a code's delete).
    pub fn record(&self) -> Result<Option<Record<'_>>, Malformed> {
        Record::parse(self.entity, self.op, &self.id, self.data_str())
    }
}

/// A change whose data does not have its record's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Malformed {}

/// One change of an account's data, as the server records it: the entity
/// and the operation are the variant's, the payload its data.
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    AccountCreated(AccountChange),
    AccountUpdated(AccountChange),
    ProductCreated(ProductChange),
    ProductUpdated(ProductChange),
    BatchCreated(BatchChange),
    CodeCreated(CodeInsert<'a>),
    CodeUpdated(CodeUpdate<'a>),
    DeviceCreated(DeviceChange<'a>),
    DeviceUpdated(DeviceChange<'a>),
    UsageUpdated {
        device_id: i64,
        usage: UsageChange,
    },
    StatementClosed(Statement),
    DeviceLogsPurged(LogsPurged),
    FloatingPoolCreated(FloatingPool),
    LeaseUpdated(LeaseChange),
    LeaseEnded(LeaseEnd),
    GatewayOrderCreated(GatewayOrder),
    /// A license issued for an order (online or by a field kit).
    GatewayActivated(Activation),
    /// A license re-issued to hardware that held one of the same order.
    GatewayReissued(Activation),
    GatewayInstalled(GatewayInstall),
    /// A field allotment checked out: the audit entry's detail.
    AllotmentCreated {
        id: String,
        detail: Value,
    },
    /// A field allotment returned, expired or reconciled: the audit
    /// entry's detail.
    AllotmentUpdated {
        id: String,
        detail: Value,
    },
}

impl Record<'_> {
    pub fn entity(&self) -> Entity {
        match self {
            Self::AccountCreated(_) | Self::AccountUpdated(_) => Entity::Account,
            Self::ProductCreated(_) | Self::ProductUpdated(_) => Entity::Product,
            Self::BatchCreated(_) => Entity::Batch,
            Self::CodeCreated(_) | Self::CodeUpdated(_) => Entity::Code,
            Self::DeviceCreated(_) | Self::DeviceUpdated(_) => Entity::Device,
            Self::UsageUpdated { .. } => Entity::Usage,
            Self::StatementClosed(_) => Entity::Statement,
            Self::DeviceLogsPurged(_) => Entity::DeviceLogs,
            Self::FloatingPoolCreated(_) => Entity::FloatingPool,
            Self::LeaseUpdated(_) | Self::LeaseEnded(_) => Entity::FloatingLease,
            Self::GatewayOrderCreated(_) => Entity::GatewayOrder,
            Self::GatewayActivated(_) | Self::GatewayReissued(_) => Entity::GatewayActivation,
            Self::GatewayInstalled(_) => Entity::GatewayInstall,
            Self::AllotmentCreated { .. } | Self::AllotmentUpdated { .. } => Entity::FieldAllotment,
        }
    }

    pub fn op(&self) -> Op {
        match self {
            Self::AccountCreated(_)
            | Self::ProductCreated(_)
            | Self::BatchCreated(_)
            | Self::CodeCreated(_)
            | Self::DeviceCreated(_)
            | Self::StatementClosed(_)
            | Self::FloatingPoolCreated(_)
            | Self::GatewayOrderCreated(_)
            | Self::GatewayActivated(_)
            | Self::GatewayInstalled(_)
            | Self::AllotmentCreated { .. } => Op::Insert,
            Self::AccountUpdated(_)
            | Self::ProductUpdated(_)
            | Self::CodeUpdated(_)
            | Self::DeviceUpdated(_)
            | Self::UsageUpdated { .. }
            | Self::LeaseUpdated(_)
            | Self::GatewayReissued(_)
            | Self::AllotmentUpdated { .. } => Op::Update,
            Self::LeaseEnded(_) => Op::Delete,
            Self::DeviceLogsPurged(_) => Op::Purge,
        }
    }

    /// The entity's id in the feed.
    pub fn id(&self) -> String {
        match self {
            Self::AccountCreated(a) | Self::AccountUpdated(a) => a.id.to_string(),
            Self::ProductCreated(p) | Self::ProductUpdated(p) => p.pk.clone(),
            Self::BatchCreated(b) => b.id.to_string(),
            Self::CodeCreated(c) => c.id.to_string(),
            Self::CodeUpdated(c) => c.id.to_string(),
            Self::DeviceCreated(d) | Self::DeviceUpdated(d) => d.id.to_string(),
            Self::UsageUpdated { device_id, .. } => device_id.to_string(),
            Self::StatementClosed(s) => s.id.to_string(),
            Self::DeviceLogsPurged(l) => l.pk.clone(),
            Self::FloatingPoolCreated(p) => p.name.clone(),
            Self::LeaseUpdated(l) => format!("{}/{}", l.pool, l.fingerprint),
            Self::LeaseEnded(l) => format!("{}/{}", l.pool, l.fingerprint),
            Self::GatewayOrderCreated(o) => o.order_no.clone(),
            Self::GatewayActivated(a) | Self::GatewayReissued(a) => a.license_id.clone(),
            Self::GatewayInstalled(i) => i.id.to_string(),
            Self::AllotmentCreated { id, .. } | Self::AllotmentUpdated { id, .. } => id.clone(),
        }
    }

    /// The payload as the feed stores it.
    pub fn data(&self) -> serde_json::Result<String> {
        match self {
            Self::AccountCreated(x) | Self::AccountUpdated(x) => serde_json::to_string(x),
            Self::ProductCreated(x) | Self::ProductUpdated(x) => serde_json::to_string(x),
            Self::BatchCreated(x) => serde_json::to_string(x),
            Self::CodeCreated(x) => serde_json::to_string(x),
            Self::CodeUpdated(x) => serde_json::to_string(x),
            Self::DeviceCreated(x) | Self::DeviceUpdated(x) => serde_json::to_string(x),
            Self::UsageUpdated { usage, .. } => serde_json::to_string(usage),
            Self::StatementClosed(x) => serde_json::to_string(x),
            Self::DeviceLogsPurged(x) => serde_json::to_string(x),
            Self::FloatingPoolCreated(x) => serde_json::to_string(x),
            Self::LeaseUpdated(x) => serde_json::to_string(x),
            Self::LeaseEnded(x) => serde_json::to_string(x),
            Self::GatewayOrderCreated(x) => serde_json::to_string(x),
            Self::GatewayActivated(x) | Self::GatewayReissued(x) => serde_json::to_string(x),
            Self::GatewayInstalled(x) => serde_json::to_string(x),
            Self::AllotmentCreated { detail, .. } | Self::AllotmentUpdated { detail, .. } => {
                serde_json::to_string(detail)
            }
        }
    }
}

impl<'a> Record<'a> {
    /// The record of a feed row (`data` its JSON), borrowing its strings;
    /// `None` for an entity or operation the server does not write
    /// together ([`Change::record`]).
    pub fn parse(
        entity: Entity,
        op: Op,
        id: &str,
        data: &'a str,
    ) -> Result<Option<Self>, Malformed> {
        fn de<'a, T: Deserialize<'a>>(data: &'a str) -> Result<T, serde_json::Error> {
            serde_json::from_str(data)
        }
        let bad = |e: &dyn std::fmt::Display| {
            Malformed(format!(
                "bad {} {} change {id:?}: {e}: {data}",
                entity.as_str(),
                op.as_str()
            ))
        };
        let id_num = || id.parse::<i64>().map_err(|e| bad(&e));
        let r = (|| -> Result<Option<Self>, serde_json::Error> {
            use {Entity as E, Op as O};
            Ok(Some(match (entity, op) {
                (E::Account, O::Insert) => Self::AccountCreated(de(data)?),
                (E::Account, O::Update) => Self::AccountUpdated(de(data)?),
                (E::Product, O::Insert) => Self::ProductCreated(de(data)?),
                (E::Product, O::Update) => Self::ProductUpdated(de(data)?),
                (E::Batch, O::Insert) => Self::BatchCreated(de(data)?),
                (E::Code, O::Insert) => Self::CodeCreated(de(data)?),
                (E::Code, O::Update) => Self::CodeUpdated(de(data)?),
                (E::Device, O::Insert) => Self::DeviceCreated(de(data)?),
                (E::Device, O::Update) => Self::DeviceUpdated(de(data)?),
                (E::Usage, O::Update) => Self::UsageUpdated {
                    device_id: 0,
                    usage: de(data)?,
                },
                (E::Statement, O::Insert) => Self::StatementClosed(de(data)?),
                (E::DeviceLogs, O::Purge) => Self::DeviceLogsPurged(de(data)?),
                (E::FloatingPool, O::Insert) => Self::FloatingPoolCreated(de(data)?),
                (E::FloatingLease, O::Update) => Self::LeaseUpdated(de(data)?),
                (E::FloatingLease, O::Delete) => Self::LeaseEnded(de(data)?),
                (E::GatewayOrder, O::Insert) => Self::GatewayOrderCreated(de(data)?),
                (E::GatewayActivation, O::Insert) => Self::GatewayActivated(de(data)?),
                (E::GatewayActivation, O::Update) => Self::GatewayReissued(de(data)?),
                (E::GatewayInstall, O::Insert) => Self::GatewayInstalled(de(data)?),
                (E::FieldAllotment, O::Insert) => Self::AllotmentCreated {
                    id: id.to_owned(),
                    detail: de(data)?,
                },
                (E::FieldAllotment, O::Update) => Self::AllotmentUpdated {
                    id: id.to_owned(),
                    detail: de(data)?,
                },
                _ => return Ok(None),
            }))
        })()
        .map_err(|e| bad(&e))?;
        Ok(match r {
            Some(Self::UsageUpdated { usage, .. }) => Some(Self::UsageUpdated {
                device_id: id_num()?,
                usage,
            }),
            r => r,
        })
    }
}

//! Field allotments (domain.md §3, issue 6): which orders an allotment of N
//! gateway licenses draws from, and what its delegate may grant.
//!
//! **Products (Decision).** A gateway order may name the edge software
//! product it sells licenses of (`product`, e.g. `edge-gateway-pro`; an
//! order without one can only be drawn from by its number). An allotment is
//! checked out either from one order or from a product:
//!
//! - **from an order**: its N licenses are N free licenses of that order;
//! - **from a product**: it draws from the account's orders of that product,
//!   **oldest first** (creation time, ties by order number), taking from
//!   each as many of its free licenses as are still needed; an order with
//!   none free is skipped.
//!
//! A free license is one neither activated nor reserved by an open
//! allotment. The allotment's slots `1..=N` are numbered in the same order:
//! a [`AllotmentPart`] says which slots belong to which order, and a slot
//! reconciled later consumes a license of its part's order.
//!
//! A product allotment grants what **every** order it draws from grants:
//! the plugins all of them enable (listed in the oldest order's order), the
//! smallest connection and tag limits and the shortest validity, so that no
//! license issued under it exceeds the order its slot is counted against.
//! Those orders must be for one customer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::delegate::DelegateScope;
use crate::error::Coded;
use crate::gateway::LicenseKind;

/// Longest product reference of a gateway order.
pub const MAX_PRODUCT_LEN: usize = 64;

/// A product reference is 1 to 64 printable ASCII characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error(
    "the product must be 1 to {MAX_PRODUCT_LEN} printable characters without spaces (e.g. edge-gateway-pro)"
)]
pub struct ProductInvalid;

impl Coded for ProductInvalid {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        "GATEWAY_PRODUCT_INVALID"
    }
}

/// Checks a gateway product reference.
pub fn check_product(product: &str) -> Result<(), ProductInvalid> {
    if (1..=MAX_PRODUCT_LEN).contains(&product.len())
        && product.bytes().all(|b| b.is_ascii_graphic())
    {
        Ok(())
    } else {
        Err(ProductInvalid)
    }
}

/// What an allotment is checked out from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reference")]
pub enum AllotmentSource {
    /// An order number.
    Order(String),
    /// A product reference: the account's orders of that product.
    Product(String),
}

impl std::fmt::Display for AllotmentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Order(o) => write!(f, "order {o}"),
            Self::Product(p) => write!(f, "product {p}"),
        }
    }
}

/// One order an allotment may draw from, as the server knows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSupply {
    pub order_no: String,
    pub product: Option<String>,
    pub created_at: DateTime<Utc>,
    pub customer: String,
    /// Licenses neither activated nor reserved.
    pub free: u32,
    pub plugins: Vec<String>,
    pub max_connections: u32,
    pub max_tags: u32,
    pub validity_days: u32,
}

/// Slots `first_slot..first_slot + count` of an allotment are licenses of
/// order `order_no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllotmentPart {
    pub order_no: String,
    pub first_slot: u32,
    pub count: u32,
}

impl AllotmentPart {
    /// Whether `slot` belongs to this part.
    pub fn contains(&self, slot: u32) -> bool {
        slot >= self.first_slot && slot - self.first_slot < self.count
    }
}

/// Where an allotment's licenses come from and what its certificate grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllotmentPlan {
    /// In slot order; the counts add up to the allotment's size.
    pub parts: Vec<AllotmentPart>,
    pub scope: DelegateScope,
}

/// Why an allotment cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum AllotmentError {
    #[error(
        "order {order} has {free} licenses neither activated nor reserved; ask for at most {free}"
    )]
    ExceedsOrder { order: String, free: u32 },
    #[error(
        "the orders of product {product} have {free} licenses neither activated nor reserved; ask for at most {free}"
    )]
    ExceedsProduct { product: String, free: u32 },
    #[error(
        "orders {first} and {other} of product {product} are for different customers ('{first_customer}', '{other_customer}'): check out from one order instead"
    )]
    MixedCustomers {
        product: String,
        first: String,
        first_customer: String,
        other: String,
        other_customer: String,
    },
}

impl Coded for AllotmentError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::ExceedsOrder { .. } => "ALLOTMENT_EXCEEDS_ORDER",
            Self::ExceedsProduct { .. } => "ALLOTMENT_EXCEEDS_PRODUCT",
            Self::MixedCustomers { .. } => "ALLOTMENT_MIXED_CUSTOMERS",
        }
    }
}

/// Plans an allotment of `count` (≥ 1) licenses from `source`, given the
/// account's orders `supplies` (any order; those not matching `source` are
/// ignored). See the module documentation for the rule.
pub fn plan_allotment(
    source: &AllotmentSource,
    supplies: &[OrderSupply],
    count: u32,
) -> Result<AllotmentPlan, AllotmentError> {
    let mut candidates: Vec<&OrderSupply> = supplies
        .iter()
        .filter(|s| match source {
            AllotmentSource::Order(o) => s.order_no == *o,
            AllotmentSource::Product(p) => s.product.as_deref() == Some(p.as_str()),
        })
        .collect();
    candidates.sort_by(|a, b| (a.created_at, &a.order_no).cmp(&(b.created_at, &b.order_no)));
    let free: u32 = candidates
        .iter()
        .fold(0u32, |n, s| n.saturating_add(s.free));
    if count == 0 || count > free {
        return Err(match source {
            AllotmentSource::Order(order) => AllotmentError::ExceedsOrder {
                order: order.clone(),
                free,
            },
            AllotmentSource::Product(product) => AllotmentError::ExceedsProduct {
                product: product.clone(),
                free,
            },
        });
    }
    let mut parts = Vec::new();
    let mut drawn: Vec<&OrderSupply> = Vec::new();
    let mut next_slot = 1u32;
    for s in candidates.into_iter().filter(|s| s.free > 0) {
        let needed = count - (next_slot - 1);
        if needed == 0 {
            break;
        }
        let take = needed.min(s.free);
        parts.push(AllotmentPart {
            order_no: s.order_no.clone(),
            first_slot: next_slot,
            count: take,
        });
        drawn.push(s);
        next_slot += take;
    }
    let scope = common_scope(source, &drawn)?;
    Ok(AllotmentPlan { parts, scope })
}

/// What every order of `drawn` (non-empty, oldest first) grants.
fn common_scope(
    source: &AllotmentSource,
    drawn: &[&OrderSupply],
) -> Result<DelegateScope, AllotmentError> {
    let first = drawn[0];
    if let Some(other) = drawn.iter().find(|s| s.customer != first.customer) {
        return Err(AllotmentError::MixedCustomers {
            product: first.product.clone().unwrap_or_default(),
            first: first.order_no.clone(),
            first_customer: first.customer.clone(),
            other: other.order_no.clone(),
            other_customer: other.customer.clone(),
        });
    }
    let (order, product) = match source {
        AllotmentSource::Order(o) => (Some(o.clone()), first.product.clone()),
        AllotmentSource::Product(p) => (None, Some(p.clone())),
    };
    let min = |f: fn(&OrderSupply) -> u32| drawn.iter().map(|s| f(s)).min().unwrap_or(0);
    let mut plugins: Vec<String> = Vec::new();
    for p in &first.plugins {
        if !plugins.contains(p) && drawn.iter().all(|s| s.plugins.contains(p)) {
            plugins.push(p.clone());
        }
    }
    Ok(DelegateScope {
        kind: LicenseKind::Activation,
        customer: first.customer.clone(),
        order,
        product,
        plugins,
        max_connections: min(|s| s.max_connections),
        max_tags: min(|s| s.max_tags),
        max_license_days: min(|s| s.validity_days),
    })
}

#[cfg(test)]
mod tests;

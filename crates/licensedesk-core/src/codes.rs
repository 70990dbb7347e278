//! Activation-code pools: counters, assignment to products, purchased
//! batches and code status (domain.md §1, "Activation codes" and "Free codes
//! and assignment to products").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bounds::{self, BoundsError};
use crate::error::Coded;
use crate::package::{Package, PackageError};

/// Errors of code-pool rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum CodesError {
    /// A code was to be consumed from an empty pool.
    #[error(
        "no activation code is left to consume: credit codes to the product or assign unassigned codes to it"
    )]
    NoCodesAvailable,
    /// A count would not fit the counters.
    #[error(
        "the code counters would overflow ({what}): the requested amount is unrealistic, check it"
    )]
    CountersOverflow { what: &'static str },
    /// Stored counters break Total = Used + Remaining.
    #[error(
        "inconsistent counters: total {total} ≠ used {used} + remaining {remaining}; recount the codes from their records"
    )]
    CountersInconsistent {
        total: u64,
        used: u64,
        remaining: u64,
    },
    /// A count out of its bound: assigning 0 codes or more than 1,000,000
    /// at once, a batch of 0 codes or more than 1,000,000.
    #[error(transparent)]
    OutOfBounds(#[from] BoundsError),
    /// Assigning more codes than are unassigned.
    #[error(
        "cannot assign {requested} codes: only {available} unassigned codes are left; assign at most {available} or buy more"
    )]
    AssignCountExceedsAvailable { requested: u64, available: u64 },
    /// A batch whose package differs from its product's package.
    #[error(
        "the batch's package ({batch}) differs from the product's package ({product}): buy codes with the product's package, or upgrade the product's package first"
    )]
    PackageMismatch { product: String, batch: String },
    /// A batch with an unusable package.
    #[error(transparent)]
    Package(#[from] PackageError),
}

impl Coded for CodesError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NoCodesAvailable => "NO_CODES_AVAILABLE",
            Self::CountersOverflow { .. } => "COUNTERS_OVERFLOW",
            Self::CountersInconsistent { .. } => "COUNTERS_INCONSISTENT",
            Self::OutOfBounds(e) => e.code(),
            Self::AssignCountExceedsAvailable { .. } => "ASSIGN_COUNT_EXCEEDS_AVAILABLE",
            Self::PackageMismatch { .. } => "PACKAGE_MISMATCH",
            Self::Package(e) => e.code(),
        }
    }
}

/// Total / Used / Remaining of a pool of codes (domain.md §1, "Counters").
///
/// The invariant Total = Used + Remaining holds by construction: the fields
/// are private, every constructor and operation checks its arithmetic.
/// Serialised as `{"total":…, "used":…, "remaining":…}`; deserialising
/// refuses a triple that breaks the invariant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawCounters")]
pub struct Counters {
    total: u64,
    used: u64,
    remaining: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCounters {
    total: u64,
    used: u64,
    remaining: u64,
}

impl TryFrom<RawCounters> for Counters {
    type Error = CodesError;
    fn try_from(raw: RawCounters) -> Result<Self, CodesError> {
        Counters::from_parts(raw.total, raw.used, raw.remaining)
    }
}

impl Counters {
    /// Counters with `used` consumed and `remaining` unconsumed codes.
    pub fn new(used: u64, remaining: u64) -> Result<Self, CodesError> {
        let total = used
            .checked_add(remaining)
            .ok_or(CodesError::CountersOverflow { what: "total" })?;
        Ok(Self {
            total,
            used,
            remaining,
        })
    }

    /// Counters read back from storage; refuses a triple that breaks
    /// Total = Used + Remaining.
    pub fn from_parts(total: u64, used: u64, remaining: u64) -> Result<Self, CodesError> {
        match used.checked_add(remaining) {
            Some(sum) if sum == total => Ok(Self {
                total,
                used,
                remaining,
            }),
            _ => Err(CodesError::CountersInconsistent {
                total,
                used,
                remaining,
            }),
        }
    }

    /// All codes ever credited (consumed + unconsumed, free codes included).
    pub const fn total(&self) -> u64 {
        self.total
    }

    /// Consumed codes.
    pub const fn used(&self) -> u64 {
        self.used
    }

    /// Unconsumed codes.
    pub const fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Moves one code from Remaining to Used (a device consumed it).
    pub fn consume(&mut self) -> Result<(), CodesError> {
        let remaining = self
            .remaining
            .checked_sub(1)
            .ok_or(CodesError::NoCodesAvailable)?;
        // used < total because remaining ≥ 1, so this cannot overflow.
        self.used += 1;
        self.remaining = remaining;
        Ok(())
    }

    /// Adds `n` new unconsumed codes (a purchase, free codes, an assignment
    /// into a product's pool). Nothing changes on overflow.
    pub fn credit(&mut self, n: u64) -> Result<(), CodesError> {
        let total = self.total.checked_add(n);
        let remaining = self.remaining.checked_add(n);
        match (total, remaining) {
            (Some(total), Some(remaining)) => {
                self.total = total;
                self.remaining = remaining;
                Ok(())
            }
            _ => Err(CodesError::CountersOverflow { what: "credit" }),
        }
    }

    /// Sum of two pools.
    pub fn checked_sum(&self, other: &Self) -> Result<Self, CodesError> {
        let used = self.used.checked_add(other.used);
        let remaining = self.remaining.checked_add(other.remaining);
        match (used, remaining) {
            (Some(used), Some(remaining)) => Self::new(used, remaining),
            _ => Err(CodesError::CountersOverflow { what: "sum" }),
        }
    }
}

/// The account overview's counters (domain.md §1): `unassigned` codes (all
/// unconsumed: only assigned codes can be consumed) plus every product's
/// pool. So account Remaining = unassigned + assigned-but-unconsumed, and a
/// product card's Remaining is simply its own [`Counters::remaining`].
pub fn account_counters<'a>(
    unassigned: u64,
    products: impl IntoIterator<Item = &'a Counters>,
) -> Result<Counters, CodesError> {
    products
        .into_iter()
        .try_fold(Counters::new(0, unassigned)?, |acc, p| acc.checked_sum(p))
}

/// Names of the three counters. The UI labels are Total / Used / Remaining;
/// the other console's Consumed / Available are accepted as synonyms in
/// search and in imported files (domain.md §1, **Decision**).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CounterField {
    Total,
    Used,
    Remaining,
}

impl CounterField {
    /// The UI label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Total => "Total",
            Self::Used => "Used",
            Self::Remaining => "Remaining",
        }
    }

    /// Every word [`CounterField::from_label`] takes (lowercase): the labels
    /// and the other console's synonyms.
    pub const WORDS: [(&'static str, Self); 5] = [
        ("total", Self::Total),
        ("used", Self::Used),
        ("consumed", Self::Used),
        ("remaining", Self::Remaining),
        ("available", Self::Remaining),
    ];

    /// Parses a label or synonym, ignoring case and surrounding blanks.
    pub fn from_label(label: &str) -> Option<Self> {
        let label = label.trim().to_ascii_lowercase();
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == label)
            .map(|&(_, f)| f)
    }

    /// The value of this counter.
    pub const fn of(self, counters: &Counters) -> u64 {
        match self {
            Self::Total => counters.total(),
            Self::Used => counters.used(),
            Self::Remaining => counters.remaining(),
        }
    }
}

/// How many unassigned codes to move to a product (domain.md §1: the user
/// picks the product and how many). Refuses 0 and more than `available`.
/// The assigned codes take on the product's package: a code's package is
/// never stored, always read from its product.
pub fn check_assign(requested: u64, available: u64) -> Result<u64, CodesError> {
    bounds::ASSIGN_COUNT.check(requested)?;
    if requested > available {
        Err(CodesError::AssignCountExceedsAvailable {
            requested,
            available,
        })
    } else {
        Ok(requested)
    }
}

/// What crediting an accepted batch does to its product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchEffect {
    /// The product had no package: the batch's package becomes the product's.
    SetsProductPackage,
    /// Same package as the product's: codes are added to its pool.
    MatchesProductPackage,
}

/// Checks a purchased batch of `count` codes for a product (domain.md §1:
/// one package per product; a batch whose package differs from the product's
/// is rejected with an error naming both packages; the first batch sets the
/// product's package). Packages are compared by allowance
/// ([`Package::same_allowance`]).
pub fn check_batch(
    product_package: Option<&Package>,
    batch_package: &Package,
    count: u64,
) -> Result<BatchEffect, CodesError> {
    bounds::BATCH_COUNT.check(count)?;
    batch_package.validate()?;
    match product_package {
        None => Ok(BatchEffect::SetsProductPackage),
        Some(p) if p.same_allowance(batch_package) => Ok(BatchEffect::MatchesProductPackage),
        Some(p) => Err(CodesError::PackageMismatch {
            product: p.summary(),
            batch: batch_package.summary(),
        }),
    }
}

/// Status of a code in the consumption details (domain.md §1, "Views").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeStatus {
    /// Not consumed yet.
    Unused,
    /// Consumed and not expired at `now`.
    Active,
    /// Consumed and expired (`now >= expires_at`).
    Expired,
}

/// Status of a code consumed at `consumed_at` (if ever) and expiring at
/// `expires_at`. A consumed code without an expiry is treated as active: a
/// consumed code always has one, so this only guards against bad rows.
pub fn code_status(
    consumed_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> CodeStatus {
    match (consumed_at, expires_at) {
        (None, _) => CodeStatus::Unused,
        (Some(_), Some(end)) if now >= end => CodeStatus::Expired,
        (Some(_), _) => CodeStatus::Active,
    }
}

/// A search filter on code status (domain.md §1, "Views", and the
/// **Decision** on synonyms): one of the three statuses, or every consumed
/// code. The console's words are accepted besides the statuses: Used /
/// Consumed are the consumed codes (active and expired), Remaining /
/// Available the unconsumed ones (unused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusFilter {
    /// One status.
    Is(CodeStatus),
    /// Consumed codes, active or expired.
    Consumed,
}

impl StatusFilter {
    const STATUSES: [(&'static str, CodeStatus); 3] = [
        ("unused", CodeStatus::Unused),
        ("active", CodeStatus::Active),
        ("expired", CodeStatus::Expired),
    ];

    /// Every word [`StatusFilter::parse`] takes (lowercase): the statuses,
    /// then the counters' labels and synonyms but Total (no filter).
    pub fn words() -> impl Iterator<Item = &'static str> {
        Self::STATUSES.iter().map(|(w, _)| *w).chain(
            CounterField::WORDS
                .iter()
                .filter(|(_, f)| *f != CounterField::Total)
                .map(|(w, _)| *w),
        )
    }

    /// Parses a status or a counter's label or synonym, ignoring case and
    /// surrounding blanks.
    pub fn parse(label: &str) -> Result<Self, UnknownStatusFilter> {
        let word = label.trim().to_ascii_lowercase();
        let status = Self::STATUSES.iter().find(|(w, _)| *w == word);
        match (status, CounterField::from_label(&word)) {
            (Some(&(_, s)), _) => Ok(Self::Is(s)),
            (None, Some(CounterField::Used)) => Ok(Self::Consumed),
            (None, Some(CounterField::Remaining)) => Ok(Self::Is(CodeStatus::Unused)),
            (None, Some(CounterField::Total) | None) => Err(UnknownStatusFilter {
                given: label.to_owned(),
            }),
        }
    }
}

/// A status filter [`StatusFilter::parse`] does not take; the message lists
/// the words it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status {given:?}: use one of {} (any case)", StatusFilter::words().collect::<Vec<_>>().join(", "))]
pub struct UnknownStatusFilter {
    pub given: String,
}

#[cfg(test)]
mod tests;

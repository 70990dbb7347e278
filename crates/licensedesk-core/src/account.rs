//! Accounts and their free activation codes (domain.md §1, "Accounts, data
//! centers, products" and "Free codes and assignment to products").

use serde::{Deserialize, Serialize};

use crate::error::Coded;

/// Free codes every enterprise account gets (domain.md §1).
pub const FREE_CODES_ENTERPRISE: u32 = 10;
/// Free codes every individual account gets (domain.md §1).
pub const FREE_CODES_INDIVIDUAL: u32 = 5;
/// Extra free codes, granted once, when an individual account is verified
/// as enterprise (5 + 5 = 10, domain.md §1).
pub const ENTERPRISE_VERIFICATION_BONUS: u32 = 5;

/// Errors of account rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum AccountError {
    /// The account was already verified as enterprise; the bonus is once.
    #[error(
        "this account was already verified as enterprise and received its {ENTERPRISE_VERIFICATION_BONUS} extra free codes; nothing more to grant"
    )]
    AlreadyVerified,
    /// The account was created as enterprise; it already has its free codes.
    #[error(
        "this account is already an enterprise account with {FREE_CODES_ENTERPRISE} free codes; verification grants nothing"
    )]
    AlreadyEnterprise,
}

impl Coded for AccountError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyVerified => "ALREADY_VERIFIED",
            Self::AlreadyEnterprise => "ALREADY_ENTERPRISE",
        }
    }
}

/// Kind of account. Serialised `"individual"` / `"enterprise"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Individual,
    Enterprise,
}

impl AccountKind {
    /// Free codes credited (unassigned) when an account of this kind is
    /// created: enterprise 10, individual 5.
    pub const fn initial_free_codes(self) -> u32 {
        match self {
            Self::Enterprise => FREE_CODES_ENTERPRISE,
            Self::Individual => FREE_CODES_INDIVIDUAL,
        }
    }
}

/// The result of verifying an individual account as enterprise: the account
/// becomes `kind` and receives `free_codes` more unassigned free codes. The
/// caller records both with the "verified" mark in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationGrant {
    pub kind: AccountKind,
    pub free_codes: u32,
}

/// Verifies an account as enterprise (domain.md §1): an individual account
/// gets [`ENTERPRISE_VERIFICATION_BONUS`] more free codes, once.
/// `already_verified` is whether this account was verified before (an
/// account created as enterprise never is). A second verification is
/// [`AccountError::AlreadyVerified`]; an account created as enterprise gets
/// [`AccountError::AlreadyEnterprise`]. Both grant nothing.
pub fn verify_as_enterprise(
    kind: AccountKind,
    already_verified: bool,
) -> Result<VerificationGrant, AccountError> {
    match (kind, already_verified) {
        (_, true) => Err(AccountError::AlreadyVerified),
        (AccountKind::Enterprise, false) => Err(AccountError::AlreadyEnterprise),
        (AccountKind::Individual, false) => Ok(VerificationGrant {
            kind: AccountKind::Enterprise,
            free_codes: ENTERPRISE_VERIFICATION_BONUS,
        }),
    }
}

/// All free codes an account has been given: its initial codes plus the
/// verification bonus if it was verified. Never more than
/// [`FREE_CODES_ENTERPRISE`] for a real account.
pub const fn free_codes_granted(created_as: AccountKind, verified: bool) -> u32 {
    match (created_as, verified) {
        (AccountKind::Individual, true) => FREE_CODES_INDIVIDUAL + ENTERPRISE_VERIFICATION_BONUS,
        (kind, _) => kind.initial_free_codes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountKind::*;

    #[test]
    fn initial_free_codes_table() {
        // The reference table: enterprise 10, individual 5.
        for (kind, codes) in [(Enterprise, 10), (Individual, 5)] {
            assert_eq!(kind.initial_free_codes(), codes, "{kind:?}");
        }
    }

    #[test]
    fn verify_as_enterprise_table() {
        let grant = VerificationGrant {
            kind: Enterprise,
            free_codes: 5,
        };
        let cases = [
            (Individual, false, Ok(grant)),
            // A second verification grants nothing.
            (Individual, true, Err("ALREADY_VERIFIED")),
            (Enterprise, true, Err("ALREADY_VERIFIED")),
            // An enterprise account gets nothing.
            (Enterprise, false, Err("ALREADY_ENTERPRISE")),
        ];
        for (kind, verified, expected) in cases {
            let got = verify_as_enterprise(kind, verified).map_err(|e| e.code());
            assert_eq!(got, expected, "{kind:?}, verified {verified}");
        }
    }

    #[test]
    fn verified_individual_ends_with_ten_free_codes() {
        let cases = [
            (Individual, false, 5),
            (Individual, true, 10),
            (Enterprise, false, 10),
        ];
        for (created_as, verified, total) in cases {
            assert_eq!(free_codes_granted(created_as, verified), total);
        }
        // Replaying the flow: create, verify, verify again.
        let mut codes = Individual.initial_free_codes();
        let first = verify_as_enterprise(Individual, false).expect("first verification");
        codes += first.free_codes;
        assert!(verify_as_enterprise(first.kind, true).is_err());
        assert_eq!(codes, FREE_CODES_ENTERPRISE);
    }

    #[test]
    fn serde_and_messages() {
        let json = serde_json::to_string(&[Individual, Enterprise]).expect("ser");
        assert_eq!(json, r#"["individual","enterprise"]"#);
        let msg = AccountError::AlreadyVerified.to_string();
        assert!(
            msg.contains("already verified") && msg.contains('5'),
            "{msg}"
        );
    }
}

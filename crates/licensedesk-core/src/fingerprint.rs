//! Hardware fingerprints: a short, typeable identifier of one machine for one
//! application, derived without revealing the machine id.
//!
//! `fingerprint(machine_id, app_id)` = the first 80 bits of
//! HMAC-SHA256(key = machine id, message = app id), written as 16 Crockford
//! base32 symbols plus a mod-37 check symbol, grouped `XXXX-XXXX-XXXX-XXXXC`
//! (the same alphabet and check as activation codes, so a typed fingerprint
//! with a typo is caught). Reading the machine id (e.g. `/etc/machine-id`)
//! is the caller's job; surrounding ASCII white space of the machine id is
//! ignored so that callers need not agree on trimming.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::activation_code::crockford::{self, SymbolsError};
use crate::error::Coded;

/// Data symbols of a fingerprint (80 bits).
pub const FINGERPRINT_DATA_SYMBOLS: usize = 16;
/// Raw input longer than this (in bytes) is refused before it is read.
pub const MAX_FINGERPRINT_INPUT_LEN: usize = 128;

const GROUPS: [usize; 4] = [4, 4, 4, 5];

/// Why a typed fingerprint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum FingerprintError {
    #[error(
        "the fingerprint is too long ({len} bytes; at most {MAX_FINGERPRINT_INPUT_LEN}): paste only the fingerprint"
    )]
    TooLong { len: usize },
    #[error(
        "the fingerprint has {found} symbols but needs 17 (XXXX-XXXX-XXXX-XXXXX): check that it was copied whole"
    )]
    WrongLength { found: usize },
    #[error(
        "'{ch}' (character {position}) cannot appear in a fingerprint: fingerprints use digits and letters except U; check for typos"
    )]
    BadCharacter { ch: char, position: usize },
    #[error(
        "the fingerprint is not in canonical form (XXXX-XXXX-XXXX-XXXXX, upper case): normalise it first"
    )]
    NotCanonical,
    #[error(
        "the fingerprint contains a typo (its check symbol does not match): compare it with the one the gateway shows"
    )]
    CheckMismatch,
}

impl Coded for FingerprintError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooLong { .. } => "FINGERPRINT_TOO_LONG",
            Self::WrongLength { .. } | Self::BadCharacter { .. } | Self::NotCanonical => {
                "FINGERPRINT_MALFORMED"
            }
            Self::CheckMismatch => "FINGERPRINT_CHECK_MISMATCH",
        }
    }
}

fn trim_ascii(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if first.is_ascii_whitespace() {
            bytes = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = bytes {
        if last.is_ascii_whitespace() {
            bytes = rest;
        } else {
            break;
        }
    }
    bytes
}

fn encode(bits: u128) -> String {
    let values = crockford::to_values(bits, FINGERPRINT_DATA_SYMBOLS);
    let check = crockford::check_value(&values);
    let symbols: Vec<char> = values
        .iter()
        .chain(std::iter::once(&check))
        .map(|&v| crockford::symbol(v))
        .collect();
    crockford::group(&symbols, &GROUPS, 4)
}

/// The display form of this machine's fingerprint for application `app_id`.
pub fn fingerprint(machine_id: &[u8], app_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(trim_ascii(machine_id))
        .expect("HMAC accepts keys of any length");
    mac.update(app_id.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    encode(u128::from_be_bytes(first) >> (128 - 5 * FINGERPRINT_DATA_SYMBOLS))
}

/// Reads a typed fingerprint (case folded, `I`/`L`→`1`, `O`→`0`, spaces and
/// dashes ignored), checks its check symbol and returns the canonical form.
pub fn normalize_fingerprint(input: &str) -> Result<String, FingerprintError> {
    if input.len() > MAX_FINGERPRINT_INPUT_LEN {
        return Err(FingerprintError::TooLong { len: input.len() });
    }
    match crockford::read_checked(input, FINGERPRINT_DATA_SYMBOLS) {
        Ok(values) => Ok(encode(crockford::from_values(&values))),
        Err(SymbolsError::WrongLength { found }) => Err(FingerprintError::WrongLength { found }),
        Err(
            SymbolsError::BadCharacter { ch, position }
            | SymbolsError::CheckSymbolMisplaced { ch, position },
        ) => Err(FingerprintError::BadCharacter { ch, position }),
        Err(SymbolsError::CheckMismatch) => Err(FingerprintError::CheckMismatch),
    }
}

/// Whether two hardware identifiers name the same machine: equal canonical
/// fingerprints when both are fingerprints, equal strings otherwise.
pub fn same_hardware(a: &str, b: &str) -> bool {
    match (normalize_fingerprint(a), normalize_fingerprint(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_short_and_typeable() {
        let fp = fingerprint(b"0123456789abcdef0123456789abcdef\n", "licensedesk");
        assert_eq!(
            fp,
            fingerprint(b"0123456789abcdef0123456789abcdef", "licensedesk")
        );
        assert_eq!(fp.len(), 20);
        assert_eq!(normalize_fingerprint(&fp.to_lowercase()), Ok(fp.clone()));
        assert_ne!(
            fp,
            fingerprint(b"0123456789abcdef0123456789abcdee", "licensedesk")
        );
        assert_ne!(
            fp,
            fingerprint(b"0123456789abcdef0123456789abcdef", "other-app")
        );
    }

    #[test]
    fn known_answer() {
        // HMAC-SHA256(key="machine", msg="app") computed with Python's hmac module:
        // first 10 bytes 0x13851cabfe15c2d96cff.
        let want_bits = 0x1385_1cab_fe15_c2d9_6cff_u128;
        assert_eq!(fingerprint(b"machine", "app"), encode(want_bits));
    }

    #[test]
    fn parse_table() {
        let fp = fingerprint(b"m", "a");
        let mut typo: Vec<char> = fp.chars().collect();
        typo[0] = if typo[0] == '0' { '1' } else { '0' };
        let typo: String = typo.into_iter().collect();
        let cases: Vec<(String, Result<String, &str>)> = vec![
            (fp.clone(), Ok(fp.clone())),
            (fp.replace('-', " "), Ok(fp.clone())),
            (typo, Err("FINGERPRINT_CHECK_MISMATCH")),
            ("ABCD".into(), Err("FINGERPRINT_MALFORMED")),
            ("ABCD-EFGH-JKMN-PQRS#".into(), Err("FINGERPRINT_MALFORMED")),
            ("A".repeat(200), Err("FINGERPRINT_TOO_LONG")),
        ];
        for (input, want) in cases {
            assert_eq!(
                normalize_fingerprint(&input).map_err(|e| e.code()),
                want,
                "{input}"
            );
        }
        assert!(same_hardware(&fp, &fp.to_lowercase()));
        assert!(!same_hardware(&fp, &fingerprint(b"n", "a")));
        assert!(same_hardware("serial-42", "serial-42"));
        assert!(!same_hardware("serial-42", "serial-43"));
    }
}

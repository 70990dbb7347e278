//! Activation codes: 100 random bits a person can read out and type.
//!
//! Canonical form: 20 Crockford base32 data symbols (100 bits) followed by one
//! Crockford mod-37 check symbol, grouped `XXXX-XXXX-XXXX-XXXX-XXXXC`
//! (four groups of four, then the last four data symbols and the check
//! symbol). The canonical form is what the server stores and what
//! [`Display`](std::fmt::Display) prints.
//!
//! Parsing is forgiving about presentation and strict about content: case is
//! folded, `I`/`L` are read as `1` and `O` as `0`, white space and dashes are
//! ignored; then there must be exactly 21 symbols whose check symbol matches.
//! The check symbol detects every single-symbol substitution and every swap
//! of two adjacent symbols (see `crockford` for the argument; the tests
//! check both exhaustively over a sample of codes).

pub(crate) mod crockford;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Coded;
use crockford::SymbolsError;

/// Bits of entropy in a code.
pub const CODE_BITS: u32 = 100;
/// Data symbols in a code (5 bits each).
pub const DATA_SYMBOLS: usize = 20;
/// Symbols in a code, check symbol included.
pub const CODE_SYMBOLS: usize = DATA_SYMBOLS + 1;
/// Raw input longer than this (in bytes) is refused before it is read.
pub const MAX_INPUT_LEN: usize = 256;

const GROUPS: [usize; 5] = [4, 4, 4, 4, 5];

/// A well-formed activation code (its check symbol has been verified).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActivationCode {
    bits: u128,
}

/// Why a typed activation code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum ActivationCodeError {
    #[error(
        "the activation code is too long ({len} bytes; at most {max}): paste only the code itself"
    )]
    TooLong { len: usize, max: usize },
    #[error(
        "no activation code was entered: type the 21-symbol code, e.g. XXXX-XXXX-XXXX-XXXX-XXXXX"
    )]
    Empty,
    #[error(
        "the activation code has {found} symbols but needs {CODE_SYMBOLS}: check that the whole code was copied"
    )]
    WrongLength { found: usize },
    #[error(
        "'{ch}' (character {position}) cannot appear in an activation code: codes use digits and letters except U; check the code for typos"
    )]
    BadCharacter { ch: char, position: usize },
    #[error(
        "'{ch}' (character {position}) may only be the last symbol of an activation code: check the code for typos"
    )]
    CheckSymbolMisplaced { ch: char, position: usize },
    #[error(
        "the activation code contains a typo (its check symbol does not match): compare it symbol by symbol with the original"
    )]
    CheckMismatch,
}

impl Coded for ActivationCodeError {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooLong { .. } => "CODE_TOO_LONG",
            Self::Empty
            | Self::WrongLength { .. }
            | Self::BadCharacter { .. }
            | Self::CheckSymbolMisplaced { .. } => "CODE_MALFORMED",
            Self::CheckMismatch => "CODE_CHECK_MISMATCH",
        }
    }
}

impl ActivationCode {
    /// A code from caller-supplied CSPRNG output. The first 100 bits of
    /// `entropy` are used; the remaining 28 are ignored.
    pub fn from_entropy(entropy: [u8; 16]) -> Self {
        Self {
            bits: u128::from_be_bytes(entropy) >> (128 - CODE_BITS),
        }
    }

    /// The 100 bits of the code, right-aligned.
    pub fn bits(&self) -> u128 {
        self.bits
    }

    /// Parses a code typed or pasted by a person (see the module doc for what
    /// is normalised).
    pub fn parse(input: &str) -> Result<Self, ActivationCodeError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(ActivationCodeError::TooLong {
                len: input.len(),
                max: MAX_INPUT_LEN,
            });
        }
        match crockford::read_checked(input, DATA_SYMBOLS) {
            Ok(values) => Ok(Self {
                bits: crockford::from_values(&values),
            }),
            Err(SymbolsError::WrongLength { found: 0 }) => Err(ActivationCodeError::Empty),
            Err(SymbolsError::WrongLength { found }) => {
                Err(ActivationCodeError::WrongLength { found })
            }
            Err(SymbolsError::BadCharacter { ch, position }) => {
                Err(ActivationCodeError::BadCharacter { ch, position })
            }
            Err(SymbolsError::CheckSymbolMisplaced { ch, position }) => {
                Err(ActivationCodeError::CheckSymbolMisplaced { ch, position })
            }
            Err(SymbolsError::CheckMismatch) => Err(ActivationCodeError::CheckMismatch),
        }
    }

    /// Parses raw bytes (e.g. a line of a file); non-UTF-8 input is refused
    /// as malformed.
    pub fn parse_bytes(input: &[u8]) -> Result<Self, ActivationCodeError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(ActivationCodeError::TooLong {
                len: input.len(),
                max: MAX_INPUT_LEN,
            });
        }
        match std::str::from_utf8(input) {
            Ok(s) => Self::parse(s),
            Err(e) => {
                let position = std::str::from_utf8(&input[..e.valid_up_to()])
                    .map(|s| s.chars().count() + 1)
                    .unwrap_or(1);
                Err(ActivationCodeError::BadCharacter {
                    ch: char::REPLACEMENT_CHARACTER,
                    position,
                })
            }
        }
    }

    fn symbols(&self) -> Vec<char> {
        let values = crockford::to_values(self.bits, DATA_SYMBOLS);
        let check = crockford::check_value(&values);
        values
            .iter()
            .chain(std::iter::once(&check))
            .map(|&v| crockford::symbol(v))
            .collect()
    }

    /// The canonical grouped form (same as `to_string()`).
    pub fn canonical(&self) -> String {
        crockford::group(&self.symbols(), &GROUPS, 4)
    }
}

/// Groups what a user has typed so far the way the canonical form is grouped,
/// so a text field can reformat as the user types: upper-cases, reads
/// `I`/`L` as `1` and `O` as `0`, drops spaces and dashes, and inserts a dash
/// after every group. Control characters are dropped; other characters that
/// can never be part of a code are kept (upper-cased) so the user sees and
/// fixes them. Input beyond the size cap is
/// cut off.
pub fn format_partial(input: &str) -> String {
    let mut end = input.len().min(MAX_INPUT_LEN);
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    crockford::group(&crockford::normalise_partial(&input[..end]), &GROUPS, 4)
}

impl fmt::Display for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A code is a credential: keep it out of logs.
        let text = self.canonical();
        let (head, tail) = (text.get(..4).unwrap_or(""), text.get(20..).unwrap_or(""));
        write!(f, "ActivationCode({head}-…-{tail})")
    }
}

impl FromStr for ActivationCode {
    type Err = ActivationCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ActivationCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for ActivationCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u8) -> ActivationCode {
        ActivationCode::from_entropy([seed; 16])
    }

    #[test]
    fn canonical_form_shape() {
        let code = ActivationCode::from_entropy([0; 16]);
        assert_eq!(code.to_string(), "0000-0000-0000-0000-00000");
        let code = ActivationCode::from_entropy([0xff; 16]);
        // 2^100 - 1 mod 37 = 11 -> 'B' (computed independently)
        assert_eq!(code.to_string(), "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZB");
        assert_eq!(code.bits(), (1u128 << 100) - 1);
    }

    #[test]
    fn parse_table() {
        let good = sample(0x5a).to_string();
        let lower = good.to_lowercase();
        let bare: String = good.chars().filter(|c| *c != '-').collect();
        let spaced = good.replace('-', " ");
        let long = "A".repeat(MAX_INPUT_LEN + 1);
        let cases: Vec<(&str, Result<ActivationCode, &str>)> = vec![
            (&good, Ok(sample(0x5a))),
            (&lower, Ok(sample(0x5a))),
            (&bare, Ok(sample(0x5a))),
            (&spaced, Ok(sample(0x5a))),
            ("  ", Err("CODE_MALFORMED")),
            ("ABCD-EFGH", Err("CODE_MALFORMED")),
            ("0000-0000-0000-0000-0000#", Err("CODE_MALFORMED")),
            ("0000-0000-0000-0000-000*0", Err("CODE_MALFORMED")),
            ("0000-0000-0000-0000-00001", Err("CODE_CHECK_MISMATCH")),
            (
                "OOOO-oooo-0000-0000-0000o",
                Ok(ActivationCode::from_entropy([0; 16])),
            ),
            (
                "LLLL-IIII-1111-llll-iiiix",
                Ok(ActivationCode {
                    bits: crockford::from_values(&[1; 20]),
                }),
            ),
            (&long, Err("CODE_TOO_LONG")),
        ];
        for (input, want) in cases {
            let got = ActivationCode::parse(input).map_err(|e| e.code());
            match (&got, &want) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{input}"),
                (Err(a), Err(b)) => assert_eq!(a, b, "{input}"),
                _ => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn check_symbols_from_extension_alphabet_parse() {
        // Find codes whose check symbol is each of the five extension symbols.
        let mut seen = [false; 5];
        for bits in 0u128..400 {
            let code = ActivationCode { bits };
            let text = code.to_string();
            let last = text.chars().last().unwrap_or(' ');
            if let Some(i) = "*~$=U".find(last) {
                seen[i] = true;
                assert_eq!(ActivationCode::parse(&text), Ok(code));
                assert_eq!(ActivationCode::parse(&text.to_lowercase()), Ok(code));
            }
        }
        assert_eq!(seen, [true; 5]);
    }

    #[test]
    fn format_partial_table() {
        let cases = [
            ("", ""),
            ("abc", "ABC"),
            ("abcd", "ABCD"),
            ("abcde", "ABCD-E"),
            ("ab-cd e", "ABCD-E"),
            (
                "0123456789abcdefghjkmnpqr",
                "0123-4567-89AB-CDEF-GHJKM-NPQR",
            ),
            ("0123456789abcdefghjkm", "0123-4567-89AB-CDEF-GHJKM"),
            ("iloo", "1100"),
            ("ab#c", "AB#C"),
            ("ab\u{0}c\td", "ABCD"),
        ];
        for (input, want) in cases {
            assert_eq!(format_partial(input), want, "{input:?}");
        }
        let code = sample(7);
        assert_eq!(
            format_partial(&code.to_string().replace('-', "")),
            code.to_string()
        );
        assert!(format_partial(&"é".repeat(1000)).len() <= 3 * MAX_INPUT_LEN);
    }

    #[test]
    fn debug_keeps_the_code_out_of_logs() {
        let code = sample(0x5a);
        let text = code.to_string();
        let debug = format!("{code:?}");
        assert!(!debug.contains(&text[5..19]), "{debug}");
        assert!(debug.starts_with(&format!("ActivationCode({}", &text[..4])));
    }

    #[test]
    fn parse_bytes_refuses_non_utf8() {
        let err = ActivationCode::parse_bytes(b"AB\xffCD").map_err(|e| e.code());
        assert_eq!(err, Err("CODE_MALFORMED"));
        let big = vec![b'A'; MAX_INPUT_LEN + 1];
        assert_eq!(
            ActivationCode::parse_bytes(&big).map_err(|e| e.code()),
            Err("CODE_TOO_LONG")
        );
    }

    #[test]
    fn serde_uses_canonical_form() {
        let code = sample(3);
        let json = serde_json::to_string(&code).unwrap_or_default();
        assert_eq!(json, format!("\"{code}\""));
        let lower = json.to_lowercase();
        let back: Result<ActivationCode, _> = serde_json::from_str(&lower);
        assert_eq!(back.ok(), Some(code));
        assert!(serde_json::from_str::<ActivationCode>("\"0000\"").is_err());
    }

    /// Deterministic, well-spread sample codes (SHA-256 of an index).
    fn sample_codes(n: u32) -> Vec<ActivationCode> {
        use sha2::Digest;
        (0..n)
            .map(|i| {
                let digest = sha2::Sha256::digest(i.to_be_bytes());
                let mut entropy = [0u8; 16];
                entropy.copy_from_slice(&digest[..16]);
                ActivationCode::from_entropy(entropy)
            })
            .collect()
    }

    #[test]
    fn every_single_substitution_is_detected() {
        let mut checked = 0;
        for code in sample_codes(200) {
            let symbols = code.symbols();
            for pos in 0..CODE_SYMBOLS {
                let alphabet: &[u8] = if pos < DATA_SYMBOLS {
                    crockford::ALPHABET
                } else {
                    crockford::CHECK_ALPHABET
                };
                for &s in alphabet {
                    let replacement = char::from(s);
                    if replacement == symbols[pos] {
                        continue;
                    }
                    let mut typo = symbols.clone();
                    typo[pos] = replacement;
                    let text: String = typo.iter().collect();
                    assert_eq!(
                        ActivationCode::parse(&text),
                        Err(ActivationCodeError::CheckMismatch),
                        "{code} -> {text}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 200 * 20 * 31);
    }

    #[test]
    fn every_adjacent_transposition_is_detected() {
        let mut checked = 0;
        for code in sample_codes(2000) {
            let symbols = code.symbols();
            for pos in 0..CODE_SYMBOLS - 1 {
                if symbols[pos] == symbols[pos + 1] {
                    continue;
                }
                let mut typo = symbols.clone();
                typo.swap(pos, pos + 1);
                let text: String = typo.iter().collect();
                let err = ActivationCode::parse(&text).err();
                let moved_check_symbol = "*~$=U".contains(typo[pos]);
                let want = if moved_check_symbol {
                    "CODE_MALFORMED"
                } else {
                    "CODE_CHECK_MISMATCH"
                };
                assert_eq!(err.map(|e| e.code()), Some(want), "{code} -> {text}");
                checked += 1;
            }
        }
        assert!(checked > 2000 * 18);
    }
}

//! Crockford base32 symbols and the mod-37 check symbol, shared by activation
//! codes and hardware fingerprints.
//!
//! Data alphabet: `0123456789ABCDEFGHJKMNPQRSTVWXYZ` (no I, L, O, U).
//! Check alphabet: the data alphabet followed by `*~$=U` (values 32..=36).
//!
//! The check symbol is the value of the data, read as one big base-32
//! number, modulo 37. Because 37 is prime and larger than 32:
//! - a single substituted symbol changes the value by `(a - b)·32^k` with
//!   `0 < |a - b| < 37`, which is never a multiple of 37, so it is detected;
//! - swapping two adjacent different symbols changes it by `(a - b)·31·32^k`,
//!   again never a multiple of 37, so it is detected;
//! - the same two arguments hold for the check symbol itself, and for a swap
//!   of the last data symbol with the check symbol (`2c - d ≡ d` only when
//!   `c = d`).

/// The 32 data symbols, in value order.
#[cfg(test)]
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The 37 check symbols, in value order.
pub(crate) const CHECK_ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";

/// Value of one symbol after normalisation (case folded, `I`/`L` read as `1`,
/// `O` read as `0`). Values 32..=36 are check-only symbols. `None` for any
/// other character.
pub(crate) fn symbol_value(c: char) -> Option<u8> {
    let upper = c.to_ascii_uppercase();
    let normalised = match upper {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    };
    if !normalised.is_ascii() {
        return None;
    }
    let byte = normalised as u8;
    CHECK_ALPHABET
        .iter()
        .position(|&s| s == byte)
        .and_then(|p| u8::try_from(p).ok())
}

/// Characters a user may type between symbols: white space and dashes
/// (ASCII hyphen and the Unicode dashes that copy/paste produces).
pub(crate) fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// The check value (0..=36) of a sequence of data values (each 0..=31).
pub(crate) fn check_value(values: &[u8]) -> u8 {
    let mut rem: u32 = 0;
    for &v in values {
        rem = (rem * 32 + u32::from(v)) % 37;
    }
    // rem < 37 always fits.
    rem as u8
}

/// The symbol for a data value (0..=31) or check value (0..=36).
pub(crate) fn symbol(value: u8) -> char {
    char::from(CHECK_ALPHABET[usize::from(value) % CHECK_ALPHABET.len()])
}

/// The `count` 5-bit values of `bits`, most significant first.
pub(crate) fn to_values(bits: u128, count: usize) -> Vec<u8> {
    (0..count)
        .rev()
        .map(|i| ((bits >> (5 * i)) & 0x1f) as u8)
        .collect()
}

/// The number whose 5-bit digits are `values` (each 0..=31, at most 25).
pub(crate) fn from_values(values: &[u8]) -> u128 {
    values
        .iter()
        .fold(0u128, |acc, &v| (acc << 5) | u128::from(v & 0x1f))
}

/// Joins symbols in groups: `sizes` gives the length of the leading groups;
/// symbols beyond them are grouped by `tail`.
pub(crate) fn group(symbols: &[char], sizes: &[usize], tail: usize) -> String {
    let mut out = String::with_capacity(symbols.len() + symbols.len() / 4 + 1);
    let mut rest = symbols;
    let mut sizes = sizes.iter().copied().chain(std::iter::repeat(tail.max(1)));
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(4).min(rest.len());
        if !out.is_empty() {
            out.push('-');
        }
        out.extend(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

/// Why a symbol string could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SymbolsError {
    /// A character that is neither a symbol nor a separator (1-based position
    /// among the characters of the input).
    BadCharacter {
        ch: char,
        position: usize,
    },
    /// A check-only symbol (`*~$=U`) outside the last position.
    CheckSymbolMisplaced {
        ch: char,
        position: usize,
    },
    WrongLength {
        found: usize,
    },
    CheckMismatch,
}

/// Reads `data_len` data symbols followed by one check symbol, skipping
/// separators, and verifies the check symbol. Returns the data values.
pub(crate) fn read_checked(input: &str, data_len: usize) -> Result<Vec<u8>, SymbolsError> {
    let mut values = Vec::with_capacity(data_len + 1);
    for (i, ch) in input.chars().enumerate() {
        if is_separator(ch) {
            continue;
        }
        match symbol_value(ch) {
            Some(v) => values.push((v, ch, i + 1)),
            None => {
                return Err(SymbolsError::BadCharacter {
                    ch,
                    position: i + 1,
                });
            }
        }
    }
    if values.len() != data_len + 1 {
        return Err(SymbolsError::WrongLength {
            found: values.len(),
        });
    }
    if let Some(&(_, ch, position)) = values[..data_len].iter().find(|(v, _, _)| *v >= 32) {
        return Err(SymbolsError::CheckSymbolMisplaced { ch, position });
    }
    let data: Vec<u8> = values[..data_len].iter().map(|(v, _, _)| *v).collect();
    if check_value(&data) != values[data_len].0 {
        return Err(SymbolsError::CheckMismatch);
    }
    Ok(data)
}

/// Normalises what a user typed so far (upper case, `I`/`L`→`1`, `O`→`0`,
/// separators and control characters dropped); other characters that are
/// not symbols are kept, upper cased, so the user sees them and can correct
/// them.
pub(crate) fn normalise_partial(input: &str) -> Vec<char> {
    input
        .chars()
        .filter(|&c| !is_separator(c) && !c.is_control())
        .map(|c| match symbol_value(c) {
            Some(v) => symbol(v),
            None => c.to_ascii_uppercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_values_follow_crockford() {
        for (i, &s) in CHECK_ALPHABET.iter().enumerate() {
            assert_eq!(symbol_value(char::from(s)), Some(i as u8));
            assert_eq!(symbol(i as u8), char::from(s));
        }
        assert_eq!(symbol_value('i'), Some(1));
        assert_eq!(symbol_value('L'), Some(1));
        assert_eq!(symbol_value('o'), Some(0));
        assert_eq!(symbol_value('u'), Some(36));
        assert_eq!(symbol_value('#'), None);
        assert_eq!(symbol_value('é'), None);
    }

    #[test]
    fn check_value_is_number_mod_37() {
        // 1234 in base 32 is "16J"; 1234 mod 37 = 13 -> 'D'.
        assert_eq!(check_value(&[1, 6, 18]), (1234 % 37) as u8);
        assert_eq!(from_values(&to_values(1234, 3)), 1234);
    }

    #[test]
    fn grouping() {
        let s: Vec<char> = "ABCDEFGHJ".chars().collect();
        assert_eq!(group(&s, &[4, 4], 5), "ABCD-EFGH-J");
        assert_eq!(group(&s[..4], &[4, 4], 5), "ABCD");
        assert_eq!(group(&[], &[4], 4), "");
    }
}

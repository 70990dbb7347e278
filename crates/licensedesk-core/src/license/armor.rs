//! The strict armour layout of license files (see the parent module doc).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::LicenseError;

pub(super) const BEGIN: &[u8] = b"-----BEGIN LICENSEDESK LICENSE-----";
pub(super) const END: &[u8] = b"-----END LICENSEDESK LICENSE-----";
pub(super) const LINE_LEN: usize = 64;

fn armor_error(detail: &str) -> LicenseError {
    LicenseError::Armor {
        detail: detail.to_owned(),
    }
}

/// Armours `body`: base64, 64 characters a line, LF line breaks.
pub(super) fn encode(body: &[u8]) -> String {
    let b64 = STANDARD.encode(body);
    let mut out = String::with_capacity(b64.len() + b64.len() / LINE_LEN + 80);
    out.push_str("-----BEGIN LICENSEDESK LICENSE-----\n");
    for line in b64.as_bytes().chunks(LINE_LEN) {
        // base64 output is ASCII.
        out.extend(line.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out.push_str("-----END LICENSEDESK LICENSE-----\n");
    out
}

/// Checks the layout and returns the decoded body.
pub(super) fn decode(text: &[u8]) -> Result<Vec<u8>, LicenseError> {
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    // A final line break leaves an empty last piece.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let count = lines.len();
    for (i, line) in lines.iter_mut().enumerate() {
        // CR is allowed only right before LF.
        let ended_by_lf = i + 1 < count || text.last() == Some(&b'\n');
        if ended_by_lf && let [rest @ .., b'\r'] = line {
            *line = rest;
        }
    }
    let (first, rest) = lines
        .split_first()
        .ok_or_else(|| armor_error("the file is empty"))?;
    if *first != BEGIN {
        return Err(armor_error(
            "the first line must be -----BEGIN LICENSEDESK LICENSE-----",
        ));
    }
    let (last, body) = rest
        .split_last()
        .ok_or_else(|| armor_error("the END line is missing"))?;
    if *last != END {
        return Err(armor_error(
            "the last line must be -----END LICENSEDESK LICENSE-----",
        ));
    }
    let (final_line, full_lines) = body
        .split_last()
        .ok_or_else(|| armor_error("there is no license text between BEGIN and END"))?;
    if full_lines.iter().any(|l| l.len() != LINE_LEN)
        || final_line.is_empty()
        || final_line.len() > LINE_LEN
    {
        return Err(armor_error(
            "the license text lines must be 64 characters long (the last one at most 64)",
        ));
    }
    let mut b64 = Vec::with_capacity(body.len() * LINE_LEN);
    for line in body {
        b64.extend_from_slice(line);
    }
    STANDARD.decode(&b64).map_err(|_| LicenseError::Base64)
}

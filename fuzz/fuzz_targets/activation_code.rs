//! Activation code parsing never panics; whatever parses round-trips through
//! its canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licensedesk_core::activation_code::{ActivationCode, MAX_INPUT_LEN, format_partial};

fuzz_target!(|data: &[u8]| {
    if let Ok(code) = ActivationCode::parse_bytes(data) {
        assert_eq!(ActivationCode::parse(&code.to_string()), Ok(code));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let grouped = format_partial(text);
        // Input beyond the size cap is cut off, so idempotence holds below it.
        if grouped.len() <= MAX_INPUT_LEN {
            assert_eq!(format_partial(&grouped), grouped);
        }
        if let Ok(code) = ActivationCode::parse(text) {
            assert_eq!(ActivationCode::parse(&grouped), Ok(code));
        }
    }
});

//! Offline request parsing never panics; whatever parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licensedesk_core::offline::parse_request;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = parse_request(data) {
        assert_eq!(parse_request(request.to_json().as_bytes()), Ok(request));
    }
});

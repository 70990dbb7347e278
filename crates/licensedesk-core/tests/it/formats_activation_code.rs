use licensedesk_core::Coded;
use licensedesk_core::activation_code::{ActivationCode, format_partial};
use proptest::prelude::*;

proptest! {
    #[test]
    fn prop_encode_parse_round_trip(entropy in any::<[u8; 16]>()) {
        let code = ActivationCode::from_entropy(entropy);
        let text = code.to_string();
        prop_assert_eq!(text.len(), 25);
        prop_assert_eq!(ActivationCode::parse(&text), Ok(code));
        prop_assert_eq!(ActivationCode::parse(&text.to_lowercase().replace('-', " ")), Ok(code));
        prop_assert_eq!(format_partial(&text.replace('-', "")), text);
    }

    #[test]
    fn prop_distinct_entropy_distinct_codes(a in any::<[u8; 16]>(), b in any::<[u8; 16]>()) {
        let (ca, cb) = (ActivationCode::from_entropy(a), ActivationCode::from_entropy(b));
        // Only the first 100 bits count.
        let bits = |e: [u8; 16]| u128::from_be_bytes(e) >> 28;
        prop_assert_eq!(ca == cb, bits(a) == bits(b));
        prop_assert_eq!(ca.to_string() == cb.to_string(), ca == cb);
    }

    #[test]
    fn prop_parse_never_panics(s in "\\PC{0,300}") {
        if let Err(e) = ActivationCode::parse(&s) {
            prop_assert!(e.code().starts_with("CODE_"));
        }
        let _ = format_partial(&s);
    }

    #[test]
    fn prop_parse_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = ActivationCode::parse_bytes(&bytes);
    }

    #[test]
    fn prop_partial_grouping_is_idempotent(s in "[0-9a-zA-Z -]{0,40}") {
        let once = format_partial(&s);
        prop_assert_eq!(format_partial(&once), once.clone());
        prop_assert!(once.split('-').all(|g| (1..=5).contains(&g.len()) || once.is_empty()));
    }
}

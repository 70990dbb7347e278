//! Offline activation request/response files.

use licensedesk_core::Coded;
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::fingerprint::fingerprint;
use licensedesk_core::keys::{self, LICENSE_CONTEXT, SigningKeyWithKid};
use licensedesk_core::license::{LicensePayload, check_for_install, sign_license};
use licensedesk_core::offline::{
    Credential, MAX_GATEWAYS, MAX_REQUEST_LEN, OfflineRequest, RequestEntry, ResponseItem,
    ResponseOutcome, ResponsePayload, VerifiedOutcome, match_response, parse_request,
    sign_response, verify_response,
};
use proptest::prelude::*;

use crate::support::*;

fn gateway_fp(i: u8) -> String {
    fingerprint(format!("machine-{i:03}").as_bytes(), "licensedesk")
}

fn entry(i: u8) -> RequestEntry {
    let credential = if i.is_multiple_of(2) {
        Credential::Code(ActivationCode::from_entropy([i; 16]))
    } else if i.is_multiple_of(3) {
        Credential::Product("edge-gateway-pro".into())
    } else {
        Credential::Order(format!("SO-2026-{i:05}"))
    };
    RequestEntry::new(
        &gateway_fp(i),
        credential,
        [i; 16],
        at(2026, 4, 2, 9),
        Some(format!("pump station {i}")),
    )
    .expect("valid entry")
}

fn request(n: u8) -> OfflineRequest {
    OfflineRequest::new((1..=n).map(entry).collect()).expect("valid request")
}

fn license_for(fp: &str, k: &SigningKeyWithKid) -> String {
    sign_license(
        &LicensePayload {
            hardware: Some(fp.to_owned()),
            ..payload()
        },
        k,
    )
}

fn answer(req: &OfflineRequest, k: &SigningKeyWithKid) -> ResponsePayload {
    ResponsePayload {
        issued_at: at(2026, 4, 3, 8),
        items: req
            .gateways()
            .iter()
            .map(|e| ResponseItem {
                nonce: e.nonce.clone(),
                fingerprint: e.fingerprint.clone(),
                outcome: ResponseOutcome::License(license_for(&e.fingerprint, k)),
            })
            .collect(),
    }
}

fn err_code<T>(r: Result<T, impl Coded>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

#[test]
fn request_round_trip() {
    let req = request(3);
    let text = req.to_json();
    assert_eq!(parse_request(text.as_bytes()), Ok(req.clone()));
    assert!(text.contains("\"nonce\": \"01010101010101010101010101010101\""));
    assert!(text.contains("\"order\": \"SO-2026-00001\""));
    assert!(text.contains("\"product\": \"edge-gateway-pro\""));
}

#[test]
fn request_errors_table() {
    let good = serde_json::json!({"v": 1, "gateways": [{
        "fingerprint": gateway_fp(1), "code": ActivationCode::from_entropy([1; 16]).to_string(),
        "nonce": "0123456789abcdef0123456789abcdef", "created_at": "2026-04-02T09:00:00Z"}]});
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        serde_json::to_vec(&v).expect("json")
    };
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("good", with(&|_| {}), None),
        (
            "typed fingerprint",
            with(&|v| v["gateways"][0]["fingerprint"] = gateway_fp(1).to_lowercase().into()),
            None,
        ),
        (
            "too large",
            vec![b' '; MAX_REQUEST_LEN + 1],
            Some("OFFLINE_REQUEST_TOO_LARGE"),
        ),
        (
            "not json",
            b"hello".to_vec(),
            Some("OFFLINE_REQUEST_MALFORMED"),
        ),
        (
            "v2",
            br#"{"v":2,"stuff":[]}"#.to_vec(),
            Some("OFFLINE_VERSION_UNSUPPORTED"),
        ),
        (
            "no gateways",
            with(&|v| v["gateways"] = serde_json::json!([])),
            Some("OFFLINE_REQUEST_EMPTY"),
        ),
        (
            "bad fingerprint",
            with(&|v| v["gateways"][0]["fingerprint"] = "ABCD".into()),
            Some("OFFLINE_FINGERPRINT_INVALID"),
        ),
        (
            "code typo",
            with(&|v| v["gateways"][0]["code"] = "0000-0000-0000-0000-00001".into()),
            Some("OFFLINE_CODE_INVALID"),
        ),
        (
            "code and order",
            with(&|v| v["gateways"][0]["order"] = "SO-1".into()),
            Some("OFFLINE_CREDENTIAL_INVALID"),
        ),
        (
            "a product",
            with(&|v| {
                let e = v["gateways"][0].as_object_mut().expect("entry");
                e.remove("code");
                e.insert("product".into(), "edge-gateway-pro".into());
            }),
            None,
        ),
        (
            "code and product",
            with(&|v| v["gateways"][0]["product"] = "edge-gateway-pro".into()),
            Some("OFFLINE_CREDENTIAL_INVALID"),
        ),
        (
            "product with a space",
            with(&|v| {
                let e = v["gateways"][0].as_object_mut().expect("entry");
                e.remove("code");
                e.insert("product".into(), "edge pro".into());
            }),
            Some("OFFLINE_CREDENTIAL_INVALID"),
        ),
        (
            "no credential",
            with(&|v| {
                v["gateways"][0].as_object_mut().map(|o| o.remove("code"));
            }),
            Some("OFFLINE_CREDENTIAL_INVALID"),
        ),
        (
            "bad nonce",
            with(&|v| v["gateways"][0]["nonce"] = "XYZ".into()),
            Some("OFFLINE_NONCE_INVALID"),
        ),
        (
            "bad name",
            with(&|v| v["gateways"][0]["name"] = "a\u{7}b".into()),
            Some("OFFLINE_NAME_INVALID"),
        ),
        (
            "dup nonce",
            with(&|v| {
                let e = v["gateways"][0].clone();
                let mut e2 = e.clone();
                e2["fingerprint"] = gateway_fp(2).into();
                v["gateways"] = serde_json::json!([e, e2]);
            }),
            Some("OFFLINE_NONCE_DUPLICATE"),
        ),
        (
            "dup gateway",
            with(&|v| {
                let e = v["gateways"][0].clone();
                let mut e2 = e.clone();
                e2["nonce"] = "ffffffffffffffffffffffffffffffff".into();
                v["gateways"] = serde_json::json!([e, e2]);
            }),
            Some("OFFLINE_GATEWAY_DUPLICATE"),
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(err_code(parse_request(&bytes)), want, "{name}");
    }
    let many: Vec<RequestEntry> = (0..=MAX_GATEWAYS)
        .map(|i| RequestEntry {
            nonce: format!("{i:032x}"),
            ..entry(1)
        })
        .collect();
    assert_eq!(
        err_code(OfflineRequest::new(many)),
        Some("OFFLINE_REQUEST_TOO_MANY")
    );
    let bad_order = RequestEntry::new(
        &gateway_fp(1),
        Credential::Order(String::new()),
        [0; 16],
        at(2026, 1, 1, 0),
        None,
    );
    assert_eq!(err_code(bad_order), Some("OFFLINE_CREDENTIAL_INVALID"));
    let lower = RequestEntry {
        fingerprint: gateway_fp(1).to_lowercase(),
        ..entry(1)
    };
    assert_eq!(
        err_code(OfflineRequest::new(vec![lower])),
        Some("OFFLINE_FINGERPRINT_INVALID")
    );
    let bad_nonce = RequestEntry {
        nonce: "x".into(),
        ..entry(1)
    };
    assert_eq!(
        err_code(OfflineRequest::new(vec![bad_nonce])),
        Some("OFFLINE_NONCE_INVALID")
    );
}

#[test]
fn response_round_trip_and_matching() {
    let k = key("k2026", 1);
    let keys = keyset(&[&k]);
    let req = request(4);
    let mut resp = answer(&req, &k);
    resp.items.reverse();
    resp.items[0].outcome = ResponseOutcome::Refused {
        code: "CODE_EXHAUSTED".into(),
        message: "no license left".into(),
    };
    let text = sign_response(&resp, &k);
    let verified = verify_response(text.as_bytes(), &keys).expect("valid response");
    assert_eq!(verified.kid(), "k2026");
    assert_eq!(verified.issued_at(), at(2026, 4, 3, 8));
    let matched = match_response(&req, &verified).expect("matches");
    assert_eq!(matched.len(), 4);
    for (m, e) in matched.iter().zip(req.gateways()) {
        assert_eq!(&m.entry, e);
        match &m.outcome {
            VerifiedOutcome::Issued { license, .. } => {
                assert_eq!(
                    check_for_install(license, &e.fingerprint, at(2026, 4, 3, 9)),
                    Ok(())
                );
            }
            VerifiedOutcome::Refused { code, .. } => assert_eq!(code, "CODE_EXHAUSTED"),
        }
    }
    assert!(matches!(
        matched[3].outcome,
        VerifiedOutcome::Refused { .. }
    ));
}

#[test]
fn matching_errors() {
    let k = key("k2026", 1);
    let keys = keyset(&[&k]);
    let req = request(3);
    let verify = |resp: &ResponsePayload| {
        verify_response(sign_response(resp, &k).as_bytes(), &keys).expect("valid")
    };
    let mut missing = answer(&req, &k);
    missing.items.pop();
    let mut unknown = answer(&req, &k);
    unknown.items[0].nonce = "ffffffffffffffffffffffffffffffff".into();
    let mut swapped = answer(&req, &k);
    let (a, b) = (
        swapped.items[0].nonce.clone(),
        swapped.items[1].nonce.clone(),
    );
    swapped.items[0].nonce = b;
    swapped.items[1].nonce = a;
    let cases = [
        ("missing", missing, Some("OFFLINE_NONCE_MISSING")),
        ("unknown", unknown, Some("OFFLINE_NONCE_UNKNOWN")),
        ("swapped", swapped, Some("OFFLINE_FINGERPRINT_MISMATCH")),
        ("exact", answer(&req, &k), None),
    ];
    for (name, resp, want) in cases {
        assert_eq!(
            err_code(match_response(&req, &verify(&resp))),
            want,
            "{name}"
        );
    }
}

#[test]
fn response_errors_table() {
    let k = key("k2026", 1);
    let keys = keyset(&[&k]);
    let req = request(2);
    let signed =
        |resp: &ResponsePayload, k: &SigningKeyWithKid| sign_response(resp, k).into_bytes();
    let mut wrong_binding = answer(&req, &k);
    wrong_binding.items[0].outcome = ResponseOutcome::License(license_for(&gateway_fp(9), &k));
    let mut forged_license = answer(&req, &k);
    forged_license.items[0].outcome =
        ResponseOutcome::License(license_for(&gateway_fp(1), &key("k2026", 7)));
    let mut dup = answer(&req, &k);
    dup.items[1].nonce = dup.items[0].nonce.clone();
    let mut bad_refusal = answer(&req, &k);
    bad_refusal.items[0].outcome = ResponseOutcome::Refused {
        code: "lower case".into(),
        message: String::new(),
    };
    let good_text = sign_response(&answer(&req, &k), &k);
    let mut tampered: serde_json::Value = serde_json::from_str(&good_text).expect("json");
    tampered["payload"] = keys::sign(keys::OFFLINE_RESPONSE_CONTEXT, &k, b"{}")
        .payload
        .into();
    let license_ctx = serde_json::to_vec(&keys::sign(LICENSE_CONTEXT, &k, b"{}")).expect("json");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "too large",
            vec![b' '; licensedesk_core::offline::MAX_RESPONSE_LEN + 1],
            "OFFLINE_RESPONSE_TOO_LARGE",
        ),
        ("not json", b"nope".to_vec(), "OFFLINE_RESPONSE_MALFORMED"),
        (
            "other key",
            signed(&answer(&req, &k), &key("k2026", 2)),
            "OFFLINE_RESPONSE_SIGNATURE_INVALID",
        ),
        (
            "unknown kid",
            signed(&answer(&req, &k), &key("k-old", 1)),
            "OFFLINE_RESPONSE_KID_UNKNOWN",
        ),
        (
            "payload swapped",
            serde_json::to_vec(&tampered).expect("json"),
            "OFFLINE_RESPONSE_SIGNATURE_INVALID",
        ),
        (
            "license context",
            license_ctx,
            "OFFLINE_RESPONSE_SIGNATURE_INVALID",
        ),
        (
            "license bound elsewhere",
            signed(&wrong_binding, &k),
            "OFFLINE_RESPONSE_LICENSE_MISMATCH",
        ),
        (
            "forged license",
            signed(&forged_license, &k),
            "OFFLINE_RESPONSE_LICENSE_INVALID",
        ),
        (
            "duplicate nonce",
            signed(&dup, &k),
            "OFFLINE_NONCE_DUPLICATE",
        ),
        (
            "bad refusal",
            signed(&bad_refusal, &k),
            "OFFLINE_RESPONSE_MALFORMED",
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(
            err_code(verify_response(&bytes, &keys)),
            Some(want),
            "{name}"
        );
    }
}

proptest! {
    #[test]
    fn prop_parse_request_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = parse_request(&bytes);
    }

    #[test]
    fn prop_verify_response_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let keys = keyset(&[&key("k2026", 1)]);
        prop_assert!(verify_response(&bytes, &keys).is_err());
    }

    #[test]
    fn prop_request_round_trip(n in 1u8..20, seed in any::<u8>()) {
        let entries: Vec<RequestEntry> = (1..=n)
            .map(|i| RequestEntry { nonce: format!("{:032x}", u128::from(i) << 8 | u128::from(seed)), ..entry(i) })
            .collect();
        let req = OfflineRequest::new(entries).expect("valid");
        prop_assert_eq!(parse_request(req.to_json().as_bytes()), Ok(req));
    }
}

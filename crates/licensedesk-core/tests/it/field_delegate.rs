//! Delegate certificates and delegated licenses: round trip, every byte,
//! and one stable code per broken link of the chain.

use chrono::Duration;
use licensedesk_core::Coded;
use licensedesk_core::delegate::{DelegateCert, DelegateScope, delegated_payload, sign_cert};
use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::keys::{Envelope, KeySet, SigningKeyWithKid};
use licensedesk_core::license::{
    LicensePayload, check_for_install, sign_delegated_license, sign_license, verify_license,
};

use crate::support::*;

pub struct Kit {
    pub root: SigningKeyWithKid,
    pub roots: KeySet,
    pub delegate: SigningKeyWithKid,
    pub cert: DelegateCert,
    pub cert_env: Envelope,
}

pub fn cert_for(delegate: &SigningKeyWithKid, max_licenses: u32) -> DelegateCert {
    let p = payload();
    DelegateCert {
        v: 1,
        allotment_id: "alt-0001".into(),
        delegate_kid: delegate.kid().into(),
        delegate_public_key: DelegateCert::public_key_of(delegate),
        scope: DelegateScope {
            kind: LicenseKind::Activation,
            customer: p.customer,
            order: p.order,
            product: p.product,
            plugins: p.plugins,
            max_connections: p.max_connections,
            max_tags: p.max_tags,
            max_license_days: 365,
        },
        max_licenses,
        not_before: at(2026, 3, 30, 0),
        not_after: at(2026, 4, 30, 0),
    }
}

pub fn kit() -> Kit {
    let root = key("k2026", 1);
    let roots = keyset(&[&root]);
    let delegate = key("field-laptop-1", 7);
    let cert = cert_for(&delegate, 5);
    let cert_env = sign_cert(&cert, &root);
    Kit {
        root,
        roots,
        delegate,
        cert,
        cert_env,
    }
}

impl Kit {
    pub fn license(&self, p: &LicensePayload) -> String {
        sign_delegated_license(p, &self.cert_env, &self.delegate)
    }
    pub fn good_payload(&self) -> LicensePayload {
        delegated_payload(&self.cert, "lic-f-1", &this_machine(), at(2026, 3, 31, 10))
    }
}

fn code(text: &str, keys: &KeySet) -> Result<(), &'static str> {
    verify_license(text.as_bytes(), keys)
        .map(|_| ())
        .map_err(|e| e.code())
}

#[test]
fn delegated_license_verifies_with_only_the_server_keys() {
    let k = kit();
    let text = k.license(&k.good_payload());
    let v = verify_license(text.as_bytes(), &k.roots).expect("valid delegated license");
    assert_eq!(v.delegate(), Some(&k.cert));
    assert_eq!(v.kid(), "field-laptop-1");
    assert_eq!(
        check_for_install(&v, &this_machine(), at(2026, 6, 1, 0)),
        Ok(())
    );
    assert_eq!(
        check_for_install(&v, &other_machine(), at(2026, 6, 1, 0)).map_err(|e| e.code()),
        Err("LICENSE_HARDWARE_MISMATCH")
    );
    // A server-signed license is unchanged: no certificate.
    let plain = verify_license(sign_license(&payload(), &k.root).as_bytes(), &k.roots);
    assert_eq!(plain.expect("plain").delegate(), None);
}

#[test]
fn every_single_byte_change_of_a_delegated_license_is_rejected() {
    let k = kit();
    let text = k.license(&k.good_payload()).into_bytes();
    let mut tried = 0usize;
    for pos in 0..text.len() {
        let original = text[pos];
        let mut replacements: Vec<u8> = (0..8).map(|bit| original ^ (1 << bit)).collect();
        replacements.extend_from_slice(b"\n\r =Aa+/-0");
        replacements.sort_unstable();
        replacements.dedup();
        for r in replacements.into_iter().filter(|&r| r != original) {
            let mut mutated = text.clone();
            mutated[pos] = r;
            assert!(
                verify_license(&mutated, &k.roots).is_err(),
                "byte {pos} {original:#04x}->{r:#04x} accepted"
            );
            tried += 1;
        }
    }
    assert!(tried >= text.len() * 8, "{tried}");
}

#[test]
fn each_broken_link_has_its_own_code() {
    let k = kit();
    let good = k.good_payload();
    let with = |f: &dyn Fn(&mut LicensePayload)| {
        let mut p = good.clone();
        f(&mut p);
        k.license(&p)
    };
    let impostor_root = key("k2026", 2);
    let forged_cert = sign_cert(&k.cert, &impostor_root);
    let other_delegate_same_kid = key("field-laptop-1", 8);
    let other_kid = key("field-laptop-2", 7);
    let mut wider = k.cert.clone();
    wider.scope.plugins.push("bacnet".into());
    let wider_env = sign_cert(&wider, &k.root);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not signed by the server",
            sign_delegated_license(&good, &forged_cert, &k.delegate),
            "DELEGATE_CERT_SIGNATURE_INVALID",
        ),
        (
            "issued after not_after",
            with(&|p| {
                p.issued_at = at(2026, 5, 1, 0);
                p.expire_at = at(2026, 6, 1, 0)
            }),
            "DELEGATE_CERT_EXPIRED",
        ),
        (
            "issued before not_before",
            with(&|p| p.issued_at = at(2026, 3, 1, 0)),
            "DELEGATE_CERT_EXPIRED",
        ),
        (
            "extra plugin",
            with(&|p| p.plugins.push("bacnet".into())),
            "DELEGATE_SCOPE_EXCEEDED",
        ),
        (
            "more connections",
            with(&|p| p.max_connections += 1),
            "DELEGATE_SCOPE_EXCEEDED",
        ),
        (
            "more tags",
            with(&|p| p.max_tags += 1),
            "DELEGATE_SCOPE_EXCEEDED",
        ),
        (
            "other kind",
            with(&|p| p.kind = LicenseKind::File),
            "DELEGATE_SCOPE_EXCEEDED",
        ),
        (
            "other order",
            with(&|p| p.order = Some("SO-9".into())),
            "DELEGATE_SCOPE_EXCEEDED",
        ),
        (
            "too long",
            with(&|p| p.expire_at = p.issued_at + Duration::days(366)),
            "DELEGATE_SCOPE_EXCEEDED",
        ),
        (
            "unbound",
            with(&|p| p.hardware = None),
            "DELEGATE_LICENSE_UNBOUND",
        ),
        (
            "other key, same kid",
            sign_delegated_license(&good, &k.cert_env, &other_delegate_same_kid),
            "DELEGATE_LICENSE_SIGNATURE_INVALID",
        ),
        (
            "other kid",
            sign_delegated_license(&good, &k.cert_env, &other_kid),
            "DELEGATE_KID_MISMATCH",
        ),
        (
            "re-wrapped in another certificate",
            rewrap(&k.license(&good), &wider_env),
            "DELEGATE_LICENSE_SIGNATURE_INVALID",
        ),
    ];
    for (what, text, want) in cases {
        assert_eq!(code(&text, &k.roots), Err(want), "{what}");
    }
}

/// Replaces the certificate carried by a delegated license.
fn rewrap(text: &str, cert: &Envelope) -> String {
    use base64::Engine as _;
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let body = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("b64");
    let body = String::from_utf8(body).expect("utf-8");
    let at = body.find(",\"cert\":").expect("a cert field");
    armor(format!("{},\"cert\":{}}}", &body[..at], cert.to_json()).as_bytes())
}

/// A kit whose certificate is for a product's orders (no order).
fn product_kit() -> Kit {
    let mut k = kit();
    k.cert.scope.order = None;
    k.cert.scope.product = Some("edge-gateway-pro".into());
    k.cert_env = sign_cert(&k.cert, &k.root);
    k
}

#[test]
fn a_license_out_of_a_product_scope_is_refused_with_its_code() {
    let k = product_kit();
    let good = k.good_payload();
    assert_eq!(
        (good.order.as_deref(), good.product.as_deref()),
        (None, Some("edge-gateway-pro"))
    );
    let v = verify_license(k.license(&good).as_bytes(), &k.roots).expect("in scope");
    assert_eq!(
        check_for_install(&v, &this_machine(), at(2026, 6, 1, 0)),
        Ok(())
    );
    let with = |f: &dyn Fn(&mut LicensePayload)| {
        let mut p = good.clone();
        f(&mut p);
        k.license(&p)
    };
    let cases: [(&str, String, &str); 4] = [
        (
            "another product",
            with(&|p| p.product = Some("edge-gateway-lite".into())),
            "product 'edge-gateway-lite' is outside the scope (product 'edge-gateway-pro')",
        ),
        (
            "no product",
            with(&|p| p.product = None),
            "no order or product is outside the scope (product 'edge-gateway-pro')",
        ),
        (
            "an order of the product",
            with(&|p| p.order = Some("SO-2026-04417".into())),
            "order 'SO-2026-04417' (product 'edge-gateway-pro') is outside the scope",
        ),
        (
            "another customer",
            with(&|p| p.customer = "Someone Else".into()),
            "customer 'Someone Else' is not the scope's",
        ),
    ];
    for (what, text, message) in cases {
        let err = verify_license(text.as_bytes(), &k.roots).expect_err(what);
        assert_eq!(err.code(), "DELEGATE_SCOPE_EXCEEDED", "{what}");
        assert!(err.to_string().contains(message), "{what}: {err}");
    }
    // An order scope refuses a license of its product that names no order.
    let order_kit = kit();
    let mut p = order_kit.good_payload();
    p.order = None;
    let err = verify_license(order_kit.license(&p).as_bytes(), &order_kit.roots)
        .expect_err("order scope");
    assert_eq!(err.code(), "DELEGATE_SCOPE_EXCEEDED");
    assert!(
        err.to_string()
            .contains("outside the scope (order 'SO-2026-04417')"),
        "{err}"
    );
}

#[test]
fn a_certificate_naming_neither_an_order_nor_a_product_is_invalid() {
    let mut k = product_kit();
    k.cert.scope.product = None;
    assert_eq!(
        k.cert.validate().map_err(|e| e.code()),
        Err("DELEGATE_CERT_INVALID")
    );
    let env = sign_cert(&k.cert, &k.root);
    let text = sign_delegated_license(&k.good_payload(), &env, &k.delegate);
    assert_eq!(code(&text, &k.roots), Err("DELEGATE_CERT_INVALID"));
}

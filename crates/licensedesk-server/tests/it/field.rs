//! Offline field activation: checkout, reconcile exactly once, refusals
//! with their codes, conflicts, return and expiry, audit and change feed.

use chrono::{DateTime, Duration, Utc};
use licensedesk_core::delegate::{DelegateCert, delegated_payload, sign_cert};
use licensedesk_core::keys::{Envelope, SigningKeyWithKid};
use licensedesk_core::ledger::{
    ExportEntry, LedgerRecord, NewRecord, append, decide_issuance, export,
};
use licensedesk_core::license::{LicensePayload, sign_delegated_license};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN, TestServer, fingerprint};

/// A field kit's state in a test: its key, certificate and ledger.
pub(crate) struct Kit {
    pub(crate) key: SigningKeyWithKid,
    pub(crate) cert_env: Envelope,
    pub(crate) cert: DelegateCert,
    pub(crate) id: String,
    pub(crate) entries: Vec<ExportEntry>,
}

impl Kit {
    pub(crate) fn records(&self) -> Vec<LedgerRecord> {
        self.entries.iter().map(|e| e.record.clone()).collect()
    }

    /// Issues a license for gateway `n` at `now` (the core's slot rule).
    pub(crate) fn issue(&mut self, n: u32, now: DateTime<Utc>) {
        let fp = fingerprint(n);
        let slot = decide_issuance(&self.records(), &self.cert, &fp, now, None)
            .expect("issuable")
            .slot;
        let p = delegated_payload(&self.cert, &format!("lic-{}-{n}", self.id), &fp, now);
        self.push(&p, slot);
    }

    /// Records a license issued from any payload (bypassing the kit's rules).
    pub(crate) fn push(&mut self, p: &LicensePayload, slot: u32) {
        let license = sign_delegated_license(p, &self.cert_env, &self.key);
        let fp = p.hardware.clone().unwrap_or_default();
        let record = append(
            &self.records(),
            NewRecord {
                allotment_id: &self.id,
                slot,
                fingerprint: &fp,
                license_id: &p.license_id,
                license_text: &license,
                issued_at: p.issued_at,
            },
        );
        self.entries.push(ExportEntry { record, license });
    }

    pub(crate) fn export(&self) -> String {
        export(&self.cert_env, &self.entries, &self.key)
    }
}

async fn setup(qty: u32) -> (TestServer, i64, String) {
    let s = TestServer::start().await;
    let (id, token) = s.account("enterprise", "cn-east").await;
    s.post_ok(
        "/v1/admin/gateway-orders",
        ADMIN,
        json!({"account_id": id, "order_no": "ORD-F", "email": "b@example.com",
        "customer": "Buyer Ltd", "quantity": qty, "max_connections": 100, "max_tags": 500,
        "plugins": ["modbus-tcp"], "validity_days": 365}),
    )
    .await;
    (s, id, token)
}

async fn checkout(
    s: &TestServer,
    token: &str,
    count: u32,
    seed: u8,
) -> (StatusCode, Value, SigningKeyWithKid) {
    let key = SigningKeyWithKid::from_seed(&format!("laptop-{seed}"), [seed; 32]).expect("kid");
    let body = json!({"order_no": "ORD-F", "count": count, "days": 7, "delegate_kid": key.kid(),
        "delegate_public_key": DelegateCert::public_key_of(&key)});
    let (st, v) = s.post("/v1/field/allotments", token, body).await;
    (st, v, key)
}

async fn kit(s: &TestServer, token: &str, count: u32, seed: u8) -> Kit {
    let (st, v, key) = checkout(s, token, count, seed).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    kit_of(&v, key, count)
}

/// The kit of a successful checkout answer `v` for `key`.
pub(crate) fn kit_of(v: &Value, key: SigningKeyWithKid, count: u32) -> Kit {
    let text = v["certificate"].as_str().expect("certificate");
    let cert_env: Envelope = serde_json::from_str(text).expect("envelope");
    let payload = licensedesk_core::keys::decode_payload(&cert_env.payload).expect("payload");
    let cert: DelegateCert = serde_json::from_slice(&payload).expect("cert");
    assert_eq!(cert.max_licenses, count);
    Kit {
        key,
        id: cert.allotment_id.clone(),
        cert_env,
        cert,
        entries: Vec::new(),
    }
}

pub(crate) async fn reconcile(
    s: &TestServer,
    token: &str,
    kit: &Kit,
    body: String,
) -> (StatusCode, Value) {
    let resp = s
        .http
        .post(format!(
            "{}/v1/field/allotments/{}/reconcile",
            s.base, kit.id
        ))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    let st = resp.status();
    (st, resp.json().await.unwrap_or(Value::Null))
}

async fn remaining(s: &TestServer) -> u64 {
    let (_, v) = s
        .call(
            "POST",
            "/v1/gateway/orders/lookup",
            None,
            Some(json!({"order_no": "ORD-F", "email": "b@example.com"})),
        )
        .await;
    v["remaining"].as_u64().expect("remaining")
}

#[tokio::test]
async fn check_out_five_reconcile_five_exactly_once() {
    let (s, _, token) = setup(10).await;
    let mut k = kit(&s, &token, 5, 1).await;
    assert_eq!(remaining(&s).await, 5, "5 reserved");
    let now = s.now();
    for n in 1..=5 {
        k.issue(n, now + Duration::minutes(i64::from(n)));
    }
    k.issue(3, now + Duration::minutes(9)); // a re-issue reuses slot 3
    let sixth = decide_issuance(&k.records(), &k.cert, &fingerprint(6), now, None);
    assert_eq!(
        sixth.map_err(|e| licensedesk_core::Coded::code(&e)),
        Err("LEDGER_ALLOTMENT_EXHAUSTED")
    );
    for round in 0..3 {
        let (st, v) = reconcile(&s, &token, &k, k.export()).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["allotment"]["consumed"], 5, "round {round}: {v}");
        assert_eq!(v["newly_consumed"], if round == 0 { 5 } else { 0 });
        assert_eq!(v["new_entries"], if round == 0 { 6 } else { 0 });
        assert_eq!(v["allotment"]["reserved"], 0);
    }
    assert_eq!(remaining(&s).await, 5, "5 activated, none reserved");
    let audit = s.get_ok("/v1/field/audit", &token).await;
    let count = |a: &str| {
        audit["entries"]
            .as_array()
            .expect("audit")
            .iter()
            .filter(|e| e["action"] == a)
            .count()
    };
    assert_eq!(
        (count("checkout"), count("issuance"), count("reconcile")),
        (1, 6, 3)
    );
    let feed = s.get_ok("/v1/changes?limit=1000", &token).await;
    let field = feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["entity"] == "field_allotment")
        .count();
    assert_eq!(field, 2, "checkout + the first reconcile");
    // Another account sees none of it.
    let (_, other) = s.account("enterprise", "cn-east").await;
    assert_eq!(
        s.get(&format!("/v1/field/allotments/{}", k.id), &other)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reconcile(&s, &other, &k, k.export()).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.get_ok("/v1/field/audit", &other).await,
        json!({"entries": [], "next_cursor": null})
    );
}

pub(crate) fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn forged_and_broken_ledgers_are_refused_with_their_code() {
    let (s, _, token) = setup(10).await;
    let k = kit(&s, &token, 5, 2).await;
    let now = s.now();
    let base = |extra: &dyn Fn(&mut Kit)| {
        let mut c = Kit {
            key: k.key.clone(),
            cert_env: k.cert_env.clone(),
            cert: k.cert.clone(),
            id: k.id.clone(),
            entries: vec![],
        };
        for n in 1..=5 {
            c.issue(n, now);
        }
        extra(&mut c);
        c.export()
    };
    let sixth = base(&|c| {
        let p = delegated_payload(&c.cert, "lic-6", &fingerprint(6), now);
        c.push(&p, 6);
    });
    let tampered = base(&|_| {}).replacen(&fingerprint(2), &fingerprint(7), 1);
    let out_of_scope = base(&|c| {
        let mut p = delegated_payload(&c.cert, "lic-x", &fingerprint(1), now);
        p.plugins.push("bacnet".into());
        c.push(&p, 1);
    });
    let expired = base(&|c| {
        let later = c.cert.not_after + Duration::hours(1);
        let p = delegated_payload(&c.cert, "lic-late", &fingerprint(1), later);
        c.push(&p, 1);
    });
    let rogue = SigningKeyWithKid::from_seed("k-rogue", [9; 32]).expect("kid");
    let mut self_signed = Kit {
        cert_env: sign_cert(&k.cert, &rogue),
        entries: vec![],
        ..kit_clone(&k)
    };
    self_signed.issue(1, now);
    let cases = [
        (sixth, "LEDGER_ALLOTMENT_EXHAUSTED"),
        (tampered, "LEDGER_RECORD_ALTERED"),
        (out_of_scope, "DELEGATE_SCOPE_EXCEEDED"),
        (expired, "DELEGATE_CERT_EXPIRED"),
        (self_signed.export(), "DELEGATE_CERT_SIGNATURE_INVALID"),
        ("{".to_owned(), "LEDGER_MALFORMED"),
    ];
    for (body, want) in cases {
        let (st, v) = reconcile(&s, &token, &k, body).await;
        assert!(st.is_client_error(), "{want}: {st} {v}");
        assert_eq!(code(&v), want, "{v}");
    }
    let v = s
        .get_ok(&format!("/v1/field/allotments/{}", k.id), &token)
        .await;
    assert_eq!(
        (v["consumed"].as_u64(), v["reserved"].as_u64()),
        (Some(0), Some(5))
    );
}

pub(crate) fn kit_clone(k: &Kit) -> Kit {
    Kit {
        key: k.key.clone(),
        cert_env: k.cert_env.clone(),
        cert: k.cert.clone(),
        id: k.id.clone(),
        entries: k.entries.clone(),
    }
}

#[tokio::test]
async fn hardware_activated_elsewhere_meanwhile_is_a_conflict() {
    let (s, _, token) = setup(3).await;
    let mut k = kit(&s, &token, 2, 3).await;
    k.issue(1, s.now());
    k.issue(2, s.now());
    let order = s
        .call(
            "POST",
            "/v1/gateway/orders/lookup",
            None,
            Some(json!({"order_no": "ORD-F", "email": "b@example.com"})),
        )
        .await
        .1;
    let code_ = order["activation_code"].as_str().expect("code");
    // The last free license goes online to gateway 1 while the kit is offline.
    let (st, _) = s
        .call(
            "POST",
            "/v1/gateway/activate",
            None,
            Some(json!({"code": code_, "fingerprint": fingerprint(1)})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            "POST",
            "/v1/gateway/activate",
            None,
            Some(json!({"code": code_, "fingerprint": fingerprint(9)})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "the 2 others are reserved");
    for _ in 0..2 {
        let (st, v) = reconcile(&s, &token, &k, k.export()).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["allotment"]["consumed"], 1);
        assert_eq!(
            v["conflicts"][0]["code"], "HARDWARE_ALREADY_ACTIVATED",
            "{v}"
        );
        assert_eq!(v["conflicts"][0]["slot"], 1);
    }
}

#[tokio::test]
async fn return_and_expiry_release_unused_reservations() {
    let (s, _, token) = setup(6).await;
    let mut k = kit(&s, &token, 5, 4).await;
    assert_eq!(
        checkout(&s, &token, 2, 5).await.1["code"],
        "ALLOTMENT_EXCEEDS_ORDER"
    );
    assert_eq!(
        checkout(&s, &token, 1, 4).await.1["code"],
        "DELEGATE_KEY_REUSED"
    );
    k.issue(1, s.now());
    k.issue(2, s.now());
    assert_eq!(
        reconcile(&s, &token, &k, k.export()).await.0,
        StatusCode::OK
    );
    assert_eq!(remaining(&s).await, 1);
    for _ in 0..2 {
        let v = s
            .post_ok(
                &format!("/v1/field/allotments/{}/return", k.id),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(
            (
                v["state"].as_str(),
                v["reserved"].as_u64(),
                v["consumed"].as_u64()
            ),
            (Some("returned"), Some(0), Some(2))
        );
    }
    assert_eq!(remaining(&s).await, 4);
    let k2 = kit(&s, &token, 4, 6).await;
    assert_eq!(remaining(&s).await, 0);
    s.clock.advance(Duration::days(8));
    let report = s.maintenance().await;
    assert_eq!(report["allotments_expired"], 1);
    let v = s
        .get_ok(&format!("/v1/field/allotments/{}", k2.id), &token)
        .await;
    assert_eq!(
        (v["state"].as_str(), v["reserved"].as_u64()),
        (Some("expired"), Some(0))
    );
    assert_eq!(remaining(&s).await, 4);
    let actions: Vec<String> = s.get_ok("/v1/field/audit", &token).await["entries"]
        .as_array()
        .expect("audit")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        actions.contains(&"return".to_owned()) && actions.contains(&"expire".to_owned()),
        "{actions:?}"
    );
}

/// Sends the checkout `body` twice under Idempotency-Key `key`; both
/// answers must be 200.
pub(crate) async fn checkout_twice(
    s: &TestServer,
    token: &str,
    key: &str,
    body: &Value,
) -> [Value; 2] {
    let mut answers = [Value::Null, Value::Null];
    for answer in &mut answers {
        let (status, text) = s.post_idem(token, "/v1/field/allotments", key, body).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        *answer = serde_json::from_str(&text).expect("json");
    }
    answers
}

#[tokio::test]
async fn checkout_honours_idempotency_key_and_caps() {
    let (s, _, token) = setup(10).await;
    let key = SigningKeyWithKid::from_seed("laptop-i", [7; 32]).expect("kid");
    let body = json!({"order_no": "ORD-F", "count": 2, "days": 7, "delegate_kid": key.kid(),
        "delegate_public_key": DelegateCert::public_key_of(&key)});
    let [first, again] = checkout_twice(&s, &token, "checkout-1", &body).await;
    assert_eq!(first["allotment_id"], again["allotment_id"]);
    assert_eq!(remaining(&s).await, 8);
    let too_long = json!({"order_no": "ORD-F", "count": 1, "days": 365, "delegate_kid": "x",
        "delegate_public_key": DelegateCert::public_key_of(&key)});
    assert_eq!(
        s.post("/v1/field/allotments", &token, too_long).await.1["code"],
        "ALLOTMENT_INVALID"
    );
    let bad_key = json!({"order_no": "ORD-F", "count": 1, "days": 1, "delegate_kid": "x", "delegate_public_key": "AAAA"});
    assert_eq!(
        s.post("/v1/field/allotments", &token, bad_key).await.1["code"],
        "DELEGATE_CERT_INVALID"
    );
    let other_order = json!({"order_no": "NOPE", "count": 1, "days": 1, "delegate_kid": "x",
        "delegate_public_key": DelegateCert::public_key_of(&key)});
    assert_eq!(
        s.post("/v1/field/allotments", &token, other_order).await.0,
        StatusCode::NOT_FOUND
    );
}

/// The audit log reads newest first, a page at a time: the pages join
/// into the whole log without a gap or a repeat, so a new allotment's
/// entries are on the first page however long the log is.
#[tokio::test]
async fn the_audit_log_pages_newest_first_by_cursor() {
    let (s, _, token) = setup(20).await;
    let mut k1 = kit(&s, &token, 5, 1).await;
    let now = s.now();
    for n in 1..=5 {
        k1.issue(n, now + Duration::minutes(i64::from(n)));
    }
    let (st, v) = reconcile(&s, &token, &k1, k1.export()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let k2 = kit(&s, &token, 2, 2).await;
    let mut seen: Vec<i64> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = s
            .get_ok(&format!("/v1/field/audit?limit=2&cursor={cursor}"), &token)
            .await;
        let entries = page["entries"].as_array().expect("entries");
        assert!(entries.len() <= 2, "{page}");
        seen.extend(entries.iter().map(|e| e["id"].as_i64().expect("id")));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    // checkout, 5 issuances, reconcile; then the second checkout.
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seen:?}"
    );
    let first = s.get_ok("/v1/field/audit?limit=1", &token).await;
    assert_eq!(first["entries"][0]["allotment_id"], json!(k2.id));
    assert_eq!(first["entries"][0]["action"], "checkout");
    // One allotment's entries only.
    let only = s
        .get_ok(&format!("/v1/field/audit?allotment={}", k1.id), &token)
        .await;
    assert_eq!(only["entries"].as_array().map(Vec::len), Some(7));
    for bad in [
        "/v1/field/audit?cursor=abc",
        "/v1/field/audit?limit=0",
        "/v1/field/audit?limit=501",
    ] {
        let (st, e) = s.get(bad, &token).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
}

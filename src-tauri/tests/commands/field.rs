//! Field Kit commands through IPC: argument names, shapes, `{code,
//! message}` errors, and one journey against the real demo server
//! (checkout → offline issue from a request file and a typed fingerprint
//! → reconcile, twice).

use std::path::{Path, PathBuf};

use chrono::Utc;
use licensedesk_core::offline::{Credential, OfflineRequest, RequestEntry};
use serde_json::{Value, json};

use crate::support::{DemoServer, Harness, dead_url};

const ORDER: &str = "ORD-2025-0001";

fn fingerprint(n: u32) -> String {
    licensedesk_core::fingerprint::fingerprint(
        format!("field-machine-{n}").as_bytes(),
        "licensedesk-edge",
    )
}

fn request_file(dir: &Path, ns: &[u32]) -> PathBuf {
    request_file_for(dir, ns, &Credential::Order(ORDER.to_owned()))
}

fn request_file_for(dir: &Path, ns: &[u32], credential: &Credential) -> PathBuf {
    let entries = ns
        .iter()
        .map(|&n| {
            let mut nonce = [0u8; 16];
            nonce[..4].copy_from_slice(&n.to_be_bytes());
            RequestEntry::new(
                &fingerprint(n),
                credential.clone(),
                nonce,
                Utc::now(),
                Some(format!("gw-{n}")),
            )
            .expect("entry")
        })
        .collect();
    let path = dir.join("request.json");
    let request = OfflineRequest::new(entries).expect("request");
    std::fs::write(&path, request.to_json()).expect("write request");
    path
}

#[test]
fn empty_kit_shapes_and_errors() {
    let h = Harness::new(None);
    assert_eq!(
        h.invoke("field_allotments", json!({})).expect("list"),
        json!([])
    );
    assert_eq!(
        h.error_code("field_issued", json!({"allotmentId": "nope"})),
        "FIELD_ALLOTMENT_NOT_FOUND"
    );
    assert_eq!(
        h.error_code(
            "field_checkout",
            json!({"kind": "order", "reference": ORDER, "count": 2, "days": 7})
        ),
        "PROFILE_MISSING"
    );
    assert_eq!(
        h.error_code("field_reconcile", json!({"allotmentId": "nope"})),
        "PROFILE_MISSING"
    );
    assert_eq!(
        h.error_code("field_audit", json!({"allotmentId": "nope"})),
        "PROFILE_MISSING"
    );
    assert_eq!(
        h.error_code(
            "field_issue_files",
            json!({"allotmentId": "nope", "paths": []})
        ),
        "FIELD_NO_FILES"
    );
    let req = request_file(h.dir.path(), &[1]);
    assert_eq!(
        h.error_code(
            "field_issue_files",
            json!({"allotmentId": "../x", "paths": [req]})
        ),
        "FIELD_ALLOTMENT_NOT_FOUND"
    );
    assert_eq!(
        h.error_code(
            "field_issue_fingerprint",
            json!({"allotmentId": "nope", "fingerprint": fingerprint(1)})
        ),
        "FIELD_ALLOTMENT_NOT_FOUND"
    );
    // A cancelled dialog is `null`.
    h.answer_dialog(None);
    assert_eq!(
        h.invoke("field_issue_dialog", json!({"allotmentId": "nope"}))
            .expect("cancelled"),
        Value::Null
    );
    // camelCase argument names.
    let err = h
        .invoke("field_issued", json!({"allotment_id": "nope"}))
        .expect_err("snake case");
    assert!(err.to_string().contains("allotmentId"), "{err}");
}

#[test]
fn checkout_with_the_server_unreachable_is_a_network_error() {
    let h = Harness::new(Some(&dead_url()));
    assert_eq!(
        h.error_code(
            "field_checkout",
            json!({"kind": "order", "reference": ORDER, "count": 2, "days": 7})
        ),
        "FIELD_NETWORK"
    );
    assert_eq!(
        h.invoke("field_allotments", json!({})).expect("list"),
        json!([])
    );
}

#[test]
fn checkout_issue_offline_and_reconcile_against_the_demo_server() {
    let server = DemoServer::start();
    let h = server.harness();
    let a = h
        .invoke(
            "field_checkout",
            json!({"kind": "order", "reference": ORDER, "count": 2, "days": 7}),
        )
        .expect("checkout");
    assert_eq!(a["scope"]["kind"], "order");
    assert_eq!(a["scope"]["reference"], ORDER);
    assert_eq!(a["scope"]["product"], "edge-gateway-pro");
    assert_eq!(
        (a["max_licenses"].as_u64(), a["remaining"].as_u64()),
        (Some(2), Some(2))
    );
    let secs = a["expires_in_secs"].as_i64().expect("expires_in_secs");
    assert!((6 * 86_400..=7 * 86_400).contains(&secs), "{a}");
    assert_eq!(a["expired"], false);
    assert!(
        a["not_after"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{a}"
    );
    let id = a["allotment_id"].as_str().expect("id").to_owned();
    let list = h.invoke("field_allotments", json!({})).expect("list");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["allotment_id"], id);
    assert_eq!(list[0]["not_after"], a["not_after"]);

    // Three gateways for two licenses: the third is refused, per gateway.
    let req = request_file(h.dir.path(), &[1, 2, 3]);
    let report = h
        .invoke(
            "field_issue_files",
            json!({"allotmentId": id, "paths": [req]}),
        )
        .expect("issue");
    let out_dir = PathBuf::from(report["out_dir"].as_str().expect("out_dir"));
    assert!(
        out_dir.starts_with(h.dir.path()) && out_dir.ends_with(&id),
        "{report}"
    );
    let outcomes = report["outcomes"].as_array().expect("outcomes");
    assert_eq!(outcomes.len(), 3);
    for o in &outcomes[..2] {
        assert_eq!(o["code"], Value::Null, "{o}");
        assert_eq!(o["issued"]["reissue"], false);
        let file = o["file"].as_str().expect("file");
        assert!(Path::new(file).starts_with(&out_dir), "{o}");
        let text = std::fs::read_to_string(file).expect("license file");
        assert_eq!(o["issued"]["license"].as_str(), Some(text.as_str()));
    }
    assert_eq!(outcomes[2]["code"], "LEDGER_ALLOTMENT_EXHAUSTED");
    assert!(
        outcomes[2]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(
        (&outcomes[2]["file"], &outcomes[2]["issued"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(outcomes[2]["name"], "gw-3");

    // A typed fingerprint: the same gateway is re-issued, a new one refused.
    let again = h
        .invoke(
            "field_issue_fingerprint",
            json!({"allotmentId": id, "fingerprint": fingerprint(1)}),
        )
        .expect("reissue");
    assert_eq!(again["outcomes"][0]["issued"]["reissue"], true);
    assert_eq!(
        again["outcomes"][0]["issued"]["slot"],
        outcomes[0]["issued"]["slot"]
    );
    assert_eq!(
        h.error_code(
            "field_issue_fingerprint",
            json!({"allotmentId": id, "fingerprint": fingerprint(4)})
        ),
        "LEDGER_ALLOTMENT_EXHAUSTED"
    );

    let issued = h
        .invoke("field_issued", json!({"allotmentId": id}))
        .expect("issued");
    let states: Vec<&Value> = issued
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| &r["state"])
        .collect();
    assert_eq!(states, [&json!("pending_sync"), &json!("pending_sync")]);

    let first = h
        .invoke("field_reconcile", json!({"allotmentId": id}))
        .expect("reconcile");
    assert_eq!(
        (first["newly_consumed"].as_u64(), first["consumed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(first["summary"]["reconciled"], 2);
    assert_eq!(first["summary"]["pending_sync"], 0);
    let second = h
        .invoke("field_reconcile", json!({"allotmentId": id}))
        .expect("reconcile again");
    assert_eq!(
        (
            second["newly_consumed"].as_u64(),
            second["consumed"].as_u64()
        ),
        (Some(0), Some(2))
    );
    let issued = h
        .invoke("field_issued", json!({"allotmentId": id}))
        .expect("issued");
    assert!(
        issued
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["state"] == "reconciled"),
        "{issued}"
    );

    // The server's audit log of this allotment: the checkout, each issuance
    // the first upload brought, then both reconciliations (the second
    // consumed nothing new).
    let audit = h
        .invoke("field_audit", json!({"allotmentId": id}))
        .expect("audit");
    assert_eq!(audit["next_cursor"], Value::Null, "one page: {audit}");
    // Newest first on screen; read oldest first here.
    let mut rows = audit["entries"].as_array().expect("rows").clone();
    rows.reverse();
    let actions: Vec<&Value> = rows.iter().map(|r| &r["action"]).collect();
    assert_eq!(
        actions,
        [
            &json!("checkout"),
            &json!("issuance"),
            &json!("issuance"),
            &json!("reconcile"),
            &json!("reconcile")
        ],
        "{audit}"
    );
    assert!(rows.iter().all(|r| r["allotment_id"] == id), "{audit}");
    assert_eq!(rows[0]["detail"]["max_licenses"], 2, "{audit}");
    assert_eq!(rows[1]["detail"]["fingerprint"], fingerprint(1), "{audit}");
    assert_eq!(
        (
            &rows[3]["detail"]["newly_consumed"],
            &rows[4]["detail"]["newly_consumed"]
        ),
        (&json!(2), &json!(0)),
        "{audit}"
    );
    assert_eq!(
        h.error_code("field_audit", json!({"allotmentId": "nope"})),
        "FIELD_ALLOTMENT_NOT_FOUND"
    );

    // The ledger export (save dialog) verifies with only the server's keys:
    // the file `ldctl ledger verify` checks.
    let target = h.dir.path().join("ledger.json");
    h.answer_dialog(Some(target.clone()));
    let written = h
        .invoke("field_export_ledger", json!({"allotmentId": id}))
        .expect("export");
    assert_eq!(written.as_str(), Some(target.to_string_lossy().as_ref()));
    let keys = h.invoke("trusted_keys", json!({})).expect("trusted keys");
    let keys = licensedesk_core::keys::KeySet::from_json(
        keys["json"]
            .as_str()
            .expect("pinned by the bootstrap")
            .as_bytes(),
    )
    .expect("keys");
    let ledger =
        licensedesk_core::ledger::verify_export(&std::fs::read(&target).expect("file"), &keys)
            .expect("a valid ledger export");
    assert_eq!(ledger.summary.slots_used, 2);
    h.answer_dialog(None);
    assert_eq!(
        h.invoke("field_export_ledger", json!({"allotmentId": id}))
            .expect("cancel"),
        Value::Null
    );
}

#[test]
fn checkout_by_product_shows_its_scope_and_issues_for_product_requests() {
    let server = DemoServer::start();
    let h = server.harness();
    // A kind that is neither order nor product is refused by the IPC layer.
    let err = h
        .invoke(
            "field_checkout",
            json!({"kind": "customer", "reference": "x", "count": 1, "days": 7}),
        )
        .expect_err("unknown kind");
    assert!(err.to_string().contains("kind"), "{err}");
    assert_eq!(
        h.error_code(
            "field_checkout",
            json!({"kind": "product", "reference": "edge-gateway-nope", "count": 1, "days": 7})
        ),
        "NOT_FOUND"
    );
    // The demo's edge-gateway-pro: ORD-2025-0001 has 7 free (3 of 10 are
    // activated), ORD-2025-0004 (newer) 5; 8 take both.
    let a = h
        .invoke(
            "field_checkout",
            json!({"kind": "product", "reference": " edge-gateway-pro ", "count": 8, "days": 7}),
        )
        .expect("checkout by product");
    assert_eq!(
        a["scope"],
        json!({"kind": "product", "reference": "edge-gateway-pro", "order": null,
               "product": "edge-gateway-pro", "customer": "Hangzhou Smart Meters Co.",
               "plugins": ["modbus-tcp", "mqtt"], "max_connections": 200, "max_tags": 2000,
               "max_license_days": 365}),
        "{a}"
    );
    let id = a["allotment_id"].as_str().expect("id").to_owned();
    let product = request_file_for(
        h.dir.path(),
        &[1],
        &Credential::Product("edge-gateway-pro".into()),
    );
    let report = h
        .invoke(
            "field_issue_files",
            json!({"allotmentId": id, "paths": [product]}),
        )
        .expect("issue");
    assert_eq!(report["outcomes"][0]["code"], Value::Null, "{report}");
    let order = request_file(h.dir.path(), &[2]);
    assert_eq!(
        h.error_code(
            "field_issue_files",
            json!({"allotmentId": id, "paths": [order]})
        ),
        "FIELD_REQUEST_OUT_OF_SCOPE"
    );
    assert_eq!(
        h.error_code(
            "field_checkout",
            json!({"kind": "product", "reference": "edge-gateway-pro", "count": 5, "days": 7})
        ),
        "ALLOTMENT_EXCEEDS_PRODUCT"
    );
    let audit = h
        .invoke("field_audit", json!({"allotmentId": id}))
        .expect("audit");
    let audit = audit["entries"]
        .as_array()
        .and_then(|a| a.last())
        .expect("the checkout, oldest")
        .clone();
    let audit = json!([audit]);
    assert_eq!(audit[0]["detail"]["scope"], "product", "{audit}");
    assert_eq!(
        audit[0]["detail"]["orders"],
        json!([{"order_no": "ORD-2025-0001", "count": 7}, {"order_no": "ORD-2025-0004", "count": 1}])
    );
}

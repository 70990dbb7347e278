//! Reconcile reports conflicts per record (the same hardware activated
//! online meanwhile), keeps them across retries, and the exported ledger
//! passes the real `ldctl ledger verify` — a tampered one does not.

use chrono::Duration;
use licensedesk_field::{Kit, SyncState, checkout, reconcile};
use serde_json::{Value, json};

use crate::support::{ORDER, Server, by_order, fingerprint, ldctl, ldctl_ok, s, t0};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_activated_elsewhere_meanwhile_is_a_conflict_with_its_code() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Server::start(&tmp.path().join("server"), t0()).await;
    let token = server.account_with_order(3).await;
    let mut kit = Kit::open(&tmp.path().join("kit")).expect("kit");
    let id = checkout(&mut kit, &server.base, &token, &by_order(), 2, 7, t0())
        .await
        .expect("checkout")
        .allotment_id;
    let at = t0() + Duration::minutes(10);
    kit.issue(&id, &fingerprint(1), at).expect("gw 1");
    kit.issue(&id, &fingerprint(2), at).expect("gw 2");

    // Meanwhile the order's last free license goes online to gateway 1.
    let order: Value = server
        .http
        .post(format!("{}/v1/gateway/orders/lookup", server.base))
        .json(&json!({"order_no": ORDER, "email": "b@example.com"}))
        .send()
        .await
        .expect("lookup")
        .json()
        .await
        .expect("json");
    let resp = server
        .http
        .post(format!("{}/v1/gateway/activate", server.base))
        .json(&json!({"code": order["activation_code"], "fingerprint": fingerprint(1)}))
        .send()
        .await
        .expect("activate");
    assert!(resp.status().is_success(), "{}", resp.status());

    for round in 0..2 {
        let r = reconcile(&mut kit, &server.base, &token, &id, at)
            .await
            .expect("reconcile");
        assert_eq!((r.consumed, r.conflicts), (1, 1), "round {round}: {r:?}");
        let issued = kit.issued(&id).expect("issued");
        let one = issued.iter().find(|i| i.slot == 1).expect("slot 1");
        assert_eq!(one.state, SyncState::Conflict);
        assert_eq!(one.code.as_deref(), Some("HARDWARE_ALREADY_ACTIVATED"));
        assert!(one.message.as_deref().is_some_and(|m| !m.is_empty()));
        let two = issued.iter().find(|i| i.slot == 2).expect("slot 2");
        assert_eq!(
            (two.state, two.code.as_deref()),
            (SyncState::Reconciled, None)
        );
        let summary = kit.summary(&id, at).expect("summary");
        assert_eq!(
            (summary.reconciled, summary.conflicts, summary.pending_sync),
            (1, 1, 0)
        );
    }
    server.stop().await;

    // The export verifies with the real ldctl and only the server's keys.
    let keys = tmp.path().join("keys.json");
    std::fs::write(&keys, kit.server_keys(&id).expect("keys").to_json()).expect("keys");
    let export = tmp.path().join("ledger.json");
    let text = kit.export(&id).expect("export");
    std::fs::write(&export, &text).expect("export");
    let home = tmp.path().join("home");
    let verify = [
        "--json",
        "--home",
        s(&home),
        "ledger",
        "verify",
        s(&export),
        "--keys",
        s(&keys),
    ];
    ldctl_ok(&verify);
    let tampered = text.replacen(&fingerprint(2), &fingerprint(7), 1);
    assert_ne!(tampered, text);
    std::fs::write(&export, tampered).expect("tampered");
    let out = ldctl(&verify);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["error"]["code"], "LEDGER_RECORD_ALTERED", "{v}");
}

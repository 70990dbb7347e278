//! Gateway License commands through IPC.

use chrono::{Duration, Utc};
use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::license::{LicensePayload, sign_license};
use serde_json::json;

use crate::support::{DemoServer, Harness, dead_url, key};

fn license(id: &str) -> String {
    sign_license(
        &LicensePayload {
            license_id: id.into(),
            kind: LicenseKind::File,
            customer: "Buyer Ltd".into(),
            issued_at: Utc::now() - Duration::days(1),
            expire_at: Utc::now() + Duration::days(365),
            max_connections: 100,
            max_tags: 500,
            plugins: vec!["opcua".into()],
            hardware: None,
            product: None,
            order: None,
        },
        &key(),
    )
}

#[test]
fn registry_and_license_view_shapes() {
    let h = Harness::new(None);
    let list = h.invoke("list_gateways", json!({})).expect("list");
    let me = &list[0];
    assert_eq!(me["this_machine"], true);
    assert_eq!(me["kind"], "trial");
    assert_eq!(me["id"], h.this_machine());

    let view = h
        .invoke("gateway_license", json!({ "gatewayId": h.this_machine() }))
        .expect("view");
    assert_eq!(view["kind"], "trial");
    assert_eq!(view["trial"], json!({ "reason": "none_installed" }));
    assert_eq!(
        view["connections"],
        json!({"in_use": 0, "max": 30, "percent": 0, "over_limit": false})
    );
    assert_eq!(view["installed"], json!(null));

    // Argument names are camelCase on the JS side.
    let err = h
        .invoke("gateway_license", json!({ "gateway_id": h.this_machine() }))
        .expect_err("snake case");
    assert!(err.to_string().contains("gatewayId"), "{err}");
    assert_eq!(
        h.error_code("gateway_license", json!({"gatewayId": "nope"})),
        "GATEWAY_NOT_FOUND"
    );
}

#[test]
fn add_and_remove_gateways() {
    let h = Harness::new(None);
    let fp = licensedesk_core::fingerprint::fingerprint(b"other", "licensedesk-edge");
    let added = h
        .invoke("add_gateway", json!({"name": "Line 3", "fingerprint": fp}))
        .expect("add");
    assert_eq!(
        (added["name"].as_str(), added["source"].as_str()),
        (Some("Line 3"), Some("typed"))
    );
    assert_eq!(
        h.error_code("add_gateway", json!({"name": "Dup", "fingerprint": fp})),
        "GATEWAY_EXISTS"
    );
    assert_eq!(
        h.error_code("add_gateway", json!({"name": "Bad", "fingerprint": "1234"})),
        "FINGERPRINT_MALFORMED"
    );
    let left = h
        .invoke("remove_gateway", json!({"gatewayId": fp}))
        .expect("remove");
    assert_eq!(left.as_array().map(Vec::len), Some(1));
    assert_eq!(
        h.error_code("remove_gateway", json!({"gatewayId": h.this_machine()})),
        "GATEWAY_THIS_MACHINE"
    );
}

#[test]
fn drop_and_dialog_share_the_install_pipeline() {
    let h = Harness::new(Some(&dead_url()));
    let good = h.file("good.lic", license("lic-1").as_bytes());
    assert_eq!(
        h.error_code("install_license_files", json!({"paths": [good]})),
        "KEYS_MISSING"
    );
    h.trust_test_key();
    let out = h
        .invoke(
            "install_license_files",
            json!({"gatewayId": null, "paths": [good]}),
        )
        .expect("install");
    assert_eq!(out["replaced"], false);
    assert_eq!(out["view"]["kind"], "file");
    assert_eq!(out["view"]["installed"]["license_id"], "lic-1");

    let mut damaged = license("lic-2").into_bytes();
    damaged[70] ^= 0x01;
    let bad = h.file("bad.lic", &damaged);
    let code = h.error_code("install_license_files", json!({"paths": [bad]}));
    assert!(code.starts_with("LICENSE_"), "{code}");
    let huge = h.file("huge.lic", &vec![b'A'; 100 * 1024]);
    assert_eq!(
        h.error_code("install_license_files", json!({"paths": [huge]})),
        "FILE_TOO_LARGE"
    );
    assert_eq!(
        h.error_code("install_license_files", json!({"paths": [good, good]})),
        "FILE_TOO_MANY"
    );
    assert_eq!(
        h.error_code("install_license_files", json!({"paths": []})),
        "FILE_NONE"
    );

    // The dialog: cancelled → null; picked → the same pipeline.
    h.answer_dialog(None);
    assert_eq!(
        h.invoke("upload_license_dialog", json!({}))
            .expect("cancel"),
        json!(null)
    );
    let second = h.file("second.lic", license("lic-3").as_bytes());
    h.answer_dialog(Some(second));
    let out = h
        .invoke(
            "upload_license_dialog",
            json!({"gatewayId": h.this_machine()}),
        )
        .expect("upload");
    assert_eq!(out["replaced"], true);
    assert_eq!(out["view"]["installed"]["license_id"], "lic-3");
    h.answer_dialog(Some(bad));
    let code = h.error_code("upload_license_dialog", json!({}));
    assert!(code.starts_with("LICENSE_"), "{code}");
    let view = h
        .invoke("gateway_license", json!({"gatewayId": h.this_machine()}))
        .expect("view");
    assert_eq!(
        view["installed"]["license_id"], "lic-3",
        "a bad file changes nothing"
    );
    assert_eq!(view["backups"], 1);
}

#[test]
fn activation_code_field_checks_offline() {
    let h = Harness::new(None);
    let partial = h
        .invoke("check_activation_code", json!({"input": "abcd efg"}))
        .expect("partial");
    assert_eq!(
        partial,
        json!({"formatted": "ABCD-EFG", "complete": false, "error": null})
    );
    let code = licensedesk_core::activation_code::ActivationCode::from_entropy([5; 16]).canonical();
    let full = h
        .invoke(
            "check_activation_code",
            json!({"input": code.to_lowercase()}),
        )
        .expect("full");
    assert_eq!(
        (full["complete"].as_bool(), full["formatted"].as_str()),
        (Some(true), Some(code.as_str()))
    );
    let mut typo: Vec<char> = code.chars().collect();
    typo[0] = if typo[0] == '0' { '1' } else { '0' };
    let typo: String = typo.into_iter().collect();
    let wrong = h
        .invoke("check_activation_code", json!({"input": typo}))
        .expect("typo");
    assert_eq!(wrong["error"]["code"], "CODE_CHECK_MISMATCH");
    // The command refuses the typo before any network, even with no server.
    assert_eq!(
        h.error_code(
            "activate_gateway",
            json!({"gatewayId": h.this_machine(), "code": typo})
        ),
        "CODE_CHECK_MISMATCH"
    );
    assert_eq!(
        h.error_code(
            "activate_gateway",
            json!({"gatewayId": h.this_machine(), "code": code})
        ),
        "PROFILE_MISSING"
    );
}

#[test]
fn unreachable_server_queues_activations() {
    let h = Harness::new(Some(&dead_url()));
    let code = licensedesk_core::activation_code::ActivationCode::from_entropy([6; 16]).canonical();
    let out = h
        .invoke(
            "activate_gateway",
            json!({"gatewayId": h.this_machine(), "code": code}),
        )
        .expect("queued");
    assert_eq!(out["status"], "queued");
    assert_eq!(out["pending"]["code"], code.as_str());
    let report = h
        .invoke("replay_gateway_activations", json!({}))
        .expect("replay");
    assert_eq!(
        report,
        json!({"activated": 0, "rejected": 0, "still_pending": 1})
    );
    assert_eq!(
        h.error_code("floating_pools", json!({})),
        "SERVER_UNREACHABLE"
    );
}

#[test]
fn offline_bundles_through_dialogs() {
    let h = Harness::new(Some(&dead_url()));
    let code = licensedesk_core::activation_code::ActivationCode::from_entropy([8; 16]).canonical();
    let target = h.dir.path().join("out.ldreq");
    h.answer_dialog(Some(target.clone()));
    let written = h
        .invoke(
            "export_offline_request",
            json!({"gatewayId": h.this_machine(), "code": code}),
        )
        .expect("export");
    assert_eq!(written.as_str(), Some(target.to_string_lossy().as_ref()));
    assert!(
        std::fs::read_to_string(&target)
            .expect("file")
            .contains(&h.this_machine())
    );
    h.answer_dialog(None);
    assert_eq!(
        h.invoke(
            "export_offline_request",
            json!({"gatewayId": h.this_machine(), "code": code})
        )
        .expect("cancel"),
        json!(null)
    );

    // The exported request names this machine only: nothing new to add.
    h.answer_dialog(Some(target));
    assert_eq!(
        h.invoke("add_gateways_from_request", json!({}))
            .expect("add"),
        json!([])
    );

    h.trust_test_key();
    let junk = h.file("junk.ldresp", b"{\"not\": \"a response\"}");
    h.answer_dialog(Some(junk));
    let code = h.error_code("import_offline_response", json!({}));
    assert!(code.starts_with("OFFLINE_"), "{code}");
    h.answer_dialog(None);
    assert_eq!(
        h.invoke("import_offline_response", json!({}))
            .expect("cancel"),
        json!(null)
    );
}

/// Online gateway calls carry the ACTIVE profile's token (from the token
/// store), not an environment variable: the demo account's pools answer for
/// its profile and refuse a profile with a wrong token; a lease is
/// released from the app.
#[test]
fn floating_pools_use_the_active_profiles_token() {
    let server = DemoServer::start();
    let h = Harness::new(None);
    assert_eq!(h.error_code("floating_pools", json!({})), "PROFILE_MISSING");

    let add = |name: &str, token: &str| {
        h.invoke(
            "add_profile",
            json!({"profile": {"name": name, "server_url": server.url, "account_label": name},
                   "token": token}),
        )
        .expect("add profile")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let good = add("demo", licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN);
    let bad = add("stale", "not-a-valid-token");

    h.invoke("switch_profile", json!({"id": good}))
        .expect("switch");
    let pools = h.invoke("floating_pools", json!({})).expect("pools");
    let fleet = &pools[0];
    assert_eq!(fleet["name"], "edge-fleet");
    assert_eq!(
        (fleet["points"].as_u64(), fleet["in_use"].as_u64()),
        (Some(200), Some(100))
    );
    let lease = &fleet["leases"][0];
    let left = lease["seconds_left"].as_u64().expect("seconds left");
    assert!((1..=300).contains(&left), "{lease}");
    let after = h
        .invoke(
            "release_lease",
            json!({"pool": "edge-fleet", "fingerprint": lease["fingerprint"]}),
        )
        .expect("release");
    assert_eq!(after["leases"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        after["in_use"],
        100 - lease["points"].as_u64().expect("points")
    );

    h.invoke("switch_profile", json!({"id": bad}))
        .expect("switch");
    let code = h.error_code("floating_pools", json!({}));
    assert!(
        code.contains("UNAUTHORI") || code.contains("TOKEN"),
        "{code}"
    );
}

#[test]
fn an_install_is_queued_for_the_server_best_effort() {
    // With a profile whose server is down: installed, and the report waits
    // in that profile's outbox.
    let h = Harness::new(Some(&dead_url()));
    h.trust_test_key();
    let good = h.file("good.lic", license("lic-report").as_bytes());
    let out = h
        .invoke("install_license_files", json!({"paths": [good]}))
        .expect("install despite the server being down");
    assert_eq!(out["view"]["installed"]["license_id"], "lic-report");
    let body = the_queued_install(&h);
    assert_eq!(body["license_id"], "lic-report");
    assert_eq!(body["fingerprint"], out["view"]["gateway"]["fingerprint"]);
    assert_eq!(body["kind"], "file");
    assert_eq!(body["source"], "file");

    // The dialog queues the same report.
    let second = h.file("second.lic", license("lic-report-2").as_bytes());
    h.answer_dialog(Some(second));
    h.invoke("upload_license_dialog", json!({}))
        .expect("upload");
    let items = h.invoke("list_outbox", json!({})).expect("outbox");
    assert_eq!(items.as_array().map(Vec::len), Some(2));

    // Without a profile nothing is trusted: licenses verify with a
    // profile's pinned key set only.
    let h = Harness::new(None);
    let good = h.file("good.lic", license("lic-alone").as_bytes());
    assert_eq!(
        h.error_code("install_license_files", json!({"paths": [good]})),
        "KEYS_MISSING"
    );
}

#[test]
fn a_queued_install_reaches_the_server_on_sync() {
    let server = DemoServer::start();
    let h = server.harness();
    h.trust_test_key();
    let good = h.file("good.lic", license("lic-synced").as_bytes());
    h.invoke("install_license_files", json!({"paths": [good]}))
        .expect("install");
    h.invoke("sync_now", json!({})).expect("sync");
    let items = h.invoke("list_outbox", json!({})).expect("outbox");
    assert_eq!(items, json!([]), "sent, nothing left");
    h.invoke("sync_now", json!({})).expect("sync again");
    let rows = server_installs(&h);
    assert_eq!(rows.len(), 1, "exactly once: {rows:?}");
    assert_eq!(rows[0]["license_id"], "lic-synced");
}

/// Every install path reports its install, not only files: an activation
/// code entered online queues a `license_install` (source `activation`),
/// and the next sync delivers it to the server once.
#[test]
fn an_activated_license_is_reported_like_an_uploaded_file() {
    let server = DemoServer::start();
    let code = server.gateway_order("ORD-REPORT-1", 1);
    let h = server.harness();
    let out = h
        .invoke(
            "activate_gateway",
            json!({"gatewayId": h.this_machine(), "code": code}),
        )
        .expect("activate online");
    assert_eq!(out["status"], "activated", "{out}");
    let license_id = out["outcome"]["view"]["installed"]["license_id"]
        .as_str()
        .expect("installed license")
        .to_owned();
    let body = the_queued_install(&h);
    assert_eq!(body["license_id"], license_id.as_str());
    assert_eq!(body["kind"], "activation");
    assert_eq!(body["source"], "activation");

    h.invoke("sync_now", json!({})).expect("sync");
    assert_eq!(
        h.invoke("list_outbox", json!({})).expect("outbox"),
        json!([])
    );
    let rows = server_installs(&h);
    assert_eq!(rows.len(), 1, "exactly once: {rows:?}");
    assert_eq!(rows[0]["license_id"], license_id.as_str());
    assert_eq!(rows[0]["source"], "activation");
}

/// The installs the active profile's server has recorded.
fn server_installs(h: &Harness) -> Vec<serde_json::Value> {
    let session = h.state().sessions.session().expect("session");
    let rows: serde_json::Value = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(session.api().get("/v1/gateway/installs", &[]))
        .expect("installs");
    rows.as_array().expect("rows").clone()
}

/// The body of the outbox's one item, a pending install report.
fn the_queued_install(h: &Harness) -> serde_json::Value {
    let items = h.invoke("list_outbox", json!({})).expect("outbox");
    let items = items.as_array().expect("items");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["kind"], "license_install");
    assert_eq!(items[0]["state"], "pending");
    assert_eq!(items[0]["path"], "/v1/gateway/installs");
    serde_json::from_str(items[0]["body"].as_str().expect("body")).expect("json")
}

/// An activation queued while the server was unreachable is replayed by
/// the next sync, and its install's report goes out in that same sync.
#[test]
fn a_replayed_activation_is_reported_in_the_sync_that_replays_it() {
    let server = DemoServer::start();
    let code = server.gateway_order("ORD-REPLAY-1", 1);
    let h = server.harness();
    let dead = licensedesk_gateways::ServerApi::new(&dead_url(), None).expect("api");
    let queued = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(
            h.state()
                .gateways
                .activate_code(&dead, &h.this_machine(), &code, Utc::now()),
        )
        .expect("queued");
    assert!(
        matches!(
            queued,
            licensedesk_gateways::dto::ActivationOutcome::Queued { .. }
        ),
        "{queued:?}"
    );
    h.invoke("sync_now", json!({})).expect("sync");
    assert_eq!(
        h.invoke("list_outbox", json!({})).expect("outbox"),
        json!([]),
        "the report went out in the same sync"
    );
    let rows = server_installs(&h);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["source"], "activation");
    assert!(h.state().gateways.pending().is_empty());
}

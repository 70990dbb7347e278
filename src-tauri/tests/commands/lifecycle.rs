//! Trust pinned with the profile, files dropped on the window (licenses,
//! request batches, usage files), requests answered online and by the
//! field kit offline, order lookup, exports: through IPC, against the real
//! demo server.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use licensedesk_core::gateway::usage::{UsageFile, UsageSample};
use licensedesk_core::offline::{Credential, OfflineRequest, RequestEntry};
use serde_json::{Value, json};

use crate::support::{DemoServer, Harness, key};

fn fingerprint(n: u32) -> String {
    licensedesk_core::fingerprint::fingerprint(
        format!("lifecycle-gateway-{n}").as_bytes(),
        "licensedesk-edge",
    )
}

fn request(dir: &Path, name: &str, ns: &[u32], credential: &Credential) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let entries = ns
        .iter()
        .map(|&n| {
            RequestEntry::new(
                &fingerprint(n),
                credential.clone(),
                [n as u8; 16],
                Utc::now(),
                Some(format!("Pump {n}")),
            )
            .expect("entry")
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(
        &path,
        OfflineRequest::new(entries).expect("request").to_json(),
    )
    .expect("write");
    path
}

#[test]
fn a_fresh_install_trusts_its_server_when_the_profile_is_added_and_installs_offline() {
    let server = DemoServer::start();
    let h = Harness::new(None);
    let this = h.this_machine();
    let lic = h.file(
        "mine.lic",
        server.license_for("ORD-FRESH-1", &this).as_bytes(),
    );
    // No profile: nothing is trusted yet.
    assert_eq!(
        h.error_code("open_files", json!({"paths": [lic]})),
        "KEYS_MISSING"
    );
    assert_eq!(
        h.invoke("trusted_keys", json!({})).expect("none"),
        Value::Null
    );
    let shown = h
        .invoke("fetch_server_keys", json!({"serverUrl": server.url}))
        .expect("keys");
    assert_eq!(
        shown["keys"][0]["fingerprint"].as_str().map(str::len),
        Some(39)
    );
    assert_eq!(shown["keys"][0]["current"], true);
    h.invoke(
        "add_profile",
        json!({"profile": {"name": "Demo", "server_url": server.url, "account_label": "ops"},
               "token": licensedesk_server::demo::DEMO_ENTERPRISE_TOKEN,
               "trustedKeys": shown["json"]}),
    )
    .expect("add profile");
    assert_eq!(h.invoke("trusted_keys", json!({})).expect("pinned"), shown);
    // The server goes away: the license still installs (the keys are pinned).
    drop(server);
    let out = h
        .invoke("open_files", json!({"gatewayId": null, "paths": [lic]}))
        .expect("installed offline");
    assert_eq!(out["kind"], "license");
    assert_eq!(out["outcome"]["view"]["kind"], "activation");
    assert_eq!(out["outcome"]["view"]["bound_hardware"], json!(this));
    // A license signed by a key the profile does not trust is refused.
    let foreign = licensedesk_core::license::sign_license(
        &licensedesk_core::license::LicensePayload {
            license_id: "lic-foreign".into(),
            kind: licensedesk_core::gateway::LicenseKind::File,
            customer: "Someone".into(),
            issued_at: Utc::now() - Duration::days(1),
            expire_at: Utc::now() + Duration::days(30),
            max_connections: 10,
            max_tags: 100,
            plugins: vec![],
            hardware: None,
            product: None,
            order: None,
        },
        &key(),
    );
    let foreign = h.file("foreign.lic", foreign.as_bytes());
    assert_eq!(
        h.error_code("open_files", json!({"paths": [foreign]})),
        "LICENSE_KID_UNKNOWN"
    );
    assert_eq!(
        h.error_code("fetch_server_keys", json!({"serverUrl": "ftp://nowhere"})),
        "INVALID_INPUT"
    );
}

#[test]
fn a_key_set_file_is_pinned_for_a_machine_never_online() {
    let server = DemoServer::start();
    let h = Harness::new(None);
    let file = server.dir.path().join("keys/keyset.json");
    h.answer_dialog(Some(file));
    let shown = h
        .invoke("import_keyset_dialog", json!({}))
        .expect("file")
        .clone();
    assert_eq!(shown["keys"].as_array().map(Vec::len), Some(1));
    h.answer_dialog(None);
    assert_eq!(
        h.invoke("import_keyset_dialog", json!({})).expect("cancel"),
        Value::Null
    );
    let junk = h.file("junk.json", b"{\"keys\": 1}");
    h.answer_dialog(Some(junk));
    assert_eq!(
        h.error_code("import_keyset_dialog", json!({})),
        "KEYSET_MALFORMED"
    );
    h.invoke(
        "add_profile",
        json!({"profile": {"name": "Site", "server_url": "http://127.0.0.1:9", "account_label": "ops"},
               "token": "t", "trustedKeys": shown["json"]}),
    )
    .expect("add profile");
    assert_eq!(h.invoke("trusted_keys", json!({})).expect("pinned"), shown);
}

#[test]
fn dropped_usage_and_request_files_lookup_and_exports() {
    let server = DemoServer::start();
    let h = server.harness();
    // A usage file adds its gateway and draws its usage.
    let t = Utc::now() - Duration::hours(2);
    let samples = (0..3)
        .map(|i| UsageSample {
            at: t + Duration::minutes(i * 10),
            connections: 4,
            tags: 28 + i as u32 * 3,
        })
        .collect();
    let usage = h.file(
        "pump.ldusage",
        UsageFile::new(&fingerprint(1), samples)
            .expect("usage")
            .to_json()
            .as_bytes(),
    );
    let out = h
        .invoke("open_files", json!({"paths": [usage]}))
        .expect("usage");
    assert_eq!(out["kind"], "usage");
    assert_eq!(
        (
            out["imports"][0]["added"].as_bool(),
            out["imports"][0]["tags"].as_u64()
        ),
        (Some(true), Some(34))
    );
    let view = h
        .invoke("gateway_license", json!({"gatewayId": fingerprint(1)}))
        .expect("view");
    assert_eq!(
        (
            view["tags"]["in_use"].as_u64(),
            view["over_trial"].as_bool()
        ),
        (Some(34), Some(true))
    );
    let charts = h
        .invoke("gateway_usage_charts", json!({"gatewayId": fingerprint(1)}))
        .expect("charts");
    assert_eq!(charts["samples"], 3);
    assert!(
        charts["tags_svg"]
            .as_str()
            .is_some_and(|s| s.contains("<svg"))
    );
    let none = h
        .invoke(
            "gateway_usage_charts",
            json!({"gatewayId": h.this_machine()}),
        )
        .expect("charts");
    assert_eq!(
        (none["samples"].as_u64(), &none["tags_svg"]),
        (Some(0), &Value::Null)
    );
    // Kinds are told by content, one kind at a time.
    let lic = h.file(
        "x.lic",
        b"-----BEGIN LICENSEDESK LICENSE-----\nAAAA\n-----END LICENSEDESK LICENSE-----\n",
    );
    assert_eq!(
        h.error_code("open_files", json!({"paths": [lic, usage]})),
        "FILE_KINDS_MIXED"
    );
    let junk = h.file("junk.txt", b"hello");
    assert_eq!(
        h.error_code("open_files", json!({"paths": [junk]})),
        "FILE_KIND_UNKNOWN"
    );

    // A batch of request files (two folders) answered by the server.
    let code = server.gateway_order("ORD-ANSWER-1", 2);
    let code = licensedesk_core::activation_code::ActivationCode::parse(&code).expect("code");
    let a = request(
        &h.dir.path().join("site-a"),
        "a.ldreq",
        &[2],
        &Credential::Code(code),
    );
    let b = request(
        &h.dir.path().join("site-b"),
        "b.ldreq",
        &[3],
        &Credential::Code(code),
    );
    let out = h
        .invoke("open_files", json!({"paths": [a, b]}))
        .expect("answered");
    assert_eq!(out["kind"], "requests");
    assert_eq!(out["answers"]["via"], "server");
    let answers = out["answers"]["answers"].as_array().expect("answers");
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|x| x["result"] == "issued"), "{out}");
    assert!(h.dir.path().join("site-a/a.ldresp").is_file());
    assert!(h.dir.path().join("site-b/b.ldresp").is_file());
    let view = h
        .invoke("gateway_license", json!({"gatewayId": fingerprint(3)}))
        .expect("registered from the request");
    assert_eq!(view["gateway"]["name"], "Pump 3");
    assert_eq!(view["answers"][0]["via"], "server");
    // The dialog takes the same path; a third gateway is refused (2 licenses).
    let c = request(
        &h.dir.path().join("site-c"),
        "c.ldreq",
        &[4],
        &Credential::Code(code),
    );
    h.answer_dialog(Some(c));
    let out = h
        .invoke("answer_requests_dialog", json!({}))
        .expect("dialog");
    assert_eq!(out["answers"][0]["result"], "refused", "{out}");
    assert!(out["answers"][0]["error"]["code"].is_string());

    // Order lookup: code, quantity, used, remaining, activations.
    let order = h
        .invoke(
            "lookup_order",
            json!({"orderNo": "ORD-ANSWER-1", "email": "field@example.com"}),
        )
        .expect("order");
    assert_eq!(
        (
            order["quantity"].as_u64(),
            order["used"].as_u64(),
            order["remaining"].as_u64()
        ),
        (Some(2), Some(2), Some(0))
    );
    let acts = order["activations"].as_array().expect("activations");
    assert_eq!(acts.len(), 2);
    assert!(
        acts.iter().any(|x| x["gateway_name"] == "Pump 2"),
        "{order}"
    );
    assert_eq!(
        h.error_code(
            "lookup_order",
            json!({"orderNo": "ORD-ANSWER-1", "email": "other@example.com"})
        ),
        "NOT_FOUND"
    );

    // Export and copy a gateway's license.
    assert_eq!(
        h.error_code("license_file_text", json!({"gatewayId": h.this_machine()})),
        "LICENSE_NONE_INSTALLED"
    );
    let mine = h.file(
        "mine.lic",
        server
            .license_for("ORD-EXPORT-1", &h.this_machine())
            .as_bytes(),
    );
    h.invoke("open_files", json!({"paths": [mine]}))
        .expect("install");
    let text = h
        .invoke("license_file_text", json!({"gatewayId": h.this_machine()}))
        .expect("text");
    assert!(
        text.as_str()
            .is_some_and(|t| t.starts_with("-----BEGIN LICENSEDESK LICENSE-----"))
    );
    let target = h.dir.path().join("exported.lic");
    h.answer_dialog(Some(target.clone()));
    h.invoke(
        "export_license_dialog",
        json!({"gatewayId": h.this_machine()}),
    )
    .expect("export");
    assert_eq!(
        std::fs::read_to_string(&target).expect("file"),
        text.as_str().expect("text")
    );
}

#[test]
fn offline_requests_are_answered_by_the_field_kit() {
    let server = DemoServer::start();
    let h = server.harness();
    let a = h
        .invoke(
            "field_checkout",
            json!({"kind": "order", "reference": "ORD-2025-0001", "count": 2, "days": 7}),
        )
        .expect("checkout");
    assert_eq!(a["remaining"], 2);
    drop(server); // offline from here on
    let order = Credential::Order("ORD-2025-0001".into());
    let req = request(&h.dir.path().join("site"), "r.ldreq", &[7, 8], &order);
    let out = h
        .invoke("open_files", json!({"paths": [req]}))
        .expect("answered offline");
    assert_eq!(out["answers"]["via"], "field_kit", "{out}");
    let answers = out["answers"]["answers"].as_array().expect("answers");
    assert!(answers.iter().all(|x| x["result"] == "issued"), "{out}");
    for x in answers {
        let file = x["response_file"].as_str().expect("license file");
        assert!(
            Path::new(file).starts_with(h.dir.path().join("site")),
            "{x}"
        );
    }
    let view = h
        .invoke("gateway_license", json!({"gatewayId": fingerprint(7)}))
        .expect("view");
    assert_eq!(view["answers"][0]["via"], "field_kit");
    // A request no allotment covers (an activation code) waits for the server.
    let code = licensedesk_core::activation_code::ActivationCode::from_entropy([4; 16]);
    let other = request(
        &h.dir.path().join("site2"),
        "r.ldreq",
        &[9],
        &Credential::Code(code),
    );
    assert_eq!(
        h.error_code("open_files", json!({"paths": [other]})),
        "REQUEST_UNANSWERED_OFFLINE"
    );
}

//! Offline activation bundles: request export, gateways from request
//! files, response import through the install pipeline.

use licensedesk_core::gateway::LicenseKind;
use licensedesk_core::offline::{Credential, OfflineRequest, RequestEntry};
use licensedesk_gateways::ServerApi;

use crate::support::{Local, TestServer, now, other_fp, record_installs, sources, this_fp};

#[test]
fn gateways_are_added_from_request_files_once() {
    let local = Local::new();
    let code = licensedesk_core::activation_code::ActivationCode::from_entropy([3; 16]);
    let entries = (7..9)
        .map(|n| {
            RequestEntry::new(
                &other_fp(n),
                Credential::Code(code),
                [n as u8; 16],
                now(),
                Some(format!("Site {n}")),
            )
            .expect("entry")
        })
        .collect();
    let text = OfflineRequest::new(entries).expect("request").to_json();
    let path = local.file("site.ldreq", text.as_bytes());
    let added = local.reg.add_from_request_file(&path, now()).expect("add");
    let names: Vec<&str> = added.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Site 7", "Site 8"]);
    assert!(
        local
            .reg
            .add_from_request_file(&path, now())
            .expect("again")
            .is_empty()
    );
    assert_eq!(local.reg.list(now()).len(), 3);
    let bad = local.file("bad.ldreq", b"{\"v\":1}");
    assert!(
        local
            .reg
            .add_from_request_file(&bad, now())
            .expect_err("bad")
            .code()
            .starts_with("OFFLINE_")
    );
}

#[tokio::test]
async fn export_answer_import_installs_each_gateway() {
    let server = TestServer::start().await;
    let (account, _) = server.account().await;
    let code = server.order(account, "ORD-3", 1).await;
    let local = Local::new();
    local.reg.add("Site 10", &other_fp(10), now()).expect("add");
    let api = ServerApi::new(&server.base, None).expect("api");
    local.reg.refresh_keys(&api).await.expect("keys");
    let ids = vec![this_fp(), other_fp(10)];
    let file = local
        .reg
        .export_request(&ids, &code, now())
        .expect("export");
    assert_eq!(file.gateways, 2);
    assert!(file.file_name.ends_with(".ldreq"));

    let response = api
        .offline_activate(file.contents.as_bytes())
        .await
        .expect("answer");
    let mut tampered = response.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    let err = local
        .reg
        .import_response_bytes(&tampered, now())
        .expect_err("tampered");
    assert!(err.code().starts_with("OFFLINE_"), "{}", err.code());

    let path = local.file("answer.ldresp", &response);
    let installs = record_installs(&local.reg);
    let items = local
        .reg
        .import_response_file(&path, now())
        .expect("import");
    let results: Vec<&str> = items.iter().map(|i| i.result.as_str()).collect();
    assert_eq!(results, ["installed", "refused"], "{items:?}");
    assert_eq!(
        items[1].error.as_ref().map(|e| e.code.as_str()),
        Some("ORDER_EXHAUSTED")
    );
    let v = local.reg.view(&this_fp(), now()).expect("view");
    assert_eq!(v.kind, LicenseKind::Activation);
    // The one install is reported as coming from an offline response (the
    // tampered bundle and the refused gateway installed nothing).
    assert_eq!(sources(&installs), ["offline"]);

    let other = Local::new();
    other.reg.refresh_keys(&api).await.expect("keys");
    let err = other
        .reg
        .import_response_bytes(&response, now())
        .expect_err("not ours");
    assert_eq!(err.code(), "OFFLINE_REQUEST_NOT_FOUND");
}

//! The app's trust source, usage from the gateways' own software, and
//! request files answered by the server.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use licensedesk_core::activation_code::ActivationCode;
use licensedesk_core::gateway::usage::{UsageFile, UsageSample};
use licensedesk_core::keys::{KeySet, SigningKeyWithKid};
use licensedesk_core::license::sign_license;
use licensedesk_core::offline::{Credential, OfflineRequest, RequestEntry};
use licensedesk_gateways::{ServerApi, read_request_files, response_path};

use crate::support::{
    Local, TestServer, dead_url, keyset, now, other_fp, payload, signed, this_fp,
};

/// A registry whose trusted keys come from a settable source (as the app's
/// come from the active profile).
fn with_source(local: &Local) -> Arc<Mutex<Option<KeySet>>> {
    let trusted = Arc::new(Mutex::new(None));
    let t = trusted.clone();
    assert!(
        local
            .reg
            .trust_from(Box::new(move || Ok(t.lock().expect("lock").clone())))
            .is_ok()
    );
    trusted
}

#[test]
fn licenses_verify_with_the_trust_source_only() {
    let local = Local::trusting(); // keys.json trusts the test key…
    let trusted = with_source(&local); // …but the source decides.
    let path = local.file("a.lic", signed(&payload("lic-a", None)).as_bytes());
    let err = local
        .reg
        .install_license_file(&path, None, now())
        .expect_err("nothing trusted");
    assert_eq!(err.code(), "KEYS_MISSING");
    // A license signed by a key the profile does not trust is refused.
    let stranger = SigningKeyWithKid::from_seed("stranger-1", [9; 32]).expect("key");
    *trusted.lock().expect("lock") = Some(keyset());
    let foreign = local.file(
        "foreign.lic",
        sign_license(&payload("lic-f", None), &stranger).as_bytes(),
    );
    let err = local
        .reg
        .install_license_file(&foreign, None, now())
        .expect_err("untrusted key");
    assert_eq!(err.code(), "LICENSE_KID_UNKNOWN");
    // The same key id under another public key: the signature fails.
    let impostor = SigningKeyWithKid::from_seed("test-1", [9; 32]).expect("key");
    let forged = local.file(
        "forged.lic",
        sign_license(&payload("lic-x", None), &impostor).as_bytes(),
    );
    assert_eq!(
        local
            .reg
            .install_license_file(&forged, None, now())
            .expect_err("forged")
            .code(),
        "LICENSE_SIGNATURE_INVALID"
    );
    assert!(local.installed_bytes().is_none());
    let ok = local
        .reg
        .install_license_file(&path, None, now())
        .expect("trusted");
    assert_eq!(ok.view.installed.expect("installed").license_id, "lic-a");
}

fn sample(min: i64, connections: u32, tags: u32) -> UsageSample {
    UsageSample {
        at: now() + Duration::minutes(min),
        connections,
        tags,
    }
}

#[test]
fn usage_files_and_this_machines_ldctl_usage_fill_the_figures() {
    let local = Local::trusting();
    // A remote gateway's usage file adds the gateway and its samples.
    let file =
        UsageFile::new(&other_fp(4), vec![sample(0, 5, 20), sample(1, 6, 41)]).expect("file");
    let path = local.file("gw4.ldusage", file.to_json().as_bytes());
    let imported = local.reg.import_usage_file(&path, now()).expect("import");
    assert!(imported.added);
    assert_eq!(
        (imported.samples, imported.connections, imported.tags),
        (2, 6, 41)
    );
    let v = local.reg.view(&other_fp(4), now()).expect("view");
    assert_eq!((v.tags.in_use, v.connections.in_use), (41, 6));
    assert!(v.over_trial, "41 tags beyond the trial's 30");
    // Importing again adds nothing twice.
    local.reg.import_usage_file(&path, now()).expect("again");
    assert_eq!(
        local
            .reg
            .usage_history(&other_fp(4))
            .expect("history")
            .len(),
        2
    );
    let bad = local.file("bad.ldusage", b"{\"format\":\"x\"}");
    assert_eq!(
        local
            .reg
            .import_usage_file(&bad, now())
            .expect_err("bad")
            .code(),
        "USAGE_FILE_MALFORMED"
    );
    // This machine: what ldctl recorded in its home.
    let ldctl_home = tempfile::tempdir().expect("home");
    local
        .reg
        .refresh_this_machine_usage(ldctl_home.path())
        .expect("nothing yet");
    assert_eq!(
        local
            .reg
            .view(&this_fp(), now())
            .expect("view")
            .usage_reported_at,
        None
    );
    let mine = UsageFile::new(&this_fp(), vec![sample(0, 2, 12), sample(5, 3, 14)]).expect("file");
    std::fs::write(ldctl_home.path().join("usage.json"), mine.to_json()).expect("write");
    local
        .reg
        .refresh_this_machine_usage(ldctl_home.path())
        .expect("read");
    let v = local.reg.view(&this_fp(), now()).expect("view");
    assert_eq!((v.connections.in_use, v.tags.in_use), (3, 14));
    assert!(!v.over_trial);
    assert_eq!(
        local.reg.usage_history(&this_fp()).expect("history").len(),
        2
    );
}

#[test]
fn a_license_below_the_usage_is_refused_naming_both_figures() {
    let local = Local::trusting();
    local
        .reg
        .set_usage(&this_fp(), 10, 40, now())
        .expect("usage");
    let mut small = payload("lic-30", None);
    small.max_tags = 30;
    let path = local.file("small.lic", signed(&small).as_bytes());
    let err = local
        .reg
        .install_license_file(&path, None, now())
        .expect_err("below usage");
    assert_eq!(err.code(), "LIMIT_BELOW_USAGE");
    let msg = err.to_string();
    assert!(msg.contains("30") && msg.contains("40"), "{msg}");
    assert!(local.installed_bytes().is_none());
    let big = local.file("big.lic", signed(&payload("lic-500", None)).as_bytes());
    local
        .reg
        .install_license_file(&big, None, now())
        .expect("fits");
}

#[tokio::test]
async fn request_files_are_answered_by_the_server_and_listed_per_gateway() {
    let server = TestServer::start().await;
    let (account, _) = server.account().await;
    let code = server.order(account, "ORD-9", 2).await;
    let code = ActivationCode::parse(&code).expect("code");
    let local = Local::new();
    let api = ServerApi::new(&server.base, None).expect("api");
    local.reg.refresh_keys(&api).await.expect("keys");
    let dir = tempfile::tempdir().expect("dir");
    let mut paths = Vec::new();
    for n in [21u32, 22] {
        let entry = RequestEntry::new(
            &other_fp(n),
            Credential::Code(code),
            [n as u8; 16],
            now(),
            Some(format!("Pump {n}")),
        )
        .expect("entry");
        let path = dir.path().join(format!("pump-{n}.ldreq"));
        std::fs::write(
            &path,
            OfflineRequest::new(vec![entry]).expect("request").to_json(),
        )
        .expect("write");
        paths.push(path);
    }
    // Unreachable: nothing is answered, nothing written.
    let files = read_request_files(&paths).expect("read");
    let dead = ServerApi::new(&dead_url(), None).expect("api");
    let err = local
        .reg
        .answer_requests_online(&dead, &files, now())
        .await
        .expect_err("offline");
    assert!(err.is_unreachable());
    assert!(!response_path(&paths[0]).exists());
    let answers = local
        .reg
        .answer_requests_online(&api, &files, now())
        .await
        .expect("answered");
    assert_eq!(answers.len(), 2);
    assert!(
        answers
            .iter()
            .all(|a| a.result == "issued" && a.via == "server")
    );
    for p in &paths {
        assert!(
            response_path(p).is_file(),
            "{} has its response beside it",
            p.display()
        );
    }
    let v = local.reg.view(&other_fp(21), now()).expect("registered");
    assert_eq!(v.gateway.name, "Pump 21");
    assert_eq!(v.answers.len(), 1);
    assert_eq!(
        v.answers[0].response_file.as_deref(),
        Some(response_path(&paths[0]).display().to_string().as_str())
    );
    // A third gateway on a 2-license order: refused, listed with the reason.
    let entry = RequestEntry::new(&other_fp(23), Credential::Code(code), [23; 16], now(), None)
        .expect("entry");
    let third = dir.path().join("pump-23.ldreq");
    std::fs::write(
        &third,
        OfflineRequest::new(vec![entry]).expect("request").to_json(),
    )
    .expect("write");
    let files = read_request_files(&[third]).expect("read");
    let answers = local
        .reg
        .answer_requests_online(&api, &files, now())
        .await
        .expect("answered");
    assert_eq!(answers[0].result, "refused");
    assert!(answers[0].error.is_some());
    // A file that is not a request fails the batch before anything is asked.
    let bad = dir.path().join("bad.ldreq");
    std::fs::write(&bad, "nope").expect("write");
    assert!(read_request_files(&[paths[0].clone(), bad]).is_err());
}

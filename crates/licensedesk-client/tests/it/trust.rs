//! The profile's trusted key set: pinned at creation, refreshed by every
//! sync through the chain of rotations; a foreign server is refused and
//! changes nothing.

use licensedesk_client::{ApiToken, Client, ManualClock, NewProfile};
use licensedesk_core::Coded;

use crate::support::{ENT, TestServer, session, sync};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_accepted_through_the_chain_by_the_next_sync() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    // Nothing pinned: the first sync pins what is served.
    assert!(s.trust().load().expect("load").is_none());
    sync(&s).await;
    let pinned = s.trust().load().expect("load").expect("pinned");
    assert_eq!(pinned.entries().len(), 1);
    drop(s);
    let server = server.rotated().await;
    let (s, _) = session(&server, dir.path(), ENT);
    sync(&s).await;
    let now = s.trust().load().expect("load").expect("trusted");
    assert_eq!(
        now.entries().len(),
        2,
        "the new key chains to the pinned one"
    );
    assert_ne!(now.current(), pinned.current());
    // A change signed by the new key verifies (the page's signed time did).
    assert!(s.staleness().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_foreign_keys_is_refused_and_nothing_changes() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    sync(&s).await;
    let trust = std::fs::read(s.trust().path()).expect("trust file");
    let rows = s.overview().expect("overview");
    drop(s);
    // Another server (its own keys, its own data) at the profile's address.
    let impostor = TestServer::demo().await;
    let (s, _) = session(&impostor, dir.path(), ENT);
    let err = s
        .sync(&|_| {}, &licensedesk_client::CancelToken::new())
        .await
        .expect_err("foreign keys");
    assert_eq!(err.code(), "KEYSET_UNTRUSTED", "{err}");
    assert_eq!(std::fs::read(s.trust().path()).expect("trust file"), trust);
    assert_eq!(s.overview().expect("overview"), rows, "the mirror is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_added_with_its_key_set_trusts_it_before_any_sync() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let client = Client::with(
        dir.path(),
        std::sync::Arc::new(licensedesk_client::FileTokenStore::new(
            &dir.path().join("secrets"),
        )),
        std::sync::Arc::new(ManualClock::new(server.now())),
    );
    let shown = licensedesk_client::trust::fetch_keyset(&server.base)
        .await
        .expect("fetch");
    assert_eq!(shown.keys.len(), 1);
    assert_eq!(shown.keys[0].fingerprint.len(), 39);
    let keys = licensedesk_client::trust::confirmed(&shown.json).expect("confirmed");
    let p = client
        .add_profile_trusting(
            NewProfile {
                name: "Demo".into(),
                server_url: server.base.clone(),
                account_label: "ops".into(),
            },
            &ApiToken::new(ENT),
            &keys,
        )
        .expect("add");
    assert_eq!(client.trust(&p.id).load().expect("load"), Some(keys));
    let err = licensedesk_client::trust::fetch_keyset(&licensedesk_testkit::dead_url())
        .await
        .expect_err("unreachable");
    assert_eq!(err.code(), "SERVER_UNREACHABLE");
    let err = licensedesk_client::trust::parse_keyset_file(b"{}").expect_err("bad file");
    assert_eq!(err.code(), "KEYSET_MALFORMED");
}

//! The issue's journey: check out 5, go offline, issue 5 from request files
//! written by the real `ldctl request`, a 6th refused, all 5 installed by
//! the real `ldctl install`, reconnect → 5 consumed exactly once, twice more
//! → still 5.

use chrono::Duration;
use licensedesk_field::{Kit, SyncState, checkout, reconcile};

use crate::support::{ORDER, Server, by_order, fingerprint, ldctl, ldctl_ok, s, t0};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_out_five_issue_offline_install_reconcile_exactly_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("server");
    let server = Server::start(&data, t0()).await;
    let token = server.account_with_order(10).await;
    let mut kit = Kit::open(&tmp.path().join("kit")).expect("kit");
    let a = checkout(&mut kit, &server.base, &token, &by_order(), 5, 7, t0())
        .await
        .expect("checkout");
    let id = a.allotment_id.clone();
    assert_eq!((a.max_licenses, a.remaining, a.issued), (5, 5, 0));
    assert_eq!(a.expires_in_secs, (a.not_after - t0()).num_seconds());
    assert!(a.expires_in_secs > 6 * 86_400, "{a:?}");
    assert_eq!(server.order_remaining().await, 5, "5 reserved");
    server.stop().await; // the network is cut from here on

    // Six gateways write their requests with the real ldctl (4 and 5 share
    // one file, as a technician collecting several gateways would).
    let keys = tmp.path().join("keys.json");
    std::fs::write(&keys, kit.server_keys(&id).expect("keys").to_json()).expect("keys");
    let now = (t0() + Duration::hours(1)).to_rfc3339();
    let home = |n: u32| tmp.path().join(format!("gw-{n}"));
    let req = |name: &str| tmp.path().join(name);
    for (n, file, append) in [
        (1, "r1.json", false),
        (2, "r2.json", false),
        (3, "r3.json", false),
        (4, "r45.json", false),
        (5, "r45.json", true),
        (6, "r6.json", false),
    ] {
        let (h, out, mid) = (home(n), req(file), format!("machine-{n}"));
        let mut args = vec!["--json", "--home", s(&h), "--now", &now, "request"];
        args.extend(["--order", ORDER, "--machine-id", &mid, "--out", s(&out)]);
        if append {
            args.push("--append");
        }
        let v = ldctl_ok(&args);
        assert_eq!(v["fingerprint"], fingerprint(n));
    }

    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let issue_at = t0() + Duration::hours(1);
    let files = ["r1.json", "r2.json", "r3.json", "r45.json"].map(req);
    let outcomes = kit
        .issue_requests(&id, &files, &out, issue_at)
        .expect("issue");
    assert_eq!(outcomes.len(), 5);
    for o in &outcomes {
        assert_eq!(o.code, None, "{o:?}");
        assert!(o.file.as_ref().is_some_and(|f| f.exists()), "{o:?}");
    }
    let sixth = kit
        .issue_requests(&id, &[req("r6.json")], &out, issue_at)
        .expect("read");
    assert_eq!(sixth[0].code.as_deref(), Some("LEDGER_ALLOTMENT_EXHAUSTED"));
    assert_eq!(sixth[0].file, None);
    assert_eq!(
        std::fs::read_dir(&out).expect("out").count(),
        5,
        "no 6th file"
    );

    // Dropping the first request again re-writes the same license.
    let before = std::fs::read(outcomes[0].file.as_ref().expect("file")).expect("lic");
    let again = kit
        .issue_requests(
            &id,
            &[req("r1.json")],
            &out,
            issue_at + Duration::minutes(5),
        )
        .expect("reissue");
    assert!(again[0].issued.as_ref().is_some_and(|i| i.reissue));
    assert_eq!(
        std::fs::read(again[0].file.as_ref().expect("file")).expect("lic"),
        before
    );
    assert_eq!(kit.ledger(&id).expect("ledger").len(), 5);

    // Each gateway installs its own license; another gateway's is refused.
    let install_at = (t0() + Duration::hours(2)).to_rfc3339();
    for n in 1..=5 {
        let (h, mid) = (home(n), format!("machine-{n}"));
        let lic = out.join(format!("license-{}.lic", fingerprint(n)));
        let v = ldctl_ok(&[
            "--json",
            "--home",
            s(&h),
            "--now",
            &install_at,
            "install",
            s(&lic),
            "--keys",
            s(&keys),
            "--machine-id",
            &mid,
        ]);
        assert_eq!(v["order"], ORDER, "{v}");
    }
    let wrong = out.join(format!("license-{}.lic", fingerprint(1)));
    let refused = ldctl(&[
        "--json",
        "--home",
        s(&home(6)),
        "--now",
        &install_at,
        "install",
        s(&wrong),
        "--keys",
        s(&keys),
        "--machine-id",
        "machine-6",
    ]);
    assert!(
        !refused.status.success(),
        "gateway 6 must refuse gateway 1's license"
    );

    let listed = kit.issued(&id).expect("issued");
    assert_eq!(listed.len(), 5);
    assert!(listed.iter().all(|i| i.state == SyncState::PendingSync));
    let summary = kit.summary(&id, issue_at).expect("summary");
    assert_eq!((summary.remaining, summary.pending_sync), (0, 5));

    // Reconnect: a server restarted on the same data directory.
    let server = Server::start(&data, t0() + Duration::hours(3)).await;
    for round in 0..3 {
        let r = reconcile(
            &mut kit,
            &server.base,
            &token,
            &id,
            t0() + Duration::hours(3),
        )
        .await
        .expect("reconcile");
        assert_eq!(r.consumed, 5, "round {round}: {r:?}");
        assert_eq!(r.newly_consumed, if round == 0 { 5 } else { 0 }, "{r:?}");
        assert_eq!(r.conflicts, 0);
        assert_eq!((r.summary.reconciled, r.summary.consumed), (5, 5));
    }
    assert_eq!(
        server.order_remaining().await,
        5,
        "5 activated, none reserved"
    );
    let view = server
        .get_json(&format!("/v1/field/allotments/{id}"), &token)
        .await;
    assert_eq!(
        (view["consumed"].as_u64(), view["reserved"].as_u64()),
        (Some(5), Some(0)),
        "{view}"
    );
    assert!(
        kit.issued(&id)
            .expect("issued")
            .iter()
            .all(|i| i.state == SyncState::Reconciled)
    );

    // The same kit checks out again with a new delegate key (the server
    // certifies a key once); a refused checkout leaves no key behind.
    let keys_dir = tmp.path().join("kit/keys");
    let count_keys = || std::fs::read_dir(&keys_dir).expect("keys").count();
    assert_eq!(count_keys(), 1);
    let err = checkout(&mut kit, &server.base, &token, &by_order(), 100, 7, t0())
        .await
        .expect_err("more than the order");
    assert_eq!(err.detail_code(), "ALLOTMENT_EXCEEDS_ORDER", "{err}");
    assert_eq!(count_keys(), 1, "the refused checkout's key is discarded");
    let b = checkout(&mut kit, &server.base, &token, &by_order(), 1, 7, t0())
        .await
        .expect("second checkout");
    assert_ne!(
        kit.delegate_key(&b.allotment_id).expect("key").kid(),
        kit.delegate_key(&id).expect("key").kid()
    );
    assert_eq!(kit.allotments(t0()).expect("list").len(), 2);
    server.stop().await;
}

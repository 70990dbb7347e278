//! Activation codes against a real server on loopback.

use chrono::Duration;
use licensedesk_core::gateway::LicenseKind;
use licensedesk_gateways::ServerApi;
use licensedesk_gateways::dto::ActivationOutcome;
use serde_json::json;

use crate::support::{
    Local, TestServer, dead_url, now, other_fp, record_installs, sources, this_fp,
};

fn typo(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    chars[0] = if chars[0] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn a_wrong_check_symbol_is_caught_before_any_network() {
    let local = Local::new();
    let api = ServerApi::new(&dead_url(), None).expect("api");
    let code = "0000-0000-0000-0000-00000";
    for (input, want) in [(typo(code), "CODE_"), ("12".into(), "CODE_MALFORMED")] {
        let err = local
            .reg
            .activate_code(&api, &this_fp(), &input, now())
            .await
            .expect_err("refused offline");
        assert!(err.code().starts_with(want), "{input}: {}", err.code());
    }
    assert!(local.reg.pending().is_empty(), "nothing queued");
}

#[tokio::test]
async fn activates_online_and_reactivation_reissues_without_consuming() {
    let server = TestServer::start().await;
    let (account, _) = server.account().await;
    let code = server.order(account, "ORD-1", 2).await;
    let local = Local::new();
    let installs = record_installs(&local.reg);
    let api = ServerApi::new(&server.base, None).expect("api");
    let out = local
        .reg
        .activate_code(&api, &this_fp(), &code.to_lowercase(), now())
        .await
        .expect("activate");
    let ActivationOutcome::Activated {
        reissued,
        remaining,
        outcome,
    } = out
    else {
        panic!("expected activation, got {out:?}");
    };
    assert_eq!((reissued, remaining), (false, 1));
    let v = outcome.view;
    assert_eq!(v.kind, LicenseKind::Activation);
    assert_eq!(v.bound_hardware, Some(this_fp()));
    assert_eq!(v.plugins, ["mqtt", "opcua"]);
    assert_eq!((v.connections.max, v.tags.max), (200, 2000));
    assert_eq!(v.expire_at, Some(now() + Duration::days(365)));

    let again = local
        .reg
        .activate_code(&api, &this_fp(), &code, now())
        .await
        .expect("again");
    assert!(
        matches!(
            again,
            ActivationOutcome::Activated {
                reissued: true,
                remaining: 1,
                ..
            }
        ),
        "{again:?}"
    );
    let unknown = local
        .reg
        .activate_code(&api, &this_fp(), "0000-0000-0000-0000-00000", now())
        .await
        .expect_err("unknown code");
    assert_eq!(unknown.code(), "NOT_FOUND");
    // Both installs (the issue and the re-issue) are reported; the refusal
    // installed nothing.
    assert_eq!(sources(&installs), ["activation", "activation"]);
}

#[tokio::test]
async fn offline_entry_is_queued_durably_and_replayed_exactly_once() {
    let server = TestServer::start().await;
    let (account, _) = server.account().await;
    let code = server.order(account, "ORD-2", 1).await;
    let local = Local::new();
    local.reg.add("Line 4", &other_fp(4), now()).expect("add");
    let dead = ServerApi::new(&dead_url(), None).expect("api");
    let out = local
        .reg
        .activate_code(&dead, &other_fp(4), &code, now())
        .await
        .expect("queued");
    let ActivationOutcome::Queued { pending } = out else {
        panic!("expected queued, got {out:?}");
    };
    // Queued twice is one item.
    local
        .reg
        .activate_code(&dead, &other_fp(4), &code, now())
        .await
        .expect("queued again");
    let reg = local.reopen();
    let installs = record_installs(&reg);
    assert_eq!(reg.pending(), vec![pending.clone()]);
    let still = reg
        .replay_pending(&dead, now())
        .await
        .expect("replay offline");
    assert_eq!((still.activated, still.still_pending), (0, 1));

    let api = ServerApi::new(&server.base, None).expect("api");
    let report = reg.replay_pending(&api, now()).await.expect("replay");
    assert_eq!((report.activated, report.rejected), (1, 0));
    assert!(reg.pending().is_empty());
    assert_eq!(
        installs.lock().expect("lock").clone(),
        [(other_fp(4), "activation")],
        "the replayed activation's install is reported, once"
    );
    let v = reg.view(&other_fp(4), now()).expect("view");
    assert_eq!(v.kind, LicenseKind::Activation);
    // The order had one license: a replay of the same gateway is a re-issue,
    // while another gateway is refused and the refusal is kept.
    reg.add("Line 5", &other_fp(5), now()).expect("add");
    let refused = reg
        .activate_code(&api, &other_fp(5), &code, now())
        .await
        .expect_err("exhausted");
    assert_eq!(refused.code(), "ORDER_EXHAUSTED");
    let queued = reg
        .activate_code(&dead, &other_fp(5), &code, now())
        .await
        .expect("queued");
    assert!(matches!(queued, ActivationOutcome::Queued { .. }));
    let report = reg.replay_pending(&api, now()).await.expect("replay");
    assert_eq!((report.activated, report.rejected), (0, 1));
    let kept = reg.pending();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].error.as_ref().map(|e| e.code.as_str()),
        Some("ORDER_EXHAUSTED")
    );
    reg.dismiss_pending(&kept[0].key).expect("dismiss");
    assert!(reg.pending().is_empty());
}

#[tokio::test]
async fn floating_lease_status_of_a_gateway() {
    let server = TestServer::start().await;
    let (_, token) = server.account().await;
    server
        .post_json(
            "/v1/floating/pools",
            &token,
            json!({"name": "edge fleet", "points": 100, "ttl_seconds": 300}),
        )
        .await;
    server
        .post_json(
            "/v1/floating/pools/edge%20fleet/claim",
            &token,
            json!({"fingerprint": this_fp(), "points": 40}),
        )
        .await;
    let local = Local::new();
    local.reg.add("Line 6", &other_fp(6), now()).expect("add");
    let api = ServerApi::new(&server.base, Some(token)).expect("api");
    let mine = local
        .reg
        .floating_status(&api, &this_fp(), "edge fleet")
        .await
        .expect("status");
    assert_eq!(
        (mine.state.as_str(), mine.lease_points),
        ("leased", Some(40))
    );
    assert_eq!((mine.pool_points, mine.pool_in_use), (100, 40));
    let other = local
        .reg
        .floating_status(&api, &other_fp(6), "edge fleet")
        .await
        .expect("status");
    assert_eq!((other.state.as_str(), other.lease_points), ("none", None));
    server.clock.advance(Duration::seconds(301));
    let lapsed = local
        .reg
        .floating_status(&api, &this_fp(), "edge fleet")
        .await
        .expect("status");
    assert_eq!(lapsed.state, "none");
    let missing = local
        .reg
        .floating_status(&api, &this_fp(), "no such pool")
        .await
        .expect_err("404");
    assert_eq!(missing.code(), "NOT_FOUND");
}

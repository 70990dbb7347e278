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
async fn floating_pools_show_live_leases_with_time_left_and_usage() {
    let server = TestServer::start().await;
    let (account, token) = server.account().await;
    let pool_token = server.pool(account, "edge fleet", 100, 300).await;
    server
        .post_json(
            "/v1/floating/pools/edge%20fleet/claim",
            &pool_token,
            json!({"fingerprint": this_fp(), "points": 40, "usage": {"connections": 3, "tags": 33}}),
        )
        .await;
    server
        .post_json(
            "/v1/floating/pools/edge%20fleet/claim",
            &pool_token,
            json!({"fingerprint": other_fp(9), "points": 10}),
        )
        .await;
    let local = Local::new();
    let api = ServerApi::new(&server.base, Some(token)).expect("api");
    server.clock.advance(Duration::seconds(100));
    let pools = local.reg.pools(&api).await.expect("pools");
    assert_eq!(pools.len(), 1);
    let p = &pools[0];
    assert_eq!(
        (p.name.as_str(), p.points, p.in_use),
        ("edge fleet", 100, 50)
    );
    let mine = &p.leases[0];
    assert_eq!(mine.gateway_id.as_deref(), Some(this_fp().as_str()));
    assert_eq!((mine.points, mine.seconds_left), (40, 200));
    assert_eq!((mine.connections, mine.tags), (Some(3), Some(33)));
    assert_eq!(p.leases[1].gateway_name, None, "not in the registry");
    // The heartbeat's usage became this machine's usage.
    let v = local.reg.view(&this_fp(), now()).expect("view");
    assert_eq!((v.tags.in_use, v.connections.in_use), (33, 3));
    assert_eq!(v.usage_reported_at, Some(now()));
    // Releasing one from the app.
    let after = local
        .reg
        .release_lease(&api, "edge fleet", &other_fp(9))
        .await
        .expect("release");
    assert_eq!((after.in_use, after.leases.len()), (40, 1));
    // No heartbeat: the lease lapses and leaves the list.
    server.clock.advance(Duration::seconds(201));
    let pools = local.reg.pools(&api).await.expect("pools");
    assert_eq!((pools[0].in_use, pools[0].leases.len()), (0, 0));
}

//! Check out by product: the allotment draws from the product's orders
//! oldest first, its scope names the product, request files asking for the
//! product (real `ldctl request --product`) are issued and others refused,
//! the real `ldctl install` takes the licenses, and reconcile consumes each
//! slot once against its own order.

use chrono::Duration;
use licensedesk_core::Coded as _;
use licensedesk_core::gateway::AllotmentSource;
use licensedesk_core::offline::Credential;
use licensedesk_field::{Kit, ScopeKind, checkout, reconcile};

use crate::support::{
    ORDER, Server, by_order, fingerprint, ldctl_ok, request_file, request_file_for, s, t0,
};

const PRO: &str = "edge-gateway-pro";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_out_by_product_issue_install_reconcile_against_each_order() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Server::start(&tmp.path().join("server"), t0()).await;
    // ORDER (no product) first, then two orders of the product, the older
    // with two licenses and more plugins, and one of another product.
    let (account, token) = server.account_with_order_of(5).await;
    server
        .add_order(&account, "ORD-P1", Some(PRO), 2, &["modbus-tcp", "mqtt"])
        .await;
    server
        .add_order(&account, "ORD-P2", Some(PRO), 5, &["modbus-tcp"])
        .await;
    server
        .add_order(&account, "ORD-L1", Some("edge-gateway-lite"), 5, &["mqtt"])
        .await;
    let mut kit = Kit::open(&tmp.path().join("kit")).expect("kit");
    let product = AllotmentSource::Product(PRO.into());
    let a = checkout(&mut kit, &server.base, &token, &product, 4, 7, t0())
        .await
        .expect("checkout by product");
    let id = a.allotment_id.clone();
    assert_eq!(a.scope.kind, ScopeKind::Product);
    assert_eq!(
        (a.scope.reference.as_str(), a.scope.order.as_deref()),
        (PRO, None)
    );
    assert_eq!(a.scope.plugins, ["modbus-tcp"], "what both orders grant");
    assert_eq!((a.max_licenses, a.remaining), (4, 4));
    let view = server
        .get_json(&format!("/v1/field/allotments/{id}"), &token)
        .await;
    assert_eq!(view["scope"], "product");
    assert_eq!(
        view["orders"],
        serde_json::json!([{"order_no": "ORD-P1", "first_slot": 1, "count": 2},
                           {"order_no": "ORD-P2", "first_slot": 3, "count": 2}])
    );
    let remaining = async |o: &str| server.remaining_of(o).await;
    assert_eq!(
        (
            remaining("ORD-P1").await,
            remaining("ORD-P2").await,
            remaining(ORDER).await
        ),
        (0, 3, 5)
    );
    let err = checkout(&mut kit, &server.base, &token, &product, 4, 7, t0())
        .await
        .expect_err("3 left of the product");
    assert_eq!(err.detail_code(), "ALLOTMENT_EXCEEDS_PRODUCT", "{err}");

    // Offline: three gateways ask for the product with the real ldctl, one
    // request asks for an order instead.
    let at = t0() + Duration::hours(1);
    let file = tmp.path().join("pro.json");
    for n in 1..=3 {
        let home = tmp.path().join(format!("gw-{n}"));
        let mid = format!("machine-{n}");
        let mut args = vec!["--json", "--home", s(&home), "request", "--product", PRO];
        args.extend(["--machine-id", &mid, "--out", s(&file)]);
        if n > 1 {
            args.push("--append");
        }
        ldctl_ok(&args);
    }
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let by_order_file = request_file(tmp.path(), "order.json", &[9], "ORD-P1");
    let err = kit
        .issue_requests(&id, &[file.clone(), by_order_file], &out, at)
        .expect_err("a request for an order");
    assert_eq!(err.code(), "FIELD_REQUEST_OUT_OF_SCOPE", "{err}");
    assert!(
        err.to_string().contains(
            "asks for order 'ORD-P1', but this allotment is for product 'edge-gateway-pro'"
        ),
        "{err}"
    );
    let lite = request_file_for(
        tmp.path(),
        "lite.json",
        &[9],
        &Credential::Product("edge-gateway-lite".into()),
    );
    let err = kit
        .issue_requests(&id, &[lite], &out, at)
        .expect_err("another product");
    assert_eq!(err.code(), "FIELD_REQUEST_OUT_OF_SCOPE", "{err}");
    assert!(
        kit.issued(&id).expect("issued").is_empty(),
        "nothing issued"
    );
    let outcomes = kit
        .issue_requests(&id, &[file], &out, at)
        .expect("issue by product");
    assert!(outcomes.iter().all(|o| o.issued.is_some()), "{outcomes:?}");
    kit.issue_to_file(&id, &fingerprint(4), &out, at)
        .expect("a typed fingerprint");

    // The real ldctl installs a product license with only the server keys.
    let keys = tmp.path().join("keys.json");
    std::fs::write(&keys, kit.server_keys(&id).expect("keys").to_json()).expect("keys");
    let lic = out.join(format!("license-{}.lic", fingerprint(2)));
    let installed = ldctl_ok(&[
        "--json",
        "--home",
        s(&tmp.path().join("gw-2")),
        "--now",
        &(at + Duration::minutes(5)).to_rfc3339(),
        "install",
        s(&lic),
        "--keys",
        s(&keys),
        "--machine-id",
        "machine-2",
    ]);
    assert_eq!(
        (&installed["product"], &installed["order"]),
        (&serde_json::json!(PRO), &serde_json::Value::Null),
        "{installed}"
    );

    // Reconcile: slots 1-2 are ORD-P1's, 3-4 ORD-P2's, each counted once.
    for round in 0..2 {
        let r = reconcile(&mut kit, &server.base, &token, &id, at)
            .await
            .expect("reconcile");
        assert_eq!(
            (r.consumed, r.newly_consumed, r.conflicts),
            (4, if round == 0 { 4 } else { 0 }, 0)
        );
    }
    let order = server
        .http
        .post(format!("{}/v1/gateway/orders/lookup", server.base))
        .json(&serde_json::json!({"order_no": "ORD-P2", "email": "b@example.com"}))
        .send()
        .await
        .expect("send")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert_eq!(
        (order["used"].as_u64(), order["remaining"].as_u64()),
        (Some(2), Some(3)),
        "{order}"
    );
    assert_eq!(remaining("ORD-P1").await, 0);
    assert_eq!(remaining("ORD-L1").await, 5, "another product untouched");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_allotment_issues_for_its_order_or_its_orders_product() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Server::start(&tmp.path().join("server"), t0()).await;
    let (account, token) = server.account_with_order_of(5).await;
    server
        .add_order(&account, "ORD-P1", Some(PRO), 3, &["modbus-tcp"])
        .await;
    let mut kit = Kit::open(&tmp.path().join("kit")).expect("kit");
    let a = checkout(
        &mut kit,
        &server.base,
        &token,
        &AllotmentSource::Order("ORD-P1".into()),
        3,
        7,
        t0(),
    )
    .await
    .expect("checkout by order");
    assert_eq!(a.scope.kind, ScopeKind::Order);
    assert_eq!(
        (a.scope.reference.as_str(), a.scope.product.as_deref()),
        ("ORD-P1", Some(PRO))
    );
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let at = t0() + Duration::hours(1);
    let order = request_file(tmp.path(), "o.json", &[1], "ORD-P1");
    let product = request_file_for(tmp.path(), "p.json", &[2], &Credential::Product(PRO.into()));
    let outcomes = kit
        .issue_requests(&a.allotment_id, &[order, product], &out, at)
        .expect("issue");
    assert_eq!(outcomes.len(), 2);
    let other = request_file(tmp.path(), "x.json", &[3], ORDER);
    let err = kit
        .issue_requests(&a.allotment_id, &[other], &out, at)
        .expect_err("another order");
    assert_eq!(err.code(), "FIELD_REQUEST_OUT_OF_SCOPE", "{err}");

    // Neither an order nor a product: the server says so, no key is kept.
    let empty = AllotmentSource::Product("  ".into());
    let err = checkout(&mut kit, &server.base, &token, &empty, 1, 7, t0())
        .await
        .expect_err("no scope");
    assert_eq!(err.detail_code(), "ALLOTMENT_SCOPE_INVALID", "{err}");
    let keys = std::fs::read_dir(tmp.path().join("kit/keys"))
        .expect("keys")
        .count();
    assert_eq!(keys, 1);
    assert!(
        checkout(&mut kit, &server.base, &token, &by_order(), 1, 7, t0())
            .await
            .is_ok()
    );
    server.stop().await;
}

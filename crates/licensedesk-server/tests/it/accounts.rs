//! Accounts, free codes, products, packages, assignment, cross-account.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ADMIN, Database, TestServer, assert_counts_equal_recount, at, doc_package, package,
};

#[tokio::test]
async fn free_codes_ten_five_and_five_more_once() {
    let s = TestServer::start().await;
    let (ent_id, ent) = s.account("enterprise", "cn-east").await;
    let (ind_id, ind) = s.account("individual", "eu-central").await;
    let verify = |id: i64| format!("/v1/admin/accounts/{id}/verify-enterprise");
    let e = s.get_ok("/v1/account", &ent).await;
    assert_eq!(
        (
            e["total"].as_u64(),
            e["unassigned"].as_u64(),
            e["free_codes"].as_u64()
        ),
        (Some(10), Some(10), Some(10))
    );
    assert_eq!(e["time_zone"], "Asia/Shanghai");
    let i = s.get_ok("/v1/account", &ind).await;
    assert_eq!(
        (
            i["total"].as_u64(),
            i["remaining"].as_u64(),
            i["used"].as_u64()
        ),
        (Some(5), Some(5), Some(0))
    );
    let v = s.post_ok(&verify(ind_id), ADMIN, json!({})).await;
    assert_eq!(
        (
            v["kind"].as_str(),
            v["free_codes"].as_u64(),
            v["total"].as_u64()
        ),
        (Some("enterprise"), Some(10), Some(10))
    );
    let (st, again) = s.post(&verify(ind_id), ADMIN, json!({})).await;
    assert_eq!(
        (st, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("ALREADY_VERIFIED"))
    );
    let (st, ent_again) = s.post(&verify(ent_id), ADMIN, json!({})).await;
    assert_eq!(
        (st, ent_again["code"].as_str()),
        (StatusCode::CONFLICT, Some("ALREADY_ENTERPRISE"))
    );
    assert_eq!(s.get_ok("/v1/account", &ind).await["total"], 10);
}

#[tokio::test]
async fn counters_batches_package_consistency_and_assignment() {
    let s = TestServer::start().await;
    let (id, t) = s.account("individual", "eu-central").await;
    s.product(id, "pmeter", doc_package(), "block", 3).await;
    let card = s.get_ok("/v1/products/pmeter", &t).await;
    assert_eq!(
        card["package_summary"],
        "5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d"
    );
    // A batch with another package is refused, naming both packages.
    let (st, e) = s
        .post(
            "/v1/admin/batches",
            ADMIN,
            json!({"account_id": id, "pk": "pmeter", "count": 5, "package": package(2, 0, 0)}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("PACKAGE_MISMATCH"))
    );
    let msg = e["message"].as_str().expect("message");
    assert!(msg.contains("5 y") && msg.contains("2 y"), "{msg}");
    // Same package by meaning (60 months) is accepted.
    s.post_ok(
        "/v1/admin/batches",
        ADMIN,
        json!({"account_id": id, "pk": "pmeter", "count": 2, "package": package(0, 60, 0)}),
    )
    .await;
    // Free codes are unassigned: a device of a product without assigned codes goes offline.
    s.product(id, "pdev", doc_package(), "block", 0).await;
    let (st, e) = s.connect(&t, "pdev", "d1").await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("NO_CODES_AVAILABLE"))
    );
    // It says how many unassigned codes the account could assign.
    let msg = e["message"].as_str().expect("message");
    assert!(
        msg.contains("pdev") && msg.contains("5 unassigned codes") && msg.contains("assign"),
        "{msg}"
    );
    // A device refused its first code is not created: the card counts
    // only devices that activated.
    let (st, _) = s.get("/v1/devices/pdev/d1", &t).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(s.get_ok("/v1/products/pdev", &t).await["devices"], 0);
    let (st, e) = s
        .post("/v1/products/pdev/assign", &t, json!({"count": 6}))
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("ASSIGN_COUNT_EXCEEDS_AVAILABLE"))
    );
    let card = s
        .post_ok("/v1/products/pdev/assign", &t, json!({"count": 2}))
        .await;
    assert_eq!(
        (card["total"].as_u64(), card["remaining"].as_u64()),
        (Some(2), Some(2))
    );
    // A free code assigned to the product takes on its package: 5 years.
    let (st, d) = s.connect(&t, "pdev", "d1").await;
    assert_eq!(
        (st, d["consumed"].as_bool(), d["expires_at"].as_str()),
        (StatusCode::OK, Some(true), Some("2031-03-31T10:00:00Z"))
    );
    s.connect(&t, "pmeter", "m1").await;
    let a = s.get_ok("/v1/account", &t).await;
    // Total = Used + Remaining; Remaining = unassigned + assigned-unconsumed.
    assert_eq!(
        (
            a["total"].as_u64(),
            a["used"].as_u64(),
            a["remaining"].as_u64(),
            a["unassigned"].as_u64()
        ),
        (Some(10), Some(2), Some(8), Some(3))
    );
    let cards = s.get_ok("/v1/products", &t).await;
    assert_eq!(cards.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn cross_account_access_is_always_not_found() {
    let s = TestServer::start().await;
    let (a, ta) = s.account("enterprise", "cn-east").await;
    let (_, tb) = s.account("enterprise", "us-west").await;
    s.product(a, "psecret", doc_package(), "block", 2).await;
    s.connect(&ta, "psecret", "dev").await;
    s.pool(a, "pool", 10, None).await;
    for path in [
        "/v1/products/psecret",
        "/v1/devices/psecret/dev",
        "/v1/devices/psecret/dev/logs",
        "/v1/floating/pools/pool",
    ] {
        let (st, e) = s.get(path, &tb).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("NOT_FOUND")),
            "{path}"
        );
    }
    for (path, body) in [
        ("/v1/devices/connect", json!({"pk": "psecret", "dk": "x"})),
        ("/v1/products/psecret/assign", json!({"count": 1})),
        ("/v1/devices/psecret/dev/messages", json!({"count": 1})),
        ("/v1/devices/psecret/dev/ota", json!({"bytes": 10})),
        (
            "/v1/floating/pools/pool/release",
            json!({"fingerprint": crate::support::fingerprint(1)}),
        ),
    ] {
        let (st, e) = s.post(path, &tb, body).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("NOT_FOUND")),
            "{path}"
        );
    }
    // B sees nothing of A in lists and in the change feed.
    assert_eq!(s.get_ok("/v1/products", &tb).await, json!([]));
    let feed = s.get_ok("/v1/changes", &tb).await;
    assert!(
        feed["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["data"].to_string().find("psecret").is_none())
    );
    let lic = s.get_ok("/v1/licenses?pk=psecret", &tb).await;
    assert_eq!(lic["items"], json!([]));
    // No token or a wrong token: 401; an account token on a vendor route:
    // 403 (roles.rs holds every route to its role).
    let (st, _) = s.call("GET", "/v1/account", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s.get("/v1/account", "nope").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s
        .post(
            "/v1/admin/batches",
            &ta,
            json!({"account_id": a, "pk": "psecret", "count": 1, "package": doc_package()}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// Each account's overview and each product's card, as served, against a
/// recount of its codes; and every count the store keeps against a
/// recount.
async fn assert_served_counts_are_a_recount(s: &TestServer, accounts: &[(i64, &str)], step: &str) {
    assert_counts_equal_recount(&s.database).await;
    for (id, token) in accounts {
        let a = s.get_ok("/v1/account", token).await;
        let served: Vec<Value> = ["total", "used", "remaining", "unassigned"]
            .iter()
            .map(|k| a[k].clone())
            .collect();
        let counted = s
            .database
            .rows(
                "SELECT COUNT(*), COUNT(consumed_at), COUNT(*) - COUNT(consumed_at), COUNT(*) - COUNT(product_id)
                 FROM codes WHERE account_id = $1",
                &[*id],
            )
            .await;
        assert_eq!(Value::Array(served), counted[0], "{step}: account {id}");
        let cards = s.get_ok("/v1/products", token).await;
        for card in cards.as_array().expect("cards") {
            let served = json!([card["pk"], card["total"], card["used"], card["remaining"]]);
            let counted = s
                .database
                .rows(
                    "SELECT p.pk, COUNT(c.id), COUNT(c.consumed_at), COUNT(c.id) - COUNT(c.consumed_at)
                     FROM products p LEFT JOIN codes c ON c.product_id = p.id
                     WHERE p.account_id = $1 GROUP BY p.id, p.pk ORDER BY p.pk",
                    &[*id],
                )
                .await
                .into_iter()
                .find(|r| r[0] == card["pk"])
                .unwrap_or_else(|| panic!("{step}: no product {}", card["pk"]));
            assert_eq!(served, counted, "{step}: account {id}");
        }
    }
}

/// The overview's counts are kept by the store (not counted from the codes
/// on each request): after every way codes come, move and go, they equal a
/// recount, on both engines; and another account's flows leave them alone.
#[tokio::test]
async fn the_overview_equals_a_recount_after_every_flow() {
    let s = TestServer::start().await;
    let (ind, ti) = s.account("individual", "eu-central").await;
    let (ent, te) = s.account("enterprise", "cn-east").await;
    let both = [(ind, ti.as_str()), (ent, te.as_str())];
    assert_served_counts_are_a_recount(&s, &both, "free codes").await;
    s.post_ok(
        &format!("/v1/admin/accounts/{ind}/verify-enterprise"),
        ADMIN,
        json!({}),
    )
    .await;
    assert_served_counts_are_a_recount(&s, &both, "verified as enterprise").await;

    // A product with a month's validity and 3 codes; a batch credited with
    // an Idempotency-Key and replayed counts once.
    s.product(ind, "pflow", package(0, 1, 0), "block", 3).await;
    let batch = json!({"account_id": ind, "pk": "pflow", "count": 2, "package": package(0, 1, 0)});
    for _ in 0..2 {
        let (st, _) = s
            .post_idem(ADMIN, "/v1/admin/batches", "credit-once", &batch)
            .await;
        assert_eq!(st, StatusCode::OK);
    }
    assert_eq!(s.get_ok("/v1/products/pflow", &ti).await["total"], 5);
    // A product without codes, then some of the free codes assigned to it.
    s.product(ind, "pfree", doc_package(), "block", 0).await;
    assert_served_counts_are_a_recount(&s, &both, "credited").await;
    let (st, _) = s.connect(&ti, "pfree", "f0").await;
    assert_eq!(st, StatusCode::CONFLICT, "no codes yet");
    s.post_ok("/v1/products/pfree/assign", &ti, json!({"count": 4}))
        .await;
    assert_served_counts_are_a_recount(&s, &both, "assigned").await;

    // Consumed: first connections, a reconnection (nothing consumed).
    for dk in ["a", "b", "c"] {
        let (st, v) = s.connect(&ti, "pflow", dk).await;
        assert_eq!((st, v["consumed"].as_bool()), (StatusCode::OK, Some(true)));
    }
    s.connect(&ti, "pfree", "f1").await;
    s.connect(&ti, "pflow", "a").await;
    assert_served_counts_are_a_recount(&s, &both, "consumed").await;

    // The other account's flows change only its own counts.
    s.product(ent, "pother", doc_package(), "block", 2).await;
    s.connect(&te, "pother", "x").await;
    s.post_ok("/v1/products/pother/assign", &te, json!({"count": 10}))
        .await;
    assert_served_counts_are_a_recount(&s, &both, "the other account").await;

    // At expiry the maintenance renews the three devices with the two
    // codes left (one code each); at the next, none is left: offline.
    s.clock.set(at("2026-04-30T10:00:00Z"));
    let r = s.maintenance().await;
    assert_eq!(
        (r["renewed"].as_u64(), r["taken_offline"].as_u64()),
        (Some(2), Some(1)),
        "{r}"
    );
    assert_served_counts_are_a_recount(&s, &both, "renewed").await;
    s.clock.set(at("2026-06-01T00:00:00Z"));
    s.maintenance().await;
    assert_served_counts_are_a_recount(&s, &both, "taken offline").await;
    // Credited again: a new device consumes one code; it misses two
    // expiries (no maintenance ran) and renews for both, two codes in one
    // write, when it connects; a device taken offline connects again.
    s.post_ok(
        "/v1/admin/batches",
        ADMIN,
        json!({"account_id": ind, "pk": "pflow", "count": 4, "package": package(0, 1, 0)}),
    )
    .await;
    s.connect(&ti, "pflow", "m").await;
    s.clock.set(at("2026-08-15T00:00:00Z"));
    let (st, m) = s.connect(&ti, "pflow", "m").await;
    assert_eq!(
        (st, m["expires_at"].as_str()),
        (StatusCode::OK, Some("2026-09-01T00:00:00Z")),
        "{m}"
    );
    let (st, _) = s.connect(&ti, "pflow", "b").await;
    assert_eq!(st, StatusCode::OK);
    assert_served_counts_are_a_recount(&s, &both, "reconnected after expiries").await;
    let a = s.get_ok("/v1/account", &ti).await;
    assert_eq!(
        (
            a["total"].as_u64(),
            a["used"].as_u64(),
            a["unassigned"].as_u64()
        ),
        (Some(19), Some(10), Some(6)),
        "{a}"
    );
}

/// The overview and a card read the kept counts, in a few rows: no plan of
/// their statements reads the table `codes` (which a recount would, every
/// code of the account), and on SQLite each seeks its index by the key.
#[tokio::test]
async fn the_overview_reads_the_kept_counts_not_the_codes() {
    use licensedesk_server::store::codes::{POOL_SQL, POOLS_SQL, UNASSIGNED_SQL};
    let s = TestServer::start().await;
    let (id, _) = s.account("enterprise", "cn-east").await;
    s.product(id, "pplan", doc_package(), "block", 3).await;
    for (sql, index) in [
        (POOLS_SQL, "products_account"),
        (POOL_SQL, "INTEGER PRIMARY KEY"),
        (UNASSIGNED_SQL, "INTEGER PRIMARY KEY"),
    ] {
        let plan: Vec<String> = match &s.database {
            Database::Sqlite(file) => {
                let c = licensedesk_server::db::sqlite::open_connection(file).expect("open");
                c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .and_then(|mut st| {
                        st.query_map([id], |r| r.get::<_, String>(3))?
                            .collect::<rusqlite::Result<_>>()
                    })
                    .expect("plan")
            }
            Database::Postgres(_) => s
                .database
                .rows(&format!("EXPLAIN {sql}"), &[id])
                .await
                .iter()
                .map(|r| r[0].as_str().expect("plan line").to_owned())
                .collect(),
        };
        assert!(
            !plan.iter().any(|l| l
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "codes")),
            "{sql}: {plan:?}"
        );
        if matches!(s.database, Database::Sqlite(_)) {
            assert!(
                plan.iter().all(|l| l.starts_with("SEARCH ")),
                "{sql}: {plan:?}"
            );
            assert!(plan.iter().any(|l| l.contains(index)), "{sql}: {plan:?}");
        }
    }
}

/// A database from before the kept counts (schema version 12) gets them
/// from its codes when the server upgrades it, on both engines: the
/// overview reads the same after the upgrade as before.
#[tokio::test]
async fn the_upgrade_counts_the_codes_already_there() {
    let s = TestServer::start().await;
    let (id, t) = s.account("individual", "eu-central").await;
    let (other, to) = s.account("enterprise", "cn-east").await;
    s.product(id, "pold", doc_package(), "block", 4).await;
    s.product(id, "pnone", doc_package(), "block", 0).await;
    s.post_ok("/v1/products/pnone/assign", &t, json!({"count": 2}))
        .await;
    s.connect(&t, "pold", "a").await;
    s.connect(&t, "pnone", "b").await;
    s.product(other, "pother", doc_package(), "block", 1).await;
    let before = [
        s.get_ok("/v1/account", &t).await,
        s.get_ok("/v1/account", &to).await,
    ];
    let now = s.now();
    let settings = s.state.settings.clone();
    let dir = s.shut_down().await;
    let db = Database::of(dir.path());
    db.exec("DROP TABLE pool_counts", &[]).await;
    db.exec("DROP TABLE unassigned_counts", &[]).await;
    match &db {
        Database::Sqlite(_) => db.exec("PRAGMA user_version = 12", &[]).await,
        Database::Postgres(_) => db.exec("UPDATE schema_version SET version = 12", &[]).await,
    };
    let s = TestServer::start_in(dir, settings, now).await;
    assert_counts_equal_recount(&s.database).await;
    let after = [
        s.get_ok("/v1/account", &t).await,
        s.get_ok("/v1/account", &to).await,
    ];
    assert_eq!(after, before);
    assert_eq!(
        (
            after[0]["total"].as_u64(),
            after[0]["used"].as_u64(),
            after[0]["unassigned"].as_u64()
        ),
        (Some(9), Some(2), Some(3))
    );
}

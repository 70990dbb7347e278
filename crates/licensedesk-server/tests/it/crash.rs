//! `kill -9` in the middle of an activation load, then restart.

use serde_json::{Value, json};

use crate::support::{ADMIN, Database, ServerProc, get_json as get, post_json as post, server_bin};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_dash_nine_mid_load_loses_no_acknowledged_activation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut p = ServerProc::healthy(dir.path(), &client).await;
    let acct = p.account(&client, "crash").await;
    let token = acct["token"].as_str().expect("token").to_owned();
    let account_id = acct["id"].as_i64().expect("id");
    post(
        &client,
        format!("{}/v1/admin/products", p.base),
        ADMIN,
        json!({"account_id": account_id, "pk": "pkill", "name": "Kill"}),
    )
    .await;
    post(&client, format!("{}/v1/admin/batches", p.base), ADMIN, json!({"account_id": account_id, "pk": "pkill", "count": 2000,
        "package": {"validity": {"years": 1}, "messages_per_day": 10, "ota_per_month": 1, "ota_cap_mb": 5, "storage_days": 7}})).await;

    // A sync cursor read before the crash stays this database's after it.
    let cursor = get(&client, format!("{}/v1/changes?limit=1", p.base), &token).await["next"]
        .as_str()
        .expect("next")
        .to_owned();

    let acked = crate::support::Acked::default();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (client, base, token) = (client.clone(), p.base.clone(), token.clone());
            crate::support::activation_worker(client, base, token, "pkill", w, 1000, acked.clone())
        })
        .collect();
    // Kill once a good number of activations were acknowledged, mid-load.
    crate::support::wait_acked(&acked, 150).await;
    p.kill();
    for w in workers {
        w.await.expect("worker");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 150);

    // Restart on the same data dir.
    let mut p2 = ServerProc::healthy(dir.path(), &client).await;
    // Every acknowledged activation is there.
    for dk in &acked {
        let v = get(
            &client,
            format!("{}/v1/devices/pkill/{dk}", p2.base),
            &token,
        )
        .await;
        assert_eq!(v["status"], "active", "{dk}: {v}");
        assert!(v["code"].is_string(), "{dk}: {v}");
    }
    let card = get(&client, format!("{}/v1/products/pkill", p2.base), &token).await;
    assert_eq!(
        card["used"].as_u64().expect("used") + card["remaining"].as_u64().expect("rem"),
        2000
    );
    // Still this database's cursor (its instance survived the crash).
    get(
        &client,
        format!("{}/v1/changes?since={cursor}", p2.base),
        &token,
    )
    .await;
    p2.kill();

    // `rotate-key` adds a current key next to the old one.
    let out = server_bin()
        .args(["rotate-key", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("rotate-key");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("new current signing key"));
    let keyset: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("keys").join("keyset.json")).expect("keyset"),
    )
    .expect("json");
    assert_eq!(keyset["keys"].as_array().map(Vec::len), Some(2));

    let db = Database::of(dir.path());
    if let Database::Sqlite(file) = &db {
        let check: String = rusqlite::Connection::open(file)
            .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
            .expect("integrity");
        assert_eq!(check, "ok");
    }
    let orphans = db
        .i64(
            "SELECT COUNT(*) FROM codes c LEFT JOIN devices d ON d.id = c.device_id
             WHERE c.consumed_at IS NOT NULL AND (d.id IS NULL OR d.status <> 'active')",
            &[],
        )
        .await;
    assert_eq!(orphans, 0, "a consumed code without its active device");
    let consumed = db
        .i64(
            "SELECT COUNT(*) FROM codes WHERE consumed_at IS NOT NULL",
            &[],
        )
        .await;
    let active = db
        .i64("SELECT COUNT(*) FROM devices WHERE status = 'active'", &[])
        .await;
    assert_eq!(consumed, active);
    assert!(consumed as usize >= acked.len());
    // The kept counts moved in the transactions of the codes they count.
    crate::support::assert_counts_equal_recount(&db).await;
}

//! Device code views, sync with progress events, outbox, CSV, OTA cost —
//! against a real demo server.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tauri::Listener;

use crate::support::DemoServer;

#[test]
fn sync_then_every_view_answers_from_the_cache() {
    let server = DemoServer::start();
    let h = server.harness();
    let events: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = events.clone();
    h.app.listen_any("sync://progress", move |e| {
        let v: Value = serde_json::from_str(e.payload()).unwrap_or(Value::Null);
        seen.lock().unwrap_or_else(|p| p.into_inner()).push(v);
    });
    let ended: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen_end = ended.clone();
    h.app.listen_any("sync://status", move |e| {
        let v: Value = serde_json::from_str(e.payload()).unwrap_or(Value::Null);
        seen_end.lock().unwrap_or_else(|p| p.into_inner()).push(v);
    });
    let before = h.invoke("sync_status", json!({})).expect("status");
    let status = h.invoke("sync_now", json!({})).expect("sync");
    assert_eq!(status["online"], true, "{status}");
    // Every change of the status counts up: the UI keeps the newest of an
    // answer and the events, whichever arrives first.
    let (s0, s1) = (before["seq"].as_u64(), status["seq"].as_u64());
    assert!(s1 > s0, "seq {s0:?} → {s1:?}");
    let last_event = ended
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .last()
        .cloned();
    assert_eq!(
        last_event.map(|e| e["seq"].clone()),
        Some(status["seq"].clone())
    );
    assert_eq!(status["last_error"], json!(null));
    assert!(
        status["staleness"]["last_synced_at"].is_string(),
        "{status}"
    );
    let phases: Vec<String> = events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(|e| e["phase"].as_str().map(String::from))
        .collect();
    assert!(phases.contains(&"changes".to_owned()), "{phases:?}");
    assert_eq!(phases.last().map(String::as_str), Some("done"));

    let o = h.invoke("account_overview", json!({})).expect("overview");
    assert_eq!(o["name"], "Hangzhou Smart Meters Co.");
    let (t, u, r) = (
        o["total"].as_u64(),
        o["used"].as_u64(),
        o["remaining"].as_u64(),
    );
    assert_eq!(t, Some(u.expect("used") + r.expect("remaining")));
    let cards = h.invoke("product_cards", json!({})).expect("cards");
    let card = &cards[0];
    assert!(card["pk"].is_string() && card["total"].is_u64(), "{card}");

    let page = h
        .invoke(
            "license_window",
            json!({"query": {"status": "active", "sort": "consumed_at", "desc": true, "limit": 5}, "offset": 3, "count": true}),
        )
        .expect("window");
    let rows = page["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 5);
    assert_eq!(page["offset"], 3);
    assert!(page["count"].as_u64().is_some_and(|n| n > 8), "{page}");
    let row = &rows[0];
    let (pk, dk) = (
        row["pk"].as_str().expect("pk"),
        row["dk"].as_str().expect("dk"),
    );

    let charts = h.invoke("license_charts", json!({})).expect("charts");
    for k in ["consumption", "burn_down", "expirations"] {
        assert!(
            charts[k].as_str().is_some_and(|s| s.contains("<svg")),
            "{k}"
        );
    }
    // The burn-down's figures come with it, for the UI to state.
    assert!(charts["burn_down_per_month"].is_u64(), "{charts}");
    assert_eq!(charts["burn_down_months"], 24);
    let runs_out = &charts["burn_down_runs_out"];
    assert!(
        runs_out.is_null()
            || runs_out.as_str().is_some_and(|m| {
                m.len() == 7 && m.as_bytes()[4] == b'-' && m.replace('-', "").parse::<u32>().is_ok()
            }),
        "a month or null: {runs_out}"
    );
    let near = h
        .invoke("near_expiry_devices", json!({"query": {"days": 3650}}))
        .expect("near expiry");
    let devices = near["devices"].as_array().expect("devices");
    assert!(!devices.is_empty());
    let count = near["count"].as_u64().expect("count");
    assert_eq!(
        devices.len() as u64,
        count.min(100),
        "a page of 100: {near}"
    );
    let quota = h
        .invoke("device_quota", json!({"pk": pk, "dk": dk}))
        .expect("quota");
    assert_eq!(quota["dk"], dk);
    let chart = h
        .invoke("device_messages_chart", json!({"pk": pk, "dk": dk}))
        .expect("chart");
    assert!(chart.as_str().is_some_and(|s| s.contains("<svg")));

    let cap = quota["ota_cap_mb"].as_u64().expect("cap");
    let cost = h
        .invoke(
            "ota_cost",
            json!({"pk": pk, "dk": dk, "bytes": cap * 1_048_576 + 1}),
        )
        .expect("ota");
    assert_eq!(cost["attempts"], 2);
    assert_eq!(
        h.error_code("ota_cost", json!({"pk": pk, "dk": dk, "bytes": 0})),
        "OTA_SIZE_INVALID"
    );
    let firmware = h.file("fw.bin", &vec![0u8; 1000]);
    let cost = h
        .invoke(
            "ota_cost_for_file",
            json!({"pk": pk, "dk": dk, "path": firmware}),
        )
        .expect("ota file");
    assert_eq!(
        (cost["bytes"].as_u64(), cost["attempts"].as_u64()),
        (Some(1000), Some(1))
    );
    let missing = h.dir.path().join("none.bin");
    assert_eq!(
        h.error_code(
            "ota_cost_for_file",
            json!({"pk": pk, "dk": dk, "path": missing})
        ),
        "FILE_NOT_FOUND"
    );

    let csv = h.dir.path().join("licenses.csv");
    h.answer_dialog(Some(csv.clone()));
    let written = h
        .invoke(
            "export_licenses_csv",
            json!({"query": {"status": "active"}}),
        )
        .expect("csv");
    assert_eq!(written.as_str(), Some(csv.to_string_lossy().as_ref()));
    let text = std::fs::read_to_string(&csv).expect("csv file");
    assert!(text.lines().count() > 5, "{}", text.lines().count());

    let item = h
        .invoke("assign_codes", json!({"pk": pk, "count": 1}))
        .expect("assign");
    assert!(
        ["done", "rejected"].contains(&item["state"].as_str().unwrap_or("")),
        "{item}"
    );
    let outbox = h.invoke("list_outbox", json!({})).expect("outbox");
    assert!(outbox.is_array());
    assert!(
        h.error_code("retry_outbox_item", json!({"id": 999_999}))
            .starts_with("OUTBOX")
    );
    assert_eq!(
        h.invoke("sync_cancel", json!({})).expect("cancel"),
        json!(null)
    );
}

//! Profiles and settings through IPC.

use serde_json::json;

use crate::support::Harness;

#[test]
fn profiles_lifecycle() {
    let h = Harness::new(None);
    assert_eq!(
        h.invoke("list_profiles", json!({})).expect("list"),
        json!({"profiles": [], "active_id": null})
    );
    assert_eq!(
        h.error_code("account_overview", json!({})),
        "PROFILE_MISSING"
    );
    assert_eq!(h.error_code("sync_now", json!({})), "PROFILE_MISSING");
    let p = h
        .invoke(
            "add_profile",
            json!({"profile": {"name": "HZ", "server_url": "http://127.0.0.1:1", "account_label": "ops"}, "token": "t0ken"}),
        )
        .expect("add");
    let id = p["id"].as_str().expect("id").to_owned();
    assert_eq!(p["data_center"], json!(null));
    assert!(
        !p.to_string().contains("t0ken"),
        "the token is never returned"
    );
    let list = h
        .invoke("switch_profile", json!({"id": id}))
        .expect("switch");
    assert_eq!(list["active_id"], id.as_str());
    let status = h.invoke("sync_status", json!({})).expect("status");
    assert_eq!(
        (status["syncing"].as_bool(), status["online"].clone()),
        (Some(false), json!(null))
    );
    // The server is unreachable: the sync says so and the error stays.
    let status = h.invoke("sync_now", json!({})).expect("sync offline");
    assert_eq!(status["online"], false);
    assert_eq!(status["last_error"]["code"], "SERVER_UNREACHABLE");
    assert!(
        h.error_code("switch_profile", json!({"id": "nope"}))
            .starts_with("PROFILE")
    );
    let left = h
        .invoke("remove_profile", json!({"id": id}))
        .expect("remove");
    assert_eq!(left["profiles"], json!([]));
}

#[test]
fn settings_round_trip() {
    let h = Harness::new(None);
    let defaults = h.invoke("get_settings", json!({})).expect("get");
    assert_eq!(
        defaults,
        json!({"language": "en", "theme": "system", "sync_every_minutes": 5, "close_to_tray": false,
            "alerts": {"notify": true, "low_remaining_percent": 20, "low_remaining_clear_percent": 25,
                "runs_out_days": 30, "renewal_days": 30, "gateway_expiry_days": 30, "lease_minutes": 10,
                "not_synced_minutes": 60}})
    );
    let mut next = defaults.clone();
    next["language"] = json!("zh-CN");
    next["theme"] = json!("dark");
    next["close_to_tray"] = json!(true);
    next["alerts"]["low_remaining_percent"] = json!(15);
    let saved = h
        .invoke("save_settings", json!({"settings": next}))
        .expect("save");
    assert_eq!(saved, next);
    assert_eq!(h.invoke("get_settings", json!({})).expect("get"), saved);
    // A file of an older version (language and theme only) takes the
    // defaults of the rest.
    let partial = h
        .invoke(
            "save_settings",
            json!({"settings": {"language": "zh-CN", "theme": "dark"}}),
        )
        .expect("save partial");
    assert_eq!(partial["alerts"], defaults["alerts"]);
    let err = h
        .invoke(
            "save_settings",
            json!({"settings": {"language": "fr", "theme": "dark"}}),
        )
        .expect_err("unknown language");
    assert!(err.to_string().contains("settings"), "{err}");
    // Out of range: refused with the code and its values, nothing saved.
    let mut bad = defaults.clone();
    bad["alerts"]["low_remaining_clear_percent"] = json!(20);
    assert_eq!(
        h.error_code("save_settings", json!({"settings": bad})),
        "ALERT_WATERMARK_ORDER"
    );
    bad = defaults.clone();
    bad["sync_every_minutes"] = json!(0);
    let err = h
        .invoke("save_settings", json!({"settings": bad}))
        .expect_err("interval");
    assert_eq!(err["code"], "SETTINGS_SYNC_INTERVAL_INVALID");
    assert_eq!(err["params"], json!({"min": 1, "max": 1440, "got": 0}));
    assert_eq!(h.invoke("get_settings", json!({})).expect("get"), partial);
}

//! The background round through IPC against a real demo server: every
//! profile synced, the alerts raised once each with one recorded
//! notification, none again on the next round; the All accounts view of
//! two profiles on two demo accounts.

use serde_json::{Value, json};

use crate::support::DemoServer;

fn raised(view: &Value) -> Vec<(String, String)> {
    view["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["raised"] == true)
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or_default().to_owned(),
                a["subject"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_round_syncs_every_profile_and_announces_each_alert_once() {
    let server = DemoServer::start();
    let h = server.harness();
    let before = h.invoke("list_alerts", json!({})).expect("alerts");
    assert_eq!(before["rounds"], 0);
    assert_eq!(before["alerts"], json!([]));

    let view = h.invoke("sync_all", json!({})).expect("round");
    assert_eq!(view["rounds"], 1);
    // The demo's Cold Chain Tracker has 100 of 1000 codes left (10 %), its
    // Street Light Controller none: under the 20 % watermark.
    let now = raised(&view);
    for want in [("low_remaining", "pcc0002"), ("low_remaining", "psl0003")] {
        assert!(
            now.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {now:?}"
        );
    }
    assert!(
        !now.contains(&("low_remaining".to_owned(), "pwm0001".to_owned())),
        "the Water Meter has 20.3 % left: {now:?}"
    );
    // One notification per alert raised, worded in the user's language.
    let notes = view["notifications"].as_array().expect("notifications");
    assert_eq!(notes.len(), now.len(), "{notes:?}");
    let cold = notes
        .iter()
        .find(|n| n["subject"] == "pcc0002" && n["kind"] == "low_remaining")
        .expect("notified");
    assert_eq!(cold["title"], "Cold Chain Tracker: 10 % of codes left");
    assert_eq!(cold["language"], "en");
    let alert = view["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["subject"] == "pcc0002" && a["kind"] == "low_remaining")
        .expect("listed");
    assert_eq!(alert["action"], "buy_codes");
    assert_eq!(alert["params"]["remaining"], 100);
    assert_eq!(alert["params"]["profile"], "Demo");

    // The next round raises nothing new.
    let again = h.invoke("sync_all", json!({})).expect("round 2");
    assert_eq!(again["rounds"], 2);
    assert_eq!(raised(&again), now);
    assert_eq!(
        again["notifications"].as_array().map(Vec::len),
        Some(notes.len())
    );

    // In Chinese, the next notification is worded in Chinese.
    let mut s = h.invoke("get_settings", json!({})).expect("settings");
    s["language"] = json!("zh-CN");
    s["alerts"]["low_remaining_percent"] = json!(21);
    s["alerts"]["low_remaining_clear_percent"] = json!(26);
    h.invoke("save_settings", json!({"settings": s}))
        .expect("save");
    let zh = h.invoke("sync_all", json!({})).expect("round 3");
    let water = zh["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .find(|n| n["subject"] == "pwm0001" && n["kind"] == "low_remaining")
        .cloned()
        .expect("the Water Meter is under 21 %");
    assert_eq!(water["language"], "zh-CN");
    assert_eq!(water["title"], "Smart Water Meter：激活码仅剩 20%");
}

#[test]
fn all_accounts_lists_two_profiles_on_two_demo_accounts() {
    use licensedesk_server::demo::DEMO_INDIVIDUAL_TOKEN;
    let server = DemoServer::start();
    let h = server.harness();
    h.invoke(
        "add_profile",
        json!({"profile": {"name": "Lena", "server_url": server.url, "account_label": "lena"},
            "token": DEMO_INDIVIDUAL_TOKEN}),
    )
    .expect("second profile");
    // Before any sync: both listed, neither has figures yet.
    let all = h.invoke("all_accounts", json!({})).expect("all");
    assert_eq!(all["accounts"].as_array().map(Vec::len), Some(2));
    assert_eq!(all["counted"], 0);
    assert_eq!(all["accounts"][1]["error"]["code"], "NOT_SYNCED");

    h.invoke("sync_all", json!({})).expect("round");
    let all = h.invoke("all_accounts", json!({})).expect("all");
    assert_eq!(all["counted"], 2, "{all}");
    let names: Vec<&str> = all["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["overview"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Hangzhou Smart Meters Co.", "Lena Vogel"]);
    let sum = |k: &str| {
        all["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .map(|a| a["overview"][k].as_u64().unwrap_or_default())
            .sum::<u64>()
    };
    for k in ["total", "used", "remaining"] {
        assert_eq!(all[k].as_u64(), Some(sum(k)), "{k}");
    }
    assert_eq!(all["accounts"][1]["overview"]["data_center"], "eu-central");
    assert!(
        all["accounts"][1]["cards"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    assert_eq!(all["accounts"][1]["sync_error"], Value::Null);
}

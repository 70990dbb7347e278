use chrono::TimeZone;
use serde_json::json;

use super::*;

/// The feed's device and code records (`licensedesk-protocol`) write the
/// bytes the `json!` maps they replaced wrote (the feed's format is
/// unchanged).
#[test]
fn change_structs_write_what_json_maps_wrote() {
    let at = Utc
        .with_ymd_and_hms(2026, 3, 31, 10, 0, 0)
        .single()
        .expect("at");
    for (activated, sub) in [
        (Some(at), 0),
        (Some(at), 123_456_000),
        (Some(at), 5_000_000),
        (None, 0),
    ] {
        let activated = activated.map(|t| t + chrono::Duration::nanoseconds(sub));
        let expires = activated.map(|t| t + chrono::Duration::days(365));
        for (hardware_id, reason) in [(None, None), (Some("hw \"1\""), Some("no_codes"))] {
            let d = DeviceRow {
                id: 7,
                account_id: 1,
                product_id: 2,
                dk: "dev-\u{e9}/1".into(),
                hardware_id: hardware_id.map(str::to_owned),
                status: "active".into(),
                online: true,
                offline_reason: reason.map(str::to_owned),
                activated_at: activated,
                expires_at: expires,
                last_seen_at: None,
                code: None,
            };
            let ours = device_change(&d, "pk1", Op::Update).data().expect("json");
            let theirs = serde_json::to_string(&json!({
                "id": d.id, "pk": "pk1", "dk": d.dk, "hardware_id": d.hardware_id,
                "status": d.status, "online": d.online, "offline_reason": d.offline_reason,
                "activated_at": d.activated_at, "expires_at": d.expires_at,
            }))
            .expect("json");
            assert_eq!(ours, theirs);
            if let (Some(consumed_at), Some(expires_at)) = (activated, expires) {
                let ours = code_consumed(9, "ABCD-EFGH", &d, "pk1", consumed_at, expires_at)
                    .data()
                    .expect("json");
                let theirs = serde_json::to_string(&json!({"id": 9, "code": "ABCD-EFGH",
                    "device_id": d.id, "dk": d.dk, "pk": "pk1",
                    "consumed_at": consumed_at, "expires_at": expires_at}))
                .expect("json");
                assert_eq!(ours, theirs);
            }
        }
    }
}

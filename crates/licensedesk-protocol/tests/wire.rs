//! The feed's JSON held to the protocol's types: every payload shape the
//! server writes, as the literal JSON clients already hold, parses into
//! its record and serializes back to the same bytes.

use chrono::{DateTime, TimeZone, Utc};
use licensedesk_protocol::feed::{Change, Entity, Op, Record};
use licensedesk_protocol::snapshot::{SnapshotCode, SnapshotDevice};
use licensedesk_protocol::{Text, instant};

/// (entity, op, entity id, data) of every shape the server writes.
const SHAPES: &[(&str, &str, &str, &str)] = &[
    (
        "account",
        "insert",
        "2",
        r#"{"data_center":"eu-central","id":2,"kind":"individual","name":"Lena Vogel"}"#,
    ),
    (
        "account",
        "update",
        "2",
        r#"{"id":2,"kind":"enterprise","verified_enterprise":true}"#,
    ),
    (
        "batch",
        "insert",
        "1",
        r#"{"id":1,"kind":"free","quantity":10}"#,
    ),
    (
        "batch",
        "insert",
        "3",
        r#"{"id":3,"kind":"purchase","package":{"messages_per_day":1500,"ota_cap_mb":5,"ota_per_month":1,"storage_days":7,"validity":{"days":0,"months":0,"years":5}},"pk":"pwm0001","quantity":1500,"reference":"PO-PWM0001"}"#,
    ),
    (
        "batch",
        "insert",
        "4",
        r#"{"id":4,"kind":"purchase","package":{"messages_per_day":1500,"ota_cap_mb":5,"ota_per_month":1,"storage_days":7,"validity":{"days":0,"months":0,"years":5}},"pk":"pwm0001","quantity":2,"reference":null}"#,
    ),
    (
        "code",
        "insert",
        "1",
        r#"{"batch_id":1,"code":"J6B1-RZHR-B6MD-EBMZ-8E03~","id":1,"product_id":null}"#,
    ),
    (
        "code",
        "insert",
        "2",
        r#"{"batch_id":3,"code":"J6B1-RZHR-B6MD-EBMZ-8E03~","id":2,"product_id":1}"#,
    ),
    ("code", "update", "1", r#"{"id":1,"product_id":1}"#),
    (
        "code",
        "update",
        "16",
        r#"{"code":"E9GY-7Q00-XWX0-2F05-KVH4*","consumed_at":"2024-12-07T12:17:21.063793Z","device_id":1,"dk":"PWM-00001","expires_at":"2029-12-07T12:17:21.063793Z","id":16,"pk":"pwm0001"}"#,
    ),
    (
        "code",
        "update",
        "17",
        r#"{"code":"E9GY-7Q00-XWX0-2F05-KVH4*","consumed_at":"2026-03-01T10:00:00Z","device_id":1,"dk":"d\"q","expires_at":"2027-03-01T10:00:00Z","id":17,"pk":"pwm0001"}"#,
    ),
    (
        "device",
        "insert",
        "2501",
        r#"{"activated_at":null,"dk":"PSL-00401","expires_at":null,"hardware_id":"IMEI86253934108","id":2501,"offline_reason":"no_codes","online":false,"pk":"psl0003","status":"inactive"}"#,
    ),
    (
        "device",
        "insert",
        "1",
        r#"{"activated_at":"2024-12-07T12:17:21.063793Z","dk":"PWM-00001","expires_at":"2029-12-07T12:17:21.063793Z","hardware_id":"IMEI86639966382","id":1,"offline_reason":null,"online":true,"pk":"pwm0001","status":"active"}"#,
    ),
    (
        "device",
        "update",
        "1",
        r#"{"activated_at":"2026-03-01T10:00:00Z","dk":"PWM-00001","expires_at":"2028-03-01T10:00:00Z","hardware_id":null,"id":1,"offline_reason":null,"online":false,"pk":"pwm0001","status":"active"}"#,
    ),
    (
        "floating_pool",
        "insert",
        "edge-fleet",
        r#"{"name":"edge-fleet","plugins":["modbus-tcp","mqtt"],"points":200,"ttl_seconds":300}"#,
    ),
    (
        "floating_lease",
        "update",
        "edge-fleet/FN5R",
        r#"{"expires_at":"2026-03-01T10:05:00Z","fingerprint":"FN5R","points":20,"pool":"edge-fleet"}"#,
    ),
    (
        "floating_lease",
        "delete",
        "edge-fleet/FN5R",
        r#"{"fingerprint":"FN5R","pool":"edge-fleet","reason":"released"}"#,
    ),
    (
        "floating_lease",
        "delete",
        "edge-fleet/FN5R",
        r#"{"fingerprint":"FN5R","pool":"edge-fleet","reason":"lapsed"}"#,
    ),
    (
        "gateway_activation",
        "insert",
        "lic-5a72",
        r#"{"fingerprint":"FN5R-ZSFB-TK8X-TK28$","issued_at":"2026-11-07T23:46:20.063793Z","license_id":"lic-5a72","order_no":"ORD-2025-0001"}"#,
    ),
    (
        "gateway_activation",
        "insert",
        "lic-5a73",
        r#"{"allotment_id":"fa-1","fingerprint":"FN5R-ZSFB-TK8X-TK28$","issued_at":"2026-11-07T23:46:20Z","license_id":"lic-5a73","order_no":"ORD-2025-0001"}"#,
    ),
    (
        "gateway_activation",
        "update",
        "lic-5a72",
        r#"{"fingerprint":"FN5R-ZSFB-TK8X-TK28$","license_id":"lic-5a72","order_no":"ORD-2025-0001","reissued":true}"#,
    ),
    (
        "gateway_order",
        "insert",
        "ORD-2025-0103",
        r#"{"activation_code":"AG85-T9JW-4NDD-C47T-ZN76W","customer":"Lena Vogel","id":3,"max_connections":50,"max_tags":300,"order_no":"ORD-2025-0103","plugins":["mqtt"],"product":"edge-gateway-lite","quantity":2,"validity_days":365}"#,
    ),
    (
        "gateway_order",
        "insert",
        "ORD-9",
        r#"{"activation_code":"AG85-T9JW-4NDD-C47T-ZN76W","customer":"Lena Vogel","id":4,"max_connections":50,"max_tags":300,"order_no":"ORD-9","plugins":[],"product":null,"quantity":2,"validity_days":365}"#,
    ),
    (
        "gateway_install",
        "insert",
        "7",
        r#"{"fingerprint":"FN5R","id":7,"installed_at":"2026-03-01T10:00:00.123Z","kind":"activation","license_id":"lic-1","source":"offline"}"#,
    ),
    (
        "product",
        "insert",
        "pwm0001",
        r#"{"id":1,"name":"Smart Water Meter","overage_policy":"block","package":null,"pk":"pwm0001"}"#,
    ),
    (
        "product",
        "insert",
        "pwm0002",
        r#"{"id":2,"name":"Meter","overage_policy":"bill","package":{"messages_per_day":1500,"ota_cap_mb":5,"ota_per_month":1,"storage_days":7,"validity":{"days":0,"months":0,"years":5}},"pk":"pwm0002"}"#,
    ),
    (
        "product",
        "update",
        "pwm0001",
        r#"{"message_topups":0,"ota_topups":10,"pk":"pwm0001"}"#,
    ),
    (
        "product",
        "update",
        "pwm0001",
        r#"{"package":{"messages_per_day":1500,"ota_cap_mb":5,"ota_per_month":1,"storage_days":7,"validity":{"days":0,"months":0,"years":5}},"pk":"pwm0001"}"#,
    ),
    (
        "product",
        "update",
        "pwm0001",
        r#"{"overage_policy":"bill","package":null,"pk":"pwm0001"}"#,
    ),
    (
        "statement",
        "insert",
        "1",
        r#"{"id":1,"pk":"pwm0001","month":"2024-12","month_start":"2024-11-30T16:00:00Z","month_end":"2024-12-31T16:00:00Z","overage_policy":"block","message_overage":0,"message_topups_applied":0,"messages_billed":0,"ota_overage":0,"ota_topups_applied":0,"ota_billed":0,"ota_topups_used_in_month":0,"message_topups_left":0,"ota_topups_left":10,"closed_at":"2026-12-06T23:46:20.554393Z"}"#,
    ),
    (
        "usage",
        "update",
        "900",
        r#"{"dk":"PCC-00900","pk":"pcc0002","usage":{"messages_overage_today":150,"messages_per_day":3000,"messages_reset_at":"2026-12-07T16:00:00Z","messages_today":3150,"ota_overage_this_month":0,"ota_per_month":2,"ota_reset_at":"2026-12-31T16:00:00Z","ota_this_month":0,"ota_topups_left":0}}"#,
    ),
    (
        "device_logs",
        "purge",
        "pwm0001",
        r#"{"before":"2026-02-22T10:00:00Z","pk":"pwm0001","purged":12}"#,
    ),
    (
        "field_allotment",
        "insert",
        "fa-1",
        r#"{"delegate_kid":"k1","max_licenses":3,"not_after":"2026-04-01T00:00:00Z","order_no":"ORD-1","orders":[{"count":3,"order_no":"ORD-1"}],"product":null,"scope":"order"}"#,
    ),
    (
        "field_allotment",
        "update",
        "fa-1",
        r#"{"released":2,"state":"returned"}"#,
    ),
    (
        "field_allotment",
        "update",
        "fa-1",
        r#"{"state":"expired"}"#,
    ),
    (
        "field_allotment",
        "update",
        "fa-1",
        r#"{"conflicts":0,"entries":2,"new_entries":2,"newly_consumed":1}"#,
    ),
];

fn entity(name: &str) -> Entity {
    serde_json::from_value(serde_json::Value::String(name.into())).expect(name)
}

fn op(name: &str) -> Op {
    serde_json::from_value(serde_json::Value::String(name.into())).expect(name)
}

#[test]
fn every_shape_the_server_writes_parses_and_serializes_back_to_its_bytes() {
    for (e, o, id, data) in SHAPES {
        let record = Record::parse(entity(e), op(o), id, data)
            .expect(data)
            .unwrap_or_else(|| panic!("{e} {o} has no record"));
        assert_eq!(record.entity().as_str(), *e, "{data}");
        assert_eq!(record.op().as_str(), *o, "{data}");
        assert_eq!(record.id(), *id, "{data}");
        assert_eq!(record.data().expect("data"), *data);
        // A change as sent carries the same record.
        let sent = format!(
            r#"{{"seq":9,"entity":"{e}","id":"{id}","op":"{o}","at":"2026-03-01T10:00:00Z","data":{data}}}"#
        );
        let change: Change = serde_json::from_str(&sent).expect(&sent);
        assert_eq!(change.record().expect(&sent), Some(record));
        assert_eq!(serde_json::to_string(&change).expect("change"), sent);
    }
}

#[test]
fn unknown_entities_and_operations_read_as_other_and_carry_no_record() {
    for sent in [
        r#"{"entity":"lease","id":"1","op":"insert","data":{}}"#,
        r#"{"entity":"code","id":"2","op":"merge","data":{}}"#,
        r#"{"entity":"code","id":"2","op":"purge"}"#,
        r#"{"entity":"code","id":"1","op":"delete","data":null}"#,
    ] {
        let change: Change = serde_json::from_str(sent).expect(sent);
        assert_eq!(change.record(), Ok(None), "{sent}");
    }
}

#[test]
fn a_payload_of_another_shape_is_malformed() {
    for (e, o, id, data) in [
        (
            "code",
            "insert",
            "1",
            r#"{"id":"1","code":"A","batch_id":1}"#,
        ),
        ("code", "insert", "1", "null"),
        (
            "device",
            "insert",
            "1",
            r#"{"id":1,"pk":"p","status":"active"}"#,
        ),
        (
            "device",
            "insert",
            "1",
            r#"{"id":1,"pk":"p","dk":"d","status":"active","online":"yes"}"#,
        ),
        (
            "floating_lease",
            "delete",
            "p/f",
            r#"{"fingerprint":"f","pool":"p","reason":"stolen"}"#,
        ),
        ("usage", "update", "x", r#"{"dk":"d","pk":"p","usage":{}}"#),
    ] {
        let got = Record::parse(entity(e), op(o), id, data);
        assert!(got.is_err(), "{data}: {got:?}");
    }
}

#[test]
fn instants_are_written_as_chrono_serializes_them() {
    let base = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    for nanos in [0, 123_000_000, 123_456_000, 123_456_789, 1_000, 1] {
        let t: DateTime<Utc> = base + chrono::Duration::nanoseconds(nanos);
        let serde = serde_json::to_value(t).expect("time");
        assert_eq!(instant(t).as_str(), serde.as_str().expect("string"));
    }
}

#[test]
fn snapshot_rows_keep_their_bytes_and_borrow_their_strings() {
    let code = r#"{"id":4,"code":"NEW","batch_id":2,"product_id":7,"device_id":5,"consumed_at":"2026-03-01T10:00:00.000000Z","expires_at":null}"#;
    let row: SnapshotCode<Text<'_>> = serde_json::from_str(code).expect(code);
    assert!(matches!(row.code.0, std::borrow::Cow::Borrowed(_)));
    assert_eq!(serde_json::to_string(&row).expect("code"), code);
    let device = r#"{"id":9,"pk":"p8","dk":"none","hardware_id":null,"status":"inactive","online":false,"offline_reason":"no_codes","activated_at":null,"expires_at":null}"#;
    let row: SnapshotDevice<Text<'_>> = serde_json::from_str(device).expect(device);
    assert_eq!(serde_json::to_string(&row).expect("device"), device);
}

/// `json` read as a `T` and written back: the same bytes.
fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(json: &str) -> T {
    let value: T = serde_json::from_str(json).expect(json);
    assert_eq!(serde_json::to_string(&value).expect(json), json);
    value
}

#[test]
fn the_api_bodies_keep_their_bytes() {
    use licensedesk_protocol::api::{accounts, field, floating, gateways};

    round_trip::<accounts::Overview>(
        r#"{"id":2,"name":"Lena Vogel","kind":"individual","data_center":"eu-central","time_zone":"Europe/Berlin","verified_enterprise":false,"total":12,"used":3,"remaining":9,"unassigned":2,"free_codes":10}"#,
    );
    round_trip::<accounts::AssignRequest>(r#"{"count":1000000}"#);

    round_trip::<gateways::OrderLookup>(r#"{"order_no":"SO-2026-0042","email":"ops@example.com"}"#);
    let order = round_trip::<gateways::OrderView>(
        r#"{"order_no":"SO-2026-0042","product":"edge-gateway-pro","customer":"Acme","activation_code":"J6B1-RZHR-B6MD-EBMZ-8E03~","quantity":5,"used":1,"remaining":4,"max_connections":200,"max_tags":5000,"plugins":["modbus","opcua"],"validity_days":365,"activations":[{"fingerprint":"AB12-CD34","license_id":"lic-9","issued_at":"2026-03-01T10:00:00.123456Z","reissued":0}]}"#,
    );
    assert_eq!(
        order.activations[0].issued_at.timestamp_subsec_micros(),
        123_456
    );
    round_trip::<gateways::OrderView>(
        r#"{"order_no":"SO-1","product":null,"customer":"Acme","activation_code":"C","quantity":1,"used":0,"remaining":1,"max_connections":1,"max_tags":1,"plugins":[],"validity_days":1,"activations":[]}"#,
    );
    round_trip::<gateways::ActivateRequest>(
        r#"{"code":"J6B1-RZHR-B6MD-EBMZ-8E03~","fingerprint":"AB12-CD34"}"#,
    );
    round_trip::<gateways::ActivateResponse>(
        r#"{"license":"-----BEGIN LICENSEDESK LICENSE-----\n…\n-----END LICENSEDESK LICENSE-----\n","license_id":"lic-9","reissued":true,"remaining":4}"#,
    );

    round_trip::<floating::PoolView>(
        r#"{"name":"line-3","points":10,"in_use":4,"ttl_seconds":300,"plugins":["modbus"],"leases":[{"fingerprint":"AB12-CD34","points":4,"expires_at":"2026-03-01T10:05:00Z","claimed_at":"2026-03-01T09:00:00Z","usage":{"connections":12,"tags":340},"usage_at":"2026-03-01T10:00:00Z"},{"fingerprint":"EF56","points":0,"expires_at":"2026-03-01T10:05:00Z","claimed_at":"2026-03-01T10:00:00Z","usage":null,"usage_at":null}],"server_time":"2026-03-01T10:00:00.500Z"}"#,
    );
    // A claim, a heartbeat, a release: what is not sent is left out.
    round_trip::<floating::LeaseRequest>(
        r#"{"fingerprint":"AB12-CD34","points":4,"usage":{"connections":12,"tags":340}}"#,
    );
    round_trip::<floating::LeaseRequest>(
        r#"{"fingerprint":"AB12-CD34","usage":{"connections":0,"tags":0}}"#,
    );
    let release = round_trip::<floating::LeaseRequest>(r#"{"fingerprint":"AB12-CD34"}"#);
    assert_eq!((release.points, release.usage), (None, None));
    round_trip::<floating::LeaseResponse>(
        r#"{"fingerprint":"AB12-CD34","points":4,"expires_at":"2026-03-01T10:05:00Z","license":"text"}"#,
    );

    round_trip::<field::CheckoutRequest>(
        r#"{"order_no":"SO-1","count":3,"days":14,"delegate_kid":"d-1","delegate_public_key":"q83vEjRWeJA"}"#,
    );
    round_trip::<field::CheckoutRequest>(
        r#"{"product":"edge-gateway-pro","count":3,"days":14,"delegate_kid":"d-1","delegate_public_key":"q83vEjRWeJA"}"#,
    );
    let allotment = r#"{"allotment_id":"fa-1","scope":"product","order_no":null,"product":"edge-gateway-pro","orders":[{"order_no":"SO-1","first_slot":0,"count":2},{"order_no":"SO-2","first_slot":2,"count":1}],"max_licenses":3,"consumed":1,"conflicts":1,"reserved":1,"not_before":"2026-03-01T10:00:00Z","not_after":"2026-03-15T10:00:00Z","state":"open","certificate":"{\"kid\":\"k\"}"}"#;
    round_trip::<field::AllotmentView>(allotment);
    round_trip::<field::ReconcileReport>(&format!(
        r#"{{"allotment":{allotment},"entries":2,"new_entries":2,"newly_consumed":1,"conflicts":[{{"slot":1,"fingerprint":"EF56","license_id":"lic-10","code":"HARDWARE_ALREADY_ACTIVATED"}}]}}"#
    ));
    round_trip::<field::AuditPage>(
        r#"{"entries":[{"id":7,"allotment_id":"fa-1","at":"2026-03-01T10:00:00.000000Z","action":"reconcile","detail":{"conflicts":0,"entries":2,"new_entries":2,"newly_consumed":1}}],"next_cursor":"7"}"#,
    );
    round_trip::<field::AuditPage>(r#"{"entries":[],"next_cursor":null}"#);
}

#[test]
fn the_sync_pages_keep_their_bytes_as_written_and_as_read() {
    use licensedesk_protocol::api::sync::{ChangesPage, SnapshotPage};
    use serde_json::value::RawValue;

    let time = r#"{"kid":"k1","payload":"eyJzZXJ2ZXJfdGltZSI6IjIwMjYifQ","sig":"c2ln"}"#;
    let changes = format!(
        r#"{{"changes":[{{"seq":9,"entity":"code","id":"1","op":"update","at":"2026-03-01T10:00:00Z","data":{{"id":1,"product_id":1}}}}],"next":"c9@i-1","has_more":false,"server_time":{time}}}"#
    );
    // As the server writes it …
    let page: ChangesPage = round_trip(&changes);
    assert_eq!(page.changes.len(), 1);
    // … and as a client reads it, its signed time untouched.
    let read: ChangesPage<Box<RawValue>> = round_trip(&changes);
    assert_eq!(read.server_time.get(), time);

    let code = r#"{"id":4,"code":"NEW","batch_id":2,"product_id":7,"device_id":5,"consumed_at":"2026-03-01T10:00:00.000000Z","expires_at":null}"#;
    let device = r#"{"id":5,"pk":"p8","dk":"d1","hardware_id":null,"status":"active","online":true,"offline_reason":null,"activated_at":"2026-03-01T10:00:00.000000Z","expires_at":null}"#;
    for total in ["12", "null"] {
        let snapshot = format!(
            r#"{{"changes":[],"codes":[{code}],"devices":[{device}],"next":"s9.codes.4@i-1","has_more":true,"upto":"c9@i-1","total":{total},"server_time":{time}}}"#
        );
        let _: SnapshotPage = round_trip(&snapshot);
        let read: SnapshotPage<Text<'_>, &RawValue> =
            serde_json::from_str(&snapshot).expect(&snapshot);
        assert!(matches!(
            read.codes[0].code.0,
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(read.server_time.get(), time);
        assert_eq!(serde_json::to_string(&read).expect("page"), snapshot);
    }
}

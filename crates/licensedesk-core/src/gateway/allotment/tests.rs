use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn supply(no: &str, product: Option<&str>, day: i64, free: u32, plugins: &[&str]) -> OrderSupply {
    OrderSupply {
        order_no: no.into(),
        product: product.map(String::from),
        created_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::days(day),
        customer: "Buyer Ltd".into(),
        free,
        plugins: plugins.iter().map(|p| (*p).to_owned()).collect(),
        max_connections: 200,
        max_tags: 2000,
        validity_days: 365,
    }
}

const PRO: Option<&str> = Some("edge-gateway-pro");

fn orders() -> Vec<OrderSupply> {
    vec![
        // Listed out of order on purpose: the plan sorts.
        supply("ORD-3", PRO, 20, 4, &["mqtt", "modbus-tcp"]),
        supply("ORD-1", PRO, 10, 2, &["modbus-tcp", "opcua", "mqtt"]),
        supply("ORD-0", PRO, 5, 0, &["bacnet"]),
        supply("ORD-2", PRO, 10, 3, &["modbus-tcp", "mqtt"]),
        supply("ORD-L", Some("edge-gateway-lite"), 1, 9, &["modbus-rtu"]),
        supply("ORD-N", None, 0, 9, &["modbus-tcp"]),
    ]
}

fn product(p: &str) -> AllotmentSource {
    AllotmentSource::Product(p.into())
}

fn parts(plan: &AllotmentPlan) -> Vec<(&str, u32, u32)> {
    plan.parts
        .iter()
        .map(|p| (p.order_no.as_str(), p.first_slot, p.count))
        .collect()
}

#[test]
fn product_allotments_draw_oldest_order_first() {
    // (count) → parts (order, first slot, count); ORD-0 has none free, ties
    // on the creation day are broken by order number.
    type Parts = &'static [(&'static str, u32, u32)];
    let cases: [(u32, Parts); 4] = [
        (1, &[("ORD-1", 1, 1)]),
        (2, &[("ORD-1", 1, 2)]),
        (4, &[("ORD-1", 1, 2), ("ORD-2", 3, 2)]),
        (9, &[("ORD-1", 1, 2), ("ORD-2", 3, 3), ("ORD-3", 6, 4)]),
    ];
    for (count, want) in cases {
        let plan = plan_allotment(&product("edge-gateway-pro"), &orders(), count).expect("plan");
        assert_eq!(parts(&plan), want, "{count}");
    }
}

#[test]
fn a_product_allotment_grants_what_every_order_it_draws_from_grants() {
    let mut o = orders();
    o[3].max_connections = 150; // ORD-2
    o[0].max_tags = 1000; // ORD-3
    o[0].validity_days = 180;
    let one = plan_allotment(&product("edge-gateway-pro"), &o, 2).expect("plan");
    assert_eq!(one.scope.plugins, ["modbus-tcp", "opcua", "mqtt"]);
    assert_eq!((one.scope.max_connections, one.scope.max_tags), (200, 2000));
    let all = plan_allotment(&product("edge-gateway-pro"), &o, 9).expect("plan");
    assert_eq!(
        all.scope.plugins,
        ["modbus-tcp", "mqtt"],
        "oldest order's order"
    );
    assert_eq!(
        (
            all.scope.max_connections,
            all.scope.max_tags,
            all.scope.max_license_days
        ),
        (150, 1000, 180)
    );
    assert_eq!(
        (all.scope.order, all.scope.product.as_deref()),
        (None, Some("edge-gateway-pro"))
    );
    assert_eq!(all.scope.customer, "Buyer Ltd");
    assert_eq!(all.scope.kind, LicenseKind::Activation);
}

#[test]
fn an_order_allotment_is_one_part_with_the_orders_grant_and_product() {
    let plan = plan_allotment(&AllotmentSource::Order("ORD-2".into()), &orders(), 3).expect("plan");
    assert_eq!(parts(&plan), [("ORD-2", 1, 3)]);
    assert_eq!(plan.scope.order.as_deref(), Some("ORD-2"));
    assert_eq!(plan.scope.product.as_deref(), Some("edge-gateway-pro"));
    let plain =
        plan_allotment(&AllotmentSource::Order("ORD-N".into()), &orders(), 1).expect("plan");
    assert_eq!(
        (plain.scope.order.as_deref(), plain.scope.product),
        (Some("ORD-N"), None)
    );
}

#[test]
fn refusals_name_what_is_free() {
    let code = |source: AllotmentSource, count: u32| {
        plan_allotment(&source, &orders(), count).map_err(|e| (e.code(), e.to_string()))
    };
    let cases = [
        (
            product("edge-gateway-pro"),
            10,
            "ALLOTMENT_EXCEEDS_PRODUCT",
            "at most 9",
        ),
        (
            product("edge-gateway-pro"),
            0,
            "ALLOTMENT_EXCEEDS_PRODUCT",
            "at most 9",
        ),
        (
            product("unknown"),
            1,
            "ALLOTMENT_EXCEEDS_PRODUCT",
            "at most 0",
        ),
        (
            AllotmentSource::Order("ORD-2".into()),
            4,
            "ALLOTMENT_EXCEEDS_ORDER",
            "at most 3",
        ),
        (
            AllotmentSource::Order("ORD-0".into()),
            1,
            "ALLOTMENT_EXCEEDS_ORDER",
            "at most 0",
        ),
    ];
    for (source, count, want, text) in cases {
        let (got, message) = code(source.clone(), count).expect_err("refused");
        assert_eq!(got, want, "{source} {count}");
        assert!(message.contains(text), "{message}");
    }
    let mut o = orders();
    o[0].customer = "Someone Else".into(); // ORD-3, drawn only from 6 on
    assert!(plan_allotment(&product("edge-gateway-pro"), &o, 5).is_ok());
    let err = plan_allotment(&product("edge-gateway-pro"), &o, 6).expect_err("mixed");
    assert_eq!(err.code(), "ALLOTMENT_MIXED_CUSTOMERS");
    assert!(err.to_string().contains("ORD-1 and ORD-3"), "{err}");
}

#[test]
fn product_references_are_short_printable_words() {
    for ok in ["edge-gateway-pro", "P", &"x".repeat(64)] {
        assert_eq!(check_product(ok), Ok(()), "{ok}");
    }
    for bad in ["", "edge pro", "edge\u{e9}", &"x".repeat(65), "a\tb"] {
        assert_eq!(
            check_product(bad).map_err(|e| e.code()),
            Err("GATEWAY_PRODUCT_INVALID"),
            "{bad:?}"
        );
    }
}

fn arb_supply() -> impl Strategy<Value = OrderSupply> {
    (
        0u8..6,
        0i64..5,
        0u32..6,
        prop::collection::vec(0u8..4, 0..4),
        1u32..300,
        1u32..300,
        1u32..400,
    )
        .prop_map(|(n, day, free, plugins, conns, tags, days)| OrderSupply {
            order_no: format!("ORD-{n}"),
            product: Some("p".into()),
            created_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::days(day),
            customer: "c".into(),
            free,
            plugins: plugins.iter().map(|p| format!("plugin-{p}")).collect(),
            max_connections: conns,
            max_tags: tags,
            validity_days: days,
        })
}

proptest! {
    /// Parts add up to the count, never take more than an order has free,
    /// follow the oldest-first order with contiguous slots from 1, and the
    /// grant never exceeds any order drawn from.
    #[test]
    fn plans_respect_supply_order_and_grants(
        supplies in prop::collection::vec(arb_supply(), 0..6),
        count in 0u32..20,
    ) {
        // Order numbers are unique in the server.
        let mut supplies = supplies;
        supplies.sort_by(|a, b| a.order_no.cmp(&b.order_no));
        supplies.dedup_by(|a, b| a.order_no == b.order_no);
        let free: u32 = supplies.iter().map(|s| s.free).sum();
        match plan_allotment(&product("p"), &supplies, count) {
            Err(e) => {
                prop_assert!(count == 0 || count > free);
                prop_assert_eq!(e.code(), "ALLOTMENT_EXCEEDS_PRODUCT");
            }
            Ok(plan) => {
                prop_assert!(count >= 1 && count <= free);
                prop_assert_eq!(plan.parts.iter().map(|p| p.count).sum::<u32>(), count);
                let mut next = 1;
                let mut last: Option<&OrderSupply> = None;
                for part in &plan.parts {
                    prop_assert_eq!(part.first_slot, next);
                    next += part.count;
                    let s = supplies.iter().find(|s| s.order_no == part.order_no).unwrap();
                    prop_assert!(part.count >= 1 && part.count <= s.free);
                    if let Some(prev) = last {
                        prop_assert!((prev.created_at, &prev.order_no) < (s.created_at, &s.order_no));
                    }
                    last = Some(s);
                    prop_assert!(plan.scope.max_connections <= s.max_connections);
                    prop_assert!(plan.scope.max_tags <= s.max_tags);
                    prop_assert!(plan.scope.max_license_days <= s.validity_days);
                    prop_assert!(plan.scope.plugins.iter().all(|p| s.plugins.contains(p)));
                }
                for slot in 1..=count {
                    prop_assert_eq!(plan.parts.iter().filter(|p| p.contains(slot)).count(), 1);
                }
                prop_assert!(!plan.parts.iter().any(|p| p.contains(count + 1) || p.contains(0)));
                // Oldest first: an order older than the last one drawn is
                // either drawn completely or has nothing free.
                let last = plan.parts.last().unwrap();
                let last = supplies.iter().find(|s| s.order_no == last.order_no).unwrap();
                for s in &supplies {
                    if (s.created_at, &s.order_no) < (last.created_at, &last.order_no) {
                        let taken = plan.parts.iter().find(|p| p.order_no == s.order_no).map_or(0, |p| p.count);
                        prop_assert_eq!(taken, s.free);
                    }
                }
            }
        }
    }
}

//! License Management: counters and keyset-paged consumption details.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN, TestServer, at, doc_package, package};

fn instant(v: &Value) -> DateTime<Utc> {
    at(v.as_str().expect("an instant"))
}

async fn all_pages(s: &TestServer, t: &str, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("/v1/licenses?{query}&cursor={c}"),
            None => format!("/v1/licenses?{query}"),
        };
        let v = s.get_ok(&path, t).await;
        items.extend(v["items"].as_array().expect("items").iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
    panic!("pagination does not end");
}

#[tokio::test]
async fn consumption_details_page_filter_search_and_sort() {
    let s = TestServer::start().await;
    let (id, t) = s.account("enterprise", "cn-east").await; // 10 free codes
    s.product(id, "plm", doc_package(), "block", 20).await;
    let second = s
        .post_ok(
            "/v1/admin/batches",
            ADMIN,
            json!({"account_id": id, "pk": "plm", "count": 5, "package": doc_package()}),
        )
        .await["batch_id"]
        .as_i64()
        .expect("batch id");
    for i in 0..12 {
        s.clock.advance(chrono::Duration::hours(1));
        s.connect(&t, "plm", &format!("dev-{i:02}")).await;
    }
    let first = s.get_ok("/v1/licenses?limit=7", &t).await;
    assert_eq!(
        (
            first["data_center"].as_str(),
            first["total"].as_u64(),
            first["used"].as_u64(),
            first["remaining"].as_u64()
        ),
        (Some("cn-east"), Some(35), Some(12), Some(23))
    );
    let all = all_pages(&s, &t, "limit=7").await;
    assert_eq!(all.len(), 35);
    let codes: HashSet<_> = all
        .iter()
        .map(|i| i["code"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(codes.len(), 35, "no duplicates across pages");
    let active = all_pages(&s, &t, "limit=5&status=active&sort=consumed_at&order=desc").await;
    assert_eq!(active.len(), 12);
    assert_eq!(active[0]["dk"], "dev-11");
    assert_eq!(active[11]["dk"], "dev-00");
    assert_eq!(
        (
            active[11]["consumed_at"].as_str(),
            active[11]["expires_at"].as_str()
        ),
        (Some("2026-03-31T11:00:00Z"), Some("2031-03-31T11:00:00Z"))
    );
    assert!(
        active
            .iter()
            .all(|i| i["status"] == "active" && i["pk"] == "plm")
    );
    let unused = all_pages(&s, &t, "status=unused&limit=4").await;
    assert_eq!(unused.len(), 23);
    // Each code's batch: the 10 free codes, then the two purchases (20, 5).
    let batches: Vec<(i64, &str)> = all
        .iter()
        .map(|i| {
            (
                i["batch_id"].as_i64().expect("batch"),
                i["batch_kind"].as_str().expect("kind"),
            )
        })
        .collect();
    let first_purchase = batches[10].0;
    assert!(
        batches[..10]
            .iter()
            .all(|b| b.1 == "free" && b.0 != first_purchase)
    );
    assert!(
        batches[10..30]
            .iter()
            .all(|b| *b == (first_purchase, "purchase"))
    );
    assert!(batches[30..].iter().all(|b| *b == (second, "purchase")));
    assert_ne!(first_purchase, second);
    // Each code's expiry: 5 years after its consumption, none while unused.
    for i in &all {
        match i["status"].as_str() {
            Some("unused") => assert_eq!(
                (&i["consumed_at"], &i["expires_at"]),
                (&Value::Null, &Value::Null)
            ),
            _ => assert_eq!(
                instant(&i["expires_at"]),
                instant(&i["consumed_at"]) + chrono::Months::new(60),
                "{i}"
            ),
        }
    }
    // By expiry: unused codes (no expiry) first, then dev-00 … dev-11;
    // descending, the reverse.
    let by_expiry = all_pages(&s, &t, "sort=expires_at&limit=6").await;
    let dks: Vec<&str> = by_expiry.iter().filter_map(|i| i["dk"].as_str()).collect();
    assert_eq!(
        dks,
        (0..12).map(|i| format!("dev-{i:02}")).collect::<Vec<_>>()
    );
    assert!(by_expiry[..23].iter().all(|i| i["expires_at"].is_null()));
    let expiries: Vec<DateTime<Utc>> = by_expiry[23..]
        .iter()
        .map(|i| instant(&i["expires_at"]))
        .collect();
    assert!(expiries.windows(2).all(|w| w[0] < w[1]));
    let desc = all_pages(&s, &t, "sort=expires_at&order=desc&limit=6").await;
    let rev: Vec<Value> = by_expiry.iter().rev().cloned().collect();
    assert_eq!(desc[..12], rev[..12]);
    let by_dk = s.get_ok("/v1/licenses?q=dev-07", &t).await;
    assert_eq!(by_dk["items"].as_array().map(Vec::len), Some(1));
    let code = by_dk["items"][0]["code"].as_str().expect("code").to_owned();
    let by_code = s
        .get_ok(&format!("/v1/licenses?q={}", &code[5..14]), &t)
        .await;
    assert_eq!(by_code["items"][0]["dk"], "dev-07");
    let soon = s.get_ok("/v1/licenses?expiring_within_days=30", &t).await;
    assert_eq!(soon["items"].as_array().map(Vec::len), Some(0));
    let soon = s.get_ok("/v1/licenses?expiring_within_days=1900", &t).await;
    assert_eq!(soon["items"].as_array().map(Vec::len), Some(12));
    let (st, e) = s.get("/v1/licenses?cursor=garbage", &t).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("QUERY_INVALID"))
    );
    let (st, _) = s.get("/v1/licenses?status=weird", &t).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // A second product: `pk` keeps each product's codes only.
    s.product(id, "plm2", doc_package(), "block", 4).await;
    s.connect(&t, "plm2", "other").await;
    for (pk, n, used) in [("plm", 25, 12), ("plm2", 4, 1)] {
        let items = all_pages(&s, &t, &format!("pk={pk}&limit=7")).await;
        assert_eq!(items.len(), n, "{pk}");
        assert!(
            items
                .iter()
                .all(|i| i["pk"] == pk && i["product_name"] == format!("Product {pk}"))
        );
        assert_eq!(
            items.iter().filter(|i| i["status"] == "active").count(),
            used
        );
    }
    let other = s.get_ok("/v1/licenses?pk=plm2&status=active", &t).await;
    assert_eq!(other["items"][0]["dk"], "other");
}

/// The codes of `items`, each once.
fn codes(items: &[Value]) -> BTreeSet<String> {
    let set: BTreeSet<String> = items
        .iter()
        .map(|i| i["code"].as_str().expect("code").to_owned())
        .collect();
    assert_eq!(set.len(), items.len(), "no code twice");
    set
}

#[tokio::test]
async fn the_other_consoles_words_filter_like_the_statuses() {
    let s = TestServer::start().await;
    let (id, t) = s.account("individual", "eu-central").await; // 5 free codes
    s.product(id, "psyn", package(0, 1, 0), "block", 6).await; // 1 month
    s.connect(&t, "psyn", "a").await;
    s.connect(&t, "psyn", "b").await;
    s.clock.advance(Duration::days(20));
    s.connect(&t, "psyn", "c").await;
    s.clock.advance(Duration::days(15)); // a and b expired (no renewal ran), c active
    let page = |status: &str| {
        let (s, t, q) = (&s, &t, format!("status={status}&limit=2"));
        async move { all_pages(s, t, &q).await }
    };
    let (unused, active, expired) = (
        page("unused").await,
        page("active").await,
        page("expired").await,
    );
    assert_eq!((unused.len(), active.len(), expired.len()), (8, 1, 2));
    assert_eq!(active[0]["dk"], "c");
    for word in [
        "remaining",
        "Remaining",
        "available",
        "AVAILABLE",
        " Unused ",
    ] {
        assert_eq!(page(word).await, unused, "{word}");
    }
    // Used = Consumed = active ∪ expired.
    let consumed: BTreeSet<String> = codes(&active).union(&codes(&expired)).cloned().collect();
    for word in ["used", "Used", "consumed", "CONSUMED"] {
        let items = page(word).await;
        assert_eq!(codes(&items), consumed, "{word}");
        assert!(
            items
                .iter()
                .all(|i| i["status"] == "active" || i["status"] == "expired")
        );
    }
    assert_eq!(page("Active").await, active);
    assert_eq!(page("EXPIRED").await, expired);
    let (st, e) = s.get("/v1/licenses?status=total", &t).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("QUERY_INVALID"))
    );
    let m = e["message"].as_str().expect("message");
    for word in licensedesk_core::codes::StatusFilter::words() {
        assert!(m.contains(word), "{m}");
    }
}

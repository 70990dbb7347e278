//! License Management: counters and keyset-paged consumption details.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestServer, doc_package};

async fn all_pages(s: &TestServer, t: &str, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("/v1/licenses?{query}&cursor={c}"),
            None => format!("/v1/licenses?{query}"),
        };
        let v = s.ok(&path, t).await;
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
    s.product(id, &t, "plm", doc_package(), "block", 25).await;
    for i in 0..12 {
        s.clock.advance(chrono::Duration::hours(1));
        s.connect(&t, "plm", &format!("dev-{i:02}")).await;
    }
    let first = s.ok("/v1/licenses?limit=7", &t).await;
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
    assert!(
        active
            .iter()
            .all(|i| i["status"] == "active" && i["pk"] == "plm")
    );
    let unused = all_pages(&s, &t, "status=unused&limit=4").await;
    assert_eq!(unused.len(), 23);
    let by_dk = s.ok("/v1/licenses?q=dev-07", &t).await;
    assert_eq!(by_dk["items"].as_array().map(Vec::len), Some(1));
    let code = by_dk["items"][0]["code"].as_str().expect("code").to_owned();
    let by_code = s.ok(&format!("/v1/licenses?q={}", &code[5..14]), &t).await;
    assert_eq!(by_code["items"][0]["dk"], "dev-07");
    let soon = s.ok("/v1/licenses?expiring_within_days=30", &t).await;
    assert_eq!(soon["items"].as_array().map(Vec::len), Some(0));
    let soon = s.ok("/v1/licenses?expiring_within_days=1900", &t).await;
    assert_eq!(soon["items"].as_array().map(Vec::len), Some(12));
    let (st, e) = s.get("/v1/licenses?cursor=garbage", &t).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("QUERY_INVALID"))
    );
    let (st, _) = s.get("/v1/licenses?status=weird", &t).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

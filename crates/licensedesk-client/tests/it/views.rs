//! License Management paging/filters, near-expiry and device quota against
//! the server's own endpoints; CSV export.

use std::collections::BTreeSet;

use licensedesk_client::{LicenseQuery, LicenseSort, NearExpiryQuery};
use serde_json::json;

use crate::support::{ENT, TestServer, session, sync};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_match_the_server_and_csv_exports_every_row() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), ENT);
    // Usage, so the device quota has something to show.
    let (st, _) = server.connect(ENT, "pwm0001", "quota-dev").await;
    assert_eq!(st, 200);
    server
        .post_ok(
            "/v1/devices/pwm0001/quota-dev/messages",
            ENT,
            json!({"count": 42}),
        )
        .await;
    server
        .post_ok(
            "/v1/devices/pwm0001/quota-dev/ota",
            ENT,
            json!({"bytes": 6 * 1_048_576}),
        )
        .await;
    sync(&s).await;

    // Device quota from the cache equals the server's device detail.
    let q = s.device_quota("pwm0001", "quota-dev").expect("quota");
    let d = server.get_json("/v1/devices/pwm0001/quota-dev", ENT).await;
    assert_eq!(
        d["usage"]["messages_today"].as_u64(),
        Some(q.messages_today)
    );
    assert_eq!(q.messages_today, 42);
    assert_eq!(
        d["usage"]["ota_this_month"].as_u64(),
        Some(q.ota_this_month)
    );
    assert_eq!(q.ota_this_month, 1);
    assert_eq!(
        (q.messages_per_day, q.ota_cap_mb, q.storage_days),
        (1500, 5, 7)
    );

    // Some codes expired (no renewal run yet): on both sides, at the same now.
    server.clock.advance(chrono::Duration::days(200));
    clock.set(server.now());
    // Filtered, sorted, keyset-paged: same codes in the same order.
    for (pk, status, sort, desc, srv_sort) in [
        (
            "pwm0001",
            "active",
            LicenseSort::ExpiresAt,
            true,
            "expires_at&order=desc",
        ),
        (
            "psl0003",
            "expired",
            LicenseSort::ConsumedAt,
            false,
            "consumed_at&order=asc",
        ),
        ("pwm0001", "unused", LicenseSort::Id, false, "id&order=asc"),
    ] {
        let mut q = LicenseQuery {
            pk: Some(pk.into()),
            status: Some(status.into()),
            sort,
            desc,
            limit: Some(97),
            ..Default::default()
        };
        let mut mine = Vec::new();
        loop {
            let p = s.licenses(&q).expect("page");
            assert!(
                p.rows
                    .iter()
                    .all(|r| r.status == status && r.pk.as_deref() == Some(pk))
            );
            mine.extend(p.rows.into_iter().map(|r| r.code));
            match p.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        let mut theirs = Vec::new();
        let mut cursor = String::new();
        loop {
            let v = server
                .get_json(
                    &format!(
                        "/v1/licenses?pk={pk}&status={status}&sort={srv_sort}&limit=500{cursor}"
                    ),
                    ENT,
                )
                .await;
            theirs.extend(
                v["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .map(|i| i["code"].as_str().expect("c").to_owned()),
            );
            match v["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        assert!(!mine.is_empty(), "{status}");
        assert_eq!(mine, theirs, "{status} rows");
    }
    let hits = s
        .licenses(&LicenseQuery {
            search: Some("quota-d".into()),
            ..Default::default()
        })
        .expect("search");
    assert_eq!(hits.rows.len(), 1);
    assert_eq!(hits.rows[0].dk.as_deref(), Some("quota-dev"));
    assert!(
        s.licenses(&LicenseQuery {
            cursor: Some("garbage".into()),
            ..Default::default()
        })
        .is_err()
    );

    // Near-expiry: same devices, same replacement availability, all of
    // them in pages (its count says how many).
    for days in [30, 200] {
        let mut mine = Vec::new();
        let mut count = None;
        while count.is_none_or(|n| (mine.len() as u64) < n) {
            let page = s
                .near_expiry(&NearExpiryQuery {
                    days: Some(days),
                    offset: Some(mine.len() as u64),
                    limit: Some(7),
                    ..Default::default()
                })
                .expect("near");
            assert_eq!(page.offset, mine.len() as u64);
            assert!(page.devices.len() <= 7 && !page.devices.is_empty());
            count = Some(page.count);
            mine.extend(
                page.devices
                    .into_iter()
                    .map(|d| (d.expires_at, d.dk, d.replacement_available)),
            );
        }
        assert!(
            mine.windows(2).all(|w| w[0].0 <= w[1].0),
            "earliest expiry first"
        );
        let mine: BTreeSet<(String, bool)> = mine.into_iter().map(|(_, dk, r)| (dk, r)).collect();
        let v = server
            .get_json(&format!("/v1/devices/near-expiry?days={days}"), ENT)
            .await;
        let theirs: BTreeSet<(String, bool)> = v["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .map(|d| {
                (
                    d["dk"].as_str().expect("dk").to_owned(),
                    d["replacement_available"].as_bool().expect("b"),
                )
            })
            .collect();
        assert!(theirs.len() > 7, "several pages within {days} days");
        assert_eq!(mine, theirs, "near expiry within {days} days");
    }

    // CSV: every row of the filter, header first.
    let mut csv = Vec::new();
    let q = LicenseQuery {
        status: Some("active".into()),
        ..Default::default()
    };
    let n = s.export_csv(&q, &mut csv).expect("csv");
    let text = String::from_utf8(csv).expect("utf-8");
    assert_eq!(text.lines().count() as u64, n + 1);
    assert!(text.starts_with("code,batch,"));
    let used = s.overview().expect("ov").used;
    assert!(n > 0 && n <= used);

    // The other console's words filter like the statuses (domain.md §1,
    // Decision): Used / Consumed = active + expired, Remaining / Available
    // = unused, in any case; Total is no filter and is refused.
    let rows = |status: &str| {
        let q = LicenseQuery {
            status: Some(status.into()),
            ..Default::default()
        };
        s.export_csv(&q, &mut Vec::new())
    };
    let count = |status: &str| rows(status).expect(status);
    let (unused, active, expired) = (count("unused"), count("active"), count("expired"));
    assert!(
        unused > 0 && active > 0 && expired > 0,
        "{unused} {active} {expired}"
    );
    assert_eq!(active + expired, used);
    for word in ["used", "Consumed"] {
        assert_eq!(count(word), used, "{word}");
    }
    for word in ["remaining", "AVAILABLE"] {
        assert_eq!(count(word), unused, "{word}");
    }
    let refused = rows("total").expect_err("no filter");
    assert!(
        refused
            .to_string()
            .contains("use one of unused, active, expired, used"),
        "{refused}"
    );
}

/// A License Management window at any offset holds the rows the keyset
/// pages hold there, and its count is the length of the whole filtered set
/// (from the pool counters, or counted), for every kind of filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_at_any_offset_holds_the_rows_there_and_counts_them_all() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), ENT);
    sync(&s).await;
    server.clock.advance(chrono::Duration::days(200));
    clock.set(server.now());
    let every = |q: &LicenseQuery| -> Vec<String> {
        let mut q = LicenseQuery {
            limit: Some(500),
            cursor: None,
            ..q.clone()
        };
        let mut out = Vec::new();
        loop {
            let p = s.licenses(&q).expect("page");
            out.extend(p.rows.into_iter().map(|r| r.code));
            match p.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => return out,
            }
        }
    };
    let q = |pk: Option<&str>, status: Option<&str>| LicenseQuery {
        pk: pk.map(Into::into),
        status: status.map(Into::into),
        ..Default::default()
    };
    let queries = [
        q(None, None),
        q(Some("pwm0001"), None),
        q(None, Some("used")),
        q(Some("pwm0001"), Some("unused")),
        q(None, Some("active")),
        q(Some("psl0003"), Some("expired")),
        LicenseQuery {
            search: Some("a".into()),
            sort: LicenseSort::Code,
            ..Default::default()
        },
        LicenseQuery {
            expiring_within_days: Some(365),
            sort: LicenseSort::ExpiresAt,
            desc: true,
            ..Default::default()
        },
        q(Some("no-such-product"), None),
    ];
    for base in queries {
        for (sort, desc) in [
            (base.sort, base.desc),
            (LicenseSort::ConsumedAt, true),
            (LicenseSort::Id, false),
        ] {
            let query = LicenseQuery {
                sort,
                desc,
                limit: Some(37),
                ..base.clone()
            };
            let all = every(&query);
            assert!(
                all.len() > 37 || query.pk.as_deref() == Some("no-such-product"),
                "{} rows: {query:?}",
                all.len()
            );
            let first = s.license_window(&query, 0, true).expect("window");
            assert_eq!(first.count, Some(all.len() as u64), "{query:?}");
            assert_eq!(first.total, s.overview().expect("ov").total);
            for offset in [
                0,
                1,
                36,
                37,
                all.len().saturating_sub(5),
                all.len(),
                all.len() + 3,
            ] {
                let w = s
                    .license_window(&query, offset as u64, false)
                    .expect("window");
                assert_eq!(w.count, None, "counted only when asked");
                assert_eq!(w.offset, offset as u64);
                let want: Vec<&String> = all.iter().skip(offset).take(37).collect();
                let got: Vec<&String> = w.rows.iter().map(|r| &r.code).collect();
                assert_eq!(got, want, "{query:?} at {offset}");
            }
        }
    }
}

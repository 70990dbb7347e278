//! Charts render from the cache, with theme variables instead of colours,
//! no caption (the UI titles them in the user's language) and labels that
//! stay readable where the UI shows them.

use chrono::Duration;
use serde_json::json;

use crate::support::{ADMIN, ENT, TestServer, at, package, session, sync};
use licensedesk_client::charts;

/// The content of every `<text>` element of an SVG, trimmed.
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .map(|t| {
            let body = &t[t.find('>').expect("text tag") + 1..];
            body[..body.find("</text>").expect("text end")].trim()
        })
        .collect()
}

/// The number in attribute `name="…"` of the first element that has it.
fn attr<'a>(svg: &'a str, name: &str) -> &'a str {
    let from = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
    &svg[from..from + svg[from..].find('"').expect("quote")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_are_themed_svg_with_axis_labels_only() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), ENT);
    let (st, _) = server.connect(ENT, "pwm0001", "chart-dev").await;
    assert_eq!(st, 200);
    server
        .post_ok(
            "/v1/devices/pwm0001/chart-dev/messages",
            ENT,
            json!({"count": 700}),
        )
        .await;
    sync(&s).await;
    let now = s.now();
    for (name, svg) in [
        (
            "consumption",
            charts::consumed_per_month(s.cache(), now, 12).expect("consumed"),
        ),
        (
            "expirations",
            charts::expirations_next_12_months(s.cache(), now).expect("expirations"),
        ),
        (
            "burn-down",
            charts::burn_down(s.cache(), now).expect("burn-down").svg,
        ),
        (
            "messages",
            charts::device_messages(s.cache(), "pwm0001", "chart-dev", now).expect("messages"),
        ),
    ] {
        assert!(
            svg.starts_with("<svg"),
            "{name}: {}",
            &svg[..60.min(svg.len())]
        );
        assert!(
            svg.contains("var(--accent)") || svg.contains("var(--danger)"),
            "{name}: themed"
        );
        assert!(
            !svg.contains("#010203") && !svg.contains("rgb(1,2,3)"),
            "{name}: sentinel replaced"
        );
        // No caption, in any language: every text is an axis label, a
        // number or a date ("2026-04", "03-30", "1500").
        let labels = texts(&svg);
        assert!(labels.len() >= 4, "{name}: axis labels {labels:?}");
        for l in &labels {
            assert!(
                !l.is_empty() && l.chars().all(|c| c.is_ascii_digit() || c == '-'),
                "{name}: {l:?} is not an axis label"
            );
        }
        // The UI shows a chart scaled to a grid column of about 310 px;
        // its labels must be 11–12.5 px tall there.
        let width: f64 = attr(&svg, "viewBox")
            .split(' ')
            .nth(2)
            .and_then(|w| w.parse().ok())
            .expect("viewBox width");
        let font: f64 = attr(&svg, "font-size")
            .trim_end_matches("px")
            .parse()
            .expect("font size");
        let shown = font * 310.0 / width;
        assert!(
            (11.0..=12.5).contains(&shown),
            "{name}: labels {shown:.1} px tall at 310 px"
        );
    }
    let messages = charts::device_messages(s.cache(), "pwm0001", "chart-dev", now).expect("chart");
    assert!(
        messages.contains("stroke=\"var(--danger)\""),
        "the daily limit is a danger line"
    );
}

/// An account whose consumption the test chooses: the 10 free codes of an
/// enterprise account, 50 codes of a product, 5 of them consumed long ago
/// and 9 in the last 90 days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burn_down_states_its_rate_and_run_out_month() {
    let server = TestServer::start().await;
    let (account, token) = server.account("enterprise", "eu-central").await;
    server.product(account, "pburn1", 50).await;
    // The server's clock starts on 2026-03-31, over 90 days before now.
    server.connect_new(&token, "pburn1", "old", 5).await;
    server.clock.set(at("2026-06-01T10:00:00Z"));
    server.connect_new(&token, "pburn1", "new", 9).await;
    server.clock.set(at("2026-07-15T10:00:00Z"));
    let dir = tempfile::tempdir().expect("dir");
    let (s, _) = session(&server, dir.path(), &token);
    sync(&s).await;
    let now = s.now();
    assert_eq!(now, at("2026-07-15T10:00:00Z"));
    let b = charts::burn_down(s.cache(), now).expect("burn-down");
    // 9 codes in 90 days is 3.04 a month: 3. 10 + 50 - 14 = 46 codes left
    // last 15 months at 3 a month (July 2026 to September 2027, 45 codes)
    // and fall short in October 2027.
    assert_eq!(b.per_month, 3);
    assert_eq!(b.runs_out.as_deref(), Some("2027-10"));
    // The chart's bars are the codes left at the end of each month: 43 for
    // July 2026, whose label it draws; it says nothing else.
    assert!(texts(&b.svg).contains(&"2026-07"), "{:?}", texts(&b.svg));

    // 1000 more codes last the 24 months.
    server
        .post_ok(
            "/v1/admin/batches",
            ADMIN,
            json!({"account_id": account, "pk": "pburn1", "count": 1000, "package": package()}),
        )
        .await;
    sync(&s).await;
    let b = charts::burn_down(s.cache(), now).expect("burn-down");
    assert_eq!((b.per_month, b.runs_out), (3, None));

    // 90 days on, the 9 codes have left the window: nothing consumed.
    let later = now + Duration::days(90);
    let b = charts::burn_down(s.cache(), later).expect("burn-down");
    assert_eq!((b.per_month, b.runs_out), (0, None));
}

/// A gateway's usage over time: one bar per report (the newest 24),
/// labelled by time of day within a day, what is over the limit in the
/// danger colour, the limit a danger line; themed like the others.
#[test]
fn gateway_usage_draws_each_report_against_the_limit() {
    use licensedesk_core::gateway::Resource;
    use licensedesk_core::gateway::usage::UsageSample;
    let t = at("2026-05-01T08:00:00Z");
    let samples: Vec<UsageSample> = (0..30)
        .map(|i| UsageSample {
            at: t + Duration::minutes(i * 10),
            connections: 5,
            tags: 20 + i as u32,
        })
        .collect();
    let svg = charts::gateway_usage(&samples, Resource::Tags, 30).expect("chart");
    assert!(svg.contains("var(--accent)") && svg.contains("var(--danger)"));
    assert!(!svg.contains("rgb(1,2,3)"));
    let labels = texts(&svg);
    // The newest report is labelled by its time of day; the oldest six are
    // beyond the 24 drawn.
    assert!(labels.contains(&"12:50"), "{labels:?}");
    assert!(!labels.contains(&"08:00"), "{labels:?}");
    // Two days: dates.
    let mut days = samples.clone();
    days[29].at = t + Duration::days(1);
    let svg = charts::gateway_usage(&days, Resource::Connections, 30).expect("chart");
    assert!(texts(&svg).contains(&"05-02"), "{:?}", texts(&svg));
    // No report yet: an empty chart, not an error.
    assert!(charts::gateway_usage(&[], Resource::Tags, 30).is_ok());
}

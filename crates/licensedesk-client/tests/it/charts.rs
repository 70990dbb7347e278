//! Charts render from the cache, with theme variables instead of colours.

use serde_json::json;

use crate::support::{ENT, TestServer, session, sync};
use licensedesk_client::charts;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_are_themed_svg() {
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
    for svg in [
        charts::consumed_per_month(s.cache(), now, 12).expect("consumed"),
        charts::expirations_next_12_months(s.cache(), now).expect("expirations"),
        charts::burn_down(s.cache(), now).expect("burn-down"),
        charts::device_messages(s.cache(), "pwm0001", "chart-dev", now).expect("messages"),
    ] {
        assert!(svg.starts_with("<svg"), "{}", &svg[..60.min(svg.len())]);
        assert!(
            svg.contains("var(--accent)") || svg.contains("var(--danger)"),
            "themed"
        );
        assert!(
            !svg.contains("#010203") && !svg.contains("rgb(1,2,3)"),
            "sentinel replaced"
        );
    }
    let burn = charts::burn_down(s.cache(), now).expect("burn");
    assert!(
        burn.contains("run out") || burn.contains("enough"),
        "names the run-out"
    );
}

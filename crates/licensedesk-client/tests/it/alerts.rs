//! Alerts from a real server's data through the cache (issue 16): the
//! watermark is crossed, the alert is raised once and its notification
//! recorded once, held in the band, cleared, re-armed; a reopened store
//! (a restart) neither repeats nor forgets it. And the All accounts view of
//! two profiles on two accounts, also with the server gone.

use std::sync::Arc;

use chrono::Duration;
use licensedesk_client::alerts::observe_profile;
use licensedesk_client::{Alert, AlertStore, ApiToken, Client, ManualClock, NewProfile, Session};
use licensedesk_core::alert::{AlertKind, GATEWAYS_SCOPE, Thresholds};
use serde_json::json;

use crate::support::{ADMIN, ENT, TestServer, package, session, sync};

const SCOPE: &str = "profile-1";

/// Watermark only: the run-out rule would also fire on a pool consumed
/// this fast, and has its own test.
fn watermark_only() -> Thresholds {
    Thresholds {
        runs_out_days: 1,
        ..Thresholds::default()
    }
}

fn word(a: &Alert) -> Option<(String, String, String)> {
    Some((
        format!("{} {}", a.kind.as_str(), a.subject),
        a.params
            .get("remaining")
            .map(|r| r.to_string())
            .unwrap_or_default(),
        "en".into(),
    ))
}

/// One evaluation: observe the cache, apply to the store.
fn evaluate(
    store: &AlertStore,
    s: &Session,
    t: &Thresholds,
    started: chrono::DateTime<chrono::Utc>,
) -> Vec<(AlertKind, String)> {
    let observed = observe_profile(s.cache(), SCOPE, "Test", t, started, s.now()).expect("observe");
    store
        .apply(SCOPE, &observed, s.now(), &word)
        .expect("apply")
        .into_iter()
        .map(|n| (n.kind, n.subject))
        .collect()
}

async fn credit(server: &TestServer, account: i64, pk: &str, n: u64) {
    server
        .post_ok(
            "/v1/admin/batches",
            ADMIN,
            json!({"account_id": account, "pk": pk, "count": n, "package": package()}),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watermark_raises_once_holds_clears_and_rearms_across_restarts() {
    let server = TestServer::start().await;
    let (account, token) = server.account("enterprise", "cn-east").await;
    server.product(account, "p1", 100).await;
    server.connect_new(&token, "p1", "a", 70).await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, _clock) = session(&server, dir.path(), &token);
    let store_path = dir.path().join("alerts.sqlite3");
    let store = AlertStore::open(&store_path).expect("store");
    let t = watermark_only();
    let started = s.now();

    sync(&s).await;
    assert_eq!(
        evaluate(&store, &s, &t, started),
        vec![],
        "30 % left: nothing"
    );

    // 19 of 100 left: under 20 %.
    server.connect_new(&token, "p1", "b", 11).await;
    sync(&s).await;
    let raised = evaluate(&store, &s, &t, started);
    assert_eq!(raised, vec![(AlertKind::LowRemaining, "p1".to_owned())]);
    // A second sync and evaluation: nothing new is raised.
    sync(&s).await;
    assert_eq!(evaluate(&store, &s, &t, started), vec![]);

    // A restart: the store reopened remembers the alert and says nothing.
    drop(store);
    let store = AlertStore::open(&store_path).expect("reopen");
    assert_eq!(evaluate(&store, &s, &t, started), vec![]);
    let listed = store.list().expect("list");
    let low: Vec<&Alert> = listed
        .iter()
        .filter(|a| a.kind == AlertKind::LowRemaining)
        .collect();
    assert_eq!(low.len(), 1, "{listed:?}");
    assert!(low[0].raised);
    assert_eq!(low[0].params["remaining"], 19);
    assert_eq!(low[0].params["total"], 100);
    assert_eq!(low[0].params["product"], "Product p1");
    assert_eq!(store.notifications().expect("log").len(), 1);

    // 24 of 105: back in the band (≥ 20 %, < 25 %): still raised, quiet.
    credit(&server, account, "p1", 5).await;
    sync(&s).await;
    assert_eq!(evaluate(&store, &s, &t, started), vec![]);
    assert!(store.list().expect("list")[0].raised);
    // 29 of 110 (26 %): cleared, re-armed.
    credit(&server, account, "p1", 5).await;
    sync(&s).await;
    assert_eq!(evaluate(&store, &s, &t, started), vec![]);
    let cleared = &store.list().expect("list")[0];
    assert!(
        !cleared.raised && cleared.cleared_at.is_some(),
        "{cleared:?}"
    );
    // 21 of 110 (19 %): raised again, and announced again.
    server.connect_new(&token, "p1", "c", 8).await;
    sync(&s).await;
    assert_eq!(
        evaluate(&store, &s, &t, started),
        vec![(AlertKind::LowRemaining, "p1".to_owned())]
    );
    let again = &store.list().expect("list")[0];
    assert!(again.raised);
    assert_eq!(again.times_raised, 2);
    let log = store.notifications().expect("log");
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].body, "21");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_out_renewals_and_not_synced_come_from_the_cache() {
    let server = TestServer::start().await;
    let (account, token) = server.account("enterprise", "cn-east").await;
    server.product(account, "p1", 100).await;
    // 90 codes consumed now: at that rate the 10 left last 10 days.
    server.connect_new(&token, "p1", "a", 90).await;
    let dir = tempfile::tempdir().expect("dir");
    let (s, clock) = session(&server, dir.path(), &token);
    let store = AlertStore::open(&dir.path().join("alerts.sqlite3")).expect("store");
    let t = Thresholds {
        low_remaining_percent: 5,
        low_remaining_clear_percent: 6,
        ..Thresholds::default()
    };
    let started = s.now();
    sync(&s).await;
    assert_eq!(
        evaluate(&store, &s, &t, started),
        vec![(AlertKind::RunsOutSoon, "p1".to_owned())]
    );
    let runs_out = store
        .list()
        .expect("list")
        .into_iter()
        .find(|a| a.kind == AlertKind::RunsOutSoon)
        .expect("raised");
    assert_eq!(runs_out.params["days"], 10);

    // 11 months on (codes valid one year): the 90 devices renew within 30
    // days from a pool of 10 (the renewals go offline); the last sync is
    // now 11 months old, and the app has run for more than an hour.
    clock.set(s.now() + Duration::days(335));
    let mut raised = evaluate(&store, &s, &t, started);
    raised.sort();
    assert_eq!(
        raised,
        vec![
            (AlertKind::OfflineAtRenewal, "p1".to_owned()),
            (AlertKind::NotSynced, String::new()),
        ]
    );
    let list = store.list().expect("list");
    let offline = list
        .iter()
        .find(|a| a.kind == AlertKind::OfflineAtRenewal)
        .expect("raised");
    assert_eq!(offline.params["devices"], 80);
    // The most urgent first: devices going offline before a stale view.
    assert_eq!(list[0].kind, AlertKind::OfflineAtRenewal);

    // Nothing consumed in the last 90 days: no rate, the run-out cleared.
    let raised_kinds = |store: &AlertStore| {
        let mut k: Vec<AlertKind> = store
            .list()
            .expect("list")
            .iter()
            .filter(|a| a.raised)
            .map(|a| a.kind)
            .collect();
        k.sort();
        k
    };
    assert_eq!(
        raised_kinds(&store),
        vec![AlertKind::OfflineAtRenewal, AlertKind::NotSynced]
    );
    // A scope's alerts are its own: the gateways' scope clears nothing here.
    store
        .apply(GATEWAYS_SCOPE, &[], s.now(), &word)
        .expect("apply");
    assert_eq!(raised_kinds(&store).len(), 2);
    store.forget_scope(SCOPE).expect("forget");
    assert!(store.list().expect("list").is_empty());
    assert!(store.notifications().expect("log").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_accounts_of_two_profiles_also_offline() {
    use licensedesk_server::demo::DEMO_INDIVIDUAL_TOKEN as IND;
    let mut server = TestServer::demo().await;
    let dir = tempfile::tempdir().expect("dir");
    let clock = Arc::new(ManualClock::new(server.now()));
    let client = Client::with(
        dir.path(),
        Arc::new(licensedesk_client::FileTokenStore::new(
            &dir.path().join("secrets"),
        )),
        clock,
    );
    let mut ids = Vec::new();
    for (name, token) in [("Hangzhou", ENT), ("Lena", IND)] {
        let p = client
            .add_profile(
                NewProfile {
                    name: name.into(),
                    server_url: server.base.clone(),
                    account_label: name.into(),
                },
                &ApiToken::new(token),
            )
            .expect("profile");
        sync(&client.session(&p.id).expect("session")).await;
        ids.push((p.id, token));
    }
    let mut want = Vec::new();
    for (_, token) in &ids {
        let a = server.get_json("/v1/account", token).await;
        want.push((
            a["total"].as_u64().expect("total"),
            a["used"].as_u64().expect("used"),
            a["remaining"].as_u64().expect("remaining"),
        ));
    }
    let check = |all: &licensedesk_client::AllAccounts| {
        assert_eq!(all.accounts.len(), 2);
        assert_eq!(all.counted, 2);
        for (summary, (total, used, remaining)) in all.accounts.iter().zip(&want) {
            let ov = summary.overview.as_ref().expect("overview");
            assert_eq!(
                (ov.total, ov.used, ov.remaining),
                (*total, *used, *remaining)
            );
            assert!(!summary.cards.is_empty(), "{}", summary.profile.name);
            assert!(ov.staleness.last_synced_at.is_some());
        }
        assert_eq!(all.total, want.iter().map(|w| w.0).sum::<u64>());
        assert_eq!(all.used, want.iter().map(|w| w.1).sum::<u64>());
        assert_eq!(all.remaining, want.iter().map(|w| w.2).sum::<u64>());
        assert_eq!(
            all.accounts[1]
                .overview
                .as_ref()
                .map(|o| o.data_center.as_str()),
            Some("eu-central")
        );
    };
    check(&client.all_accounts().expect("all"));
    // The server gone: the same view, from the caches alone.
    server.stop().await;
    check(&client.all_accounts().expect("all offline"));

    // A profile never synced is listed with why it has no figures.
    let fresh = client
        .add_profile(
            NewProfile {
                name: "Later".into(),
                server_url: server.base.clone(),
                account_label: "later".into(),
            },
            &ApiToken::new("t"),
        )
        .expect("profile");
    let all = client.all_accounts().expect("all");
    assert_eq!(all.counted, 2);
    let later = all
        .accounts
        .iter()
        .find(|a| a.profile.id == fresh.id)
        .expect("listed");
    assert_eq!(
        later.error.as_ref().map(|e| e.code.as_str()),
        Some("NOT_SYNCED")
    );
}

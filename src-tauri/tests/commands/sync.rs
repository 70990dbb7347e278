//! What the status bar is told about the last sync, against real servers.

use serde_json::{Value, json};

use crate::support::DemoServer;

/// The active profile's URL now reaches another server (as when the
/// server's data was replaced): its first sync refuses the cache's cursor,
/// and the status says the mirror was started over.
#[test]
fn a_sync_that_started_over_says_so_until_the_next_one() {
    let old = DemoServer::start();
    let h = old.harness();
    let none = h.invoke("sync_status", json!({})).expect("status");
    assert_eq!(none["last_sync"], Value::Null, "{none}");

    let first = h.invoke("sync_now", json!({})).expect("first sync");
    let last = &first["last_sync"];
    assert_eq!(
        (&last["started_over"], &last["full"]),
        (&json!(false), &json!(true)),
        "{first}"
    );
    assert!(last["snapshot_rows"].as_u64() > Some(0), "{first}");
    assert_eq!(last["seq"], first["seq"], "{first}");

    // The profile's URL now reaches another server, with keys of its own:
    // its key set is refused, and nothing changes.
    let profiles = h.dir.path().join("data/client/profiles.json");
    let json = std::fs::read_to_string(&profiles).expect("profiles");
    assert!(json.contains(&old.url), "{json}");
    let list = h.invoke("list_profiles", json!({})).expect("profiles");
    let id = list["active_id"].clone();
    let impostor = DemoServer::start();
    std::fs::write(&profiles, json.replace(&old.url, &impostor.url)).expect("write profiles");
    h.invoke("switch_profile", json!({ "id": id }))
        .expect("reopen the profile");
    let refused = h.invoke("sync_now", json!({})).expect("status");
    assert_eq!(
        refused["last_error"]["code"], "KEYSET_UNTRUSTED",
        "{refused}"
    );

    // The same profile (and cache) now reaches the same server (its keys)
    // whose data was replaced.
    let new = DemoServer::replacing(&old);
    std::fs::write(&profiles, json.replace(&old.url, &new.url)).expect("write profiles");
    h.invoke("switch_profile", json!({ "id": id }))
        .expect("reopen the profile");

    let over = h
        .invoke("sync_now", json!({}))
        .expect("sync against the new server");
    assert_eq!(over["last_error"], Value::Null, "{over}");
    let last = &over["last_sync"];
    assert_eq!(
        (&last["started_over"], &last["full"]),
        (&json!(true), &json!(true)),
        "{over}"
    );
    assert!(last["snapshot_rows"].as_u64() > Some(0), "{over}");
    assert_eq!(
        h.invoke("sync_status", json!({})).expect("status")["last_sync"],
        over["last_sync"]
    );

    // The next sync is an ordinary one: the notice has nothing to say.
    let next = h.invoke("sync_now", json!({})).expect("next sync");
    let last = &next["last_sync"];
    assert_eq!(
        (&last["started_over"], &last["full"], &last["snapshot_rows"]),
        (&json!(false), &json!(false), &json!(0)),
        "{next}"
    );
    assert!(last["seq"].as_u64() > over["last_sync"]["seq"].as_u64());
}

//! The capabilities allow exactly the app's commands.

use licensedesk_desktop::command_list::COMMANDS;
use serde_json::json;

use crate::support::Harness;

#[test]
fn capabilities_name_exactly_the_declared_commands() {
    let text = include_str!("../../capabilities/default.json");
    let cap: serde_json::Value = serde_json::from_str(text).expect("json");
    let mut allowed: Vec<String> = cap["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    allowed.sort();
    let mut declared: Vec<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
    declared.sort();
    assert_eq!(allowed, declared);
    let others: Vec<&str> = cap["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .filter(|p| !p.starts_with("allow-"))
        .collect();
    assert_eq!(
        others,
        ["core:event:allow-listen", "core:event:allow-unlisten"]
    );
}

#[test]
fn every_declared_command_passes_the_acl() {
    let h = Harness::new(None);
    for cmd in COMMANDS {
        // Arguments may be missing: the answer must then be about them,
        // never "not allowed".
        if let Err(e) = h.invoke(cmd, json!({})) {
            let text = e.to_string();
            assert!(!text.contains("not allowed"), "{cmd}: {text}");
            assert!(!text.contains("not found"), "{cmd}: {text}");
        }
    }
}

#[test]
fn commands_outside_the_capabilities_are_refused() {
    let h = Harness::new(None);
    for cmd in [
        "plugin:event|emit",
        "plugin:window|close",
        "plugin:webview|print",
        "delete_everything",
    ] {
        let err = h.invoke(cmd, json!({})).expect_err(cmd).to_string();
        assert!(
            err.contains("not allowed") || err.contains("not found"),
            "{cmd}: {err}"
        );
    }
}

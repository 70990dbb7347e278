//! Mock-runtime tests of every command (`tauri::test`): argument names,
//! success shapes, `{code, message}` errors, and the capabilities (ACL)
//! refusing what the app does not declare. No display needed.

mod acl;
mod alerts;
mod field;
mod gateways;
mod lifecycle;
mod profiles;
mod support;
mod sync;
mod views;

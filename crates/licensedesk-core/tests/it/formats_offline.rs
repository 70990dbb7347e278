//! Offline activation request/response files (filled in with offline.rs).

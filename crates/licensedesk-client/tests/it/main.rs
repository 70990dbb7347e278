//! Client integration tests against a REAL licensedesk-server running
//! in-process on 127.0.0.1:0 (temp data dir, test clock), never a mock.

mod alerts;
mod billing;
mod charts;
mod crash;
mod offline;
mod outbox;
mod secrets;
mod support;
mod sync;
mod trust;
mod views;

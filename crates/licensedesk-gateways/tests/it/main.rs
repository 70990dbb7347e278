//! Integration tests: a real registry in a temp dir; a real
//! `licensedesk-server` on a loopback port for activation and offline
//! bundles (test clock, no sleeping).

mod activation;
mod alerts;
mod install;
mod offline;
mod registry;
mod support;
mod trust_usage;

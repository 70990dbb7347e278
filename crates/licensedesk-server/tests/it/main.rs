//! Integration tests: a real server on a loopback port, real SQLite in a
//! temp dir, a test clock instead of sleeping.

mod accounts;
mod backup;
mod binary;
mod bounds;
mod concurrency;
mod crash;
mod devices;
mod field;
mod field_product;
mod gateways;
mod installs;
mod licenses;
mod month_close;
mod protocol;
mod roles;
mod snapshot;
mod support;
mod sweep;
mod tenants;
mod usage;

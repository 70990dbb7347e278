//! Integration tests of licensedesk-core (one binary, matklad's layout).

mod support;

mod field_delegate;
mod field_ledger;
mod formats_activation_code;
mod formats_license;
mod formats_offline;
mod trust;

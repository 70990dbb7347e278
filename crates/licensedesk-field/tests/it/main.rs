//! licensedesk-field against a real licensedesk-server on loopback and the
//! real `ldctl`.

mod crash;
mod flow;
mod product;
mod reconcile;
mod refusals;
mod support;

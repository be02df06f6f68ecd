//! The N-API binding: classes, argument conversion and error mapping only. Every behaviour
//! lives in the `kernel-store` core crate.

// napi-rs registers the exported functions only outside `cfg(test)`, so a test build (which
// `cargo clippy --all-targets` makes; the binding itself is tested from JS) sees them unused.
#![cfg_attr(test, allow(dead_code))]

mod args;
mod audit_methods;
mod bundle_methods;
mod debug_methods;
mod errors;
mod export_page;
mod exporter;
mod handle;
mod importer;
mod internal_methods;
mod kernel_store;
mod kv_store;
mod refcount_methods;
mod snapshot_methods;
mod transcript_methods;
mod vat_params_methods;

//! The N-API binding: classes, argument conversion and error mapping only. Every behaviour
//! lives in the `kernel-store` core crate.

mod args;
mod audit_methods;
mod bundle_methods;
mod debug_methods;
mod errors;
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

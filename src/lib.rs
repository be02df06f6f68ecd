//! The N-API binding: classes, argument conversion and error mapping only. Every behaviour
//! lives in the `kernel-store` core crate.

mod args;
mod audit_methods;
mod bundle_methods;
mod errors;
mod kernel_store;
mod kv_store;
mod refcount_methods;
mod snapshot_methods;
mod transcript_methods;
mod vat_params_methods;

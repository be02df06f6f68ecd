//! The pure-Rust core of swingset-kernel-store: a SQLite store laid out exactly as
//! `@agoric/swing-store` 0.10.0 lays it out, whose kvStore, cranks and hashes behave
//! identically, with the block's writes held in memory until `commit`, and with the kernel's
//! refcounts and retained vatParameters as native all-or-nothing operations.
//!
//! The modules, each owning one concept (docs/architecture.md has the map):
//! - [`store`]: `KernelStore`, the composition root that holds the pieces below;
//! - `db`: the connection, its pragmas and its one write transaction;
//! - `kv`: the kvStore (overlay over SQLite, caches, facets, trace); `crank`: savepoints and
//!   hashes; `export_log`: export-data notes;
//! - `transcript`, `snapshot`, `bundle`: the three artifact stores, each with its export,
//!   import and repair side;
//! - `export`: the exporter, the importer and metadata repair, over their own connections;
//! - `refcount`, `vat_params`, `batch`: the kernel's bookkeeping over its kvStore;
//! - `audit`: the read-only refcount audit; `ids`: the kernel's identifier grammar;
//! - `ofd_locks`, `foreign_sqlite`: living beside another SQLite library in the process.

mod audit;
pub mod base64;
mod batch;
mod budget;
mod bundle;
mod capdata;
mod crank;
mod db;
mod error;
mod export;
mod export_log;
mod foreign_sqlite;
pub mod hex;
pub mod ids;
pub mod json;
mod kv;
pub mod ofd_locks;
mod overlay;
mod query;
mod refcount;
mod render;
mod snapshot;
mod sql;
mod store;
mod transcript;
mod vat_params;
mod writer_lock;
pub mod wtf8;

pub use audit::{
    audit_refcounts_at, AuditOptions, AuditReport, Count, Finding, FindingKind, Holder, Severity,
    AUDIT_PROGRESS_INTERVAL,
};
pub use budget::{budget_error, Deletion};
pub use bundle::{Bundle, BundleInput};
pub use capdata::CapData;
pub use crank::CrankHashes;
pub use db::{Durability, DB_FILE_NAME};
pub use error::{Error, Result};
pub use export::{
    ArtifactImport, ArtifactMode, ArtifactNameCursor, ArtifactReader, ExportDataCursor, Exporter,
    Importer, Repair, RowSink, Scope,
};
pub use export_log::ExportRow;
pub use ids::KrefKind;
pub use kv::facet::Facet;
pub use kv::KeyType;
pub use query::{QueryParams, QueryRows, Value as SqlValue};
pub use refcount::{ObjectRefCount, RefOptions, RefTag};
pub use snapshot::{
    DumpedSnapshot, SnapshotInfo, SnapshotReader, SnapshotResult, SnapshotRow, SnapshotWriter,
};
pub use store::{KernelStore, OpenOptions, StoreLocation, DEFAULT_SPILL_THRESHOLD_BYTES};
pub use transcript::{ClosedSpan, Rollover, SpanBounds, SpanCursor, SpanStart};
pub use vat_params::{EligibleVat, IneligibleVat, UpgradePlan};

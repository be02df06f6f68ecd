//! The pure-Rust core of swingset-kernel-store: a SQLite store laid out exactly as
//! `@agoric/swing-store` 0.10.0 lays it out, whose kvStore, cranks and hashes behave
//! identically, with the block's writes held in memory until `commit`.

mod audit;
pub mod base64;
mod batch;
mod budget;
mod bundle;
mod capdata;
mod crank;
mod error;
mod facet;
pub mod hex;
pub mod json;
mod kref;
mod kv;
mod overlay;
mod refcount;
pub mod schema;
mod snapshot;
mod sql;
mod transcript;
mod vat_params;
mod writer_lock;
pub mod wtf8;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use writer_lock::WriterLock;

pub use audit::{
    audit_refcounts_at, AuditOptions, AuditReport, Count, Finding, FindingKind, Holder, Severity,
    AUDIT_PROGRESS_INTERVAL,
};
pub use budget::{budget_from_js, Deletion};
pub use bundle::{Bundle, BundleInput};
pub use capdata::CapData;
pub use crank::CrankHashes;
pub use error::{Error, Result};
pub use facet::Facet;
pub use kref::KrefKind;
pub use kv::KeyType;
pub use refcount::{ObjectRefCount, RefOptions, RefTag};
pub use schema::{Durability, DB_FILE_NAME};
pub use snapshot::{SnapshotInfo, SnapshotReader, SnapshotResult, SnapshotWriter};
pub use transcript::{SpanBounds, SpanCursor, SpanStart};
pub use vat_params::{EligibleVat, IneligibleVat, UpgradePlan};

use crank::CrankState;
use kv::Kv;
use overlay::Overlay;

/// One export-data record: `[key, value]` (WTF-8), with `None` for a deletion.
pub type ExportRow = (Vec<u8>, Option<Vec<u8>>);

/// Past this many bytes of uncommitted writes, the block is written into the open SQLite
/// transaction at the next crank boundary, so memory stays bounded on huge blocks.
pub const DEFAULT_SPILL_THRESHOLD_BYTES: usize = 64 << 20;

#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// Open an existing store without ever writing to it.
    pub readonly: bool,
    pub durability: Durability,
    /// Keep export-data notes for an export callback (swing-store's `exportCallback` option).
    pub track_exports: bool,
    /// Uncommitted bytes held in memory before they go into the open transaction.
    pub spill_threshold_bytes: usize,
    /// swing-store's `keepTranscripts`: keep the items of closed transcript spans.
    pub keep_transcripts: bool,
    /// swing-store's `keepSnapshots`: keep the data of snapshots no longer in use.
    pub keep_snapshots: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            readonly: false,
            durability: Durability::Full,
            track_exports: false,
            spill_threshold_bytes: DEFAULT_SPILL_THRESHOLD_BYTES,
            keep_transcripts: true,
            keep_snapshots: false,
        }
    }
}

pub struct KernelStore {
    conn: Connection,
    kv: Kv,
    crank: CrankState,
    /// Net export-data changes since the last delivery, when the host asked for them.
    exports: Option<Overlay>,
    /// Krefs whose counts reached zero and that the kernel should look at (its `maybeFreeKrefs`).
    maybe_free: BTreeSet<String>,
    /// Whether this connection holds a `BEGIN IMMEDIATE` write transaction.
    txn_open: bool,
    /// SQLite's `data_version` when the caches were last known to match the file: another
    /// connection's commit changes it, and then what is cached about SQLite is stale.
    data_version: i64,
    readonly: bool,
    spill_threshold_bytes: usize,
    db_path: Option<PathBuf>,
    keep_transcripts: bool,
    keep_snapshots: bool,
    /// Held by an on-disk writer until it is dropped; declared last so the connection closes
    /// before another writer can get in.
    _writer_lock: Option<WriterLock>,
}

impl KernelStore {
    /// Opens the store in directory `dir` (created if missing), or in memory when `dir` is
    /// `None`, bringing the database to swing-store's schema.
    pub fn open(dir: Option<&Path>, options: OpenOptions) -> Result<KernelStore> {
        let db_path = match dir {
            // A read-only opener (an auditor, a CLI) must never create what it was asked to read.
            Some(dir) if options.readonly => {
                let file = dir.join(DB_FILE_NAME);
                if !file.is_file() {
                    return Err(Error::NotASwingStore {
                        message: format!(
                            "no swing-store in {}: {} does not exist",
                            dir.display(),
                            file.display()
                        ),
                    });
                }
                Some(file)
            }
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::NotASwingStore {
                    message: format!("cannot create store directory {}: {e}", dir.display()),
                })?;
                Some(dir.join(DB_FILE_NAME))
            }
            None => None,
        };
        let writer_lock = match dir {
            Some(dir) if !options.readonly => Some(WriterLock::acquire(dir, schema::BUSY_TIMEOUT)?),
            _ => None,
        };
        let location = match &db_path {
            Some(path) => schema::Location::File(path),
            None => schema::Location::InMemory,
        };
        let conn = schema::open_connection(location, options.readonly, options.durability)
            .map_err(|e| e.in_database(db_path.as_deref()))?;
        Ok(KernelStore {
            conn,
            kv: Kv::default(),
            crank: CrankState::default(),
            exports: options.track_exports.then(Overlay::default),
            maybe_free: BTreeSet::new(),
            txn_open: false,
            data_version: 0,
            readonly: options.readonly,
            spill_threshold_bytes: options.spill_threshold_bytes,
            db_path,
            keep_transcripts: options.keep_transcripts,
            keep_snapshots: options.keep_snapshots,
            _writer_lock: writer_lock,
        })
    }

    /// The database file, or `None` in memory.
    pub fn db_path(&self) -> Option<&Path> {
        self.db_path.as_deref()
    }

    /// Delivers pending export notes, writes the block and COMMITs: the only COMMIT there is.
    /// If `deliver` fails, nothing is committed and the transaction stays open.
    pub fn commit(&mut self, deliver: &mut dyn FnMut(Vec<ExportRow>) -> Result<()>) -> Result<()> {
        if !self.txn_open {
            return Ok(());
        }
        self.flush_exports(deliver)?;
        // COMMIT ends every savepoint; the overlay's undo marks go with them.
        self.kv.overlay_mut().set_marks(0);
        self.kv.spill(&self.conn)?;
        self.conn
            .execute_batch("COMMIT")
            .map_err(Error::sqlite("commit"))?;
        self.txn_open = false;
        Ok(())
    }

    /// Closes the database, abandoning any uncommitted block.
    pub fn close(self) -> Result<()> {
        self.conn.close().map_err(|(_, e)| Error::Sqlite {
            context: "close",
            source: e,
        })
    }

    /// Every kvStore entry in key order, as the open transaction sees them.
    pub fn kv_entries(&mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.sync_with_other_writers()?;
        self.kv.entries(&self.conn)
    }

    /// Outside a write transaction another connection may have committed since the caches
    /// were filled; SQLite's `data_version` says whether one did.
    fn sync_with_other_writers(&mut self) -> Result<()> {
        // No other connection can reach an in-memory database.
        if self.txn_open || self.db_path.is_none() {
            return Ok(());
        }
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(Error::sqlite("PRAGMA data_version"))?;
        if version != self.data_version {
            self.kv.forget_committed();
            self.data_version = version;
        }
        Ok(())
    }

    /// swing-store's `ensureTxn`: the first write after a commit takes the write lock.
    fn ensure_txn(&mut self) -> Result<()> {
        if self.readonly {
            return Err(Error::ReadOnly);
        }
        if !self.txn_open {
            self.conn
                .execute_batch("BEGIN IMMEDIATE TRANSACTION")
                .map_err(Error::sqlite("begin transaction"))?;
            self.sync_with_other_writers()?;
            self.txn_open = true;
        }
        Ok(())
    }

    /// swing-store's `noteExport('kv.' + key, value)`, kept only when the host asked for exports.
    fn note_kv_export(&mut self, key: &[u8], value: Option<&[u8]>) {
        if let Some(exports) = &mut self.exports {
            let mut export_key = Vec::with_capacity(key.len() + 3);
            export_key.extend_from_slice(b"kv.");
            export_key.extend_from_slice(key);
            exports.put(&export_key, value.map(<[u8]>::to_vec));
        }
    }

    /// swing-store's `noteExport(key, value)` for transcript, snapshot and bundle records.
    fn note_export(&mut self, key: &str, value: Option<&str>) {
        if let Some(exports) = &mut self.exports {
            exports.put(key.as_bytes(), value.map(|v| v.as_bytes().to_vec()));
        }
    }

    /// swing-store's `flushPendingExports`: hand over the sorted net changes, if any.
    fn flush_exports(
        &mut self,
        deliver: &mut dyn FnMut(Vec<ExportRow>) -> Result<()>,
    ) -> Result<()> {
        let Some(exports) = &mut self.exports else {
            return Ok(());
        };
        if exports.is_empty() {
            return Ok(());
        }
        // A COMMIT releases every savepoint, and endCrank releases its own before flushing.
        exports.set_marks(0);
        let rows: Vec<ExportRow> = exports.drain().into_iter().collect();
        deliver(rows)
    }

    /// Writes the block into SQLite between cranks once it grows past the threshold.
    fn maybe_spill(&mut self) -> Result<()> {
        if self.kv.overlay_bytes() > self.spill_threshold_bytes
            && !self.kv.overlay_mut().has_marks()
        {
            self.kv.spill(&self.conn)?;
        }
        Ok(())
    }
}

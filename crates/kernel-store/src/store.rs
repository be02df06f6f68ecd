//! `KernelStore`, the composition root: one database connection and its transaction, the
//! kvStore and its facets, the crank cycle, the export log, and the transcript, snapshot and
//! bundle stores, each a module that receives only what it needs for a call. This is the one
//! place that holds them all; nothing else in the crate reaches back here (the refcount and
//! vatParameters operations see the store through [`KernelKv`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::audit::{self, AuditOptions, AuditReport};
use crate::batch::{Batch, KernelKv};
use crate::bundle::{Bundle, BundleInput, BundleStore};
use crate::capdata::CapData;
use crate::crank::{self, Crank, CrankHashes, CrankState};
use crate::db::{Db, Durability, Location, BUSY_TIMEOUT, DB_FILE_NAME};
use crate::error::{Error, Result};
use crate::export::{
    self, ArtifactImport, ArtifactMode, ArtifactNameCursor, ArtifactReader, ExportDataCursor,
    Landing, Repair, RowSink, Scope,
};
use crate::export_log::{ExportLog, ExportRow};
use crate::kv::facet::Facet;
use crate::kv::{Kv, Trace};
use crate::query::{QueryParams, QueryRows};
use crate::refcount::{self, ObjectRefCount, RefOptions, RefTag};
use crate::snapshot::artifacts::{DumpedSnapshot, Listing, SnapshotRow};
use crate::snapshot::{
    SnapOptions, SnapStore, SnapshotInfo, SnapshotReader, SnapshotResult, SnapshotWriter,
};
use crate::transcript::{
    ClosedSpan, Rollover, SpanBounds, SpanCursor, SpanStart, TranscriptOptions, TranscriptStore,
};
use crate::vat_params::{self, UpgradePlan};
use crate::writer_lock::WriterLock;
use crate::Deletion;

/// Past this many bytes of uncommitted writes, the block is written into the open SQLite
/// transaction whenever no savepoint could need to undo it, so memory stays bounded.
pub const DEFAULT_SPILL_THRESHOLD_BYTES: usize = 64 << 20;

/// Where a store lives.
#[derive(Clone, Copy, Debug)]
pub enum StoreLocation<'a> {
    /// Nowhere but memory; gone when closed.
    InMemory,
    /// `swingstore.sqlite` in this directory (created, with the directory, if missing).
    Directory(&'a Path),
    /// This database file itself (swing-store's `asFile`).
    File(&'a Path),
    /// In memory, loaded from an image (swing-store's `serialized`).
    Image(&'a [u8]),
    /// A store being built in this directory (an import): its database is a side file that
    /// only becomes `swingstore.sqlite` when the first commit succeeds, so a crash before
    /// then leaves no store behind.
    Staged(&'a Path),
}

/// The side file a staged store is built in.
const STAGED_FILE_NAME: &str = "swingstore-import.sqlite";

#[derive(Clone, Debug)]
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
    /// Hand closed transcript spans back for an `archiveTranscript` callback.
    pub archive_transcripts: bool,
    /// Hand new snapshots' gzip bytes back for an `archiveSnapshot` callback.
    pub archive_snapshots: bool,
    /// swing-store's `traceFile`: every kvStore write appended to this file.
    pub trace_file: Option<PathBuf>,
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
            archive_transcripts: false,
            archive_snapshots: false,
            trace_file: None,
        }
    }
}

/// A file that only becomes the store at its first commit (an import in progress), and the
/// durability the store runs with from then on.
struct PendingRename {
    from: PathBuf,
    to: PathBuf,
    durability: Durability,
}

pub struct KernelStore {
    db: Db,
    kv: Kv,
    crank: Crank,
    exports: ExportLog,
    /// Krefs whose counts reached zero and that the kernel should look at (its `maybeFreeKrefs`).
    maybe_free: BTreeSet<String>,
    transcripts: TranscriptStore,
    snapshots: SnapStore,
    bundles: BundleStore,
    pending_rename: Option<PendingRename>,
    /// Held by an on-disk writer until it is dropped; declared last so the connection closes
    /// before another writer can get in.
    _writer_lock: Option<WriterLock>,
}

/// The database file a location names, after checking a read-only opener will not create it.
fn database_file(location: StoreLocation<'_>, readonly: bool) -> Result<Option<PathBuf>> {
    let file = match location {
        StoreLocation::Directory(dir) | StoreLocation::Staged(dir) => {
            if !readonly {
                std::fs::create_dir_all(dir).map_err(|e| Error::NotASwingStore {
                    message: format!("cannot create store directory {}: {e}", dir.display()),
                })?;
            }
            match location {
                StoreLocation::Staged(_) => dir.join(STAGED_FILE_NAME),
                _ => dir.join(DB_FILE_NAME),
            }
        }
        StoreLocation::File(file) => file.to_owned(),
        StoreLocation::InMemory | StoreLocation::Image(_) => return Ok(None),
    };
    // A read-only opener (an auditor, a CLI) must never create what it was asked to read.
    if readonly && !file.is_file() {
        return Err(Error::NotASwingStore {
            message: format!(
                "no swing-store at {}: {} does not exist",
                location_name(location),
                file.display()
            ),
        });
    }
    Ok(Some(file))
}

fn location_name(location: StoreLocation<'_>) -> String {
    match location {
        StoreLocation::Directory(p) | StoreLocation::File(p) | StoreLocation::Staged(p) => {
            p.display().to_string()
        }
        StoreLocation::InMemory | StoreLocation::Image(_) => ":memory:".into(),
    }
}

/// The writer's lock: on the store directory, or for a bare database file on the file.
fn writer_lock(location: StoreLocation<'_>, file: Option<&Path>) -> Result<Option<WriterLock>> {
    match (location, file) {
        (StoreLocation::Directory(dir) | StoreLocation::Staged(dir), _) => {
            WriterLock::acquire(dir, BUSY_TIMEOUT).map(Some)
        }
        (StoreLocation::File(_), Some(file)) => {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .map_err(|e| Error::NotASwingStore {
                    message: format!("cannot create database file {}: {e}", file.display()),
                })?;
            WriterLock::acquire(file, BUSY_TIMEOUT).map(Some)
        }
        _ => Ok(None),
    }
}

impl KernelStore {
    /// Opens the store in directory `dir` (created if missing), or in memory when `dir` is
    /// `None`, bringing the database to swing-store's schema.
    pub fn open(dir: Option<&Path>, options: OpenOptions) -> Result<KernelStore> {
        let location = dir.map_or(StoreLocation::InMemory, StoreLocation::Directory);
        KernelStore::open_at(location, options)
    }

    pub fn open_at(location: StoreLocation<'_>, options: OpenOptions) -> Result<KernelStore> {
        // The trace file first: a bad one must leave no new directory or database behind.
        let trace = options.trace_file.as_deref().map(Trace::open).transpose()?;
        let file = database_file(location, options.readonly)?;
        let writer_lock = if options.readonly {
            None
        } else {
            writer_lock(location, file.as_deref())?
        };
        let db_location = match (location, &file) {
            (StoreLocation::Image(image), _) => Location::Image(image),
            (_, Some(file)) => Location::File(file),
            _ => Location::InMemory,
        };
        if let (StoreLocation::Staged(_), Some(file)) = (location, &file) {
            // A staged file left by an earlier import that never committed is not a store.
            let _ = std::fs::remove_file(file);
        }
        let pending_rename = match (location, &file) {
            (StoreLocation::Staged(dir), Some(file)) => Some(PendingRename {
                from: file.clone(),
                to: dir.join(DB_FILE_NAME),
                durability: options.durability,
            }),
            _ => None,
        };
        // A staged file is no store until it is renamed, so it needs no journal; it must not
        // have one, since a WAL or a rollback journal would stay behind under the old name.
        let durability = match pending_rename {
            Some(_) => Durability::UnsafeFast,
            None => options.durability,
        };
        let db = Db::open(db_location, options.readonly, durability)?;
        Ok(KernelStore {
            db,
            kv: Kv::new(options.spill_threshold_bytes, trace),
            crank: Crank::default(),
            exports: ExportLog::new(options.track_exports),
            maybe_free: BTreeSet::new(),
            transcripts: TranscriptStore::new(TranscriptOptions {
                keep_transcripts: options.keep_transcripts,
                archive: options.archive_transcripts,
            }),
            snapshots: SnapStore::new(SnapOptions {
                keep_snapshots: options.keep_snapshots,
                archive: options.archive_snapshots,
            }),
            bundles: BundleStore,
            pending_rename,
            _writer_lock: writer_lock,
        })
    }

    /// The database file, or `None` in memory.
    pub fn db_path(&self) -> Option<&Path> {
        self.db.path()
    }

    /// Delivers pending export notes, writes the block and COMMITs: the only COMMIT there is.
    /// If `deliver` fails, nothing is committed and the transaction stays open.
    pub fn commit(&mut self, deliver: &mut dyn FnMut(Vec<ExportRow>) -> Result<()>) -> Result<()> {
        if !self.db.in_txn() {
            return Ok(());
        }
        self.db.check_files()?;
        self.exports.flush(deliver)?;
        // COMMIT ends every savepoint; the overlay's undo marks go with them.
        self.kv.release_marks();
        self.kv.spill(&self.db)?;
        self.db.commit()?;
        self.kv.flush_trace()?;
        if let Some(rename) = self.pending_rename.take() {
            finish_rename(&rename)?;
            // From now on this is the store: reopened under its name, journaled as asked.
            let reopened = Db::open(Location::File(&rename.to), false, rename.durability)?;
            std::mem::replace(&mut self.db, reopened).close()?;
        }
        Ok(())
    }

    /// Closes the database, abandoning any uncommitted block.
    pub fn close(mut self) -> Result<()> {
        let traced = self.kv.flush_trace();
        let closed = self.db.close();
        if let Some(rename) = &self.pending_rename {
            // Never committed: the file never became a store.
            let _ = std::fs::remove_file(&rename.from);
        }
        closed.and(traced)
    }

    /// Every kvStore entry in key order, as the open transaction sees them.
    pub fn kv_entries(&mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.kv.entries(&mut self.db)
    }

    /// The whole in-memory database as an image (swing-store's `debug.serialize()`), with
    /// the open block in it as in swing-store's (except inside a crank with a savepoint,
    /// whose kvStore writes stay in memory until it ends).
    pub fn serialize(&mut self) -> Result<Vec<u8>> {
        self.expose_block()?;
        self.db.serialize()
    }

    /// Moves the block's kvStore writes into the open transaction, when no savepoint could
    /// need to undo them, so a reader of the connection itself sees them.
    fn expose_block(&mut self) -> Result<()> {
        if self.db.in_txn() && !self.kv.has_marks() {
            self.kv.spill(&self.db)?;
        }
        Ok(())
    }

    /// The connection, for the exporter-side readers and the importer of this crate.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) fn db_mut(&mut self) -> &mut Db {
        &mut self.db
    }

    /// An import's kvStore rows (`None` deletes), written as the kernel facet writes them
    /// (host keys refused, export-noted) but straight into the transaction. They are not
    /// crank-hashed: an import's store hands no crank hash to anyone.
    pub(crate) fn load_kv(&mut self, rows: &[(&[u8], Option<&[u8]>)]) -> Result<()> {
        for (key, _) in rows {
            Facet::Kernel.check_writable(key)?;
        }
        self.db.ensure_txn()?;
        for &(key, value) in rows {
            if Facet::Kernel.records(key) {
                self.exports.note_kv(key, value);
            }
        }
        self.kv.load(&self.db, rows)
    }

    fn crank_state(&mut self) -> (&mut Crank, CrankState<'_>) {
        (
            &mut self.crank,
            CrankState {
                db: &mut self.db,
                kv: &mut self.kv,
                exports: &mut self.exports,
            },
        )
    }
}

/// Makes the committed file durable under its final name before anything can open it there.
fn finish_rename(rename: &PendingRename) -> Result<()> {
    let io = |what: &str, e: std::io::Error| Error::NotASwingStore {
        message: format!("cannot {what} {}: {e}", rename.to.display()),
    };
    std::fs::File::open(&rename.from)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("sync the import into", e))?;
    std::fs::rename(&rename.from, &rename.to).map_err(|e| io("move the import to", e))?;
    if let Some(dir) = rename.to.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("sync the directory of", e))?;
    }
    Ok(())
}

/// The kvStore facets.
impl KernelStore {
    pub fn kv_get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<&[u8]>> {
        self.kv.get(&mut self.db, key.as_ref())
    }

    pub fn kv_has(&mut self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.kv_get(key)?.is_some())
    }

    /// The smallest key strictly after `previous_key`, in byte order.
    pub fn kv_next_key(&mut self, previous_key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.kv.next_key(&mut self.db, previous_key.as_ref())
    }

    pub fn kv_set(
        &mut self,
        facet: Facet,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<()> {
        self.write(facet, key.as_ref(), Some(value.as_ref()))
    }

    pub fn kv_delete(&mut self, facet: Facet, key: impl AsRef<[u8]>) -> Result<()> {
        self.write(facet, key.as_ref(), None)
    }

    /// What the facet does for a write beyond storing it, for a write another layer stored
    /// through the raw facet (swing-store's `wrapKvStore`, whose wrapper sits between the
    /// facets and the raw store): the kernel facet hashes and export-notes consensus keys.
    pub fn kv_record_write(
        &mut self,
        facet: Facet,
        key: impl AsRef<[u8]>,
        value: Option<&[u8]>,
    ) -> Result<()> {
        let key = key.as_ref();
        facet.check_writable(key)?;
        self.db.ensure_txn()?;
        if facet.records(key) {
            self.record(key, value);
        }
        Ok(())
    }

    fn write(&mut self, facet: Facet, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        facet.check_writable(key)?;
        self.db.ensure_txn()?;
        if facet.records(key) {
            self.record(key, value);
        }
        self.kv.put(&self.db, key, value.map(<[u8]>::to_vec))
    }

    /// A kernel-facet consensus write is crank-hashed and export-noted, in swing-store's order.
    fn record(&mut self, key: &[u8], value: Option<&[u8]>) {
        self.crank.hash_write(key, value);
        self.exports.note_kv(key, value);
    }
}

impl KernelKv for KernelStore {
    fn get(&mut self, key: &[u8]) -> Result<Option<&[u8]>> {
        self.kv.get(&mut self.db, key)
    }

    fn apply(&mut self, batch: Batch) -> Result<()> {
        let (writes, maybe_free) = batch.into_parts();
        if !writes.is_empty() {
            self.db.ensure_txn()?;
            for (key, write) in writes {
                self.record(key.as_bytes(), write.as_deref());
                self.kv.put(&self.db, key.as_bytes(), write)?;
            }
        }
        self.maybe_free.extend(maybe_free);
        Ok(())
    }
}

/// Cranks and hashes.
impl KernelStore {
    pub fn in_crank(&self) -> bool {
        self.crank.in_crank()
    }

    /// swing-store's `<operation> outside of crank` check, which it makes before any other.
    pub fn require_crank(&self, operation: &'static str) -> Result<()> {
        self.crank.require(operation)
    }

    pub fn start_crank(&mut self) -> Result<()> {
        self.crank.start()
    }

    pub fn establish_crank_savepoint(&mut self, name: impl AsRef<[u8]>) -> Result<()> {
        let (crank, state) = self.crank_state();
        crank.establish_savepoint(state, name.as_ref())
    }

    pub fn rollback_crank(&mut self, name: impl AsRef<[u8]>) -> Result<()> {
        let (crank, state) = self.crank_state();
        crank.rollback(state, name.as_ref())
    }

    pub fn end_crank(
        &mut self,
        deliver: &mut dyn FnMut(Vec<ExportRow>) -> Result<()>,
    ) -> Result<()> {
        let (crank, state) = self.crank_state();
        crank.end(state, deliver)
    }

    pub fn emit_crank_hashes(&mut self) -> Result<CrankHashes> {
        let (crank, state) = self.crank_state();
        crank.emit_hashes(state)
    }

    pub fn get_activityhash(&mut self) -> Result<String> {
        crank::activityhash(&mut self.db, &mut self.kv)
    }
}

/// Transcripts.
impl KernelStore {
    pub fn init_transcript(&mut self, vat_id: &str) -> Result<()> {
        self.transcripts
            .init(&mut self.db, &mut self.exports, vat_id)
    }

    pub fn get_current_span_bounds(&self, vat_id: &str) -> Result<SpanBounds> {
        self.transcripts.current_span_bounds(&self.db, vat_id)
    }

    pub fn add_item(&mut self, vat_id: &str, item: &str) -> Result<()> {
        self.transcripts
            .add_item(&mut self.db, &mut self.exports, vat_id, item)
    }

    /// Ends the current span and opens an empty one in the same incarnation (after a heap
    /// snapshot, so replay can start from the snapshot).
    pub fn rollover_span(&mut self, vat_id: &str) -> Result<Rollover> {
        self.transcripts
            .rollover(&mut self.db, &mut self.exports, vat_id, false)
    }

    /// Ends the current span and opens an empty one in the next incarnation (a vat upgrade).
    pub fn rollover_incarnation(&mut self, vat_id: &str) -> Result<Rollover> {
        self.transcripts
            .rollover(&mut self.db, &mut self.exports, vat_id, true)
    }

    pub fn stop_using_transcript(&mut self, vat_id: &str) -> Result<Option<ClosedSpan>> {
        self.transcripts
            .stop_using(&mut self.db, &mut self.exports, vat_id)
    }

    pub fn delete_vat_transcripts(
        &mut self,
        vat_id: &str,
        budget: Option<u64>,
    ) -> Result<Deletion> {
        self.transcripts
            .delete_vat(&mut self.db, &mut self.exports, vat_id, budget)
    }

    pub fn begin_read_span(&self, vat_id: &str, start: SpanStart) -> Result<SpanCursor> {
        crate::transcript::begin_read_span(&self.db, vat_id, start)
    }

    pub fn read_span_page(&self, cursor: &mut SpanCursor, limit: usize) -> Result<Vec<String>> {
        crate::transcript::read_span_page(&self.db, cursor, limit)
    }

    pub fn read_span(&self, vat_id: &str, start: SpanStart) -> Result<Vec<String>> {
        crate::transcript::read_span(&self.db, vat_id, start)
    }
}

/// Snapshots.
impl KernelStore {
    pub fn save_snapshot(
        &mut self,
        vat_id: &str,
        snap_pos: u64,
        writer: SnapshotWriter,
    ) -> Result<SnapshotResult> {
        self.snapshots
            .save(&mut self.db, &mut self.exports, vat_id, snap_pos, writer)
    }

    pub fn load_snapshot(&self, vat_id: &str) -> Result<SnapshotReader> {
        self.snapshots.load(&self.db, vat_id)
    }

    pub fn get_snapshot_info(&self, vat_id: &str) -> Result<Option<SnapshotInfo>> {
        self.snapshots.info(&self.db, vat_id)
    }

    pub fn stop_using_last_snapshot(&mut self, vat_id: &str) -> Result<()> {
        self.snapshots
            .stop_using_last(&mut self.db, &mut self.exports, vat_id)
    }

    pub fn delete_vat_snapshots(&mut self, vat_id: &str, budget: Option<u64>) -> Result<Deletion> {
        self.snapshots
            .delete_vat(&mut self.db, &mut self.exports, vat_id, budget)
    }

    pub fn delete_all_unused_snapshots(&mut self) -> Result<()> {
        self.snapshots.delete_all_unused(&mut self.db)
    }
}

/// Bundles.
impl KernelStore {
    pub fn add_bundle(&mut self, bundle_id: &str, bundle: &BundleInput) -> Result<()> {
        self.bundles
            .add(&mut self.db, &mut self.exports, bundle_id, bundle)
    }

    pub fn has_bundle(&self, bundle_id: &str) -> Result<bool> {
        self.bundles.has(&self.db, bundle_id)
    }

    pub fn get_bundle(&self, bundle_id: &str) -> Result<Bundle> {
        self.bundles.get(&self.db, bundle_id)
    }

    pub fn delete_bundle(&mut self, bundle_id: &str) -> Result<()> {
        self.bundles
            .delete(&mut self.db, &mut self.exports, bundle_id)
    }
}

/// Refcounts and retained vatParameters (the operations themselves live in `refcount` and
/// `vat_params`, over this store's kernel facet).
impl KernelStore {
    pub fn increment_ref_count(
        &mut self,
        kref: &str,
        tag: &(impl RefTag + ?Sized),
        options: RefOptions,
    ) -> Result<()> {
        refcount::increment_ref_count(self, kref, tag, options)
    }

    pub fn decrement_ref_count(
        &mut self,
        kref: &str,
        tag: &(impl RefTag + ?Sized),
        options: RefOptions,
    ) -> Result<bool> {
        refcount::decrement_ref_count(self, kref, tag, options)
    }

    pub fn get_object_ref_count(&mut self, kref: &str) -> Result<ObjectRefCount> {
        refcount::get_object_ref_count(self, kref)
    }

    pub fn set_object_ref_count(
        &mut self,
        kref: &str,
        reachable: i128,
        recognizable: i128,
    ) -> Result<()> {
        refcount::set_object_ref_count(self, kref, reachable, recognizable)
    }

    pub fn kernel_object_exists(&mut self, kref: &str) -> Result<bool> {
        refcount::kernel_object_exists(self, kref)
    }

    /// The kernel's `addMaybeFreeKref` (objects only).
    pub fn add_maybe_free_kref(&mut self, kref: &str) -> Result<()> {
        refcount::require_object(kref)?;
        self.maybe_free.insert(kref.to_owned());
        Ok(())
    }

    /// The krefs that may now be free, sorted; the set is left empty.
    pub fn take_maybe_free_krefs(&mut self) -> Vec<String> {
        std::mem::take(&mut self.maybe_free).into_iter().collect()
    }

    pub fn set_vat_parameters(&mut self, vat_id: &str, vat_parameters: &CapData) -> Result<()> {
        vat_params::set_vat_parameters(self, vat_id, vat_parameters)
    }

    pub fn get_vat_parameters(&mut self, vat_id: &str) -> Result<Option<CapData>> {
        vat_params::get_vat_parameters(self, vat_id)
    }

    pub fn create_vat(
        &mut self,
        vat_id: &str,
        vat_parameters: Option<&CapData>,
    ) -> Result<CapData> {
        vat_params::create_vat(self, vat_id, vat_parameters)
    }

    pub fn upgrade_vat(
        &mut self,
        vat_id: &str,
        vat_parameters: Option<&CapData>,
    ) -> Result<CapData> {
        vat_params::upgrade_vat(self, vat_id, vat_parameters)
    }

    pub fn terminate_vat(&mut self, vat_id: &str) -> Result<Option<CapData>> {
        vat_params::terminate_vat(self, vat_id)
    }

    pub fn plan_upgrade_all(&mut self) -> Result<UpgradePlan> {
        vat_params::plan_upgrade_all(self)
    }

    /// Starts `hostStorage.repairMetadata`: export-data rows follow, then the finish.
    pub fn begin_repair(&mut self) -> Result<Repair> {
        Repair::begin(&mut self.db)
    }

    pub fn repair_export_data(
        &mut self,
        repair: &Repair,
        rows: &[(Vec<u8>, Option<Vec<u8>>)],
    ) -> Result<()> {
        repair.add_export_data(&mut self.db, rows)
    }

    /// Checks or adds every record the export data named; the repairs await the next commit.
    pub fn finish_repair(&mut self, repair: Repair) -> Result<()> {
        repair.finish(&mut self.db)
    }

    /// Audits what this store has committed (see [`audit::audit_committed`]).
    pub fn audit_refcounts(&self, options: AuditOptions<'_>) -> Result<AuditReport> {
        audit::audit_committed(&self.db, options)
    }
}

/// What swing-store's `debug` and `internal` objects offer tools (dumps, listings).
impl KernelStore {
    /// `dumpTranscripts`: every stored item (of current spans only, unless
    /// `include_historical`), by vat and position.
    pub fn dump_transcripts(
        &self,
        include_historical: bool,
    ) -> Result<BTreeMap<String, BTreeMap<u64, String>>> {
        crate::transcript::artifacts::dump(&self.db, include_historical)
    }

    /// `dumpSnapshots`: every snapshot (or only in-use ones) with its gzip bytes.
    pub fn dump_snapshots(&self, include_historical: bool) -> Result<Vec<DumpedSnapshot>> {
        crate::snapshot::artifacts::dump(&self.db, include_historical)
    }

    /// `dumpBundles`: each bundle's stored bytes, base64, by ID.
    pub fn dump_bundles(&self) -> Result<Vec<(String, String)>> {
        crate::bundle::artifacts::dump(&self.db)
    }

    /// `listAllSnapshots`: every snapshot row without its data, in (vatID, snapPos) order.
    pub fn list_snapshots(
        &self,
        after: Option<&(String, u64)>,
        limit: usize,
    ) -> Result<Vec<SnapshotRow>> {
        crate::snapshot::artifacts::rows_after(&self.db, Listing::Everything, after, limit)
    }

    /// `hasHash`: whether the vat has (or had) a snapshot with this hash.
    pub fn has_snapshot_hash(&self, vat_id: &str, hash: &str) -> Result<bool> {
        crate::snapshot::artifacts::has_hash(&self.db, vat_id, hash)
    }

    /// `deleteSnapshotByHash` (a test and debugging tool; notes nothing).
    pub fn delete_snapshot_by_hash(&mut self, vat_id: &str, hash: &str) -> Result<()> {
        crate::snapshot::artifacts::delete_by_hash(&mut self.db, vat_id, hash)
    }

    /// `readFullVatTranscript`, a page at a time: `(position, item)` after `after`.
    pub fn full_vat_transcript(
        &self,
        vat_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, String)>> {
        crate::transcript::artifacts::full_vat_transcript(&self.db, vat_id, after, limit)
    }

    /// `getBundleIDs`: every bundle ID after `after`, in order.
    pub fn bundle_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        crate::bundle::artifacts::ids_after(&self.db, after, limit)
    }

    /// Export-data rows of this store (or one of its stores, see [`Scope`]), as its own
    /// connection sees them: swing-store's `internal.*.getExportRecords()`.
    pub fn export_data_page(
        &self,
        cursor: &mut ExportDataCursor,
        limit: usize,
        sink: &mut dyn RowSink,
    ) -> Result<usize> {
        export::export_data_page(&self.db, cursor, limit, sink)
    }

    /// The artifact names an export in `mode` would offer: `internal.*.getArtifactNames()`.
    pub fn artifact_names_page(
        &self,
        mode: ArtifactMode,
        cursor: &mut ArtifactNameCursor,
        limit: usize,
    ) -> Result<Vec<String>> {
        export::artifact_names_page(&self.db, mode, cursor, limit)
    }

    /// An artifact of this store, read as an export reads it (`internal.*.export*(name)`).
    pub fn open_artifact(&self, name: &str) -> Result<ArtifactReader> {
        export::open_artifact(&self.db, name)
    }

    pub fn read_artifact(
        &self,
        reader: &mut ArtifactReader,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>> {
        export::read_artifact(&self.db, reader, max_bytes)
    }

    /// `internal.*.assertComplete(checkMode)`, for one store or all of them.
    pub fn assert_complete(&self, scope: Scope, mode: ArtifactMode) -> Result<()> {
        export::assert_store_complete(&self.db, scope, mode)
    }

    /// `internal.*.import*Record(key, value)`, or with `repair` `repair*Record`.
    pub fn install_record(&mut self, key: &str, value: &str, repair: bool) -> Result<()> {
        export::install_record(&mut self.db, key, value, repair)
    }

    /// `internal.*.populate*(name, ...)` / `importBundle`: starts taking an artifact's bytes,
    /// or `None` when `mode` leaves it out.
    pub fn begin_artifact_import(
        &mut self,
        name: &str,
        mode: ArtifactMode,
    ) -> Result<Option<ArtifactImport>> {
        ArtifactImport::begin(&mut self.db, name, mode, Landing::WhenChecked)
    }

    pub fn write_artifact_import(
        &mut self,
        artifact: &mut ArtifactImport,
        chunk: &[u8],
    ) -> Result<()> {
        artifact.write(&mut self.db, chunk)
    }

    pub fn finish_artifact_import(&mut self, artifact: ArtifactImport) -> Result<()> {
        artifact.finish(&mut self.db)
    }

    /// An artifact whose source failed: whatever of it was stored is removed.
    pub fn abandon_artifact_import(&mut self, artifact: ArtifactImport) -> Result<()> {
        artifact.abandon(&mut self.db)
    }

    /// A tool's read-only SQL (`internal.db`) over this connection. The block's kvStore writes
    /// are moved into the open transaction first, so the tool reads what the store holds,
    /// except inside a crank with a savepoint, whose writes stay in memory until it ends.
    pub fn query(&mut self, sql: &str, params: &QueryParams) -> Result<QueryRows> {
        self.expose_block()?;
        crate::query::query(&self.db, sql, params)
    }
}

//! `KernelStore`'s snapStore methods. A snapshot streams through a native writer (hash, size
//! and gzip computed as chunks arrive) and back out through a native reader (hash checked at
//! the end), so neither side ever holds a whole heap snapshot in JS.

use napi::bindgen_prelude::{Buffer, Either, Env, Undefined};
use napi_derive::napi;

use crate::args::{BudgetArg, ChunkArg, JsBytes, MaxLength, SnapPos, VatId, WriterArg};
use crate::errors::{illegal_constructor, to_js, JsErr};
use crate::handle::{with_open, with_store};
use crate::kernel_store::KernelStore;
use crate::transcript_methods::Deletion;

/// What `saveSnapshot` reports.
#[napi(object)]
pub struct SnapshotResult {
    pub hash: String,
    pub uncompressed_size: f64,
    pub compressed_size: f64,
    pub compress_seconds: f64,
    pub db_save_seconds: f64,
}

/// A snapshot just saved: its export key and its gzip bytes.
#[napi(object)]
pub struct SavedSnapshot {
    /// `snapshot.<vatID>.<snapPos>`.
    pub name: String,
    pub data: Buffer,
}

/// The in-use snapshot of a vat.
#[napi(object)]
pub struct SnapshotInfo {
    pub snap_pos: f64,
    pub hash: String,
    pub uncompressed_size: Option<f64>,
    pub compressed_size: Option<f64>,
}

/// Collects a snapshot's bytes for `saveSnapshot`.
#[napi]
pub struct SnapshotWriter {
    inner: Option<kernel_store::SnapshotWriter>,
}

#[napi]
impl SnapshotWriter {
    #[napi(constructor)]
    pub fn new() -> Self {
        SnapshotWriter {
            inner: Some(kernel_store::SnapshotWriter::new()),
        }
    }

    /// Hashes, counts and compresses one chunk.
    #[napi(catch_unwind)]
    pub fn write(
        &mut self,
        #[napi(ts_arg_type = "Uint8Array")] chunk: ChunkArg<'_>,
    ) -> Result<(), JsErr> {
        let writer = self.inner.as_mut().ok_or_else(|| to_js(already_saved()))?;
        writer.write(chunk.0).map_err(to_js)
    }
}

fn already_saved() -> kernel_store::Error {
    kernel_store::Error::InvalidArgValue {
        message: "this snapshot writer was already saved".to_owned(),
    }
}

/// Streams a stored snapshot back, decompressed.
#[napi]
pub struct SnapshotReader {
    inner: kernel_store::SnapshotReader,
}

#[napi]
impl SnapshotReader {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`. A reader comes from `loadSnapshot`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "SnapshotReader cannot be constructed: use KernelStore.loadSnapshot(vatID)",
        ))
    }

    /// The next chunk of at most `maxLength` bytes, or `undefined` at the end (after the hash
    /// matched; a mismatch throws instead).
    #[napi(catch_unwind, ts_return_type = "Buffer | undefined")]
    pub fn read_chunk(
        &mut self,
        #[napi(ts_arg_type = "number")] max_length: MaxLength,
    ) -> Result<Either<JsBytes, Undefined>, JsErr> {
        match self.inner.read_chunk(max_length.0).map_err(to_js)? {
            Some(bytes) => Ok(Either::A(JsBytes(bytes))),
            None => Ok(Either::B(())),
        }
    }
}

#[napi]
impl KernelStore {
    /// Stores what `writer` collected as the vat's in-use snapshot at `snapPos`.
    #[napi(catch_unwind)]
    pub fn save_snapshot(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
        #[napi(ts_arg_type = "number")] snap_pos: SnapPos,
        #[napi(ts_arg_type = "SnapshotWriter")] writer: WriterArg<'_>,
    ) -> Result<SnapshotResult, JsErr> {
        // Taken only once the store is known to be open, so a closed store leaves it for a retry.
        let writer = writer.0;
        with_open(&self.shared, |open| {
            let inner = writer.inner.take().ok_or_else(already_saved)?;
            let mut result = open.store.save_snapshot(&vat_id.0, snap_pos.0, inner)?;
            open.saved_snapshot = result.archive.take();
            Ok(result)
        })
        .map(|r| SnapshotResult {
            hash: r.hash,
            uncompressed_size: r.uncompressed_size as f64,
            compressed_size: r.compressed_size as f64,
            compress_seconds: r.compress_seconds,
            db_save_seconds: r.db_save_seconds,
        })
    }

    /// The export key and gzip bytes of the snapshot saved last, once (for swing-store's
    /// `archiveSnapshot` callback); `undefined` unless the store was opened with
    /// `archiveSnapshots`.
    #[napi(catch_unwind, ts_return_type = "SavedSnapshot | undefined")]
    pub fn take_saved_snapshot(&self) -> Result<Either<SavedSnapshot, Undefined>, JsErr> {
        with_open(&self.shared, |open| Ok(open.saved_snapshot.take())).map(|saved| match saved {
            Some((name, data)) => Either::A(SavedSnapshot {
                name,
                data: data.into(),
            }),
            None => Either::B(()),
        })
    }

    /// Opens the vat's in-use snapshot for reading.
    #[napi(catch_unwind)]
    pub fn load_snapshot(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<SnapshotReader, JsErr> {
        with_store(&self.shared, |s| s.load_snapshot(&vat_id.0))
            .map(|inner| SnapshotReader { inner })
    }

    /// The vat's in-use snapshot, or `undefined`.
    #[napi(catch_unwind, ts_return_type = "SnapshotInfo | undefined")]
    pub fn get_snapshot_info(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<Either<SnapshotInfo, Undefined>, JsErr> {
        Ok(
            match with_store(&self.shared, |s| s.get_snapshot_info(&vat_id.0))? {
                Some(i) => Either::A(SnapshotInfo {
                    snap_pos: i.snap_pos as f64,
                    hash: i.hash,
                    uncompressed_size: i.uncompressed_size.map(|n| n as f64),
                    compressed_size: i.compressed_size.map(|n| n as f64),
                }),
                None => Either::B(()),
            },
        )
    }

    /// Retires the vat's in-use snapshot, if any (its data is dropped unless keepSnapshots).
    #[napi(catch_unwind)]
    pub fn stop_using_last_snapshot(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.stop_using_last_snapshot(&vat_id.0))
    }

    /// Deletes the vat's snapshots, newest first, at most `budget` (all when omitted).
    #[napi(
        catch_unwind,
        ts_args_type = "vatId: string, budget?: number | undefined | null"
    )]
    pub fn delete_vat_snapshots(
        &self,
        vat_id: VatId,
        budget_arg: BudgetArg,
    ) -> Result<Deletion, JsErr> {
        with_store(&self.shared, |s| {
            s.delete_vat_snapshots(&vat_id.0, budget_arg.0?)
        })
        .map(Deletion::from)
    }

    /// Deletes every snapshot not in use (no export records, as in swing-store).
    #[napi(catch_unwind)]
    pub fn delete_all_unused_snapshots(&self) -> Result<(), JsErr> {
        with_store(&self.shared, |s| s.delete_all_unused_snapshots())
    }
}

//! What swing-store's `debug` and `internal` objects give tests and tools: the image of an
//! in-memory store, full dumps, snapshot listings, metadata repair, and transcript and
//! bundle listings for tools such as SwingSet's replay-transcript.

use std::cell::RefCell;

use napi::bindgen_prelude::{Buffer, Env};
use napi_derive::napi;

use crate::args::{
    AfterPosition, BundleId, ExportRowsArg, PageLimit, SnapshotHash, SqlParamsArg, SqlText,
    SqlValue, Truthy, VatId,
};
use crate::errors::{closed, illegal_constructor, JsErr};
use crate::handle::{with_store, Shared};
use crate::kernel_store::KernelStore;

/// What a tool's query returns.
#[napi(object, object_from_js = false)]
pub struct QueryResult {
    pub columns: Vec<String>,
    #[napi(ts_type = "unknown[][]")]
    pub rows: Vec<Vec<SqlValue>>,
}

/// A snapshot's row as `dumpSnapshots` lists it.
#[napi(object)]
pub struct DumpedSnapshot {
    #[napi(js_name = "vatID")]
    pub vat_id: String,
    pub snap_pos: f64,
    pub hash: String,
    /// The gzip bytes, or `null` when the data was pruned.
    pub compressed_snapshot: Option<Buffer>,
    /// 1 in use, 0 retired.
    pub in_use: u32,
}

/// A snapshot's row without its data, as `listAllSnapshots` lists it.
#[napi(object)]
pub struct ListedSnapshot {
    #[napi(js_name = "vatID")]
    pub vat_id: String,
    pub snap_pos: f64,
    /// 1 in use, `null` retired (the column as stored).
    pub in_use: Option<u32>,
    pub hash: String,
    pub uncompressed_size: Option<f64>,
    pub compressed_size: Option<f64>,
}

/// One item of a vat's whole transcript.
#[napi(object)]
pub struct TranscriptEntry {
    pub position: f64,
    pub item: String,
}

/// A vat's transcript items by position, as `dumpTranscripts` lists them.
#[napi(object)]
pub struct DumpedTranscript {
    #[napi(js_name = "vatID")]
    pub vat_id: String,
    pub entries: Vec<TranscriptEntry>,
}

#[napi]
impl KernelStore {
    /// The whole database as an image (swing-store's `debug.serialize()`), which
    /// `KernelStore.open(null, { serialized })` loads; in-memory stores only.
    #[napi(catch_unwind)]
    pub fn serialize(&self) -> Result<Buffer, JsErr> {
        with_store(&self.shared, |s| s.serialize()).map(Buffer::from)
    }

    /// Every stored transcript item (of current spans only unless `includeHistorical`).
    #[napi(catch_unwind)]
    pub fn dump_transcripts(
        &self,
        #[napi(ts_arg_type = "boolean | undefined")] include_historical: Truthy,
    ) -> Result<Vec<DumpedTranscript>, JsErr> {
        with_store(&self.shared, |s| {
            s.dump_transcripts(include_historical.0.unwrap_or(true))
        })
        .map(|dump| {
            dump.into_iter()
                .map(|(vat_id, items)| DumpedTranscript {
                    vat_id,
                    entries: items
                        .into_iter()
                        .map(|(position, item)| TranscriptEntry {
                            position: position as f64,
                            item,
                        })
                        .collect(),
                })
                .collect()
        })
    }

    /// Every snapshot (or only in-use ones) with its gzip bytes, by vat and position.
    #[napi(catch_unwind)]
    pub fn dump_snapshots(
        &self,
        #[napi(ts_arg_type = "boolean | undefined")] include_historical: Truthy,
    ) -> Result<Vec<DumpedSnapshot>, JsErr> {
        with_store(&self.shared, |s| {
            s.dump_snapshots(include_historical.0.unwrap_or(true))
        })
        .map(|rows| {
            rows.into_iter()
                .map(|row| DumpedSnapshot {
                    vat_id: row.vat_id,
                    snap_pos: row.snap_pos as f64,
                    hash: row.hash,
                    compressed_snapshot: row.compressed.map(Buffer::from),
                    in_use: u32::from(row.in_use),
                })
                .collect()
        })
    }

    /// Each bundle's stored bytes, base64, as `[bundleID, base64]`.
    #[napi(catch_unwind, ts_return_type = "Array<[string, string]>")]
    pub fn dump_bundles(&self) -> Result<Vec<(String, String)>, JsErr> {
        with_store(&self.shared, |s| s.dump_bundles())
    }

    /// Every snapshot row without its data, in (vatID, snapPos) order.
    #[napi(catch_unwind)]
    pub fn list_snapshots(&self) -> Result<Vec<ListedSnapshot>, JsErr> {
        with_store(&self.shared, |s| s.list_snapshots(None, usize::MAX)).map(|rows| {
            rows.into_iter()
                .map(|row| ListedSnapshot {
                    vat_id: row.vat_id,
                    snap_pos: row.snap_pos as f64,
                    in_use: row.in_use.then_some(1),
                    hash: row.hash,
                    uncompressed_size: row.uncompressed_size.map(|n| n as f64),
                    compressed_size: row.compressed_size.map(|n| n as f64),
                })
                .collect()
        })
    }

    /// Whether the vat has (or had) a snapshot with this hash.
    #[napi(catch_unwind)]
    pub fn has_snapshot_hash(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
        #[napi(ts_arg_type = "string")] hash: SnapshotHash,
    ) -> Result<bool, JsErr> {
        with_store(&self.shared, |s| s.has_snapshot_hash(&vat_id.0, &hash.0))
    }

    /// Deletes the vat's snapshots with this hash (a test and debugging tool; notes nothing).
    #[napi(catch_unwind)]
    pub fn delete_snapshot_by_hash(
        &self,
        #[napi(ts_arg_type = "string")] vat_id: VatId,
        #[napi(ts_arg_type = "string")] hash: SnapshotHash,
    ) -> Result<(), JsErr> {
        with_store(&self.shared, |s| {
            s.delete_snapshot_by_hash(&vat_id.0, &hash.0)
        })
    }

    /// Up to `limit` items of the vat's whole stored transcript, span by span, after
    /// position `after` (from the start when omitted).
    #[napi(
        catch_unwind,
        ts_args_type = "vatId: string, after: number | undefined | null, limit: number"
    )]
    pub fn read_full_vat_transcript(
        &self,
        vat_id: VatId,
        after: AfterPosition,
        limit: PageLimit,
    ) -> Result<Vec<TranscriptEntry>, JsErr> {
        with_store(&self.shared, |s| {
            s.full_vat_transcript(&vat_id.0, after.0, limit.0)
        })
        .map(|items| {
            items
                .into_iter()
                .map(|(position, item)| TranscriptEntry {
                    position: position as f64,
                    item,
                })
                .collect()
        })
    }

    /// Up to `limit` bundle IDs after `after` (from the first when omitted), in order.
    #[napi(
        catch_unwind,
        ts_args_type = "after: string | undefined | null, limit: number"
    )]
    pub fn bundle_ids(
        &self,
        after: Option<BundleId>,
        limit: PageLimit,
    ) -> Result<Vec<String>, JsErr> {
        with_store(&self.shared, |s| {
            s.bundle_ids(after.as_ref().map(|a| a.0.as_str()), limit.0)
        })
    }

    /// Runs one read-only SQL statement on this store's connection (what `internal.db`
    /// serves tools with): the column names and every row. A statement that could write is
    /// refused with `ERR_READONLY_QUERY`.
    #[napi(
        catch_unwind,
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>",
        ts_return_type = "{ columns: string[], rows: unknown[][] }"
    )]
    pub fn query(&self, sql: SqlText, params: SqlParamsArg) -> Result<QueryResult, JsErr> {
        with_store(&self.shared, |s| s.query(&sql.0, &params.0)).map(|result| QueryResult {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(SqlValue).collect())
                .collect(),
        })
    }

    /// Starts `hostStorage.repairMetadata`: feed it the export data, then finish it.
    #[napi(catch_unwind)]
    pub fn begin_repair(&self) -> Result<MetadataRepair, JsErr> {
        let repair = with_store(&self.shared, |s| s.begin_repair())?;
        Ok(MetadataRepair {
            shared: self.shared.clone(),
            repair: RefCell::new(Some(repair)),
        })
    }
}

/// A `repairMetadata` in progress.
#[napi]
pub struct MetadataRepair {
    shared: Shared,
    repair: RefCell<Option<kernel_store::Repair>>,
}

#[napi]
impl MetadataRepair {
    /// Not for use: always throws `ERR_ILLEGAL_CONSTRUCTOR`.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self, JsErr> {
        Err(illegal_constructor(
            &env,
            "MetadataRepair cannot be constructed: use KernelStore.beginRepair()",
        ))
    }

    /// Takes a page of export-data rows; kvStore rows are ignored.
    #[napi(
        catch_unwind,
        ts_args_type = "rows: Array<[string, string | null | undefined]>"
    )]
    pub fn add_export_data(&self, rows: ExportRowsArg) -> Result<(), JsErr> {
        let guard = self.repair.borrow();
        let repair = guard.as_ref().ok_or_else(closed)?;
        with_store(&self.shared, |s| s.repair_export_data(repair, &rows.0))
    }

    /// Checks or adds every record, then insists the store is complete for `operational`.
    /// The repairs wait for the next commit.
    #[napi(catch_unwind)]
    pub fn finish(&self) -> Result<(), JsErr> {
        let repair = self.repair.borrow_mut().take().ok_or_else(closed)?;
        with_store(&self.shared, |s| s.finish_repair(repair))
    }
}

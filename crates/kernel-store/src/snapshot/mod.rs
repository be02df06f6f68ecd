//! Vat heap snapshots, as swing-store's snapStore keeps them: at most one in-use snapshot per
//! vat, stored gzipped and named by the SHA-256 of its uncompressed bytes. Only that hash (in
//! the export records) is consensus data; the gzip bytes need only be valid gzip that Node
//! reads, so they are made at Node's level 6, in a faster compressor (see `gzip`), without
//! promising identical bytes.
//!
//! The store is given the connection ([`Db`]) and the export log for each call, as
//! swing-store's `makeSnapStore(db, ensureTxn, io, noteExport, options)` is.

pub(crate) mod artifacts;
mod gzip;
mod stream;

pub use artifacts::{DumpedSnapshot, SnapshotRow};
pub use stream::{SnapshotReader, SnapshotWriter};

use std::time::Instant;

use rusqlite::types::ValueRef;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::export_log::ExportLog;
use crate::json::quote;
use crate::sql::{budget_limit, query_all, query_one};
use crate::Deletion;

/// swing-store's statement, exactly as it issues it. `inUse` is 1 or NULL, so UNIQUE allows
/// one in-use snapshot per vat beside any number of retired ones; a retired (or imported but
/// not yet populated) snapshot keeps its hash with NULL data.
pub(crate) const DDL: &[&str] = &["
    CREATE TABLE IF NOT EXISTS snapshots (
      vatID TEXT,
      snapPos INTEGER,
      inUse INTEGER CHECK(inUse = 1),
      hash TEXT,
      uncompressedSize INTEGER,
      compressedSize INTEGER,
      compressedSnapshot BLOB,
      PRIMARY KEY (vatID, snapPos),
      UNIQUE (vatID, inUse)
    )
  "];

/// What `saveSnapshot` resolves to. The timings are for telemetry and differ from run to run.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotResult {
    pub hash: String,
    pub uncompressed_size: u64,
    pub compressed_size: u64,
    pub compress_seconds: f64,
    pub db_save_seconds: f64,
    /// The snapshot's export key and gzip bytes, for the host's `archiveSnapshot` callback.
    pub archive: Option<(String, Vec<u8>)>,
}

/// What `getSnapshotInfo` returns. The sizes are `None` only for a row that a repair or an
/// import recorded without its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub snap_pos: u64,
    pub hash: String,
    pub uncompressed_size: Option<u64>,
    pub compressed_size: Option<u64>,
}

/// swing-store's `keepSnapshots`, and whether an `archiveSnapshot` callback wants new ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapOptions {
    pub keep_snapshots: bool,
    pub archive: bool,
}

/// The snapshot store: its options; the connection and export log come with each call.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapStore {
    options: SnapOptions,
}

fn current_key(vat_id: &str) -> String {
    format!("snapshot.{vat_id}.current")
}

/// A snapshot's export-data key, which is also its artifact name.
fn snapshot_key(vat_id: &str, snap_pos: u64) -> String {
    format!("snapshot.{vat_id}.{snap_pos}")
}

/// `JSON.stringify` of swing-store's snapshot record, in its key order, with a 0/1 flag.
fn snapshot_record(vat_id: &str, snap_pos: u64, hash: &str, in_use: bool) -> String {
    format!(
        "{{\"vatID\":{},\"snapPos\":{snap_pos},\"hash\":{},\"inUse\":{}}}",
        quote(vat_id),
        quote(hash),
        u8::from(in_use)
    )
}

/// The compressed bytes of a row, or `None` when its data was pruned.
fn blob(value: ValueRef<'_>) -> Option<Vec<u8>> {
    match value {
        ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Some(bytes.to_vec()),
        _ => None,
    }
}

impl SnapStore {
    pub fn new(options: SnapOptions) -> SnapStore {
        SnapStore { options }
    }

    /// Stores what `writer` took as vat `vat_id`'s in-use snapshot at `snap_pos`, retiring the
    /// previous one. Nothing touches the database until the stream is complete, as in
    /// swing-store, where the writes follow the stream's end.
    pub fn save(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        vat_id: &str,
        snap_pos: u64,
        writer: SnapshotWriter,
    ) -> Result<SnapshotResult> {
        let compressed = writer.finish()?;
        let db_started = Instant::now();
        db.ensure_txn()?;
        self.stop_using_last(db, exports, vat_id)?;
        let compressed_size = compressed.bytes.len() as u64;
        db.execute(
            "INSERT OR REPLACE INTO snapshots \
             (vatID, snapPos, inUse, hash, uncompressedSize, compressedSize, compressedSnapshot) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                vat_id,
                snap_pos,
                1,
                compressed.hash,
                compressed.uncompressed_size,
                compressed_size,
                compressed.bytes
            ],
            "saveSnapshot",
        )?;
        let key = snapshot_key(vat_id, snap_pos);
        exports.note(
            &key,
            Some(&snapshot_record(vat_id, snap_pos, &compressed.hash, true)),
        );
        exports.note(&current_key(vat_id), Some(&key));
        Ok(SnapshotResult {
            hash: compressed.hash,
            uncompressed_size: compressed.uncompressed_size,
            compressed_size,
            compress_seconds: compressed.seconds,
            db_save_seconds: db_started.elapsed().as_secs_f64(),
            archive: self.options.archive.then_some((key, compressed.bytes)),
        })
    }

    /// Opens the vat's in-use snapshot for reading. swing-store raises a missing or pruned
    /// snapshot on the iterator's first `next()`; a binding wanting that timing holds this
    /// error until then.
    pub fn load(&self, db: &Db, vat_id: &str) -> Result<SnapshotReader> {
        let no_snapshot = || Error::NoSnapshot {
            vat_id: vat_id.into(),
        };
        let row: Option<(String, Option<Vec<u8>>)> = query_one(
            db.conn(),
            "SELECT hash, compressedSnapshot FROM snapshots WHERE vatID = ? AND inUse = 1",
            [vat_id],
            "loadSnapshot",
            |row| Ok((row.get(0)?, blob(row.get_ref(1)?))),
        )?;
        let (expected, Some(compressed)) = row.ok_or_else(no_snapshot)? else {
            return Err(no_snapshot());
        };
        Ok(SnapshotReader::new(compressed, expected))
    }

    /// The in-use snapshot's position, hash and sizes, or `None` (the kernel relies on there
    /// being none for vats that never snapshot).
    pub fn info(&self, db: &Db, vat_id: &str) -> Result<Option<SnapshotInfo>> {
        query_one(
            db.conn(),
            "SELECT snapPos, hash, uncompressedSize, compressedSize FROM snapshots \
             WHERE vatID = ? AND inUse = 1",
            [vat_id],
            "getSnapshotInfo",
            |row| {
                Ok(SnapshotInfo {
                    snap_pos: row.get(0)?,
                    hash: row.get(1)?,
                    uncompressed_size: row.get(2)?,
                    compressed_size: row.get(3)?,
                })
            },
        )
    }

    /// Retires the vat's in-use snapshot (a new one replaces it, or the vat is upgraded or
    /// terminated): its record says it is no longer in use, `.current` goes, and unless
    /// `keepSnapshots` is set its data is dropped while its hash and sizes stay. Idempotent.
    pub fn stop_using_last(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        vat_id: &str,
    ) -> Result<()> {
        db.ensure_txn()?;
        let in_use: Option<(u64, String)> = query_one(
            db.conn(),
            "SELECT snapPos, hash FROM snapshots WHERE vatID = ? AND inUse = 1",
            [vat_id],
            "stopUsingLastSnapshot",
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let Some((snap_pos, hash)) = in_use else {
            return Ok(());
        };
        exports.note(
            &snapshot_key(vat_id, snap_pos),
            Some(&snapshot_record(vat_id, snap_pos, &hash, false)),
        );
        exports.note(&current_key(vat_id), None);
        let sql = if self.options.keep_snapshots {
            "UPDATE snapshots SET inUse = null WHERE inUse = 1 AND vatID = ?"
        } else {
            "UPDATE snapshots SET inUse = null, compressedSnapshot = null \
             WHERE inUse = 1 AND vatID = ?"
        };
        db.execute(sql, [vat_id], "stopUsingLastSnapshot")
    }

    /// Deletes a terminated vat's snapshots: all when `budget` is `None`, otherwise up to
    /// `budget`, newest first. A full deletion always notes `.current` deleted, even when the
    /// vat had no snapshot, exactly as swing-store does.
    pub fn delete_vat(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        vat_id: &str,
        budget: Option<u64>,
    ) -> Result<Deletion> {
        db.ensure_txn()?;
        crate::budget::check_budget(budget)?;
        let context = "deleteVatSnapshots";
        let order = if budget.is_some() { "DESC" } else { "" };
        // Listed before any note or delete, as swing-store does.
        let rows: Vec<(u64, bool)> = query_all(
            db.conn(),
            &format!(
                "SELECT snapPos, inUse FROM snapshots WHERE vatID = ?1 \
                 ORDER BY snapPos {order} LIMIT ?2"
            ),
            rusqlite::params![vat_id, budget_limit(budget)],
            context,
            |row| Ok((row.get(0)?, row.get::<_, Option<i64>>(1)?.is_some())),
        )?;
        let mut clear_current = budget.is_none();
        for &(snap_pos, in_use) in &rows {
            clear_current |= in_use;
            exports.note(&snapshot_key(vat_id, snap_pos), None);
            if budget.is_some() {
                db.execute(
                    "DELETE FROM snapshots WHERE vatID = ? AND snapPos = ?",
                    rusqlite::params![vat_id, snap_pos],
                    context,
                )?;
            }
        }
        if budget.is_none() {
            db.execute("DELETE FROM snapshots WHERE vatID = ?", [vat_id], context)?;
        }
        if clear_current {
            exports.note(&current_key(vat_id), None);
        }
        let cleanups = rows.len() as u64;
        let done = budget.is_none() || rows.is_empty() || !has_snapshots(db, vat_id)?;
        Ok(Deletion { done, cleanups })
    }

    /// Deletes every snapshot no vat is using, records and all. Like swing-store's, it notes
    /// nothing, so export data still lists them; the kernel never calls it.
    pub fn delete_all_unused(&self, db: &mut Db) -> Result<()> {
        db.execute(
            "DELETE FROM snapshots WHERE inUse is null",
            [],
            "deleteAllUnusedSnapshots",
        )
    }
}

fn has_snapshots(db: &Db, vat_id: &str) -> Result<bool> {
    db.conn()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM snapshots WHERE vatID = ?)")
        .and_then(|mut stmt| stmt.query_row([vat_id], |row| row.get(0)))
        .map_err(Error::sqlite("deleteVatSnapshots"))
}

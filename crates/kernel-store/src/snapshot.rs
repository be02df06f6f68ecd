//! Vat heap snapshots, as swing-store's snapStore keeps them (shared/spec/swing-store.md
//! §5.2): at most one in-use snapshot per vat, stored gzipped and named by the SHA-256 of its
//! uncompressed bytes. Only that hash (in the export records) is consensus data; the gzip bytes
//! need only be valid gzip, so they are made as close to Node's as is cheap (level 6, mtime 0,
//! OS 3) without promising identity.
//!
//! Snapshots can be hundreds of megabytes, so bytes stream in through a [`SnapshotWriter`]
//! and out through a [`SnapshotReader`], neither of which borrows the store: a binding can
//! feed or drain one across many calls while the kernel keeps using the store.

use std::io::{Read, Write};
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use rusqlite::types::ValueRef;
use rusqlite::OptionalExtension;
use sha2::{Digest, Sha256};

use crate::budget::{check_budget, Deletion};
use crate::error::{Error, Result};
use crate::hex;
use crate::json::quote;
use crate::KernelStore;

/// Node's `zlib.createGzip()` default level.
const GZIP_LEVEL: u32 = 6;
/// The OS byte Node's zlib writes (Unix).
const GZIP_OS_UNIX: u8 = 3;
/// The chunk size Node's zlib streams yield, used when reading without asking for a size.
const DEFAULT_CHUNK: usize = 16 * 1024;

/// Takes a snapshot's bytes as they are produced, hashing, counting and compressing them in
/// one pass, so the uncompressed snapshot is never held whole.
pub struct SnapshotWriter {
    hasher: Sha256,
    gzip: GzEncoder<Vec<u8>>,
    uncompressed_size: u64,
    /// swing-store's `compressSeconds` covers consuming the whole stream, producer included.
    started: Instant,
}

impl Default for SnapshotWriter {
    fn default() -> Self {
        SnapshotWriter::new()
    }
}

impl SnapshotWriter {
    pub fn new() -> SnapshotWriter {
        SnapshotWriter {
            hasher: Sha256::new(),
            gzip: GzBuilder::new()
                .mtime(0)
                .operating_system(GZIP_OS_UNIX)
                .write(Vec::new(), Compression::new(GZIP_LEVEL)),
            uncompressed_size: 0,
            started: Instant::now(),
        }
    }

    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.uncompressed_size += chunk.len() as u64;
        self.gzip
            .write_all(chunk)
            .map_err(|source| Error::Gzip { source })
    }

    /// `(hash, uncompressed size, gzip bytes, seconds spent)`.
    fn finish(self) -> Result<(String, u64, Vec<u8>, f64)> {
        let compressed = self
            .gzip
            .finish()
            .map_err(|source| Error::Gzip { source })?;
        Ok((
            hex::encode(&self.hasher.finalize()),
            self.uncompressed_size,
            compressed,
            self.started.elapsed().as_secs_f64(),
        ))
    }
}

impl Write for SnapshotWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SnapshotWriter::write(self, buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What `saveSnapshot` resolves to (less `archiveWriteSeconds`: there is no archiver here).
/// The timings are for telemetry and differ from run to run.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotResult {
    pub hash: String,
    pub uncompressed_size: u64,
    pub compressed_size: u64,
    pub compress_seconds: f64,
    pub db_save_seconds: f64,
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

/// A vat's in-use snapshot, decompressed chunk by chunk. It owns its compressed copy, so the
/// store stays usable while it is read. The hash is checked when the data runs out, as
/// swing-store checks it when its iterator finishes: a reader abandoned early checks nothing.
pub struct SnapshotReader {
    decoder: MultiGzDecoder<std::io::Cursor<Vec<u8>>>,
    hasher: Sha256,
    expected: String,
    done: bool,
}

impl SnapshotReader {
    /// The next up to `max_len` decompressed bytes, or `None` once the snapshot has been read
    /// and its hash matched. A mismatch is an error in place of that `None`; after it, or
    /// after the end, there is nothing more.
    pub fn read_chunk(&mut self, max_len: usize) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut chunk = vec![0; max_len.max(1)];
        let read = loop {
            match self.decoder.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.done = true;
                    return Err(Error::Gzip { source });
                }
            }
        };
        if read == 0 {
            self.done = true;
            let actual = hex::encode(&std::mem::take(&mut self.hasher).finalize());
            if actual != self.expected {
                return Err(Error::SnapshotHashMismatch {
                    actual,
                    expected: std::mem::take(&mut self.expected),
                });
            }
            return Ok(None);
        }
        chunk.truncate(read);
        self.hasher.update(&chunk);
        Ok(Some(chunk))
    }
}

impl Iterator for SnapshotReader {
    type Item = Result<Vec<u8>>;

    /// Chunks of Node's zlib chunk size.
    fn next(&mut self) -> Option<Self::Item> {
        self.read_chunk(DEFAULT_CHUNK).transpose()
    }
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

impl KernelStore {
    /// Stores what `writer` took as vat `vat_id`'s in-use snapshot at `snap_pos`, retiring the
    /// previous one. Nothing touches the database until the stream is complete, as in
    /// swing-store, where the writes follow the stream's end.
    pub fn save_snapshot(
        &mut self,
        vat_id: &str,
        snap_pos: u64,
        writer: SnapshotWriter,
    ) -> Result<SnapshotResult> {
        let (hash, uncompressed_size, compressed, compress_seconds) = writer.finish()?;
        let db_started = Instant::now();
        self.ensure_txn()?;
        self.stop_using_last_snapshot(vat_id)?;
        let compressed_size = compressed.len() as u64;
        self.execute(
            "INSERT OR REPLACE INTO snapshots \
             (vatID, snapPos, inUse, hash, uncompressedSize, compressedSize, compressedSnapshot) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                vat_id,
                snap_pos,
                1,
                hash,
                uncompressed_size,
                compressed_size,
                compressed
            ],
            "saveSnapshot",
        )?;
        let key = snapshot_key(vat_id, snap_pos);
        self.note_export(&key, Some(&snapshot_record(vat_id, snap_pos, &hash, true)));
        self.note_export(&current_key(vat_id), Some(&key));
        Ok(SnapshotResult {
            hash,
            uncompressed_size,
            compressed_size,
            compress_seconds,
            db_save_seconds: db_started.elapsed().as_secs_f64(),
        })
    }

    /// Opens the vat's in-use snapshot for reading. swing-store raises a missing or pruned
    /// snapshot on the iterator's first `next()`; a binding wanting that timing holds this
    /// error until then.
    pub fn load_snapshot(&self, vat_id: &str) -> Result<SnapshotReader> {
        let no_snapshot = || Error::NoSnapshot {
            vat_id: vat_id.into(),
        };
        let row: Option<(String, Option<Vec<u8>>)> = self
            .conn
            .prepare_cached(
                "SELECT hash, compressedSnapshot FROM snapshots WHERE vatID = ? AND inUse = 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([vat_id], |row| {
                    let data = match row.get_ref(1)? {
                        ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Some(bytes.to_vec()),
                        _ => None,
                    };
                    Ok((row.get(0)?, data))
                })
                .optional()
            })
            .map_err(Error::sqlite("loadSnapshot"))?;
        let (expected, Some(compressed)) = row.ok_or_else(no_snapshot)? else {
            return Err(no_snapshot());
        };
        Ok(SnapshotReader {
            decoder: MultiGzDecoder::new(std::io::Cursor::new(compressed)),
            hasher: Sha256::new(),
            expected,
            done: false,
        })
    }

    /// The in-use snapshot's position, hash and sizes, or `None` (the kernel relies on there
    /// being none for vats that never snapshot).
    pub fn get_snapshot_info(&self, vat_id: &str) -> Result<Option<SnapshotInfo>> {
        self.conn
            .prepare_cached(
                "SELECT snapPos, hash, uncompressedSize, compressedSize FROM snapshots \
                 WHERE vatID = ? AND inUse = 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([vat_id], |row| {
                    Ok(SnapshotInfo {
                        snap_pos: row.get(0)?,
                        hash: row.get(1)?,
                        uncompressed_size: row.get(2)?,
                        compressed_size: row.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(Error::sqlite("getSnapshotInfo"))
    }

    /// Retires the vat's in-use snapshot (a new one replaces it, or the vat is upgraded or
    /// terminated): its record says it is no longer in use, `.current` goes, and unless
    /// `keep_snapshots` is set its data is dropped while its hash and sizes stay. Idempotent.
    pub fn stop_using_last_snapshot(&mut self, vat_id: &str) -> Result<()> {
        self.ensure_txn()?;
        let in_use: Option<(u64, String)> = self
            .conn
            .prepare_cached("SELECT snapPos, hash FROM snapshots WHERE vatID = ? AND inUse = 1")
            .and_then(|mut stmt| {
                stmt.query_row([vat_id], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(Error::sqlite("stopUsingLastSnapshot"))?;
        let Some((snap_pos, hash)) = in_use else {
            return Ok(());
        };
        self.note_export(
            &snapshot_key(vat_id, snap_pos),
            Some(&snapshot_record(vat_id, snap_pos, &hash, false)),
        );
        self.note_export(&current_key(vat_id), None);
        let sql = if self.keep_snapshots {
            "UPDATE snapshots SET inUse = null WHERE inUse = 1 AND vatID = ?"
        } else {
            "UPDATE snapshots SET inUse = null, compressedSnapshot = null \
             WHERE inUse = 1 AND vatID = ?"
        };
        self.execute(sql, [vat_id], "stopUsingLastSnapshot")
    }

    /// Deletes a terminated vat's snapshots: all when `budget` is `None`, otherwise up to
    /// `budget`, newest first. A full deletion always notes `.current` deleted, even when the
    /// vat had no snapshot, exactly as swing-store does.
    pub fn delete_vat_snapshots(&mut self, vat_id: &str, budget: Option<u64>) -> Result<Deletion> {
        self.ensure_txn()?;
        check_budget(budget)?;
        let context = "deleteVatSnapshots";
        // Listed before any note or delete, as swing-store does.
        let rows: Vec<(u64, bool)> = {
            let (sql, limit) = match budget {
                None => (
                    "SELECT snapPos, inUse FROM snapshots WHERE vatID = ?1 \
                     ORDER BY snapPos LIMIT ?2",
                    -1,
                ),
                Some(budget) => (
                    "SELECT snapPos, inUse FROM snapshots WHERE vatID = ?1 \
                     ORDER BY snapPos DESC LIMIT ?2",
                    i64::try_from(budget).unwrap_or(i64::MAX),
                ),
            };
            let mut stmt = self
                .conn
                .prepare_cached(sql)
                .map_err(Error::sqlite(context))?;
            let rows = stmt
                .query_map(rusqlite::params![vat_id, limit], |row| {
                    Ok((row.get(0)?, row.get::<_, Option<i64>>(1)?.is_some()))
                })
                .map_err(Error::sqlite(context))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(Error::sqlite(context))?
        };
        let mut clear_current = budget.is_none();
        for &(snap_pos, in_use) in &rows {
            clear_current |= in_use;
            self.note_export(&snapshot_key(vat_id, snap_pos), None);
            if budget.is_some() {
                self.execute(
                    "DELETE FROM snapshots WHERE vatID = ? AND snapPos = ?",
                    rusqlite::params![vat_id, snap_pos],
                    context,
                )?;
            }
        }
        if budget.is_none() {
            self.execute("DELETE FROM snapshots WHERE vatID = ?", [vat_id], context)?;
        }
        if clear_current {
            self.note_export(&current_key(vat_id), None);
        }
        let cleanups = rows.len() as u64;
        let done = budget.is_none() || rows.is_empty() || !self.has_snapshots(vat_id)?;
        Ok(Deletion { done, cleanups })
    }

    /// Deletes every snapshot no vat is using, records and all. Like swing-store's, it notes
    /// nothing, so export data still lists them; the kernel never calls it.
    pub fn delete_all_unused_snapshots(&mut self) -> Result<()> {
        self.ensure_txn()?;
        self.execute(
            "DELETE FROM snapshots WHERE inUse is null",
            [],
            "deleteAllUnusedSnapshots",
        )
    }

    fn has_snapshots(&self, vat_id: &str) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM snapshots WHERE vatID = ?)")
            .and_then(|mut stmt| stmt.query_row([vat_id], |row| row.get(0)))
            .map_err(Error::sqlite("deleteVatSnapshots"))
    }
}

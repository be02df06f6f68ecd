//! Snapshots in exports and imports: export-data records, artifact names, snapshot artifacts
//! (the uncompressed heap image) read out and validated back in, the completeness check,
//! metadata repair, and the debugging views swing-store's tools use. The messages are
//! swing-store's, because hosts and its own tests match them.

use serde_json::Value;

use super::stream::{BackgroundWriter, Compressing, CHUNK_CEILING};
use super::{blob, current_key, snapshot_key, snapshot_record};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::export::ArtifactMode;
use crate::ids::name_position;
use crate::json::{quote, truthy};
use crate::render;
use crate::sql::{query_all, query_one};

/// A snapshot's row without its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRow {
    pub vat_id: String,
    pub snap_pos: u64,
    pub hash: String,
    pub in_use: bool,
    pub uncompressed_size: Option<u64>,
    pub compressed_size: Option<u64>,
}

impl SnapshotRow {
    /// Its export-data records: the record, and for the in-use one its `.current` pointer.
    pub fn export_records(&self) -> Vec<(String, String)> {
        let key = snapshot_key(&self.vat_id, self.snap_pos);
        let record = snapshot_record(&self.vat_id, self.snap_pos, &self.hash, self.in_use);
        if self.in_use {
            vec![(key.clone(), record), (current_key(&self.vat_id), key)]
        } else {
            vec![(key, record)]
        }
    }

    pub fn artifact_name(&self) -> String {
        snapshot_key(&self.vat_id, self.snap_pos)
    }

    /// Where the next page starts.
    pub fn position(&self) -> (String, u64) {
        (self.vat_id.clone(), self.snap_pos)
    }
}

/// Which rows a listing wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// In use (`inUse = 1`) or retired (`inUse` NULL).
    InUse(bool),
    /// Those, only with their data present.
    Available(bool),
    Everything,
}

/// Up to `limit` snapshot rows after `after` in (vatID, snapPos) order.
pub fn rows_after(
    db: &Db,
    listing: Listing,
    after: Option<&(String, u64)>,
    limit: usize,
) -> Result<Vec<SnapshotRow>> {
    let filter = match listing {
        Listing::InUse(true) => "inUse = 1",
        Listing::InUse(false) => "inUse IS NULL",
        Listing::Available(true) => "inUse = 1 AND compressedSnapshot IS NOT NULL",
        Listing::Available(false) => "inUse IS NULL AND compressedSnapshot IS NOT NULL",
        Listing::Everything => "1",
    };
    let (vat_id, snap_pos) = after.map_or(("", -1), |(v, p)| (v.as_str(), *p as i64));
    query_all(
        db.conn(),
        &format!(
            "SELECT vatID, snapPos, hash, inUse, uncompressedSize, compressedSize FROM snapshots \
             WHERE (vatID, snapPos) > (?1, ?2) AND {filter} ORDER BY vatID, snapPos LIMIT ?3"
        ),
        rusqlite::params![vat_id, snap_pos, i64::try_from(limit).unwrap_or(i64::MAX)],
        "snapshot listing",
        |row| {
            Ok(SnapshotRow {
                vat_id: row.get(0)?,
                snap_pos: row.get(1)?,
                hash: row.get(2)?,
                in_use: row.get::<_, Option<i64>>(3)?.is_some(),
                uncompressed_size: row.get(4)?,
                compressed_size: row.get(5)?,
            })
        },
    )
}

/// `snapshot.<vatID>.<snapPos>` split, or `None`.
fn parse_name(name: &str) -> Option<(&str, &str)> {
    let mut parts = name.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("snapshot"), Some(vat_id), Some(pos), None) => Some((vat_id, pos)),
        _ => None,
    }
}

/// Opens a snapshot artifact for export: its uncompressed bytes, streamed from the stored
/// gzip a piece at a time (see [`SnapshotArtifact`]).
pub fn open_artifact(db: &Db, name: &str) -> Result<SnapshotArtifact> {
    let Some((vat_id, pos)) = parse_name(name) else {
        return Err(Error::InvalidArtifactName {
            message: format!(
                "expected artifact name of the form 'snapshot.{{vatID}}.{{snapPos}}', saw {}",
                quote(name)
            ),
        });
    };
    // The row, and the length of its data (NULL once pruned).
    let row: Option<(i64, Option<u64>)> = match name_position(pos) {
        Some(snap_pos) => query_one(
            db.conn(),
            "SELECT rowid, length(compressedSnapshot) FROM snapshots WHERE vatID = ? AND snapPos = ?",
            rusqlite::params![vat_id, snap_pos],
            "exportSnapshot",
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?,
        None => None,
    };
    match row {
        None => Err(Error::ArtifactUnavailable {
            message: format!("snapshot {} not available", quote(name)),
        }),
        Some((_, None)) => Err(Error::ArtifactUnavailable {
            message: format!("artifact {} is not available", quote(name)),
        }),
        Some((rowid, Some(len))) => Ok(SnapshotArtifact {
            rowid,
            offset: 0,
            len,
            decoder: flate2::write::MultiGzDecoder::new(Vec::new()),
            taken: 0,
            ended: false,
        }),
    }
}

/// Compressed bytes fed to the decoder at a time: a piece inflates to at most about a
/// thousand times its size, which bounds what one read can hold.
const PIECE: usize = 16 << 10;

/// A snapshot artifact being read out. A snapshot can be hundreds of megabytes, so neither
/// its gzip nor its image is ever held whole: each read takes the next pieces of the stored
/// gzip straight from the row (SQLite's incremental blob reads, within the exporter's read
/// transaction) and pushes them through a decoder until a chunk's worth has come out.
pub struct SnapshotArtifact {
    rowid: i64,
    /// How much of the stored gzip has been fed to the decoder, of `len`.
    offset: u64,
    len: u64,
    decoder: flate2::write::MultiGzDecoder<Vec<u8>>,
    /// How much of the decoder's output has been handed out.
    taken: usize,
    ended: bool,
}

impl SnapshotArtifact {
    /// The next up to `max_len` (at most [`CHUNK_CEILING`]) bytes of the image, or `None` at
    /// its end.
    pub fn read_chunk(&mut self, db: &Db, max_len: usize) -> Result<Option<Vec<u8>>> {
        let max_len = max_len.clamp(1, CHUNK_CEILING);
        let gzip = |source| Error::Gzip { source };
        while self.decoder.get_ref().len() - self.taken < max_len && !self.ended {
            if self.offset == self.len {
                self.decoder.try_finish().map_err(gzip)?;
                self.ended = true;
                break;
            }
            let piece = (self.len - self.offset).min(PIECE as u64) as usize;
            let mut buf = vec![0; piece];
            db.conn()
                .blob_open(
                    rusqlite::MAIN_DB,
                    "snapshots",
                    "compressedSnapshot",
                    self.rowid,
                    true,
                )
                .and_then(|blob| blob.read_at_exact(&mut buf, self.offset as usize))
                .map_err(Error::sqlite("exportSnapshot"))?;
            self.offset += piece as u64;
            std::io::Write::write_all(&mut self.decoder, &buf).map_err(gzip)?;
        }
        let output = self.decoder.get_mut();
        let end = output.len().min(self.taken + max_len);
        if end == self.taken {
            return Ok(None);
        }
        let chunk = output[self.taken..end].to_vec();
        self.taken = end;
        // Hand-outs are dropped from the front once they outweigh what is left, so the
        // buffer stays near one chunk's size.
        if self.taken > output.len() / 2 {
            output.drain(..self.taken);
            self.taken = 0;
        }
        Ok(Some(chunk))
    }
}

/// A snapshot record parsed from export data.
struct SnapshotRecord {
    vat_id: String,
    snap_pos: u64,
    hash: String,
    in_use: bool,
    rendered: String,
}

fn invalid(message: String) -> Error {
    Error::InvalidExportData { message }
}

impl SnapshotRecord {
    fn parse(key: &str, value: &str) -> Result<SnapshotRecord> {
        let metadata: Value = serde_json::from_str(value)
            .map_err(|e| invalid(format!("snapshot record {} is not JSON: {e}", quote(key))))?;
        let rendered = render::value(&metadata);
        for (name, present) in [
            ("vatID", truthy(metadata.get("vatID"))),
            ("snapPos", metadata.get("snapPos").is_some()),
            ("hash", truthy(metadata.get("hash"))),
            ("inUse", metadata.get("inUse").is_some()),
        ] {
            if !present {
                return Err(invalid(format!(
                    "snapshot metadata missing {name}: {rendered}"
                )));
            }
        }
        let field_error = |what: &str| invalid(format!("snapshot metadata {what}: {rendered}"));
        Ok(SnapshotRecord {
            vat_id: metadata["vatID"]
                .as_str()
                .ok_or_else(|| field_error("vatID must be a string"))?
                .to_owned(),
            snap_pos: metadata["snapPos"]
                .as_u64()
                .ok_or_else(|| field_error("snapPos must be a non-negative integer"))?,
            hash: metadata["hash"]
                .as_str()
                .ok_or_else(|| field_error("hash must be a string"))?
                .to_owned(),
            in_use: truthy(metadata.get("inUse")),
            rendered,
        })
    }

    fn insert(&self, db: &mut Db) -> Result<()> {
        db.execute(
            "INSERT INTO snapshots (vatID, snapPos, hash, inUse) VALUES (?, ?, ?, ?)",
            rusqlite::params![
                self.vat_id,
                self.snap_pos,
                self.hash,
                self.in_use.then_some(1)
            ],
            "importSnapshotRecord",
        )
    }
}

/// Whether `key` is a `snapshot.<vatID>.current` pointer, which names the in-use record and
/// holds nothing a row needs (the records it points at say `inUse` themselves).
fn is_current_pointer(key: &str) -> bool {
    key.split('.').nth(2) == Some("current")
}

/// swing-store's `importSnapshotRecord`: a snapshot's row without its data.
pub fn import_record(db: &mut Db, key: &str, value: &str) -> Result<()> {
    db.ensure_txn()?;
    if is_current_pointer(key) {
        return Ok(());
    }
    SnapshotRecord::parse(key, value)?.insert(db)
}

/// swing-store's `repairSnapshotRecord`: a missing row is added; one that exists must agree.
pub fn repair_record(db: &mut Db, key: &str, value: &str) -> Result<()> {
    db.ensure_txn()?;
    if is_current_pointer(key) {
        return Ok(());
    }
    let record = SnapshotRecord::parse(key, value)?;
    let mut parts = key.split('.').skip(1);
    let (key_vat, key_pos) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if key_vat != record.vat_id || name_position(key_pos) != Some(record.snap_pos) {
        return Err(invalid(format!(
            "snapshot key {} mismatches metadata {}",
            quote(key),
            record.rendered
        )));
    }
    let existing: Option<(String, bool)> = stored(db, &record.vat_id, record.snap_pos)?;
    match existing {
        Some((hash, in_use)) if hash != record.hash || in_use != record.in_use => {
            let existing = render::value(&serde_json::json!({
                "hash": hash,
                "inUse": if in_use { Value::from(1) } else { Value::Null },
            }));
            Err(Error::RepairMismatch {
                message: format!(
                    "repairSnapshotRecord metadata mismatch: {existing} vs {}",
                    record.rendered
                ),
            })
        }
        Some(_) => Ok(()),
        None => record.insert(db),
    }
}

fn stored(db: &Db, vat_id: &str, snap_pos: u64) -> Result<Option<(String, bool)>> {
    query_one(
        db.conn(),
        "SELECT hash, inUse FROM snapshots WHERE vatID = ? AND snapPos = ?",
        rusqlite::params![vat_id, snap_pos],
        "snapshot import",
        |row| Ok((row.get(0)?, row.get::<_, Option<i64>>(1)?.is_some())),
    )
}

/// A snapshot artifact being imported: hashed as it arrives and compressed in the
/// background (see [`BackgroundWriter`]), checked against its record at the end, and only
/// then stored.
pub struct SnapshotImport {
    name: String,
    vat_id: String,
    snap_pos: u64,
    expected_hash: String,
    writer: BackgroundWriter,
}

/// Where `name`'s bytes would go, or `None` when `mode` does not import it (a retired
/// snapshot, outside `debug`).
pub fn begin_import(db: &mut Db, name: &str, mode: ArtifactMode) -> Result<Option<SnapshotImport>> {
    db.ensure_txn()?;
    let (vat_id, pos) = parse_name(name).ok_or_else(|| Error::InvalidArtifactName {
        message: format!(
            "expected snapshot name of the form 'snapshot.{{vatID}}.{{snapPos}}', saw '{}'",
            quote(name)
        ),
    })?;
    let no_metadata = || Error::NoArtifactMetadata {
        message: format!("no metadata for snapshot {}", quote(name)),
    };
    let snap_pos = name_position(pos).ok_or_else(no_metadata)?;
    let (expected_hash, in_use) = stored(db, vat_id, snap_pos)?.ok_or_else(no_metadata)?;
    if !in_use && mode != ArtifactMode::Debug {
        return Ok(None);
    }
    Ok(Some(SnapshotImport {
        name: name.to_owned(),
        vat_id: vat_id.to_owned(),
        snap_pos,
        expected_hash,
        writer: BackgroundWriter::new(),
    }))
}

impl SnapshotImport {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.writer.write(chunk)
    }

    /// Checks the hash now; the row is filled once its compression has finished.
    pub fn finish(self) -> Result<SnapshotPopulate> {
        let (hash, uncompressed_size, compressing) = self.writer.finish();
        if hash != self.expected_hash {
            return Err(Error::ArtifactHashMismatch {
                message: format!(
                    "snapshot {} hash is {}, metadata says {}",
                    quote(&self.name),
                    quote(&hash),
                    quote(&self.expected_hash)
                ),
            });
        }
        Ok(SnapshotPopulate {
            vat_id: self.vat_id,
            snap_pos: self.snap_pos,
            uncompressed_size,
            compressing,
        })
    }
}

/// A checked snapshot waiting for its compression before its row is filled.
pub struct SnapshotPopulate {
    vat_id: String,
    snap_pos: u64,
    uncompressed_size: u64,
    compressing: Compressing,
}

impl SnapshotPopulate {
    pub fn complete(self, db: &mut Db) -> Result<()> {
        let compressed = self.compressing.wait()?;
        db.execute(
            "UPDATE snapshots SET uncompressedSize = ?, compressedSize = ?, compressedSnapshot = ? \
             WHERE vatID = ? AND snapPos = ?",
            rusqlite::params![
                self.uncompressed_size,
                compressed.len() as u64,
                compressed,
                self.vat_id,
                self.snap_pos
            ],
            "populateSnapshot",
        )
    }
}

/// Every in-use snapshot must have its data.
pub fn assert_complete(db: &Db) -> Result<()> {
    let pruned: Vec<String> = query_all(
        db.conn(),
        "SELECT vatID FROM snapshots WHERE inUse = 1 AND compressedSnapshot IS NULL ORDER BY vatID",
        [],
        "snapshot completeness",
        |row| row.get(0),
    )?;
    if pruned.is_empty() {
        return Ok(());
    }
    Err(Error::IncompleteArtifacts {
        message: format!(
            "current snapshots are pruned for vats {}",
            quote(&pruned.join(","))
        ),
    })
}

/// One row of swing-store's `dumpSnapshots`, data included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpedSnapshot {
    pub vat_id: String,
    pub snap_pos: u64,
    pub hash: String,
    pub compressed: Option<Vec<u8>>,
    pub in_use: bool,
}

/// swing-store's `dumpSnapshots`: every snapshot (or only in-use ones) with its gzip bytes.
pub fn dump(db: &Db, include_historical: bool) -> Result<Vec<DumpedSnapshot>> {
    let filter = if include_historical { "1" } else { "inUse = 1" };
    query_all(
        db.conn(),
        &format!(
            "SELECT vatID, snapPos, hash, compressedSnapshot, inUse FROM snapshots \
             WHERE {filter} ORDER BY vatID, snapPos"
        ),
        [],
        "dumpSnapshots",
        |row| {
            Ok(DumpedSnapshot {
                vat_id: row.get(0)?,
                snap_pos: row.get(1)?,
                hash: row.get(2)?,
                compressed: blob(row.get_ref(3)?),
                in_use: row.get::<_, Option<i64>>(4)?.is_some(),
            })
        },
    )
}

/// swing-store's `hasHash`: whether the vat has (or had) a snapshot with this hash.
pub fn has_hash(db: &Db, vat_id: &str, hash: &str) -> Result<bool> {
    db.conn()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM snapshots WHERE vatID = ? AND hash = ?)")
        .and_then(|mut stmt| stmt.query_row([vat_id, hash], |row| row.get(0)))
        .map_err(Error::sqlite("hasHash"))
}

/// swing-store's `deleteSnapshotByHash` (a test and debugging tool): the rows go, noting
/// nothing.
pub fn delete_by_hash(db: &mut Db, vat_id: &str, hash: &str) -> Result<()> {
    db.execute(
        "DELETE FROM snapshots WHERE vatID = ? AND hash = ?",
        [vat_id, hash],
        "deleteSnapshotByHash",
    )
}

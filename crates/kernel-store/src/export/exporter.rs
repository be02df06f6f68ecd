//! swing-store's `makeSwingStoreExporter`: a fixed view of a store's last commit, for
//! state-sync snapshots and `agd export`, read while the node keeps running.
//!
//! The exporter opens its own read-only connection (no writer lock: the node keeps the
//! store, possibly in another process) inside one read transaction, whose WAL snapshot is
//! fixed as it opens, so everything it yields describes one commit point however long the
//! export runs. Opening reads only the schema, so it costs the same whatever the store's size.
//! Export data and artifact names are read in pages and artifacts in chunks, so neither the
//! data nor an artifact is ever held whole; the kvStore rows come from one sorted scan kept
//! running between pages (see `kv_scan`), everything else by the last key yielded.
//!
//! The readers take any connection: a tool's view of one store (swing-store's
//! `internal.snapStore.getExportRecords()` and the like) uses them over the writer's own.

use std::path::Path;

use crate::bundle::artifacts as bundles;
use crate::db::{Db, Durability, Location, ReadTuning, DB_FILE_NAME};
use crate::error::{Error, Result};
use crate::export::kv_scan::{self, ActiveScan, RowSink, ScanningDb};
use crate::export::metadata::tag;
use crate::export::ArtifactMode;
use crate::json::quote;
use crate::kv::KeyType;
use crate::snapshot::artifacts::{self as snapshots, Listing, SnapshotArtifact};
use crate::sql::{query_one, text_bytes, Text};
use crate::transcript::artifacts as transcripts;
use crate::transcript::SpanArtifact;

pub struct Exporter {
    db: ScanningDb,
    mode: ArtifactMode,
}

/// The stores an iteration covers: all of them (an export), or one (a tool's view of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Snapshots,
    Transcripts,
    Bundles,
}

/// The sections of an iteration, in order, with the last key yielded in the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Section {
    Kv(Vec<u8>),
    SnapshotsInUse(Option<(String, u64)>),
    SnapshotsRetired(Option<(String, u64)>),
    Transcripts(Option<(String, u64)>),
    Bundles(Option<String>),
    Done,
}

impl Section {
    fn first(scope: Scope) -> Section {
        match scope {
            Scope::All => Section::Kv(Vec::new()),
            Scope::Snapshots => Section::SnapshotsInUse(None),
            Scope::Transcripts => Section::Transcripts(None),
            Scope::Bundles => Section::Bundles(None),
        }
    }

    /// The section after this one, or `Done` when it leaves the scope.
    fn next(&self, scope: Scope, historical: bool) -> Section {
        let next = match self {
            Section::Kv(_) => Section::SnapshotsInUse(None),
            Section::SnapshotsInUse(_) if historical => Section::SnapshotsRetired(None),
            Section::SnapshotsInUse(_) | Section::SnapshotsRetired(_) => Section::Transcripts(None),
            Section::Transcripts(_) => Section::Bundles(None),
            Section::Bundles(_) | Section::Done => Section::Done,
        };
        let in_scope = matches!(
            (&next, scope),
            (_, Scope::All)
                | (Section::Done, _)
                | (
                    Section::SnapshotsInUse(_) | Section::SnapshotsRetired(_),
                    Scope::Snapshots
                )
                | (Section::Transcripts(_), Scope::Transcripts)
                | (Section::Bundles(_), Scope::Bundles)
        );
        if in_scope {
            next
        } else {
            Section::Done
        }
    }
}

/// Where a `getExportData()` iteration stands: any number of iterations can run over one
/// connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportDataCursor {
    section: Section,
    scope: Scope,
    /// Retired snapshots' and closed spans' records too (an export always has them).
    historical: bool,
    /// The exporter's sorted kvStore scan this iteration reads from, while it has one.
    scan: Option<u64>,
}

impl Default for ExportDataCursor {
    fn default() -> Self {
        ExportDataCursor::only(Scope::All, true)
    }
}

impl ExportDataCursor {
    /// Ends the iteration: later pages are empty.
    pub fn finish(&mut self) {
        self.section = Section::Done;
        self.scan = None;
    }

    pub fn only(scope: Scope, historical: bool) -> ExportDataCursor {
        ExportDataCursor {
            section: Section::first(scope),
            scope,
            historical,
            scan: None,
        }
    }
}

/// Where a `getArtifactNames()` iteration stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactNameCursor {
    section: Section,
    scope: Scope,
}

impl Default for ArtifactNameCursor {
    fn default() -> Self {
        ArtifactNameCursor::only(Scope::All)
    }
}

impl ArtifactNameCursor {
    pub fn only(scope: Scope) -> ArtifactNameCursor {
        let section = match Section::first(scope) {
            // Artifact names start with the snapshots: the kvStore has none.
            Section::Kv(_) => Section::SnapshotsInUse(None),
            first => first,
        };
        ArtifactNameCursor { section, scope }
    }
}

/// One artifact being read out.
pub enum ArtifactReader {
    /// Boxed: a snapshot's decompressor state dwarfs the other variants.
    Snapshot(Box<SnapshotArtifact>),
    Transcript(SpanArtifact),
    Bundle(Option<Vec<u8>>),
}

impl Exporter {
    /// Opens the store in `dir` for export. The store must exist: unlike swing-store's, this
    /// exporter never creates one where it was asked to read.
    pub fn open(dir: &Path, mode: ArtifactMode) -> Result<Exporter> {
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
        let mut db = Db::open(Location::File(&file), true, Durability::Full)?;
        db.tune_for(ReadTuning::Scanning)?;
        db.begin_read()?;
        // Fixed now, as swing-store's is: the export describes the last commit before the
        // exporter was made, whatever the node commits before the host first reads it.
        db.conn()
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(Error::sqlite("pinning the export"))?;
        Ok(Exporter {
            db: ScanningDb::over(db),
            mode,
        })
    }

    /// A `host.` key's value, as `hostStorage.kvStore.get` would read it.
    pub fn get_host_kv(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if KeyType::of(key) != KeyType::Host {
            return Err(Error::NotAHostKey);
        }
        query_one(
            self.db.db().conn(),
            "SELECT value FROM kvStore WHERE key = ?",
            [Text(key)],
            "getHostKV",
            |row| text_bytes(row, 0),
        )
    }

    /// Up to about `limit` more rows of `cursor`'s iteration into `sink`; how many. None is
    /// the end.
    pub fn export_data_page(
        &mut self,
        cursor: &mut ExportDataCursor,
        limit: usize,
        sink: &mut dyn RowSink,
    ) -> Result<usize> {
        self.db
            .with_scans(|db, scans| fill_page(db, Some(scans), cursor, limit, sink))
    }

    /// Ends `cursor`'s iteration early, stopping its sorted scan if it has one.
    pub fn finish_export_data(&mut self, cursor: &mut ExportDataCursor) {
        if let Some(scan) = cursor.scan {
            self.db.release(scan);
        }
        cursor.finish();
    }

    /// swing-store's completeness check for this exporter's mode, which `getArtifactNames`
    /// makes synchronously before yielding anything; `debug` promises nothing.
    pub fn check_complete(&self) -> Result<()> {
        if self.mode == ArtifactMode::Debug {
            return Ok(());
        }
        super::assert_complete(self.db.db(), self.mode)
    }

    pub fn artifact_names_page(
        &self,
        cursor: &mut ArtifactNameCursor,
        limit: usize,
    ) -> Result<Vec<String>> {
        artifact_names_page(self.db.db(), self.mode, cursor, limit)
    }

    pub fn open_artifact(&self, name: &str) -> Result<ArtifactReader> {
        open_artifact(self.db.db(), name)
    }

    pub fn read_artifact(
        &self,
        reader: &mut ArtifactReader,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>> {
        read_artifact(self.db.db(), reader, max_bytes)
    }

    /// Ends the read transaction (the export changed nothing) and closes.
    pub fn close(self) -> Result<()> {
        self.db.close()
    }
}

/// Up to about `limit` more export-data rows into `sink` (`kv.*` for every consensus
/// kvStore entry in key order, then every snapshot, transcript span and bundle record, as
/// swing-store lists them); how many. None is the end.
pub fn export_data_page(
    db: &Db,
    cursor: &mut ExportDataCursor,
    limit: usize,
    sink: &mut dyn RowSink,
) -> Result<usize> {
    fill_page(db, None, cursor, limit, sink)
}

/// `export_data_page`, reading the kvStore from a sorted scan when `scans` can run one.
fn fill_page<'db>(
    db: &'db Db,
    mut scans: Option<&mut ActiveScan<'db>>,
    cursor: &mut ExportDataCursor,
    limit: usize,
    sink: &mut dyn RowSink,
) -> Result<usize> {
    let limit = limit.max(1);
    let mut taken = 0;
    while taken < limit && !sink.is_full() && cursor.section != Section::Done {
        let want = limit - taken;
        let (count, ended) = match &mut cursor.section {
            Section::Kv(after) => {
                let sorted = match scans.as_deref_mut() {
                    Some(scans) => scans.page(db, &mut cursor.scan, after, want, sink)?,
                    None => None,
                };
                match sorted {
                    Some(page) => page,
                    None => kv_scan::page_by_key(db, after, want, sink)?,
                }
            }
            Section::SnapshotsInUse(after) => snapshot_records(db, true, after, want, sink)?,
            Section::SnapshotsRetired(after) => snapshot_records(db, false, after, want, sink)?,
            Section::Transcripts(after) => {
                let filter = if cursor.historical {
                    "1"
                } else {
                    "s.isCurrent = 1"
                };
                let page = transcripts::spans_after(db, filter, after.as_ref(), want)?;
                if let Some(last) = page.last() {
                    *after = Some(last.position());
                }
                page.iter()
                    .for_each(|span| emit(sink, span.export_record()));
                (page.len(), page.len() < want)
            }
            Section::Bundles(after) => {
                let page = bundles::ids_after(db, after.as_deref(), want)?;
                if let Some(last) = page.last() {
                    *after = Some(last.clone());
                }
                page.iter()
                    .for_each(|id| emit(sink, bundles::export_record(id)));
                (page.len(), page.len() < want)
            }
            Section::Done => (0, true),
        };
        taken += count;
        if ended {
            cursor.section = cursor.section.next(cursor.scope, cursor.historical);
        }
    }
    Ok(taken)
}

/// The next up to `limit` artifact names an export in `mode` offers: in-use snapshots (and,
/// in `debug`, retired ones still holding data), the transcript spans the mode includes,
/// then every bundle.
pub fn artifact_names_page(
    db: &Db,
    mode: ArtifactMode,
    cursor: &mut ArtifactNameCursor,
    limit: usize,
) -> Result<Vec<String>> {
    let limit = limit.max(1);
    let mut names = Vec::new();
    let debug = mode == ArtifactMode::Debug;
    while names.len() < limit && cursor.section != Section::Done {
        let want = limit - names.len();
        let ended = match &mut cursor.section {
            Section::SnapshotsInUse(after) => snapshot_names(db, true, after, want, &mut names)?,
            Section::SnapshotsRetired(after) => snapshot_names(db, false, after, want, &mut names)?,
            Section::Transcripts(after) => {
                let page = transcripts::artifact_spans(db, mode, after.as_ref(), want)?;
                if let Some(last) = page.last() {
                    *after = Some(last.position());
                }
                names.extend(page.iter().map(transcripts::SpanRow::artifact_name));
                page.len() < want
            }
            Section::Bundles(after) => {
                let page = bundles::ids_after(db, after.as_deref(), want)?;
                if let Some(last) = page.last() {
                    *after = Some(last.clone());
                }
                names.extend(page.iter().map(|id| format!("bundle.{id}")));
                page.len() < want
            }
            Section::Kv(_) | Section::Done => true,
        };
        if ended {
            cursor.section = cursor.section.next(cursor.scope, debug);
        }
    }
    Ok(names)
}

/// Opens artifact `name` for reading, failing at once (as swing-store's does) if the store
/// cannot provide it.
pub fn open_artifact(db: &Db, name: &str) -> Result<ArtifactReader> {
    match tag(name) {
        "snapshot" => {
            snapshots::open_artifact(db, name).map(|r| ArtifactReader::Snapshot(Box::new(r)))
        }
        "transcript" => SpanArtifact::open(db, name).map(ArtifactReader::Transcript),
        "bundle" => bundles::artifact(db, name).map(|b| ArtifactReader::Bundle(Some(b))),
        _ => Err(Error::InvalidArtifactName {
            message: format!("invalid type in artifact name {}", quote(name)),
        }),
    }
}

/// The artifact's next bytes (about `max_bytes`), or `None` at its end.
pub fn read_artifact(
    db: &Db,
    reader: &mut ArtifactReader,
    max_bytes: usize,
) -> Result<Option<Vec<u8>>> {
    match reader {
        ArtifactReader::Snapshot(snapshot) => snapshot.read_chunk(db, max_bytes),
        ArtifactReader::Transcript(span) => span.next_chunk(db, max_bytes),
        ArtifactReader::Bundle(bytes) => Ok(bytes.take()),
    }
}

/// A page of snapshot records into `sink`: how many rows, and whether the listing ended. An
/// in-use snapshot yields two rows (its record and `.current`), so half as many are read.
fn snapshot_records(
    db: &Db,
    in_use: bool,
    after: &mut Option<(String, u64)>,
    want: usize,
    sink: &mut dyn RowSink,
) -> Result<(usize, bool)> {
    let limit = if in_use { want.div_ceil(2) } else { want };
    let page = snapshots::rows_after(db, Listing::InUse(in_use), after.as_ref(), limit)?;
    let mut taken = 0;
    for row in &page {
        for record in row.export_records() {
            emit(sink, record);
            taken += 1;
        }
    }
    if let Some(last) = page.last() {
        *after = Some(last.position());
    }
    Ok((taken, page.len() < limit))
}

/// A page of snapshot artifact names (those whose data is present) into `names`.
fn snapshot_names(
    db: &Db,
    in_use: bool,
    after: &mut Option<(String, u64)>,
    want: usize,
    names: &mut Vec<String>,
) -> Result<bool> {
    let page = snapshots::rows_after(db, Listing::Available(in_use), after.as_ref(), want)?;
    names.extend(page.iter().map(snapshots::SnapshotRow::artifact_name));
    if let Some(last) = page.last() {
        *after = Some(last.position());
    }
    Ok(page.len() < want)
}

fn emit(sink: &mut dyn RowSink, (key, value): (String, String)) {
    sink.row(key.as_bytes(), value.as_bytes());
}

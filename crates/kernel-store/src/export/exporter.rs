//! swing-store's `makeSwingStoreExporter`: a fixed view of a store's last commit, for
//! state-sync snapshots and `agd export`, read while the node keeps running.
//!
//! The exporter opens its own read-only connection (no writer lock: the node keeps the
//! store, possibly in another process) inside one read transaction, whose WAL snapshot is
//! fixed as it opens, so everything it yields describes one commit point however long the
//! export runs. Opening reads only the schema, so it costs the same whatever the store's size.
//! Export data and artifact names are read in pages by key (no statement stays open between
//! calls) and artifacts in chunks, so neither the data nor an artifact is ever held whole.
//!
//! The readers take any connection: a tool's view of one store (swing-store's
//! `internal.snapStore.getExportRecords()` and the like) uses them over the writer's own.

use std::path::Path;

use crate::bundle::artifacts as bundles;
use crate::db::{Db, Durability, Location, DB_FILE_NAME};
use crate::error::{Error, Result};
use crate::export::metadata::tag;
use crate::export::ArtifactMode;
use crate::export_log::ExportRow;
use crate::json::quote;
use crate::kv::KeyType;
use crate::snapshot::artifacts::{self as snapshots, Listing, SnapshotArtifact};
use crate::sql::{query_all, query_one, text_bytes, Text};
use crate::transcript::artifacts as transcripts;
use crate::transcript::SpanArtifact;

pub struct Exporter {
    db: Db,
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

/// Where a `getExportData()` iteration stands. Plain data, so any number of iterations can
/// run over one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportDataCursor {
    section: Section,
    scope: Scope,
    /// Retired snapshots' and closed spans' records too (an export always has them).
    historical: bool,
}

impl Default for ExportDataCursor {
    fn default() -> Self {
        ExportDataCursor::only(Scope::All, true)
    }
}

impl ExportDataCursor {
    pub fn only(scope: Scope, historical: bool) -> ExportDataCursor {
        ExportDataCursor {
            section: Section::first(scope),
            scope,
            historical,
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

/// The kvStore rows an export carries: consensus keys only, so `host.` and `local.` ranges
/// are skipped by key (every key in them sorts between the prefix and the prefix with its dot
/// bumped to a slash).
const KV_PAGE_SQL: &str = "SELECT key, value FROM kvStore WHERE key > ? \
     AND NOT (key >= 'host.' AND key < 'host/') AND NOT (key >= 'local.' AND key < 'local/') \
     ORDER BY key LIMIT ?";

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
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
        db.cache_for_scans()?;
        db.begin_read()?;
        // Fixed now, as swing-store's is: the export describes the last commit before the
        // exporter was made, whatever the node commits before the host first reads it.
        db.conn()
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(Error::sqlite("pinning the export"))?;
        Ok(Exporter { db, mode })
    }

    /// A `host.` key's value, as `hostStorage.kvStore.get` would read it.
    pub fn get_host_kv(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if KeyType::of(key) != KeyType::Host {
            return Err(Error::NotAHostKey);
        }
        query_one(
            self.db.conn(),
            "SELECT value FROM kvStore WHERE key = ?",
            [Text(key)],
            "getHostKV",
            |row| text_bytes(row, 0),
        )
    }

    pub fn export_data_page(
        &self,
        cursor: &mut ExportDataCursor,
        limit: usize,
    ) -> Result<Vec<ExportRow>> {
        export_data_page(&self.db, cursor, limit)
    }

    /// swing-store's completeness check for this exporter's mode, which `getArtifactNames`
    /// makes synchronously before yielding anything; `debug` promises nothing.
    pub fn check_complete(&self) -> Result<()> {
        if self.mode == ArtifactMode::Debug {
            return Ok(());
        }
        super::assert_complete(&self.db, self.mode)
    }

    pub fn artifact_names_page(
        &self,
        cursor: &mut ArtifactNameCursor,
        limit: usize,
    ) -> Result<Vec<String>> {
        artifact_names_page(&self.db, self.mode, cursor, limit)
    }

    pub fn open_artifact(&self, name: &str) -> Result<ArtifactReader> {
        open_artifact(&self.db, name)
    }

    pub fn read_artifact(
        &self,
        reader: &mut ArtifactReader,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>> {
        read_artifact(&self.db, reader, max_bytes)
    }

    /// Ends the read transaction (the export changed nothing) and closes.
    pub fn close(self) -> Result<()> {
        self.db.close()
    }
}

/// The next up to `limit` export-data rows: `kv.*` for every consensus kvStore entry in key
/// order, then every snapshot, transcript span and bundle record, as swing-store lists them.
/// An empty page is the end.
pub fn export_data_page(
    db: &Db,
    cursor: &mut ExportDataCursor,
    limit: usize,
) -> Result<Vec<ExportRow>> {
    let limit = limit.max(1);
    let mut rows: Vec<ExportRow> = Vec::new();
    while rows.len() < limit && cursor.section != Section::Done {
        let want = limit - rows.len();
        let ended = match &mut cursor.section {
            Section::Kv(after) => {
                let page: Vec<(Vec<u8>, Vec<u8>)> = query_all(
                    db.conn(),
                    KV_PAGE_SQL,
                    rusqlite::params![Text(after), sql_limit(want)],
                    "getExportData",
                    |row| Ok((text_bytes(row, 0)?, text_bytes(row, 1)?)),
                )?;
                let ended = page.len() < want;
                if let Some((last, _)) = page.last() {
                    after.clone_from(last);
                }
                rows.extend(page.into_iter().map(|(key, value)| {
                    let mut export_key = b"kv.".to_vec();
                    export_key.extend_from_slice(&key);
                    (export_key, Some(value))
                }));
                ended
            }
            Section::SnapshotsInUse(after) => snapshot_records(db, true, after, want, &mut rows)?,
            Section::SnapshotsRetired(after) => {
                snapshot_records(db, false, after, want, &mut rows)?
            }
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
                rows.extend(page.iter().map(|span| text_row(span.export_record())));
                page.len() < want
            }
            Section::Bundles(after) => {
                let page = bundles::ids_after(db, after.as_deref(), want)?;
                if let Some(last) = page.last() {
                    *after = Some(last.clone());
                }
                rows.extend(page.iter().map(|id| text_row(bundles::export_record(id))));
                page.len() < want
            }
            Section::Done => true,
        };
        if ended {
            cursor.section = cursor.section.next(cursor.scope, cursor.historical);
        }
    }
    Ok(rows)
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

/// A page of snapshot records into `rows`; whether the listing ended. An in-use snapshot
/// yields two rows (its record and `.current`), so half as many are read.
fn snapshot_records(
    db: &Db,
    in_use: bool,
    after: &mut Option<(String, u64)>,
    want: usize,
    rows: &mut Vec<ExportRow>,
) -> Result<bool> {
    let limit = if in_use { want.div_ceil(2) } else { want };
    let page = snapshots::rows_after(db, Listing::InUse(in_use), after.as_ref(), limit)?;
    for row in &page {
        rows.extend(row.export_records().into_iter().map(text_row));
    }
    if let Some(last) = page.last() {
        *after = Some(last.position());
    }
    Ok(page.len() < limit)
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

fn text_row((key, value): (String, String)) -> ExportRow {
    (key.into_bytes(), Some(value.into_bytes()))
}

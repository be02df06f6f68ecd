//! Transcripts in exports and imports: export-data records, artifact names per artifact mode,
//! span artifacts (each item followed by a newline) read out and validated back in, the
//! completeness checks, metadata repair and the debugging dumps. The messages are
//! swing-store's, because hosts and its own tests match them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    artifact_name, metadata_key, next_span_hash, read, span_record, SpanBounds, SpanCursor,
    SpanStart, INITIAL_HASH, INSERT_ITEM, INSERT_SPAN,
};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::export::ArtifactMode;
use crate::ids::name_position;
use crate::json::{quote, truthy};
use crate::render;
use crate::sql::{query_all, query_one, text_lossy};

/// A span's row, in the key order exports list spans in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRow {
    pub vat_id: String,
    pub bounds: SpanBounds,
    pub is_current: bool,
}

impl SpanRow {
    /// The export-data record: `[transcript.<vatID>.<startPos>|current, JSON record]`.
    pub fn export_record(&self) -> (String, String) {
        (
            metadata_key(&self.vat_id, self.bounds.start_pos, self.is_current),
            span_record(&self.vat_id, &self.bounds, self.is_current),
        )
    }

    pub fn artifact_name(&self) -> String {
        artifact_name(&self.vat_id, self.bounds.start_pos, self.bounds.end_pos)
    }

    /// Where the next page starts.
    pub fn position(&self) -> (String, u64) {
        (self.vat_id.clone(), self.bounds.start_pos)
    }

    /// The row as `@endo/errors` shows swing-store's row object.
    fn rendered(&self) -> String {
        render::value(&serde_json::json!({
            "vatID": self.vat_id,
            "startPos": self.bounds.start_pos,
            "endPos": self.bounds.end_pos,
            "hash": self.bounds.hash,
            "isCurrent": if self.is_current { Value::from(1) } else { Value::Null },
            "incarnation": self.bounds.incarnation,
        }))
    }
}

const SPAN_COLUMNS: &str = "s.vatID, s.startPos, s.endPos, s.hash, s.isCurrent, s.incarnation";

fn span_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SpanRow> {
    Ok(SpanRow {
        vat_id: row.get(0)?,
        bounds: SpanBounds {
            start_pos: row.get(1)?,
            end_pos: row.get(2)?,
            hash: row.get(3)?,
            incarnation: row.get(5)?,
        },
        is_current: row.get::<_, Option<i64>>(4)?.is_some(),
    })
}

/// Up to `limit` spans after `after` in (vatID, startPos) order, restricted by `filter` (a
/// SQL condition over `s`, the span).
pub fn spans_after(
    db: &Db,
    filter: &str,
    after: Option<&(String, u64)>,
    limit: usize,
) -> Result<Vec<SpanRow>> {
    let (vat_id, start_pos) = after.map_or(("", -1), |(v, p)| (v.as_str(), *p as i64));
    query_all(
        db.conn(),
        &format!(
            "SELECT {SPAN_COLUMNS} FROM transcriptSpans s \
             WHERE (s.vatID, s.startPos) > (?1, ?2) AND {filter} \
             ORDER BY s.vatID, s.startPos LIMIT ?3"
        ),
        rusqlite::params![vat_id, start_pos, i64::try_from(limit).unwrap_or(i64::MAX)],
        "transcript export",
        span_row,
    )
}

/// The spans an export in `mode` offers as artifacts, in name order: current spans
/// (`operational`), every span of each live vat's current incarnation (`replay`), every span
/// of each live vat (`archival`), or every span whose items are all present (`debug`).
pub fn artifact_spans(
    db: &Db,
    mode: ArtifactMode,
    after: Option<&(String, u64)>,
    limit: usize,
) -> Result<Vec<SpanRow>> {
    let filter = match mode {
        ArtifactMode::Operational => "s.isCurrent = 1",
        ArtifactMode::Replay => {
            "EXISTS (SELECT 1 FROM transcriptSpans c WHERE c.vatID = s.vatID \
             AND c.isCurrent = 1 AND c.incarnation = s.incarnation)"
        }
        ArtifactMode::Archival => {
            "EXISTS (SELECT 1 FROM transcriptSpans c WHERE c.vatID = s.vatID AND c.isCurrent = 1)"
        }
        ArtifactMode::Debug => {
            "(SELECT COUNT(*) FROM transcriptItems i WHERE i.vatID = s.vatID \
             AND i.position >= s.startPos AND i.position < s.endPos) = s.endPos - s.startPos"
        }
    };
    spans_after(db, filter, after, limit)
}

/// `transcript.<vatID>.<startPos>.<endPos>` split into its parts, or `None`.
fn parse_name(name: &str) -> Option<(&str, &str, &str)> {
    let mut parts = name.split('.');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("transcript"), Some(vat_id), Some(start), Some(end), None) => {
            Some((vat_id, start, end))
        }
        _ => None,
    }
}

/// A span artifact being read out: its items, each followed by a newline.
#[derive(Debug)]
pub struct SpanArtifact {
    cursor: SpanCursor,
}

impl SpanArtifact {
    /// Opens `name` for export. The span is found by vat and start alone, and read to the
    /// end it has now, as swing-store reads it.
    pub fn open(db: &Db, name: &str) -> Result<SpanArtifact> {
        let Some((vat_id, start, _)) = parse_name(name) else {
            return Err(Error::InvalidArtifactName {
                message: format!(
                    "expected artifact name of the form 'transcript.{{vatID}}.{{startPos}}.{{endPos}}', saw {}",
                    quote(name)
                ),
            });
        };
        let unavailable = || Error::ArtifactUnavailable {
            message: format!("transcript span {} not available", quote(name)),
        };
        let start_pos = name_position(start).ok_or_else(unavailable)?;
        let cursor =
            read::begin_read_span(db, vat_id, SpanStart::At(start_pos)).map_err(|e| match e {
                Error::NoTranscriptSpan { .. } => unavailable(),
                other => other,
            })?;
        Ok(SpanArtifact { cursor })
    }

    /// The next items as bytes (about `max_bytes`, at least one item), or `None` at the end.
    /// Missing items fail at the end, as a read of the span does.
    pub fn next_chunk(&mut self, db: &Db, max_bytes: usize) -> Result<Option<Vec<u8>>> {
        const ITEMS_PER_PAGE: usize = 256;
        let mut chunk = Vec::new();
        while chunk.len() < max_bytes.max(1) {
            let page = read::read_span_page(db, &mut self.cursor, ITEMS_PER_PAGE)?;
            if page.is_empty() {
                break;
            }
            for item in page {
                chunk.extend_from_slice(item.as_bytes());
                chunk.push(b'\n');
            }
        }
        Ok((!chunk.is_empty()).then_some(chunk))
    }
}

/// The metadata a stored span row carries, for checking an artifact or a repair against it.
struct StoredSpan {
    end_pos: u64,
    hash: String,
    is_current: bool,
    incarnation: u64,
}

fn stored_span(db: &Db, vat_id: &str, start_pos: u64) -> Result<Option<StoredSpan>> {
    query_one(
        db.conn(),
        "SELECT endPos, hash, isCurrent, incarnation FROM transcriptSpans \
         WHERE vatID = ? AND startPos = ?",
        rusqlite::params![vat_id, start_pos],
        "transcript import",
        |row| {
            Ok(StoredSpan {
                end_pos: row.get(0)?,
                hash: row.get(1)?,
                is_current: row.get::<_, Option<i64>>(2)?.is_some(),
                incarnation: row.get(3)?,
            })
        },
    )
}

/// A span record parsed from export data, with swing-store's checks against its key.
struct SpanRecord {
    vat_id: String,
    bounds: SpanBounds,
    is_current: bool,
    rendered: String,
}

fn invalid(message: String) -> Error {
    Error::InvalidExportData { message }
}

/// A field of a metadata record as a position or count: a non-negative integer.
fn whole_number(value: &Value) -> Option<u64> {
    value.as_u64()
}

impl SpanRecord {
    fn parse(key: &str, value: &str, check_fields: bool) -> Result<SpanRecord> {
        let metadata: Value = serde_json::from_str(value)
            .map_err(|e| invalid(format!("transcript record {} is not JSON: {e}", quote(key))))?;
        let rendered = render::value(&metadata);
        let mismatch = || {
            invalid(format!(
                "transcript key {} mismatches metadata {rendered}",
                quote(key)
            ))
        };
        let field = |name: &str| metadata.get(name).filter(|v| !v.is_null());
        let is_current = truthy(metadata.get("isCurrent"));
        if check_fields {
            if key.ends_with(".current") != is_current {
                return Err(mismatch());
            }
            for (name, required) in [
                ("vatID", truthy(metadata.get("vatID"))),
                ("startPos", field("startPos").is_some()),
                ("endPos", field("endPos").is_some()),
                ("hash", truthy(metadata.get("hash"))),
                ("isCurrent", field("isCurrent").is_some()),
                ("incarnation", field("incarnation").is_some()),
            ] {
                if !required {
                    return Err(invalid(format!(
                        "transcript metadata missing {name}: {rendered}"
                    )));
                }
            }
        }
        let wrong_type = |name: &str| {
            invalid(format!(
                "transcript metadata {name} must be a non-negative integer: {rendered}"
            ))
        };
        let number = |name: &'static str| {
            field(name)
                .and_then(whole_number)
                .ok_or_else(|| wrong_type(name))
        };
        let vat_id = metadata
            .get("vatID")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid(format!(
                    "transcript metadata vatID must be a string: {rendered}"
                ))
            })?
            .to_owned();
        let bounds = SpanBounds {
            start_pos: number("startPos")?,
            end_pos: number("endPos")?,
            hash: metadata
                .get("hash")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid(format!(
                        "transcript metadata hash must be a string: {rendered}"
                    ))
                })?
                .to_owned(),
            incarnation: number("incarnation")?,
        };
        let mut parts = key.split('.');
        let (key_vat, key_start) = (parts.nth(1).unwrap_or(""), parts.next().unwrap_or(""));
        if key_start != "current" && name_position(key_start) != Some(bounds.start_pos) {
            return Err(mismatch());
        }
        if key_vat != vat_id {
            return Err(mismatch());
        }
        Ok(SpanRecord {
            vat_id,
            bounds,
            is_current,
            rendered,
        })
    }

    fn insert(&self, db: &mut Db) -> Result<()> {
        db.execute(
            INSERT_SPAN,
            rusqlite::params![
                self.vat_id,
                self.bounds.start_pos,
                self.bounds.end_pos,
                self.bounds.hash,
                self.is_current.then_some(1),
                self.bounds.incarnation
            ],
            "importTranscriptSpanRecord",
        )
    }
}

/// swing-store's `importTranscriptSpanRecord`: a span's row, without its items. Two records
/// for one span (say `0..4` and `0..5`) collide on the primary key and fail the import.
pub fn import_record(db: &mut Db, key: &str, value: &str) -> Result<()> {
    db.ensure_txn()?;
    SpanRecord::parse(key, value, true)?.insert(db)
}

/// swing-store's `repairTranscriptSpanRecord`: a missing span row is added; one that exists
/// must agree with the record.
pub fn repair_record(db: &mut Db, key: &str, value: &str) -> Result<()> {
    db.ensure_txn()?;
    let record = SpanRecord::parse(key, value, false)?;
    match stored_span(db, &record.vat_id, record.bounds.start_pos)? {
        Some(existing) => {
            if existing.is_current != record.is_current
                || existing.hash != record.bounds.hash
                || existing.incarnation != record.bounds.incarnation
                || existing.end_pos != record.bounds.end_pos
            {
                let existing = render::value(&serde_json::json!({
                    "hash": existing.hash,
                    "isCurrent": if existing.is_current { Value::from(1) } else { Value::Null },
                    "incarnation": existing.incarnation,
                    "endPos": existing.end_pos,
                }));
                return Err(Error::RepairMismatch {
                    message: format!(
                        "repairTranscriptSpanRecord metadata mismatch: {existing} vs {}",
                        record.rendered
                    ),
                });
            }
            Ok(())
        }
        None => record.insert(db),
    }
}

/// A span artifact being imported: lines are items, hashed and stored as they arrive, and
/// checked against the span's record at the end.
#[derive(Debug)]
pub struct SpanImport {
    name: String,
    vat_id: String,
    end_pos: u64,
    incarnation: u64,
    expected_hash: String,
    /// Where its items wait until the whole span has been checked, if anywhere.
    staging: Option<u64>,
    /// Where this import's first item went: the items it stored are `start_pos..position`.
    start_pos: u64,
    position: u64,
    hash: String,
    /// The bytes after the last newline seen.
    partial: Vec<u8>,
}

/// Items of spans an open store is taking in (a tool's `populateTranscriptSpan`), each row
/// tagged with its import: they join `transcriptItems` only once their span checks whole, so
/// a span that fails or is abandoned leaves the store as it was, call by call.
const CREATE_STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS stagedTranscriptItems \
     (import INTEGER, vatID TEXT, item TEXT, position INTEGER, incarnation INTEGER)";
const INSERT_STAGED: &str = "INSERT INTO temp.stagedTranscriptItems \
     (import, vatID, item, position, incarnation) VALUES (?, ?, ?, ?, ?)";
const MOVE_STAGED: &str = "INSERT INTO transcriptItems (vatID, item, position, incarnation) \
     SELECT vatID, item, position, incarnation FROM temp.stagedTranscriptItems \
     WHERE import = ? ORDER BY position";
const DROP_STAGED: &str = "DELETE FROM temp.stagedTranscriptItems WHERE import = ?";

/// Tells one staged import's rows from another's (several may be open at once).
static NEXT_STAGING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Where a span's items go as they arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Landing {
    /// Straight into `transcriptItems`: an importer's staged store, discarded whole on failure.
    Direct,
    /// Into a staging table until the span checks whole: an open store.
    WhenChecked,
}

/// Where `name`'s items would go, or `None` when `mode` does not import it (a historical span
/// in `operational`, an earlier incarnation's in `replay`).
pub fn begin_import(
    db: &mut Db,
    name: &str,
    mode: ArtifactMode,
    landing: Landing,
) -> Result<Option<SpanImport>> {
    db.ensure_txn()?;
    let (vat_id, start, end) = parse_name(name).ok_or_else(|| Error::InvalidArtifactName {
        message: format!(
            "expected artifact name of the form 'transcript.{{vatID}}.{{startPos}}.{{endPos}}', saw '{}'",
            quote(name)
        ),
    })?;
    let no_metadata = || Error::NoArtifactMetadata {
        message: format!("no metadata for transcript span {}", quote(name)),
    };
    let start_pos = name_position(start).ok_or_else(no_metadata)?;
    let metadata = stored_span(db, vat_id, start_pos)?.ok_or_else(no_metadata)?;
    if name_position(end) != Some(metadata.end_pos) {
        return Err(Error::InvalidExportData {
            message: format!(
                "transcript artifact {} ends at {end}, but its metadata says {}",
                quote(name),
                metadata.end_pos
            ),
        });
    }
    let wanted = match mode {
        ArtifactMode::Operational => metadata.is_current,
        ArtifactMode::Replay => {
            let incarnation_start: Option<Option<u64>> = query_one(
                db.conn(),
                "SELECT startPos FROM transcriptSpans WHERE vatID = ?1 AND incarnation = \
                 (SELECT incarnation FROM transcriptSpans WHERE vatID = ?1 AND isCurrent = 1) \
                 ORDER BY startPos ASC LIMIT 1",
                [vat_id],
                "transcript import",
                |row| row.get(0),
            )?;
            incarnation_start
                .flatten()
                .is_some_and(|first| start_pos >= first)
        }
        ArtifactMode::Archival | ArtifactMode::Debug => true,
    };
    if !wanted {
        return Ok(None);
    }
    let staging = match landing {
        Landing::Direct => None,
        Landing::WhenChecked => {
            db.ensure_txn()?
                .execute_batch(CREATE_STAGING)
                .map_err(Error::sqlite("populateTranscriptSpan"))?;
            Some(NEXT_STAGING.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        }
    };
    Ok(Some(SpanImport {
        name: name.to_owned(),
        vat_id: vat_id.to_owned(),
        end_pos: metadata.end_pos,
        incarnation: metadata.incarnation,
        expected_hash: metadata.hash,
        staging,
        start_pos,
        position: start_pos,
        hash: INITIAL_HASH.to_owned(),
        partial: Vec::new(),
    }))
}

impl SpanImport {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the next bytes of the artifact, storing every item they complete. On an error
    /// the items this import stored are removed again.
    pub fn write(&mut self, db: &mut Db, chunk: &[u8]) -> Result<()> {
        let stored = self.store_lines(db, chunk);
        stored.or_else(|e| self.remove_stored(db).and(Err(e)))
    }

    fn store_lines(&mut self, db: &mut Db, chunk: &[u8]) -> Result<()> {
        let mut rest = chunk;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(newline);
            if self.partial.is_empty() {
                self.store_line(db, line)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.store_line(db, &whole)?;
            }
            rest = &after[1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// The artifact has ended: a last unterminated line is an item too, and then the count
    /// and the hash chain must be the record's; if not, the items this import stored are
    /// removed again.
    pub fn finish(mut self, db: &mut Db) -> Result<()> {
        let checked = self.check_end(db).and_then(|()| self.land(db));
        checked.or_else(|e| self.remove_stored(db).and(Err(e)))
    }

    /// Moves a checked span's staged items into `transcriptItems`.
    fn land(&mut self, db: &mut Db) -> Result<()> {
        let Some(staging) = self.staging else {
            return Ok(());
        };
        db.execute(MOVE_STAGED, [staging], "populateTranscriptSpan")?;
        // The items are in `transcriptItems` now: should clearing the staging rows fail, it
        // is those that `remove_stored` must take out.
        self.staging = None;
        db.execute(DROP_STAGED, [staging], "populateTranscriptSpan")
    }

    fn check_end(&mut self, db: &mut Db) -> Result<()> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.store_line(db, &line)?;
        }
        if self.position != self.end_pos {
            return Err(Error::ArtifactIncomplete {
                name: self.name.clone(),
            });
        }
        if self.hash != self.expected_hash {
            return Err(Error::ArtifactHashMismatch {
                message: format!(
                    "artifact {} hash is {}, metadata says {}",
                    quote(&self.name),
                    quote(&self.hash),
                    quote(&self.expected_hash)
                ),
            });
        }
        Ok(())
    }

    /// Removes the items this import stored: it failed, or its caller abandoned it.
    pub fn remove_stored(&mut self, db: &mut Db) -> Result<()> {
        if let Some(staging) = self.staging.take() {
            db.execute(DROP_STAGED, [staging], "abandoning a transcript artifact")?;
        } else if self.position > self.start_pos {
            db.execute(
                "DELETE FROM transcriptItems WHERE vatID = ?1 AND position >= ?2 AND position < ?3",
                rusqlite::params![self.vat_id, self.start_pos, self.position],
                "abandoning a transcript artifact",
            )?;
            self.position = self.start_pos;
        }
        Ok(())
    }

    /// One line as swing-store reads it: UTF-8 (bad bytes as U+FFFD), trailing white space
    /// trimmed.
    fn store_line(&mut self, db: &mut Db, line: &[u8]) -> Result<()> {
        let text = String::from_utf8_lossy(line);
        let item = text.trim_end_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        match self.staging {
            Some(staging) => db.execute(
                INSERT_STAGED,
                rusqlite::params![staging, self.vat_id, item, self.position, self.incarnation],
                "populateTranscriptSpan",
            )?,
            None => db.execute(
                INSERT_ITEM,
                rusqlite::params![self.vat_id, item, self.position, self.incarnation],
                "populateTranscriptSpan",
            )?,
        }
        self.hash = next_span_hash(&self.hash, item);
        self.position += 1;
        Ok(())
    }
}

/// The completeness `mode` requires of every live vat's transcript: its current span
/// (`operational`), its current incarnation (`replay`), or all of it (`archival`).
pub fn assert_complete(db: &Db, mode: ArtifactMode) -> Result<()> {
    let current = spans_after(db, "s.isCurrent = 1", None, usize::MAX)?;
    let count = |vat_id: &str, from: u64, to: u64| -> Result<u64> {
        db.conn()
            .prepare_cached(
                "SELECT COUNT(*) FROM transcriptItems WHERE vatID = ? AND position >= ? AND position < ?",
            )
            .and_then(|mut stmt| stmt.query_row(rusqlite::params![vat_id, from, to], |row| row.get(0)))
            .map_err(Error::sqlite("transcript completeness"))
    };
    let incomplete = |message: String| Err(Error::IncompleteArtifacts { message });
    for span in current {
        let SpanBounds {
            start_pos,
            end_pos,
            incarnation,
            ..
        } = span.bounds;
        match mode.check() {
            ArtifactMode::Operational | ArtifactMode::Debug => {
                let n = count(&span.vat_id, start_pos, end_pos)?;
                if n != end_pos - start_pos {
                    return incomplete(format!(
                        "incomplete current transcript span: {n} items, {}",
                        span.rendered()
                    ));
                }
            }
            ArtifactMode::Replay => {
                let first: Option<u64> = query_one(
                    db.conn(),
                    "SELECT startPos FROM transcriptSpans WHERE vatID = ? AND incarnation = ? \
                     ORDER BY startPos ASC LIMIT 1",
                    rusqlite::params![span.vat_id, incarnation],
                    "transcript completeness",
                    |row| row.get(0),
                )?;
                let first = first.unwrap_or(start_pos);
                let n = count(&span.vat_id, first, end_pos)?;
                if n != end_pos - first {
                    return incomplete(format!(
                        "incomplete current incarnation transcript: {n} items"
                    ));
                }
            }
            ArtifactMode::Archival => {
                let n = count(&span.vat_id, 0, end_pos)?;
                if n != end_pos {
                    return incomplete(format!("incomplete archival transcript: {n} vs {end_pos}"));
                }
            }
        }
    }
    Ok(())
}

/// swing-store's `dumpTranscripts`: every item of every span (or of current spans only), by
/// vat and position.
pub fn dump(db: &Db, include_historical: bool) -> Result<BTreeMap<String, BTreeMap<u64, String>>> {
    let filter = if include_historical {
        "1"
    } else {
        "s.isCurrent = 1"
    };
    let mut dump: BTreeMap<String, BTreeMap<u64, String>> = BTreeMap::new();
    for span in spans_after(db, filter, None, usize::MAX)? {
        for (position, item) in
            span_items(db, &span.vat_id, span.bounds.start_pos, span.bounds.end_pos)?
        {
            dump.entry(span.vat_id.clone())
                .or_default()
                .insert(position, item);
        }
    }
    Ok(dump)
}

/// swing-store's `readFullVatTranscript`: `(position, item)` of every stored item of the vat,
/// span by span, from `after` on, at most `limit`.
pub fn full_vat_transcript(
    db: &Db,
    vat_id: &str,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<(u64, String)>> {
    query_all(
        db.conn(),
        "SELECT i.position, i.item FROM transcriptSpans s JOIN transcriptItems i \
         ON i.vatID = s.vatID AND i.position >= s.startPos AND i.position < s.endPos \
         WHERE s.vatID = ?1 AND i.position > ?2 ORDER BY s.startPos, i.position LIMIT ?3",
        rusqlite::params![
            vat_id,
            after.map_or(-1, |p| p as i64),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        "readFullVatTranscript",
        |row| Ok((row.get(0)?, text_lossy(row, 1)?)),
    )
}

fn span_items(db: &Db, vat_id: &str, start: u64, end: u64) -> Result<Vec<(u64, String)>> {
    query_all(
        db.conn(),
        "SELECT position, item FROM transcriptItems \
         WHERE vatID = ? AND ? <= position AND position < ? ORDER BY position",
        rusqlite::params![vat_id, start, end],
        "dumpTranscripts",
        |row| Ok((row.get(0)?, text_lossy(row, 1)?)),
    )
}

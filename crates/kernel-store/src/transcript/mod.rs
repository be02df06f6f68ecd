//! Vat transcripts, as swing-store's transcriptStore keeps them: items numbered per vat from
//! 0, grouped into spans of which exactly one per live vat is current, each span carrying a
//! hash chain over its items. The rows, the hashes and the export-data records are
//! swing-store's byte for byte, because the span hashes and records are consensus data
//! another node (or an export) compares against.
//!
//! Rows go straight into the open SQLite transaction, so a crank's `ROLLBACK TO SAVEPOINT`
//! undoes them with no bookkeeping here; the export notes roll back with the crank's overlay.
//! The store is given the connection ([`Db`]) and the export log for each call, as
//! swing-store's `makeTranscriptStore(db, ensureTxn, noteExport, options)` is.

pub(crate) mod artifacts;
mod read;

pub use artifacts::SpanArtifact;
pub use read::{begin_read_span, read_span, read_span_page, SpanCursor, SpanStart};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::export_log::ExportLog;
use crate::hex::sha256_hex;
use crate::json::quote;
use crate::sql::{budget_limit, query_all, query_one};
use crate::Deletion;

/// swing-store's statements, exactly as it issues them. Items are numbered per vat; a span
/// is `[startPos, endPos)` of one vat with the hash chained over its items, and at most one
/// span per vat is current (`isCurrent` is 1 or NULL, so UNIQUE allows many historical ones).
pub(crate) const DDL: &[&str] = &[
    "
    CREATE TABLE IF NOT EXISTS transcriptItems (
      vatID TEXT,
      position INTEGER,
      item TEXT,
      incarnation INTEGER,
      PRIMARY KEY (vatID, position)
    )
  ",
    "
    CREATE TABLE IF NOT EXISTS transcriptSpans (
      vatID TEXT,
      startPos INTEGER, -- inclusive
      endPos INTEGER, -- exclusive
      hash TEXT, -- cumulative hash of this item and previous cumulative hash
      isCurrent INTEGER CHECK (isCurrent = 1),
      incarnation INTEGER,
      PRIMARY KEY (vatID, startPos),
      UNIQUE (vatID, isCurrent)
    )
  ",
    "
    CREATE INDEX IF NOT EXISTS currentTranscriptIndex
    ON transcriptSpans (vatID, isCurrent)
  ",
];

/// `sha256hex("start of transcript span")`: every span's chain starts here, so an empty span's
/// hash says nothing about what came before it.
pub(crate) const INITIAL_HASH: &str =
    "43e6be43a3a34d60c0ebeb8498b5849b094fc20fc68483a7aeb3624fa10f79f6";

/// What `getCurrentSpanBounds(vatID)` returns: the current span `[start_pos, end_pos)` and the
/// hash chained over its items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanBounds {
    pub start_pos: u64,
    pub end_pos: u64,
    pub hash: String,
    pub incarnation: u64,
}

/// A span that a rollover or `stopUsingTranscript` just closed, with its items, for the
/// host's `archiveTranscript` callback (read before `keepTranscripts: false` deletes them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedSpan {
    /// `transcript.<vatID>.<startPos>.<endPos>`, the span's artifact name.
    pub name: String,
    pub items: Vec<String>,
}

/// What a rollover did: the incarnation of the new current span, and the span it closed when
/// the store archives closed spans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollover {
    pub incarnation: u64,
    pub closed: Option<ClosedSpan>,
}

/// swing-store's `keepTranscripts` and whether an `archiveTranscript` callback wants closed
/// spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranscriptOptions {
    pub keep_transcripts: bool,
    pub archive: bool,
}

impl Default for TranscriptOptions {
    fn default() -> Self {
        TranscriptOptions {
            keep_transcripts: true,
            archive: false,
        }
    }
}

/// The transcript store: its options; the connection and export log come with each call.
#[derive(Clone, Copy, Debug, Default)]
pub struct TranscriptStore {
    options: TranscriptOptions,
}

fn current_key(vat_id: &str) -> String {
    format!("transcript.{vat_id}.current")
}

/// A closed span's export-data key is its start, which never changes once closed.
fn historical_key(vat_id: &str, start_pos: u64) -> String {
    format!("transcript.{vat_id}.{start_pos}")
}

fn metadata_key(vat_id: &str, start_pos: u64, is_current: bool) -> String {
    if is_current {
        current_key(vat_id)
    } else {
        historical_key(vat_id, start_pos)
    }
}

fn artifact_name(vat_id: &str, start_pos: u64, end_pos: u64) -> String {
    format!("transcript.{vat_id}.{start_pos}.{end_pos}")
}

/// `JSON.stringify` of swing-store's span record, in its key order, with 0/1 flags.
fn span_record(vat_id: &str, span: &SpanBounds, is_current: bool) -> String {
    format!(
        "{{\"vatID\":{},\"startPos\":{},\"endPos\":{},\"hash\":{},\"isCurrent\":{},\"incarnation\":{}}}",
        quote(vat_id),
        span.start_pos,
        span.end_pos,
        quote(&span.hash),
        u8::from(is_current),
        span.incarnation
    )
}

/// The next link of a span's chain: the prior hash and the item's hash, both as hex text.
pub(crate) fn next_span_hash(prior: &str, item: &str) -> String {
    sha256_hex(&format!("{prior}{}", sha256_hex(item)))
}

const INSERT_SPAN: &str =
    "INSERT INTO transcriptSpans (vatID, startPos, endPos, hash, isCurrent, incarnation) \
     VALUES (?, ?, ?, ?, ?, ?)";
const INSERT_ITEM: &str =
    "INSERT INTO transcriptItems (vatID, item, position, incarnation) VALUES (?, ?, ?, ?)";
const DELETE_ITEMS: &str =
    "DELETE FROM transcriptItems WHERE vatID = ? AND position >= ? AND position < ?";

impl TranscriptStore {
    pub fn new(options: TranscriptOptions) -> TranscriptStore {
        TranscriptStore { options }
    }

    /// Starts vat `vat_id`'s transcript: an empty current span at position 0, incarnation 0.
    /// A second call fails with SQLite's UNIQUE error, as swing-store's does; the vatID is not
    /// validated (the kernel makes them).
    pub fn init(&self, db: &mut Db, exports: &mut ExportLog, vat_id: &str) -> Result<()> {
        let span = SpanBounds {
            start_pos: 0,
            end_pos: 0,
            hash: INITIAL_HASH.into(),
            incarnation: 0,
        };
        insert_current_span(db, exports, vat_id, &span, "initTranscript")
    }

    /// The current span's bounds, hash and incarnation.
    pub fn current_span_bounds(&self, db: &Db, vat_id: &str) -> Result<SpanBounds> {
        current_span(db, vat_id)?.ok_or_else(|| Error::NoCurrentTranscript {
            vat_id: vat_id.into(),
        })
    }

    /// Appends `item` to the vat's current span and extends its hash chain. The item is a
    /// `&str`, so unlike swing-store (which inserts the row before a non-string item fails to
    /// hash) a bad item cannot leave a row behind.
    pub fn add_item(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        vat_id: &str,
        item: &str,
    ) -> Result<()> {
        db.ensure_txn()?;
        let span = self.current_span_bounds(db, vat_id)?;
        db.execute(
            INSERT_ITEM,
            rusqlite::params![vat_id, item, span.end_pos, span.incarnation],
            "addItem",
        )?;
        let extended = SpanBounds {
            end_pos: span.end_pos + 1,
            hash: next_span_hash(&span.hash, item),
            ..span
        };
        db.execute(
            "UPDATE transcriptSpans SET endPos = ?, hash = ? WHERE vatID = ? AND isCurrent = 1",
            rusqlite::params![extended.end_pos, extended.hash, vat_id],
            "addItem",
        )?;
        exports.note(
            &current_key(vat_id),
            Some(&span_record(vat_id, &extended, true)),
        );
        Ok(())
    }

    /// Ends the current span and opens an empty one, in the next incarnation when
    /// `new_incarnation` (a vat upgrade, after which the old incarnation's items are never
    /// replayed) or else the same one (after a heap snapshot, so replay can start there).
    pub fn rollover(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        vat_id: &str,
        new_incarnation: bool,
    ) -> Result<Rollover> {
        db.ensure_txn()?;
        let span = self.current_span_bounds(db, vat_id)?;
        // The next span would start where this one does, and the key (vatID, startPos) is
        // taken: refused before anything is closed (swing-store fails at the insert, after).
        if span.start_pos == span.end_pos {
            return Err(Error::EmptyTranscriptSpan {
                vat_id: vat_id.to_owned(),
                position: span.start_pos,
            });
        }
        let closed = self.close_span(db, exports, vat_id, &span)?;
        let incarnation = span.incarnation + u64::from(new_incarnation);
        let next = SpanBounds {
            start_pos: span.end_pos,
            end_pos: span.end_pos,
            hash: INITIAL_HASH.into(),
            incarnation,
        };
        insert_current_span(db, exports, vat_id, &next, "rolloverSpan")?;
        Ok(Rollover {
            incarnation,
            closed,
        })
    }

    /// The vat is being terminated: its current span becomes historical and its `.current`
    /// record goes away. Calling it again (or for an unknown vat) does nothing.
    pub fn stop_using(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        vat_id: &str,
    ) -> Result<Option<ClosedSpan>> {
        db.ensure_txn()?;
        let Some(span) = current_span(db, vat_id)? else {
            return Ok(None);
        };
        let closed = self.close_span(db, exports, vat_id, &span)?;
        exports.note(&current_key(vat_id), None);
        Ok(closed)
    }

    /// Deletes a terminated vat's spans and items: all of them when `budget` is `None`,
    /// otherwise up to `budget` spans, newest first (so a current span left by a kernel that
    /// never stopped the transcript leaves the export first). Every deleted span's record is
    /// noted deleted.
    pub fn delete_vat(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        vat_id: &str,
        budget: Option<u64>,
    ) -> Result<Deletion> {
        db.ensure_txn()?;
        crate::budget::check_budget(budget)?;
        let context = "deleteVatTranscripts";
        let order = if budget.is_some() { "DESC" } else { "" };
        // Listed before any note or delete, as swing-store does.
        let spans: Vec<(u64, u64, bool)> = query_all(
            db.conn(),
            &format!(
                "SELECT startPos, endPos, isCurrent FROM transcriptSpans \
                 WHERE vatID = ?1 ORDER BY startPos {order} LIMIT ?2"
            ),
            rusqlite::params![vat_id, budget_limit(budget)],
            context,
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get::<_, Option<i64>>(2)?.is_some(),
                ))
            },
        )?;
        for &(start_pos, end_pos, is_current) in &spans {
            exports.note(&metadata_key(vat_id, start_pos, is_current), None);
            if budget.is_some() {
                db.execute(
                    "DELETE FROM transcriptSpans WHERE vatID = ? AND startPos = ?",
                    rusqlite::params![vat_id, start_pos],
                    context,
                )?;
                db.execute(
                    DELETE_ITEMS,
                    rusqlite::params![vat_id, start_pos, end_pos],
                    context,
                )?;
            }
        }
        let cleanups = spans.len() as u64;
        if budget.is_none() {
            db.execute(
                "DELETE FROM transcriptItems WHERE vatID = ?",
                [vat_id],
                context,
            )?;
            db.execute(
                "DELETE FROM transcriptSpans WHERE vatID = ?",
                [vat_id],
                context,
            )?;
            return Ok(Deletion {
                done: true,
                cleanups,
            });
        }
        let done = spans.is_empty() || !has_spans(db, vat_id)?;
        Ok(Deletion { done, cleanups })
    }

    /// swing-store's `closeSpan`: the span's historical record appears (the caller deals with
    /// `.current`), its row stops being current, an archiver gets its items, and without
    /// `keepTranscripts` they go. Older spans' items are left alone, as swing-store leaves
    /// them, to bound the churn.
    fn close_span(
        &self,
        db: &mut Db,
        exports: &mut ExportLog,
        vat_id: &str,
        span: &SpanBounds,
    ) -> Result<Option<ClosedSpan>> {
        // Read first: a span whose items cannot all be read fails the close before it changes
        // anything.
        let closed = if self.options.archive {
            Some(ClosedSpan {
                name: artifact_name(vat_id, span.start_pos, span.end_pos),
                items: read::read_span(db, vat_id, SpanStart::At(span.start_pos))?,
            })
        } else {
            None
        };
        exports.note(
            &historical_key(vat_id, span.start_pos),
            Some(&span_record(vat_id, span, false)),
        );
        db.execute(
            "UPDATE transcriptSpans SET isCurrent = null WHERE isCurrent = 1 AND vatID = ?",
            [vat_id],
            "closeSpan",
        )?;
        if !self.options.keep_transcripts {
            db.execute(
                DELETE_ITEMS,
                rusqlite::params![vat_id, span.start_pos, span.end_pos],
                "closeSpan",
            )?;
        }
        Ok(closed)
    }
}

fn current_span(db: &Db, vat_id: &str) -> Result<Option<SpanBounds>> {
    query_one(
        db.conn(),
        "SELECT startPos, endPos, hash, incarnation FROM transcriptSpans \
         WHERE vatID = ? AND isCurrent = 1",
        [vat_id],
        "getCurrentSpanBounds",
        |row| {
            Ok(SpanBounds {
                start_pos: row.get(0)?,
                end_pos: row.get(1)?,
                hash: row.get(2)?,
                incarnation: row.get(3)?,
            })
        },
    )
}

fn insert_current_span(
    db: &mut Db,
    exports: &mut ExportLog,
    vat_id: &str,
    span: &SpanBounds,
    context: &'static str,
) -> Result<()> {
    db.execute(
        INSERT_SPAN,
        rusqlite::params![
            vat_id,
            span.start_pos,
            span.end_pos,
            span.hash,
            1,
            span.incarnation
        ],
        context,
    )?;
    exports.note(&current_key(vat_id), Some(&span_record(vat_id, span, true)));
    Ok(())
}

fn has_spans(db: &Db, vat_id: &str) -> Result<bool> {
    db.conn()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM transcriptSpans WHERE vatID = ?)")
        .and_then(|mut stmt| stmt.query_row([vat_id], |row| row.get(0)))
        .map_err(Error::sqlite("deleteVatTranscripts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_hash_is_the_hash_of_its_phrase() {
        assert_eq!(INITIAL_HASH, sha256_hex("start of transcript span"));
    }
}

//! Vat transcripts, as swing-store's transcriptStore keeps them (shared/spec/swing-store.md
//! §5.1): items numbered per vat from 0, grouped into spans of which exactly one per live vat
//! is current, each span carrying a hash chain over its items. The rows, the hashes and the
//! export-data records are swing-store's byte for byte, because the span hashes and records are
//! consensus data another node (or an export) compares against.
//!
//! Rows go straight into the open SQLite transaction, so a crank's `ROLLBACK TO SAVEPOINT`
//! undoes them with no bookkeeping here; the export notes roll back with the crank's overlay.

use rusqlite::types::Value;
use rusqlite::OptionalExtension;

use crate::budget::{check_budget, Deletion};
use crate::error::{Error, Result};
use crate::hex::sha256_hex;
use crate::json::quote;
use crate::KernelStore;

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

/// The `startPos` argument of `readSpan`, as JS can pass it. It is a JS value rather than a
/// `u64` because swing-store's checks (and their order) are about JS numbers: a non-number,
/// then a negative one (NaN counts), then one naming no span (a fraction names none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SpanStart {
    /// `startPos` omitted: the current span.
    Current,
    Position(f64),
    /// A `startPos` that is not a JS number.
    NotANumber,
}

/// Where a `readSpan` iteration stands. The span's bounds are fixed when the read begins, as
/// swing-store fixes them when `readSpan` is called. Plain data, so a binding can keep it in a
/// JS object between pages instead of holding a statement open across calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanCursor {
    pub vat_id: String,
    pub start_pos: u64,
    pub end_pos: u64,
    /// The first position the next page may return.
    pub next_pos: u64,
    /// Items returned so far, for the end-of-iteration count check.
    pub items_read: u64,
    /// The iteration has ended (normally or by the count check failing).
    pub done: bool,
}

fn current_key(vat_id: &str) -> String {
    format!("transcript.{vat_id}.current")
}

/// A closed span's export-data key is its start, which never changes once closed.
fn historical_key(vat_id: &str, start_pos: u64) -> String {
    format!("transcript.{vat_id}.{start_pos}")
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

/// `q(n)` of a JS number, for the one message that quotes a position.
fn quote_js_number(n: f64) -> String {
    if n.is_infinite() {
        return if n > 0.0 {
            "\"[Infinity]\""
        } else {
            "\"[-Infinity]\""
        }
        .into();
    }
    if n.is_nan() {
        return "\"[NaN]\"".into();
    }
    let magnitude = n.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        // JS switches to exponent form here and always signs the exponent.
        let text = format!("{n:e}");
        return match text.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => text,
        };
    }
    if n == 0.0 {
        // -0 prints as 0.
        return "0".into();
    }
    format!("{n}")
}

/// A JS number bound as SQLite would see better-sqlite3 bind it: an integer when it is one.
fn js_number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_223_372_036_854_775_808.0 {
        Value::Integer(n as i64)
    } else {
        Value::Real(n)
    }
}

impl KernelStore {
    /// Starts vat `vat_id`'s transcript: an empty current span at position 0, incarnation 0.
    /// A second call fails with SQLite's UNIQUE error, as swing-store's does; the vatID is not
    /// validated (the kernel makes them).
    pub fn init_transcript(&mut self, vat_id: &str) -> Result<()> {
        self.ensure_txn()?;
        let span = SpanBounds {
            start_pos: 0,
            end_pos: 0,
            hash: INITIAL_HASH.into(),
            incarnation: 0,
        };
        self.insert_current_span(vat_id, &span, "initTranscript")
    }

    /// The current span's bounds, hash and incarnation. Read-only.
    pub fn get_current_span_bounds(&self, vat_id: &str) -> Result<SpanBounds> {
        self.current_span(vat_id)?
            .ok_or_else(|| Error::NoCurrentTranscript {
                vat_id: vat_id.into(),
            })
    }

    fn current_span(&self, vat_id: &str) -> Result<Option<SpanBounds>> {
        self.conn
            .prepare_cached(
                "SELECT startPos, endPos, hash, incarnation FROM transcriptSpans \
                 WHERE vatID = ? AND isCurrent = 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([vat_id], |row| {
                    Ok(SpanBounds {
                        start_pos: row.get(0)?,
                        end_pos: row.get(1)?,
                        hash: row.get(2)?,
                        incarnation: row.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(Error::sqlite("getCurrentSpanBounds"))
    }

    /// Appends `item` to the vat's current span and extends its hash chain. The item is a
    /// `&str`, so unlike swing-store (which inserts the row before a non-string item fails to
    /// hash) a bad item cannot leave a row behind.
    pub fn add_item(&mut self, vat_id: &str, item: &str) -> Result<()> {
        self.ensure_txn()?;
        let span = self.get_current_span_bounds(vat_id)?;
        self.conn
            .prepare_cached(
                "INSERT INTO transcriptItems (vatID, item, position, incarnation) \
                 VALUES (?, ?, ?, ?)",
            )
            .and_then(|mut stmt| {
                stmt.execute(rusqlite::params![
                    vat_id,
                    item,
                    span.end_pos,
                    span.incarnation
                ])
            })
            .map_err(Error::sqlite("addItem"))?;
        let extended = SpanBounds {
            end_pos: span.end_pos + 1,
            hash: next_span_hash(&span.hash, item),
            ..span
        };
        self.conn
            .prepare_cached(
                "UPDATE transcriptSpans SET endPos = ?, hash = ? WHERE vatID = ? AND isCurrent = 1",
            )
            .and_then(|mut stmt| {
                stmt.execute(rusqlite::params![extended.end_pos, extended.hash, vat_id])
            })
            .map_err(Error::sqlite("addItem"))?;
        self.note_export(
            &current_key(vat_id),
            Some(&span_record(vat_id, &extended, true)),
        );
        Ok(())
    }

    /// Ends the current span and opens an empty one in the same incarnation (after a heap
    /// snapshot, so replay can start from the snapshot). Returns the incarnation.
    pub fn rollover_span(&mut self, vat_id: &str) -> Result<u64> {
        self.rollover(vat_id, false)
    }

    /// Ends the current span and opens an empty one in the next incarnation (a vat upgrade,
    /// after which the old incarnation's items are never replayed). Returns the new incarnation.
    pub fn rollover_incarnation(&mut self, vat_id: &str) -> Result<u64> {
        self.rollover(vat_id, true)
    }

    fn rollover(&mut self, vat_id: &str, new_incarnation: bool) -> Result<u64> {
        self.ensure_txn()?;
        let span = self.get_current_span_bounds(vat_id)?;
        // The next span would start where this one does, and the key (vatID, startPos) is
        // taken: refused before anything is closed (swing-store fails at the insert, after).
        if span.start_pos == span.end_pos {
            return Err(Error::EmptyTranscriptSpan {
                vat_id: vat_id.to_owned(),
                position: span.start_pos,
            });
        }
        self.close_span(vat_id, &span)?;
        let incarnation = span.incarnation + u64::from(new_incarnation);
        let next = SpanBounds {
            start_pos: span.end_pos,
            end_pos: span.end_pos,
            hash: INITIAL_HASH.into(),
            incarnation,
        };
        self.insert_current_span(vat_id, &next, "rolloverSpan")?;
        Ok(incarnation)
    }

    /// The vat is being terminated: its current span becomes historical and its `.current`
    /// record goes away. Calling it again (or for an unknown vat) does nothing.
    pub fn stop_using_transcript(&mut self, vat_id: &str) -> Result<()> {
        self.ensure_txn()?;
        let Some(span) = self.current_span(vat_id)? else {
            return Ok(());
        };
        self.close_span(vat_id, &span)?;
        self.note_export(&current_key(vat_id), None);
        Ok(())
    }

    /// Deletes a terminated vat's spans and items: all of them when `budget` is `None`,
    /// otherwise up to `budget` spans, newest first (so a current span left by a kernel that
    /// never stopped the transcript leaves the export first). Every deleted span's record is
    /// noted deleted.
    pub fn delete_vat_transcripts(
        &mut self,
        vat_id: &str,
        budget: Option<u64>,
    ) -> Result<Deletion> {
        self.ensure_txn()?;
        check_budget(budget)?;
        let context = "deleteVatTranscripts";
        // Listed before any note or delete, as swing-store does.
        let spans: Vec<(u64, u64, bool)> = {
            let (sql, limit) = match budget {
                None => (
                    "SELECT startPos, endPos, isCurrent FROM transcriptSpans \
                     WHERE vatID = ?1 ORDER BY startPos LIMIT ?2",
                    -1,
                ),
                Some(budget) => (
                    "SELECT startPos, endPos, isCurrent FROM transcriptSpans \
                     WHERE vatID = ?1 ORDER BY startPos DESC LIMIT ?2",
                    i64::try_from(budget).unwrap_or(i64::MAX),
                ),
            };
            let mut stmt = self
                .conn
                .prepare_cached(sql)
                .map_err(Error::sqlite(context))?;
            let rows = stmt
                .query_map(rusqlite::params![vat_id, limit], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get::<_, Option<i64>>(2)?.is_some(),
                    ))
                })
                .map_err(Error::sqlite(context))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(Error::sqlite(context))?
        };
        for &(start_pos, end_pos, is_current) in &spans {
            let key = if is_current {
                current_key(vat_id)
            } else {
                historical_key(vat_id, start_pos)
            };
            self.note_export(&key, None);
            if budget.is_some() {
                self.execute(
                    "DELETE FROM transcriptSpans WHERE vatID = ? AND startPos = ?",
                    rusqlite::params![vat_id, start_pos],
                    context,
                )?;
                self.delete_items(vat_id, start_pos, end_pos, context)?;
            }
        }
        let cleanups = spans.len() as u64;
        if budget.is_none() {
            self.execute(
                "DELETE FROM transcriptItems WHERE vatID = ?",
                [vat_id],
                context,
            )?;
            self.execute(
                "DELETE FROM transcriptSpans WHERE vatID = ?",
                [vat_id],
                context,
            )?;
            return Ok(Deletion {
                done: true,
                cleanups,
            });
        }
        let done = spans.is_empty() || !self.has_spans(vat_id)?;
        Ok(Deletion { done, cleanups })
    }

    /// Starts a `readSpan(vatID, startPos?)`: every error swing-store throws at call time is
    /// thrown here, and the span's bounds are fixed. Page through it with `read_span_page`.
    pub fn begin_read_span(&self, vat_id: &str, start: SpanStart) -> Result<SpanCursor> {
        let (start_pos, end_pos) = match start {
            SpanStart::Current => {
                let span = self.get_current_span_bounds(vat_id)?;
                (span.start_pos, span.end_pos)
            }
            SpanStart::NotANumber => {
                return Err(Error::InvalidArgType {
                    message: "position must be a number".into(),
                })
            }
            SpanStart::Position(position) => {
                if position.is_nan() || position < 0.0 {
                    return Err(Error::InvalidArgValue {
                        message: "position must not be negative".into(),
                    });
                }
                let no_span = || Error::NoTranscriptSpan {
                    vat_id: vat_id.into(),
                    position: quote_js_number(position),
                };
                let found: Option<(u64, Option<u64>)> = self
                    .conn
                    .prepare_cached(
                        "SELECT startPos, endPos FROM transcriptSpans \
                         WHERE vatID = ? AND startPos = ?",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_row(
                            rusqlite::params![vat_id, js_number_value(position)],
                            |row| Ok((row.get(0)?, row.get(1)?)),
                        )
                        .optional()
                    })
                    .map_err(Error::sqlite("readSpan"))?;
                match found {
                    Some((start_pos, Some(end_pos))) => (start_pos, end_pos),
                    _ => return Err(no_span()),
                }
            }
        };
        Ok(SpanCursor {
            vat_id: vat_id.into(),
            start_pos,
            end_pos,
            next_pos: start_pos,
            items_read: 0,
            done: false,
        })
    }

    /// The next up to `limit` items of a span read, in position order. An empty page means the
    /// iteration is over; the page after the last item is where swing-store's count check
    /// happens, so a span with missing (pruned) items yields the items it has and then fails
    /// with `read N transcript entries (expected M)`. After the end, or after that failure,
    /// every page is empty, as a finished JS generator is.
    pub fn read_span_page(&self, cursor: &mut SpanCursor, limit: usize) -> Result<Vec<String>> {
        if cursor.done {
            return Ok(Vec::new());
        }
        if cursor.next_pos >= cursor.end_pos {
            cursor.done = true;
            let expected = cursor.end_pos - cursor.start_pos;
            if cursor.items_read != expected {
                return Err(Error::IncompleteTranscriptSpan {
                    read: cursor.items_read,
                    expected,
                });
            }
            return Ok(Vec::new());
        }
        let limit = limit.max(1);
        let context = "readSpan";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT position, item FROM transcriptItems \
                 WHERE vatID = ? AND position >= ? AND position < ? ORDER BY position LIMIT ?",
            )
            .map_err(Error::sqlite(context))?;
        let rows = stmt
            .query_map(
                rusqlite::params![
                    cursor.vat_id,
                    cursor.next_pos,
                    cursor.end_pos,
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |row| {
                    let position: u64 = row.get(0)?;
                    // Items are stored as JS wrote them; read them as JS would.
                    let item = match row.get_ref(1)? {
                        rusqlite::types::ValueRef::Text(bytes)
                        | rusqlite::types::ValueRef::Blob(bytes) => {
                            String::from_utf8_lossy(bytes).into_owned()
                        }
                        rusqlite::types::ValueRef::Null => "null".into(),
                        rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                        rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    };
                    Ok((position, item))
                },
            )
            .map_err(Error::sqlite(context))?;
        let page: Vec<(u64, String)> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(Error::sqlite(context))?;
        cursor.next_pos = match page.last() {
            Some(&(last, _)) if page.len() == limit => last + 1,
            // A short page reached the end of what is stored in the span.
            _ => cursor.end_pos,
        };
        cursor.items_read += page.len() as u64;
        if page.is_empty() {
            return self.read_span_page(cursor, limit);
        }
        Ok(page.into_iter().map(|(_, item)| item).collect())
    }

    /// A whole span at once (`[...readSpan(vatID, startPos)]`), for callers that do not need
    /// to page; the count check fails the whole read.
    pub fn read_span(&self, vat_id: &str, start: SpanStart) -> Result<Vec<String>> {
        const PAGE: usize = 1024;
        let mut cursor = self.begin_read_span(vat_id, start)?;
        let mut items = Vec::new();
        loop {
            let page = self.read_span_page(&mut cursor, PAGE)?;
            if page.is_empty() {
                return Ok(items);
            }
            items.extend(page);
        }
    }

    fn insert_current_span(
        &mut self,
        vat_id: &str,
        span: &SpanBounds,
        context: &'static str,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO transcriptSpans (vatID, startPos, endPos, hash, isCurrent, incarnation) \
             VALUES (?, ?, ?, ?, ?, ?)",
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
        self.note_export(&current_key(vat_id), Some(&span_record(vat_id, span, true)));
        Ok(())
    }

    /// swing-store's `closeSpan`: the span's historical record appears (the caller deals with
    /// `.current`), its row stops being current, and without `keepTranscripts` its items go.
    /// Older spans' items are left alone, as swing-store leaves them, to bound the churn.
    fn close_span(&mut self, vat_id: &str, span: &SpanBounds) -> Result<()> {
        self.note_export(
            &historical_key(vat_id, span.start_pos),
            Some(&span_record(vat_id, span, false)),
        );
        self.execute(
            "UPDATE transcriptSpans SET isCurrent = null WHERE isCurrent = 1 AND vatID = ?",
            [vat_id],
            "closeSpan",
        )?;
        if !self.keep_transcripts {
            self.delete_items(vat_id, span.start_pos, span.end_pos, "closeSpan")?;
        }
        Ok(())
    }

    fn delete_items(
        &mut self,
        vat_id: &str,
        start_pos: u64,
        end_pos: u64,
        context: &'static str,
    ) -> Result<()> {
        self.execute(
            "DELETE FROM transcriptItems WHERE vatID = ? AND position >= ? AND position < ?",
            rusqlite::params![vat_id, start_pos, end_pos],
            context,
        )
    }

    fn has_spans(&self, vat_id: &str) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM transcriptSpans WHERE vatID = ?)")
            .and_then(|mut stmt| stmt.query_row([vat_id], |row| row.get(0)))
            .map_err(Error::sqlite("deleteVatTranscripts"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_hash_is_the_hash_of_its_phrase() {
        assert_eq!(INITIAL_HASH, sha256_hex("start of transcript span"));
    }

    #[test]
    fn positions_are_quoted_as_q_quotes_js_numbers() {
        assert_eq!(quote_js_number(3.0), "3");
        assert_eq!(quote_js_number(-0.0), "0");
        assert_eq!(quote_js_number(1.5), "1.5");
        assert_eq!(quote_js_number(1e21), "1e+21");
        assert_eq!(quote_js_number(1.5e-7), "1.5e-7");
        assert_eq!(quote_js_number(f64::INFINITY), "\"[Infinity]\"");
    }
}

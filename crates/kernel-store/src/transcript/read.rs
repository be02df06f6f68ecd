//! Reading a span (`readSpan`), in pages: the bounds are fixed when the read begins, as
//! swing-store fixes them when `readSpan` is called, and a cursor is plain data, so a binding
//! can keep it between pages instead of holding a statement open across calls.

use crate::db::Db;
use crate::error::{Error, Result};
use crate::sql::{query_all, query_one, text_lossy};

/// Which span `readSpan(vatID, startPos?)` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanStart {
    /// `startPos` omitted: the current span.
    Current,
    /// The span starting at this position.
    At(u64),
}

/// Where a span read stands.
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

/// Starts a `readSpan`: every error swing-store throws at call time is thrown here, and the
/// span's bounds are fixed. Page through it with [`read_span_page`].
pub fn begin_read_span(db: &Db, vat_id: &str, start: SpanStart) -> Result<SpanCursor> {
    let (start_pos, end_pos) = match start {
        SpanStart::Current => {
            let span =
                super::current_span(db, vat_id)?.ok_or_else(|| Error::NoCurrentTranscript {
                    vat_id: vat_id.into(),
                })?;
            (span.start_pos, span.end_pos)
        }
        SpanStart::At(position) => {
            let found: Option<Option<u64>> = query_one(
                db.conn(),
                "SELECT endPos FROM transcriptSpans WHERE vatID = ? AND startPos = ?",
                rusqlite::params![vat_id, i64::try_from(position).unwrap_or(-1)],
                "readSpan",
                |row| row.get(0),
            )?;
            match found {
                Some(Some(end_pos)) => (position, end_pos),
                _ => {
                    return Err(Error::NoTranscriptSpan {
                        vat_id: vat_id.into(),
                        position: position.to_string(),
                    })
                }
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
pub fn read_span_page(db: &Db, cursor: &mut SpanCursor, limit: usize) -> Result<Vec<String>> {
    loop {
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
        let page: Vec<(u64, String)> = query_all(
            db.conn(),
            "SELECT position, item FROM transcriptItems \
             WHERE vatID = ? AND position >= ? AND position < ? ORDER BY position LIMIT ?",
            rusqlite::params![
                cursor.vat_id,
                cursor.next_pos,
                cursor.end_pos,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            "readSpan",
            // Items are stored as JS wrote them; read them as JS would.
            |row| Ok((row.get(0)?, text_lossy(row, 1)?)),
        )?;
        cursor.next_pos = match page.last() {
            Some(&(last, _)) if page.len() == limit => last + 1,
            // A short page reached the end of what is stored in the span.
            _ => cursor.end_pos,
        };
        cursor.items_read += page.len() as u64;
        if !page.is_empty() {
            return Ok(page.into_iter().map(|(_, item)| item).collect());
        }
    }
}

/// A whole span at once (`[...readSpan(vatID, startPos)]`); the count check fails the read.
pub fn read_span(db: &Db, vat_id: &str, start: SpanStart) -> Result<Vec<String>> {
    const PAGE: usize = 1024;
    let mut cursor = begin_read_span(db, vat_id, start)?;
    let mut items = Vec::new();
    loop {
        let page = read_span_page(db, &mut cursor, PAGE)?;
        if page.is_empty() {
            return Ok(items);
        }
        items.extend(page);
    }
}

//! The kvStore rows of an export, in key order, read page by page.
//!
//! swing-store's kvStore is a rowid table with its key index beside it, so reading it in key
//! order through the index costs a b-tree descent into the table for every row: on a
//! million-entry store that descent is most of the export-data phase. An exporter instead reads
//! the table once in its stored order and lets SQLite's sorter put the rows in key order (about
//! twice as fast, with memory bounded by the connection's page cache: the sorter spills runs to
//! temporary files, in `SQLITE_TMPDIR` or the OS temp dir, which SQLite unlinks as it creates
//! them; where they do not fit, the iteration falls back to the index walk, which needs no
//! temporary space). That takes one statement kept running across pages, which borrows the
//! connection it runs on: [`ScanningDb`] keeps the two together. Iterations without the sorted
//! scan (a second one at the same time, or a tool's view over the writer's connection) read
//! pages through the index, each by the last key it yielded.

use rusqlite::{Rows, Statement};
use self_cell::self_cell;

use crate::db::{Db, ReadTuning};
use crate::error::{Error, Result};
use crate::sql::{text_ref, Text};

/// The consensus keys: every `host.` and `local.` key sorts between its prefix and the prefix
/// with its dot bumped to a slash.
macro_rules! consensus_only {
    () => {
        "NOT (key >= 'host.' AND key < 'host/') AND NOT (key >= 'local.' AND key < 'local/')"
    };
}

const SORTED_SQL: &str = concat!(
    "SELECT key, value FROM kvStore NOT INDEXED WHERE ",
    consensus_only!(),
    " ORDER BY key"
);

const BY_KEY_SQL: &str = concat!(
    "SELECT key, value FROM kvStore WHERE key > ? AND ",
    consensus_only!(),
    " ORDER BY key LIMIT ?"
);

/// Receives export-data rows as they are read, each key and value borrowed for the call.
pub trait RowSink {
    fn row(&mut self, key: &[u8], value: &[u8]);

    /// Whether the page has all it can hold, whatever the row count asked for.
    fn is_full(&self) -> bool {
        false
    }
}

/// A running sorted scan and the iteration it belongs to.
pub(crate) struct ActiveScan<'db> {
    running: Option<(u64, Statement<'db>)>,
    last_id: u64,
}

self_cell!(
    /// An exporter's connection, with the sorted scan (at most one) running on it.
    pub(crate) struct ScanningDb {
        owner: Db,
        #[not_covariant]
        dependent: ActiveScan,
    }
);

impl ScanningDb {
    pub(crate) fn over(db: Db) -> ScanningDb {
        ScanningDb::new(db, |_| ActiveScan {
            running: None,
            last_id: 0,
        })
    }

    pub(crate) fn db(&self) -> &Db {
        self.borrow_owner()
    }

    /// Runs `f` with the connection and its scans.
    pub(crate) fn with_scans<T>(
        &mut self,
        f: impl for<'q> FnOnce(&'q Db, &mut ActiveScan<'q>) -> T,
    ) -> T {
        self.with_dependent_mut(|db, scans| f(db, scans))
    }

    /// Stops iteration `scan`'s sorted scan, if it has one running.
    pub(crate) fn release(&mut self, scan: u64) {
        self.with_dependent_mut(|_, scans| scans.release(scan));
    }

    /// Stops any scan, then closes the connection.
    pub(crate) fn close(self) -> Result<()> {
        self.into_owner().close()
    }
}

impl<'db> ActiveScan<'db> {
    fn release(&mut self, scan: u64) {
        if matches!(self.running, Some((id, _)) if id == scan) {
            self.running = None;
        }
    }

    /// Up to `want` more kv rows of the iteration whose sorted scan is `scan` (starting one
    /// when the iteration is at its beginning and no other scan runs). `None` when this
    /// iteration has no sorted scan: the caller reads the page by key instead.
    pub(crate) fn page(
        &mut self,
        db: &'db Db,
        scan: &mut Option<u64>,
        after: &mut Vec<u8>,
        want: usize,
        sink: &mut dyn RowSink,
    ) -> Result<Option<(usize, bool)>> {
        if scan.is_none() {
            if !after.is_empty() || self.running.is_some() {
                return Ok(None);
            }
            let statement = db
                .conn()
                .prepare(SORTED_SQL)
                .map_err(Error::sqlite("getExportData"))?;
            self.last_id += 1;
            self.running = Some((self.last_id, statement));
            *scan = Some(self.last_id);
            db.tune_for(ReadTuning::Sorting)?;
            let mut counted = Counted { sink, rows: 0 };
            let first = self.page(db, scan, after, want, &mut counted);
            // The sorter has sized itself in its first step; the reads after it want the
            // larger cache back.
            db.tune_for(ReadTuning::Scanning)?;
            return match first {
                // The first step sorts everything, spilling to temporary files: where there
                // is no room for them, the index walk needs none. A failure it meets too is
                // reported from there.
                Err(_) if counted.rows == 0 => Ok(None),
                first => first,
            };
        }
        let statement = match self.running.as_mut() {
            Some((id, statement)) if Some(*id) == *scan => statement,
            _ => {
                *scan = None;
                return Ok(None);
            }
        };
        let mut rows = statement.raw_query();
        match take_rows(&mut rows, want, sink, after) {
            Ok((taken, false)) => {
                // Dropping `rows` would reset the statement: forgotten (it owns no memory),
                // the statement stays on the next row for the next page.
                std::mem::forget(rows);
                Ok(Some((taken, false)))
            }
            Ok((taken, true)) => {
                drop(rows);
                self.running = None;
                *scan = None;
                Ok(Some((taken, true)))
            }
            Err(e) => {
                drop(rows);
                self.running = None;
                *scan = None;
                Err(Error::sqlite("getExportData")(e))
            }
        }
    }
}

/// A sink that counts the rows it passes on.
struct Counted<'s> {
    sink: &'s mut dyn RowSink,
    rows: usize,
}

impl RowSink for Counted<'_> {
    fn row(&mut self, key: &[u8], value: &[u8]) {
        self.rows += 1;
        self.sink.row(key, value);
    }

    fn is_full(&self) -> bool {
        self.sink.is_full()
    }
}

/// Moves up to `want` rows of `rows` into `sink` as `kv.` rows (fewer once the sink is full)
/// and, when all went well, `after` to the last key moved; how many, and whether `rows` ran
/// out. After a failure `after` stays where it was: the caller never receives the page.
fn take_rows(
    rows: &mut Rows<'_>,
    want: usize,
    sink: &mut dyn RowSink,
    after: &mut Vec<u8>,
) -> rusqlite::Result<(usize, bool)> {
    let mut export_key = b"kv.".to_vec();
    let mut taken = 0;
    let mut ran_out = false;
    while taken < want && !sink.is_full() {
        let Some(row) = rows.next()? else {
            ran_out = true;
            break;
        };
        let (key, value) = (text_ref(row, 0)?, text_ref(row, 1)?);
        export_key.truncate(3);
        export_key.extend_from_slice(key);
        sink.row(&export_key, value);
        taken += 1;
    }
    if taken > 0 {
        after.clear();
        after.extend_from_slice(&export_key[3..]);
    }
    Ok((taken, ran_out))
}

/// Up to `want` kv rows after key `after`, read through the key index; whether the kvStore
/// ended.
pub(crate) fn page_by_key(
    db: &Db,
    after: &mut Vec<u8>,
    want: usize,
    sink: &mut dyn RowSink,
) -> Result<(usize, bool)> {
    let mut statement = db
        .conn()
        .prepare_cached(BY_KEY_SQL)
        .map_err(Error::sqlite("getExportData"))?;
    let limit = i64::try_from(want).unwrap_or(i64::MAX);
    let mut rows = statement
        .query(rusqlite::params![Text(after), limit])
        .map_err(Error::sqlite("getExportData"))?;
    // The query stops at `want` rows: running out before is the kvStore's end.
    take_rows(&mut rows, want, sink, after).map_err(Error::sqlite("getExportData"))
}

//! The kvStore (swing-store's `makeKVStore`): a block's uncommitted writes held in an
//! [`Overlay`] over the committed rows in SQLite. Keys and values are bytes: what the JS side
//! writes is WTF-8 (a lone surrogate is kept as its 3-byte sequence, as better-sqlite3 stores
//! it), so the rows are byte-identical to swing-store's.
//!
//! Nothing written between two commits is visible to another connection, so holding the
//! block in memory and writing it in the one transaction at commit leaves the database bytes
//! exactly as swing-store would, at a fraction of the cost of one SQLite statement per write
//! (docs/design.md §3). A block that outgrows memory is spilled into the
//! open transaction whenever no savepoint could need to undo it.

mod committed;
pub mod facet;
mod trace;

use std::collections::BTreeMap;

use crate::db::Db;
use crate::error::Result;
use crate::overlay::{Overlay, Write};
use crate::sql::text_bytes;
use committed::Committed;
pub use trace::Trace;

/// swing-store's statement, exactly as it issues it.
pub(crate) const DDL: &[&str] = &["
    CREATE TABLE IF NOT EXISTS kvStore (
      key TEXT,
      value TEXT,
      PRIMARY KEY (key)
    )
  "];

/// The three key namespaces of swing-store's `getKeyType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// Hashed into the crank hash and exported as `kv.<key>`.
    Consensus,
    /// `local.*`: kernel-writable, neither hashed nor exported.
    Local,
    /// `host.*`: host-writable only.
    Host,
}

impl KeyType {
    pub fn of(key: &[u8]) -> KeyType {
        if key.starts_with(b"local.") {
            KeyType::Local
        } else if key.starts_with(b"host.") {
            KeyType::Host
        } else {
            KeyType::Consensus
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Consensus => "consensus",
            KeyType::Local => "local",
            KeyType::Host => "host",
        }
    }
}

/// The kvStore as the current transaction sees it.
#[derive(Debug)]
pub struct Kv {
    overlay: Overlay,
    committed: Committed,
    /// Past this many bytes of uncommitted writes the block goes into the open transaction.
    spill_threshold_bytes: usize,
    trace: Option<Trace>,
}

impl Kv {
    pub fn new(spill_threshold_bytes: usize, trace: Option<Trace>) -> Kv {
        Kv {
            overlay: Overlay::default(),
            committed: Committed::default(),
            spill_threshold_bytes,
            trace,
        }
    }

    pub fn get(&mut self, db: &mut Db, key: &[u8]) -> Result<Option<&[u8]>> {
        self.sync(db)?;
        if let Some(write) = self.overlay.get(key) {
            return Ok(write.as_deref());
        }
        self.committed.get(db.conn(), key)
    }

    /// The smallest key strictly greater than `prev` (UTF-8 byte order), or `None`.
    pub fn next_key(&mut self, db: &mut Db, prev: &[u8]) -> Result<Option<Vec<u8>>> {
        self.sync(db)?;
        let mut after = std::borrow::Cow::Borrowed(prev);
        loop {
            let committed = self.committed.next_key(db.conn(), &after)?;
            match self.overlay.next_after(&after) {
                Some((key, write)) if committed.is_none_or(|c| key <= c) => {
                    if write.is_some() {
                        return Ok(Some(key.to_vec()));
                    }
                    after = std::borrow::Cow::Owned(key.to_vec());
                }
                _ => return Ok(committed.map(<[u8]>::to_vec)),
            }
        }
    }

    /// Stores a set (`Some`) or delete (`None`) in the open transaction; the caller has taken
    /// it (`Db::ensure_txn`).
    pub fn put(&mut self, db: &Db, key: &[u8], write: Write) -> Result<()> {
        if let Some(trace) = &mut self.trace {
            trace.write(key, write.as_deref());
        }
        self.overlay.put(key, write);
        if self.overlay.bytes() > self.spill_threshold_bytes && !self.overlay.has_marks() {
            self.spill(db)?;
        }
        Ok(())
    }

    /// Starts a savepoint of the overlay; see [`Overlay::mark`].
    pub fn mark(&mut self) -> usize {
        self.overlay.mark()
    }

    /// Undoes the overlay back to `mark`, leaving `remaining_marks` savepoints alive.
    pub fn undo_to(&mut self, mark: usize, remaining_marks: usize) {
        self.overlay.undo_to(mark, remaining_marks);
    }

    /// Whether a savepoint could still undo what the overlay holds.
    pub fn has_marks(&self) -> bool {
        self.overlay.has_marks()
    }

    /// Every savepoint is gone (released or committed).
    pub fn release_marks(&mut self) {
        self.overlay.set_marks(0);
    }

    /// Moves the overlay into SQLite inside the open transaction. On failure the overlay is
    /// kept whole, so reads stay right and a retry rewrites the same rows.
    pub fn spill(&mut self, db: &Db) -> Result<()> {
        if self.overlay.is_empty() {
            return Ok(());
        }
        let writes = self.overlay.drain();
        let rows = writes.iter().map(|(k, w)| (k.as_slice(), w.as_deref()));
        if let Err(e) = self.committed.apply(db.conn(), rows) {
            for (key, write) in writes {
                self.overlay.put(&key, write);
            }
            return Err(e);
        }
        self.committed.absorb(writes);
        Ok(())
    }

    /// A bulk load (an import) straight into the open transaction, around the overlay and
    /// the caches: a million rows go in as fast as SQLite takes them, and what was cached
    /// about SQLite starts over. The overlay holds nothing then (an import writes nothing
    /// else), so no read could see stale rows through it.
    pub fn load(&mut self, db: &Db, rows: &[(&[u8], Option<&[u8]>)]) -> Result<()> {
        debug_assert!(
            self.overlay.is_empty(),
            "a bulk load around uncommitted writes"
        );
        if let Some(trace) = &mut self.trace {
            for &(key, value) in rows {
                trace.write(key, value);
            }
        }
        self.committed.forget();
        self.committed.apply(db.conn(), rows.iter().copied())
    }

    /// The trace file catches up with the block (at commit and close).
    pub fn flush_trace(&mut self) -> Result<()> {
        self.trace.as_mut().map_or(Ok(()), Trace::flush)
    }

    fn sync(&mut self, db: &mut Db) -> Result<()> {
        if db.changed_by_others()? {
            self.committed.forget();
        }
        Ok(())
    }

    /// Every entry in key order, as the current transaction sees them.
    pub fn entries(&mut self, db: &mut Db) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.sync(db)?;
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = crate::sql::query_all(
            db.conn(),
            "SELECT key, value FROM kvStore ORDER BY key",
            [],
            "kvStore dump",
            |row| Ok((text_bytes(row, 0)?, text_bytes(row, 1)?)),
        )?
        .into_iter()
        .collect();
        for (key, write) in self.overlay.iter() {
            match write {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged.into_iter().collect())
    }
}

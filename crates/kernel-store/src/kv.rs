//! The kvStore's data: a block's uncommitted writes held in an [`Overlay`] over the committed
//! rows in SQLite, with a bounded cache of committed values and a window of committed keys for
//! `getNextKey` scans. Keys and values are bytes: what the JS side writes is WTF-8 (a lone
//! surrogate is kept as its 3-byte sequence, as better-sqlite3 stores it), so the rows are
//! byte-identical to swing-store's. Nothing written between two commits is visible to another connection,
//! so holding the block in memory and writing it in the one transaction at commit leaves the
//! database bytes exactly as swing-store would (see shared/spec/performance.md).

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::overlay::{Overlay, Write};

/// Binds bytes as SQLite TEXT (not BLOB), as better-sqlite3 binds a JS string.
struct Text<'a>(&'a [u8]);

impl rusqlite::ToSql for Text<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(
            rusqlite::types::ValueRef::Text(self.0),
        ))
    }
}

/// A TEXT column's bytes, exactly as stored.
fn text_column(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Vec<u8>> {
    match row.get_ref(idx)? {
        rusqlite::types::ValueRef::Text(bytes) | rusqlite::types::ValueRef::Blob(bytes) => {
            Ok(bytes.to_vec())
        }
        other => Err(rusqlite::Error::InvalidColumnType(
            idx,
            "kvStore".into(),
            other.data_type(),
        )),
    }
}

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

/// Committed values kept in memory; past this many bytes the cache starts over.
const VALUE_CACHE_LIMIT_BYTES: usize = 128 << 20;
/// Committed keys fetched by a `getNextKey` that starts a new scan: a lone lookup stays cheap.
const SCAN_WINDOW_FIRST: usize = 4;
/// The window doubles while a scan keeps walking, up to this many keys per query.
const SCAN_WINDOW_MAX: usize = 256;

/// The committed keys strictly after `after`, in order; `complete` when no key follows the last.
#[derive(Debug)]
struct ScanWindow {
    after: Vec<u8>,
    keys: Vec<Vec<u8>>,
    complete: bool,
    /// Where the last answer was found: a scan asks for the key after it next.
    cursor: std::cell::Cell<usize>,
}

impl ScanWindow {
    /// Whether `prev` walks off the end of this window: the scan continues, so fetch more.
    fn continued_by(&self, prev: &[u8]) -> bool {
        self.keys.last().is_some_and(|last| prev == last.as_slice())
    }
}

impl ScanWindow {
    /// Where the first committed key after `prev` is in this window: `Some(Some(i))`,
    /// `Some(None)` when there is none, `None` when this window cannot tell.
    fn locate(&self, prev: &[u8]) -> Option<Option<usize>> {
        if prev < self.after.as_slice() {
            return None;
        }
        let hint = self.cursor.get();
        let idx = match self.keys.get(hint) {
            Some(k) if k.as_slice() == prev => hint + 1,
            _ => self.keys.partition_point(|k| k.as_slice() <= prev),
        };
        if idx < self.keys.len() {
            self.cursor.set(idx);
            Some(Some(idx))
        } else if self.complete {
            Some(None)
        } else {
            None
        }
    }
}

/// What SQLite holds (committed, or spilled into the open transaction), with read caches.
#[derive(Debug, Default)]
struct Committed {
    values: HashMap<Vec<u8>, Option<Vec<u8>>>,
    value_bytes: usize,
    window: Option<ScanWindow>,
}

impl Committed {
    fn remember(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        if self.value_bytes > VALUE_CACHE_LIMIT_BYTES {
            self.forget();
        }
        let key_len = key.len();
        self.value_bytes += key_len + value.as_ref().map_or(0, Vec::len);
        // A key written again replaces its cached value: only the difference is new.
        if let Some(old) = self.values.insert(key, value) {
            self.value_bytes -= key_len + old.map_or(0, |v| v.len());
        }
    }

    fn drop_key(&mut self, key: &[u8]) {
        if let Some(value) = self.values.remove(key) {
            self.value_bytes -= key.len() + value.map_or(0, |v| v.len());
        }
    }

    fn forget(&mut self) {
        self.values.clear();
        self.value_bytes = 0;
        self.window = None;
    }

    fn get(&mut self, conn: &Connection, key: &[u8]) -> Result<Option<&[u8]>> {
        if !self.values.contains_key(key) {
            let value: Option<Vec<u8>> = conn
                .prepare_cached("SELECT value FROM kvStore WHERE key = ?")
                .and_then(|mut stmt| {
                    stmt.query_row([Text(key)], |row| text_column(row, 0))
                        .optional()
                })
                .map_err(Error::sqlite("kvStore get"))?;
            self.remember(key.to_vec(), value);
        }
        Ok(self.values.get(key).and_then(|v| v.as_deref()))
    }

    /// The first committed key after `prev`. Keys come from the primary-key index alone (no
    /// row lookups), a few at a time for a lone lookup and more as a scan keeps walking.
    fn next_key(&mut self, conn: &Connection, prev: &[u8]) -> Result<Option<&[u8]>> {
        let limit = match &self.window {
            Some(window) => match window.locate(prev) {
                Some(found) => {
                    return Ok(found.map(|i| {
                        self.window
                            .as_ref()
                            .map_or(&[][..], |w| w.keys[i].as_slice())
                    }))
                }
                None if window.continued_by(prev) => (window.keys.len() * 2).min(SCAN_WINDOW_MAX),
                None => SCAN_WINDOW_FIRST,
            },
            None => SCAN_WINDOW_FIRST,
        };
        let keys: Vec<Vec<u8>> = conn
            .prepare_cached("SELECT key FROM kvStore WHERE key > ? ORDER BY key LIMIT ?")
            .and_then(|mut stmt| {
                stmt.query_map(rusqlite::params![Text(prev), limit as i64], |row| {
                    text_column(row, 0)
                })?
                .collect()
            })
            .map_err(Error::sqlite("kvStore getNextKey"))?;
        let complete = keys.len() < limit;
        let window = self.window.insert(ScanWindow {
            after: prev.to_vec(),
            keys,
            complete,
            cursor: Default::default(),
        });
        Ok(window
            .locate(prev)
            .flatten()
            .map(|i| window.keys[i].as_slice()))
    }

    /// Writes `writes` into SQLite (inside the caller's open transaction).
    fn apply(&mut self, conn: &Connection, writes: &BTreeMap<Vec<u8>, Write>) -> Result<()> {
        let mut upsert = conn
            .prepare_cached(
                "INSERT INTO kvStore (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
            )
            .map_err(Error::sqlite("kvStore set"))?;
        let mut delete = conn
            .prepare_cached("DELETE FROM kvStore WHERE key = ?")
            .map_err(Error::sqlite("kvStore delete"))?;
        for (key, write) in writes {
            match write {
                Some(value) => upsert
                    .execute([Text(key), Text(value)])
                    .map_err(Error::sqlite("kvStore set"))?,
                None => delete
                    .execute([Text(key)])
                    .map_err(Error::sqlite("kvStore delete"))?,
            };
        }
        Ok(())
    }
}

/// The kvStore contents as the current transaction sees them.
#[derive(Debug, Default)]
pub struct Kv {
    overlay: Overlay,
    committed: Committed,
}

impl Kv {
    pub fn get(&mut self, conn: &Connection, key: &[u8]) -> Result<Option<&[u8]>> {
        if let Some(write) = self.overlay.get(key) {
            return Ok(write.as_deref());
        }
        self.committed.get(conn, key)
    }

    /// The smallest key strictly greater than `prev` (UTF-8 byte order), or `None`.
    pub fn next_key(&mut self, conn: &Connection, prev: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut after = std::borrow::Cow::Borrowed(prev);
        loop {
            let committed = self.committed.next_key(conn, &after)?;
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

    pub fn put(&mut self, key: &[u8], write: Write) {
        self.overlay.put(key, write);
    }

    pub fn overlay_mut(&mut self) -> &mut Overlay {
        &mut self.overlay
    }

    pub fn overlay_bytes(&self) -> usize {
        self.overlay.bytes()
    }

    /// Moves the overlay into SQLite inside the open transaction. On failure the overlay is
    /// kept whole, so reads stay right and a retry rewrites the same rows.
    pub fn spill(&mut self, conn: &Connection) -> Result<()> {
        if self.overlay.is_empty() {
            return Ok(());
        }
        let writes = self.overlay.drain();
        if let Err(e) = self.committed.apply(conn, &writes) {
            for (key, write) in writes {
                self.overlay.put(&key, write);
            }
            return Err(e);
        }
        self.committed.window = None;
        for (key, write) in writes {
            match write {
                Some(value) => self.committed.remember(key, Some(value)),
                // A deleted key is not kept: the cache holds what the block still reads, and
                // a long-running kernel deletes far more keys than it ever reads back.
                None => self.committed.drop_key(&key),
            }
        }
        Ok(())
    }

    /// Forgets what is cached about SQLite: another connection has committed.
    pub fn forget_committed(&mut self) {
        self.committed.forget();
    }

    /// Every entry in key order, as the current transaction sees them.
    pub fn entries(&self, conn: &Connection) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = conn
            .prepare("SELECT key, value FROM kvStore ORDER BY key")
            .and_then(|mut stmt| {
                stmt.query_map([], |row| Ok((text_column(row, 0)?, text_column(row, 1)?)))?
                    .collect()
            })
            .map_err(Error::sqlite("kvStore dump"))?;
        for (key, write) in self.overlay.iter() {
            match write {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::Committed;

    #[test]
    fn rewriting_a_cached_key_counts_only_its_new_size() {
        let mut committed = Committed::default();
        for round in 0..1000 {
            committed.remember(
                b"key".to_vec(),
                Some(format!("value {round:04}").into_bytes()),
            );
        }
        committed.remember(b"gone".to_vec(), None);
        assert_eq!(
            committed.value_bytes,
            b"key".len() + b"value 0999".len() + b"gone".len()
        );
        committed.drop_key(b"key");
        committed.drop_key(b"gone");
        assert_eq!(committed.value_bytes, 0);
    }
}

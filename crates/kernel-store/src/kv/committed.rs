//! What SQLite holds of the kvStore (committed, or spilled into the open transaction), with
//! read caches: a bounded cache of values and a window of keys for `getNextKey` scans.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::overlay::Write;
use crate::sql::{text_bytes, Text};

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
pub(super) struct Committed {
    values: HashMap<Vec<u8>, Option<Vec<u8>>>,
    value_bytes: usize,
    window: Option<ScanWindow>,
}

impl Committed {
    pub(super) fn remember(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
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

    pub(super) fn drop_key(&mut self, key: &[u8]) {
        if let Some(value) = self.values.remove(key) {
            self.value_bytes -= key.len() + value.map_or(0, |v| v.len());
        }
    }

    pub(super) fn forget(&mut self) {
        self.values.clear();
        self.value_bytes = 0;
        self.window = None;
    }

    pub(super) fn get(&mut self, conn: &Connection, key: &[u8]) -> Result<Option<&[u8]>> {
        if !self.values.contains_key(key) {
            let value: Option<Vec<u8>> = conn
                .prepare_cached("SELECT value FROM kvStore WHERE key = ?")
                .and_then(|mut stmt| {
                    stmt.query_row([Text(key)], |row| text_bytes(row, 0))
                        .optional()
                })
                .map_err(Error::sqlite("kvStore get"))?;
            self.remember(key.to_vec(), value);
        }
        Ok(self.values.get(key).and_then(|v| v.as_deref()))
    }

    /// The first committed key after `prev`. Keys come from the primary-key index alone (no
    /// row lookups), a few at a time for a lone lookup and more as a scan keeps walking.
    pub(super) fn next_key(&mut self, conn: &Connection, prev: &[u8]) -> Result<Option<&[u8]>> {
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
                    text_bytes(row, 0)
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

    /// Takes in what was just written to SQLite: a scan window may miss the new keys, and a
    /// deleted key is not kept (the cache holds what the block still reads, and a
    /// long-running kernel deletes far more keys than it ever reads back).
    pub(super) fn absorb(&mut self, writes: BTreeMap<Vec<u8>, Write>) {
        self.window = None;
        for (key, write) in writes {
            match write {
                Some(value) => self.remember(key, Some(value)),
                None => self.drop_key(&key),
            }
        }
    }

    /// Writes `writes` into SQLite (inside the caller's open transaction).
    pub(super) fn apply<'w>(
        &mut self,
        conn: &Connection,
        writes: impl IntoIterator<Item = (&'w [u8], Option<&'w [u8]>)>,
    ) -> Result<()> {
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

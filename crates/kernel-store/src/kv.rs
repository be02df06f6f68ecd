//! The kvStore's data: a block's uncommitted writes held in an [`Overlay`] over the committed
//! rows in SQLite, with a bounded cache of committed values and a window of committed keys for
//! `getNextKey` scans. Nothing written between two commits is visible to another connection,
//! so holding the block in memory and writing it in the one transaction at commit leaves the
//! database bytes exactly as swing-store would (see shared/spec/performance.md).

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::overlay::{Overlay, Write};

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
    pub fn of(key: &str) -> KeyType {
        if key.starts_with("local.") {
            KeyType::Local
        } else if key.starts_with("host.") {
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
    after: String,
    keys: Vec<String>,
    complete: bool,
}

impl ScanWindow {
    /// Whether `prev` walks off the end of this window: the scan continues, so fetch more.
    fn continued_by(&self, prev: &str) -> bool {
        self.keys.last().is_some_and(|last| prev == last.as_str())
    }
}

impl ScanWindow {
    /// The first committed key after `prev`, if this window can tell.
    fn answer(&self, prev: &str) -> Option<Option<&str>> {
        if prev < self.after.as_str() {
            return None;
        }
        let idx = self.keys.partition_point(|k| k.as_str() <= prev);
        match self.keys.get(idx) {
            Some(k) => Some(Some(k.as_str())),
            None if self.complete => Some(None),
            None => None,
        }
    }
}

/// What SQLite holds (committed, or spilled into the open transaction), with read caches.
#[derive(Debug, Default)]
struct Committed {
    values: HashMap<String, Option<String>>,
    value_bytes: usize,
    window: Option<ScanWindow>,
}

impl Committed {
    fn remember(&mut self, key: String, value: Option<String>) {
        if self.value_bytes > VALUE_CACHE_LIMIT_BYTES {
            self.values.clear();
            self.value_bytes = 0;
        }
        self.value_bytes += key.len() + value.as_ref().map_or(0, String::len);
        self.values.insert(key, value);
    }

    fn get(&mut self, conn: &Connection, key: &str) -> Result<Option<&str>> {
        if !self.values.contains_key(key) {
            let value: Option<String> = conn
                .prepare_cached("SELECT value FROM kvStore WHERE key = ?")
                .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)).optional())
                .map_err(Error::sqlite("kvStore get"))?;
            self.remember(key.to_owned(), value);
        }
        Ok(self.values.get(key).and_then(|v| v.as_deref()))
    }

    /// The first committed key after `prev`. Keys come from the primary-key index alone (no
    /// row lookups), a few at a time for a lone lookup and more as a scan keeps walking.
    fn next_key(&mut self, conn: &Connection, prev: &str) -> Result<Option<&str>> {
        let limit = match &self.window {
            Some(window) if window.answer(prev).is_some() => None,
            Some(window) if window.continued_by(prev) => Some((window.keys.len() * 2).min(SCAN_WINDOW_MAX)),
            _ => Some(SCAN_WINDOW_FIRST),
        };
        if let Some(limit) = limit {
            let keys: Vec<String> = conn
                .prepare_cached("SELECT key FROM kvStore WHERE key > ? ORDER BY key LIMIT ?")
                .and_then(|mut stmt| stmt.query_map(rusqlite::params![prev, limit as i64], |row| row.get(0))?.collect())
                .map_err(Error::sqlite("kvStore getNextKey"))?;
            let complete = keys.len() < limit;
            self.window = Some(ScanWindow { after: prev.to_owned(), keys, complete });
        }
        Ok(self.window.as_ref().and_then(|w| w.answer(prev)).flatten())
    }

    /// Writes `writes` into SQLite (inside the caller's open transaction).
    fn apply(&mut self, conn: &Connection, writes: &BTreeMap<String, Write>) -> Result<()> {
        let mut upsert = conn
            .prepare_cached(
                "INSERT INTO kvStore (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
            )
            .map_err(Error::sqlite("kvStore set"))?;
        let mut delete =
            conn.prepare_cached("DELETE FROM kvStore WHERE key = ?").map_err(Error::sqlite("kvStore delete"))?;
        for (key, write) in writes {
            match write {
                Some(value) => upsert.execute([key, value]).map_err(Error::sqlite("kvStore set"))?,
                None => delete.execute([key]).map_err(Error::sqlite("kvStore delete"))?,
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
    pub fn get(&mut self, conn: &Connection, key: &str) -> Result<Option<&str>> {
        if let Some(write) = self.overlay.get(key) {
            return Ok(write.as_deref());
        }
        self.committed.get(conn, key)
    }

    /// The smallest key strictly greater than `prev` (UTF-8 byte order), or `None`.
    pub fn next_key(&mut self, conn: &Connection, prev: &str) -> Result<Option<String>> {
        let mut after = std::borrow::Cow::Borrowed(prev);
        loop {
            let committed = self.committed.next_key(conn, &after)?;
            match self.overlay.next_after(&after) {
                Some((key, write)) if committed.is_none_or(|c| key <= c) => {
                    if write.is_some() {
                        return Ok(Some(key.to_owned()));
                    }
                    after = std::borrow::Cow::Owned(key.to_owned());
                }
                _ => return Ok(committed.map(str::to_owned)),
            }
        }
    }

    pub fn put(&mut self, key: &str, write: Write) {
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
            self.committed.remember(key, write);
        }
        Ok(())
    }

    /// Every entry in key order, as the current transaction sees them.
    pub fn entries(&self, conn: &Connection) -> Result<Vec<(String, String)>> {
        let mut merged: BTreeMap<String, String> = conn
            .prepare("SELECT key, value FROM kvStore ORDER BY key")
            .and_then(|mut stmt| stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
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

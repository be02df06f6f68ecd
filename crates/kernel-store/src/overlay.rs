//! An ordered map of a block's uncommitted writes whose changes can be undone back to any
//! savepoint mark. The kvStore keeps its memtable in one and the pending export notes in
//! another, so a crank rollback restores both exactly, as SQLite's `ROLLBACK TO` restores
//! swing-store's rows.

use std::collections::BTreeMap;

/// A write recorded in the overlay: `Some(value)` for a set, `None` for a delete (tombstone).
pub type Write = Option<Vec<u8>>;

#[derive(Debug, Default)]
pub struct Overlay {
    entries: BTreeMap<Vec<u8>, Write>,
    /// For each change since the oldest live mark: the key and what the overlay held before.
    undo: Vec<(Vec<u8>, Option<Write>)>,
    /// Number of live marks; the undo log is kept only while one exists.
    marks: usize,
    /// Bytes of keys and values held, to decide when to spill to SQLite.
    bytes: usize,
}

impl Overlay {
    pub fn get(&self, key: &[u8]) -> Option<&Write> {
        self.entries.get(key)
    }

    pub fn put(&mut self, key: &[u8], write: Write) {
        let added = key.len() + write.as_ref().map_or(0, Vec::len);
        match self.entries.get_mut(key) {
            Some(slot) => {
                self.bytes = self.bytes + added - key.len() - slot.as_ref().map_or(0, Vec::len);
                let previous = std::mem::replace(slot, write);
                if self.marks > 0 {
                    self.undo.push((key.to_owned(), Some(previous)));
                }
            }
            None => {
                self.bytes += added;
                self.entries.insert(key.to_owned(), write);
                if self.marks > 0 {
                    self.undo.push((key.to_owned(), None));
                }
            }
        }
    }

    /// The smallest key strictly after `after` that the overlay holds (set or deleted).
    pub fn next_after(&self, after: &[u8]) -> Option<(&[u8], &Write)> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.entries
            .range::<[u8], _>((Excluded(after), Unbounded))
            .next()
            .map(|(k, v)| (k.as_slice(), v))
    }

    /// Starts a savepoint; returns the mark to hand back to `undo_to`.
    pub fn mark(&mut self) -> usize {
        self.marks += 1;
        self.undo.len()
    }

    /// Restores the state at `mark` and drops that mark and every later one.
    pub fn undo_to(&mut self, mark: usize, remaining_marks: usize) {
        while self.undo.len() > mark {
            let (key, previous) = self.undo.pop().expect("undo log is longer than the mark");
            let restored_bytes = previous
                .as_ref()
                .map_or(0, |w| key.len() + w.as_ref().map_or(0, Vec::len));
            let removed = match previous {
                Some(write) => self.entries.insert(key.clone(), write),
                None => self.entries.remove(&key),
            };
            let removed_bytes = removed.map_or(0, |w| key.len() + w.map_or(0, |v| v.len()));
            self.bytes = self.bytes + restored_bytes - removed_bytes;
        }
        self.set_marks(remaining_marks);
    }

    /// Forgets marks without undoing anything (a savepoint release).
    pub fn set_marks(&mut self, remaining_marks: usize) {
        self.marks = remaining_marks;
        if remaining_marks == 0 {
            self.undo.clear();
        }
    }

    pub fn has_marks(&self) -> bool {
        self.marks > 0
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Empties the overlay, handing over its entries in key order.
    pub fn drain(&mut self) -> BTreeMap<Vec<u8>, Write> {
        debug_assert!(
            !self.has_marks(),
            "draining an overlay with live savepoints"
        );
        self.bytes = 0;
        self.undo.clear();
        std::mem::take(&mut self.entries)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Write)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(o: &Overlay) -> Vec<(Vec<u8>, Write)> {
        o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    #[test]
    fn undo_restores_every_write_since_the_mark() {
        let mut o = Overlay::default();
        o.put(b"a", Some(b"1".to_vec()));
        o.put(b"b", None);
        let before = snapshot(&o);
        let bytes = o.bytes();
        let mark = o.mark();
        o.put(b"a", Some(b"2".to_vec()));
        o.put(b"b", Some(b"x".to_vec()));
        o.put(b"c", Some(b"3".to_vec()));
        o.put(b"a", None);
        o.undo_to(mark, 0);
        assert_eq!(snapshot(&o), before);
        assert_eq!(o.bytes(), bytes);
        assert!(!o.has_marks());
    }

    #[test]
    fn nested_marks_undo_only_their_own_writes() {
        let mut o = Overlay::default();
        let outer = o.mark();
        o.put(b"a", Some(b"1".to_vec()));
        let inner = o.mark();
        o.put(b"a", Some(b"2".to_vec()));
        o.undo_to(inner, 1);
        assert_eq!(o.get(b"a"), Some(&Some(b"1".to_vec())));
        o.undo_to(outer, 0);
        assert_eq!(o.get(b"a"), None);
    }

    #[test]
    fn writes_without_a_mark_keep_no_undo_log() {
        let mut o = Overlay::default();
        o.put(b"a", Some(b"1".to_vec()));
        assert!(o.undo.is_empty());
    }

    #[test]
    fn next_after_is_strict_and_byte_ordered() {
        let mut o = Overlay::default();
        o.put(b"b", Some(Vec::new()));
        o.put("é".as_bytes(), None);
        o.put(b"z", Some(Vec::new()));
        let next = |after: &[u8]| o.next_after(after).map(|(k, _)| k.to_vec());
        assert_eq!(next(b"a"), Some(b"b".to_vec()));
        assert_eq!(next(b"b"), Some(b"z".to_vec()));
        assert_eq!(next(b"z"), Some("é".as_bytes().to_vec()));
        assert_eq!(next("é".as_bytes()), None);
    }
}

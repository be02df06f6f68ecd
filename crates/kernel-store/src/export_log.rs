//! Export-data notes: what each store tells the host's `exportCallback` about the
//! consensus data it changed (swing-store's `noteExport`). Notes are the net change since the
//! last delivery, keyed and sorted as swing-store sorts its `pendingExports` table, and they
//! roll back with a crank's savepoints exactly as that table's rows do.
//!
//! swing-store keeps its notes in the `pendingExports` table; this store keeps them in
//! memory, but creates the (always empty) table so the schema is the same.

use crate::error::Result;
use crate::overlay::Overlay;

/// One export-data record: `[key, value]` (WTF-8), with `None` for a deletion.
pub type ExportRow = (Vec<u8>, Option<Vec<u8>>);

/// swing-store's first statement, exactly as it issues it.
pub(crate) const DDL: &[&str] = &["
    CREATE TABLE IF NOT EXISTS pendingExports (
      key TEXT,
      value TEXT,
      PRIMARY KEY (key)
    )
  "];

/// The pending notes, kept only when the host asked for them.
#[derive(Debug, Default)]
pub struct ExportLog {
    pending: Option<Overlay>,
}

impl ExportLog {
    /// A log that keeps notes (`enabled`) or drops them unread.
    pub fn new(enabled: bool) -> ExportLog {
        ExportLog {
            pending: enabled.then(Overlay::default),
        }
    }

    /// swing-store's `noteExport(key, value)`; `None` notes a deletion.
    pub fn note(&mut self, key: &str, value: Option<&str>) {
        if let Some(pending) = &mut self.pending {
            pending.put(key.as_bytes(), value.map(|v| v.as_bytes().to_vec()));
        }
    }

    /// `noteExport('kv.' + key, value)` for a kernel-facet kvStore write.
    pub fn note_kv(&mut self, key: &[u8], value: Option<&[u8]>) {
        if let Some(pending) = &mut self.pending {
            let mut export_key = Vec::with_capacity(key.len() + 3);
            export_key.extend_from_slice(b"kv.");
            export_key.extend_from_slice(key);
            pending.put(&export_key, value.map(<[u8]>::to_vec));
        }
    }

    /// Marks a savepoint; `None` when no notes are kept.
    pub fn mark(&mut self) -> Option<usize> {
        self.pending.as_mut().map(Overlay::mark)
    }

    /// Undoes every note since `mark`, leaving `remaining_marks` savepoints alive.
    pub fn undo_to(&mut self, mark: Option<usize>, remaining_marks: usize) {
        if let (Some(pending), Some(mark)) = (&mut self.pending, mark) {
            pending.undo_to(mark, remaining_marks);
        }
    }

    /// swing-store's `flushPendingExports`: hands over the sorted net changes, if any. The
    /// caller has released every savepoint (a crank's end or a commit).
    pub fn flush(&mut self, deliver: &mut dyn FnMut(Vec<ExportRow>) -> Result<()>) -> Result<()> {
        let Some(pending) = &mut self.pending else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        pending.set_marks(0);
        deliver(pending.drain().into_iter().collect())
    }
}

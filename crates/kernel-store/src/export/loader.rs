//! An import's export data, written on a thread of its own. Reading the export (JSON lines,
//! in JS) and writing its rows (SQLite) each take about half of the export-data phase; with
//! the store on this thread for that phase they run on two cores at once. The store comes
//! back when the phase ends: at the first artifact, or when the import finishes or is
//! abandoned.
//!
//! Every row is checked before its page is handed over, so a bad row still fails the call
//! that carries it and nothing of its page is written. What can only fail while writing (the
//! disk, SQLite) is reported when the store comes back.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use super::metadata::PendingRecords;
use crate::error::{Error, Result};
use crate::export_log::ExportRow;
use crate::kv::facet::Facet;
use crate::store::KernelStore;

/// Pages waiting for the writer: enough to keep it busy while the next page is read, few
/// enough to bound the memory a fast reader can fill.
const QUEUED_PAGES: usize = 2;

pub(super) struct Loader {
    pages: SyncSender<Vec<ExportRow>>,
    writer: JoinHandle<(KernelStore, Result<()>)>,
}

impl Loader {
    /// Moves `store` to a new writer thread, which writes each page sent to it: `kv.*` rows
    /// into the kvStore, every other row into `records`.
    pub fn start(store: KernelStore, records: PendingRecords) -> Loader {
        Loader::start_writing(store, move |store, page| write_page(store, &records, page))
    }

    /// [`Loader::start`] with the page writer given: the tests give one that fails as only a
    /// bug could.
    fn start_writing<W>(store: KernelStore, mut write: W) -> Loader
    where
        W: FnMut(&mut KernelStore, &[ExportRow]) -> Result<()> + Send + 'static,
    {
        let (pages, queue) = sync_channel::<Vec<ExportRow>>(QUEUED_PAGES);
        let writer = std::thread::spawn(move || {
            let mut store = store;
            let mut outcome = Ok(());
            for page in queue {
                outcome = write(&mut store, &page);
                if outcome.is_err() {
                    break;
                }
            }
            (store, outcome)
        });
        Loader { pages, writer }
    }

    /// Checks every row of `page`, then hands it to the writer. A page the writer cannot take
    /// any more (it failed) is dropped: its failure is reported by [`Loader::land`].
    pub fn send(&self, page: Vec<ExportRow>) -> Result<()> {
        for (key, _) in &page {
            if let Some(kv_key) = key.strip_prefix(b"kv.") {
                Facet::Kernel.check_writable(kv_key)?;
            }
        }
        let _ = self.pages.send(page);
        Ok(())
    }

    /// Waits for the writer to finish what it was sent: the store, and how the writing went.
    pub fn land(self) -> (Option<KernelStore>, Result<()>) {
        drop(self.pages);
        match self.writer.join() {
            Ok((store, outcome)) => (Some(store), outcome),
            Err(_) => (
                None,
                Err(Error::ThreadStopped {
                    what: "export-data writer",
                }),
            ),
        }
    }
}

fn write_page(store: &mut KernelStore, records: &PendingRecords, page: &[ExportRow]) -> Result<()> {
    let mut kv = Vec::with_capacity(page.len());
    for (key, value) in page {
        match key.strip_prefix(b"kv.") {
            Some(kv_key) => kv.push((kv_key, value.as_deref())),
            None => {
                let key = String::from_utf8_lossy(key);
                let value = value.as_deref().map(String::from_utf8_lossy);
                records.put(store.db_mut().ensure_txn()?, &key, value.as_deref())?;
            }
        }
    }
    store.load_kv(&kv)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::OpenOptions;

    /// A loader whose writer thread panics at its first page, as a bug in the store would.
    pub fn panicking_loader() -> Loader {
        let store = KernelStore::open(None, OpenOptions::default()).unwrap();
        let loader = Loader::start_writing(store, |_, _| panic!("a bug in the page writer"));
        loader
            .send(vec![(b"kv.a".to_vec(), Some(b"1".to_vec()))])
            .unwrap();
        loader
    }

    #[test]
    fn a_writer_that_panics_lands_without_the_store_and_with_an_internal_error() {
        let (store, outcome) = panicking_loader().land();
        assert!(store.is_none());
        let err = outcome.unwrap_err();
        assert_eq!(err.code(), "ERR_INTERNAL");
        assert!(err.to_string().contains("export-data writer"), "{err}");
    }
}

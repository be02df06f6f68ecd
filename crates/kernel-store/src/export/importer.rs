//! swing-store's `importSwingStore`: a new store built from an exporter's data and artifacts,
//! how a node joins a running chain by state sync, restores genesis, or rebuilds a pruned
//! store.
//!
//! The exporter may be anything (ours, swing-store's, a host's own reading of files), so the
//! importer trusts nothing it is handed: kvStore rows go in as the kernel facet would write
//! them; artifact records are collected, then installed with swing-store's checks against
//! their keys; each artifact is checked against its record (transcripts by their hash chain
//! and length, snapshots by their hash, bundles by their ID) as it streams in; and the store
//! must be complete for the artifact mode before it is handed back.
//!
//! On disk, everything is written into a staged file that only becomes the directory's
//! `swingstore.sqlite` when the host first commits: a failed import (or a crash at any point
//! before that commit) leaves no file that opens as a store, let alone one that looks
//! complete.

use std::collections::{HashSet, VecDeque};
use std::path::Path;

use super::loader::Loader;
use super::metadata::PendingRecords;
use super::{ArtifactImport, ArtifactMode, Landing};
use crate::error::{Error, Result};
use crate::export_log::ExportRow;
use crate::json::quote;
use crate::kv::Trace;
use crate::snapshot::artifacts::SnapshotPopulate;
use crate::store::{KernelStore, OpenOptions, StoreLocation};

/// How many collected records are installed per query.
const RECORD_PAGE: usize = 1024;

/// Snapshots compressing in the background while the next artifacts arrive: one per core of
/// the machines a node runs on, bounding the memory their queued bytes and output take.
const COMPRESSING_AT_ONCE: usize = 2;

pub struct Importer {
    home: Home,
    mode: ArtifactMode,
    records: Option<PendingRecords>,
    /// Artifact names already offered: a second offer of one is the exporter's fault.
    offered: HashSet<String>,
    current: Option<ArtifactImport>,
    /// Checked snapshots still compressing, oldest first.
    compressing: VecDeque<SnapshotPopulate>,
}

/// Where the store being built is (boxed: the loader is a handle, the store is not).
enum Home {
    Here(Box<KernelStore>),
    /// With the thread writing the export data (see `loader`).
    Loading(Loader),
    /// Back from a writer that failed: missing rows, so only closing it is left.
    Failed(Box<KernelStore>),
    /// Its writer thread stopped and took it along.
    Lost,
}

impl Home {
    /// The store, brought back from the export-data writer if it has it. The writer's failure
    /// is reported once, and every later call fails too: the store lacks rows.
    fn store(&mut self) -> Result<&mut KernelStore> {
        if let Home::Loading(_) = self {
            if let Home::Loading(loader) = std::mem::replace(self, Home::Lost) {
                let (store, outcome) = loader.land();
                if let Some(store) = store {
                    let store = Box::new(store);
                    *self = match outcome {
                        Ok(()) => Home::Here(store),
                        Err(_) => Home::Failed(store),
                    };
                }
                outcome?;
            }
        }
        match self {
            Home::Here(store) => Ok(store),
            Home::Failed(_) => Err(Error::ImportFailed),
            Home::Loading(_) | Home::Lost => Err(Error::ThreadStopped {
                what: "export-data writer",
            }),
        }
    }

    /// The store, to keep or close, once the writer has given it back.
    fn into_store(mut self) -> (Option<KernelStore>, Result<()>) {
        let outcome = self.store().map(drop);
        match self {
            Home::Here(store) | Home::Failed(store) => (Some(*store), outcome),
            Home::Loading(_) | Home::Lost => (None, outcome),
        }
    }
}

impl Importer {
    /// Starts an import into `dir` (emptied first, as swing-store's forced reset does), or in
    /// memory when `dir` is `None`. `options` are the store's: on disk it is built without a
    /// journal (its file is not the store until the first commit, so a crash loses nothing
    /// that was a store), and runs with `options.durability` from that commit on.
    pub fn create(
        dir: Option<&Path>,
        mode: ArtifactMode,
        options: OpenOptions,
    ) -> Result<Importer> {
        // Options are checked before the directory is emptied: a refused import changes nothing.
        if let Some(trace) = &options.trace_file {
            Trace::open(trace)?;
        }
        if let Some(dir) = dir {
            match std::fs::remove_dir_all(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::NotASwingStore {
                        message: format!("cannot empty {} for the import: {e}", dir.display()),
                    })
                }
                _ => {}
            }
        }
        let location = dir.map_or(StoreLocation::InMemory, StoreLocation::Staged);
        let mut store = KernelStore::open_at(location, options)?;
        let records = PendingRecords::create(store.db_mut().ensure_txn()?)?;
        Ok(Importer {
            home: Home::Here(Box::new(store)),
            mode,
            records: Some(records),
            offered: HashSet::new(),
            current: None,
            compressing: VecDeque::new(),
        })
    }

    /// Takes export-data rows: `kv.<key>` rows are written as the kernel facet writes them (a
    /// `null` value deletes), every other row is an artifact record kept for installing. The
    /// rows are checked here and written on the export-data writer's thread (see `loader`).
    pub fn add_export_data(&mut self, rows: Vec<ExportRow>) -> Result<()> {
        self.records.as_ref().ok_or_else(after_records)?;
        if let Home::Here(_) = self.home {
            if let Home::Here(store) = std::mem::replace(&mut self.home, Home::Lost) {
                self.home = Home::Loading(Loader::start(*store, PendingRecords));
            }
        }
        match &self.home {
            Home::Loading(loader) => loader.send(rows),
            Home::Failed(_) => Err(Error::ImportFailed),
            Home::Here(_) | Home::Lost => Err(Error::ThreadStopped {
                what: "export-data writer",
            }),
        }
    }

    /// The export data has ended: every artifact record is installed, in the order the data
    /// first named it, without its artifact.
    pub fn install_records(&mut self) -> Result<()> {
        let records = self.records.take().ok_or_else(after_records)?;
        let store = self.home.store()?;
        let mut after = 0;
        loop {
            let page = records.page(store.db_mut().ensure_txn()?, after, RECORD_PAGE)?;
            let Some(&(last, _, _)) = page.last() else {
                break;
            };
            after = last;
            for (_, key, value) in &page {
                super::install_record(store.db_mut(), key, value, false)?;
            }
        }
        records.drop_table(store.db().conn())
    }

    /// Offers artifact `name`: `true` when this import wants its bytes (see
    /// [`Importer::write_artifact`]), `false` when the artifact mode leaves it out and it
    /// should not even be fetched.
    pub fn begin_artifact(&mut self, name: &str) -> Result<bool> {
        if self.records.is_some() {
            self.install_records()?;
        }
        if self.current.is_some() {
            return Err(Error::InvalidArgValue {
                message: "an artifact is still being imported: finish it first".into(),
            });
        }
        if !self.offered.insert(name.to_owned()) {
            return Err(Error::DuplicateArtifact {
                name: name.to_owned(),
            });
        }
        self.current = ArtifactImport::begin(
            self.home.store()?.db_mut(),
            name,
            self.mode,
            Landing::Direct,
        )?;
        Ok(self.current.is_some())
    }

    /// The next bytes of the artifact begun last.
    pub fn write_artifact(&mut self, chunk: &[u8]) -> Result<()> {
        let artifact = self.current.as_mut().ok_or_else(no_artifact)?;
        artifact.write(self.home.store()?.db_mut(), chunk)
    }

    /// The artifact has ended: it is checked against its record and kept.
    pub fn finish_artifact(&mut self) -> Result<()> {
        let artifact = self.current.take().ok_or_else(no_artifact)?;
        if let Some(snapshot) = artifact.finish_deferred(self.home.store()?.db_mut())? {
            self.compressing.push_back(snapshot);
        }
        while self.compressing.len() > COMPRESSING_AT_ONCE {
            self.complete_oldest()?;
        }
        Ok(())
    }

    fn complete_oldest(&mut self) -> Result<()> {
        match self.compressing.pop_front() {
            Some(snapshot) => snapshot.complete(self.home.store()?.db_mut()),
            None => Ok(()),
        }
    }

    /// Every artifact has been offered: the store must be complete for the artifact mode (at
    /// least `operational`, even for a `debug` import, so a node can run on it). A store that
    /// is not is abandoned, leaving nothing behind.
    pub fn finish(mut self) -> Result<KernelStore> {
        let checked = self.check_finished();
        let (store, landed) = self.home.into_store();
        match (store, checked.and(landed)) {
            (Some(store), Ok(())) => Ok(store),
            (store, outcome) => {
                if let Some(store) = store {
                    let _ = store.close();
                }
                Err(outcome.err().unwrap_or(Error::ThreadStopped {
                    what: "export-data writer",
                }))
            }
        }
    }

    fn check_finished(&mut self) -> Result<()> {
        if self.records.is_some() {
            self.install_records()?;
        }
        while !self.compressing.is_empty() {
            self.complete_oldest()?;
        }
        if let Some(artifact) = &self.current {
            return Err(Error::InvalidArgValue {
                message: format!(
                    "artifact {} was begun and never finished",
                    quote(artifact.name())
                ),
            });
        }
        super::assert_complete(self.home.store()?.db(), self.mode.check())
    }

    /// Abandons the import: nothing of it is left behind.
    pub fn abort(self) -> Result<()> {
        match self.home.into_store() {
            (Some(store), _) => store.close(),
            (None, landed) => landed,
        }
    }
}

fn no_artifact() -> Error {
    Error::InvalidArgValue {
        message: "no artifact is being imported: begin one first".into(),
    }
}

fn after_records() -> Error {
    Error::InvalidArgValue {
        message: "export data must come before the artifacts".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, value: &str) -> ExportRow {
        (key.as_bytes().to_vec(), Some(value.as_bytes().to_vec()))
    }

    #[test]
    fn a_failure_writing_export_data_is_reported_and_fails_every_later_call() {
        let mut importer =
            Importer::create(None, ArtifactMode::Operational, OpenOptions::default()).unwrap();
        // Without its records table the writer's first record fails, as a full disk would.
        if let Home::Here(store) = &importer.home {
            store
                .db()
                .conn()
                .execute_batch("DROP TABLE temp.pendingRecords")
                .unwrap();
        }
        importer
            .add_export_data(vec![row("kv.a", "1"), row("bundle.b0-x", "{}")])
            .unwrap();
        assert_eq!(importer.install_records().unwrap_err().code(), "ERR_SQLITE");
        let later = importer.begin_artifact("bundle.b0-x").unwrap_err();
        assert_eq!(later.code(), "ERR_IMPORT_FAILED");
        assert_eq!(importer.finish().err().unwrap().code(), "ERR_IMPORT_FAILED");
    }

    #[test]
    fn a_writer_thread_that_panicked_fails_every_later_call_with_an_internal_error() {
        let mut importer =
            Importer::create(None, ArtifactMode::Operational, OpenOptions::default()).unwrap();
        importer.home = Home::Loading(crate::export::loader::tests::panicking_loader());
        assert_eq!(
            importer.install_records().unwrap_err().code(),
            "ERR_INTERNAL"
        );
        let later = importer.begin_artifact("bundle.b0-x").unwrap_err();
        assert_eq!(later.code(), "ERR_INTERNAL");
        assert_eq!(importer.finish().err().unwrap().code(), "ERR_INTERNAL");
    }
}

//! Cranks: savepoints, the crank hash and the activity hash, with swing-store's exact
//! algorithm and messages (shared/spec/swing-store.md §3). A rollback restores the kvStore
//! overlay and the export notes exactly, and also rolls back the real SQLite savepoint so rows
//! written straight to SQLite (transcripts, snapshots, bundles) are undone with them.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::hex;
use crate::wtf8;
use crate::{ExportRow, KernelStore};

/// What `emitCrankHashes()` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrankHashes {
    pub crankhash: String,
    pub activityhash: String,
}

struct Savepoint {
    /// The caller's label, as WTF-8 so labels compare as the JS strings they were.
    name: Vec<u8>,
    kv_mark: usize,
    exports_mark: Option<usize>,
}

#[derive(Default)]
pub(crate) struct CrankState {
    in_crank: bool,
    savepoints: Vec<Savepoint>,
    hasher: Sha256,
}

impl CrankState {
    /// Feeds one kernel-facet consensus write to the crank hasher.
    pub(crate) fn hash_set(&mut self, key: &[u8], value: &[u8]) {
        self.hasher.update(b"add\n");
        self.hasher.update(wtf8::for_hash(key));
        self.hasher.update(b"\n");
        self.hasher.update(wtf8::for_hash(value));
        self.hasher.update(b"\n");
    }

    pub(crate) fn hash_delete(&mut self, key: &[u8]) {
        self.hasher.update(b"delete\n");
        self.hasher.update(wtf8::for_hash(key));
        self.hasher.update(b"\n");
    }
}

const ACTIVITYHASH_KEY: &str = "activityhash";

impl KernelStore {
    pub fn in_crank(&self) -> bool {
        self.crank.in_crank
    }

    /// swing-store's `<operation> outside of crank` check, which it makes before any other.
    pub fn require_crank(&self, operation: &'static str) -> Result<()> {
        if self.crank.in_crank {
            return Ok(());
        }
        Err(Error::CrankState {
            message: match operation {
                "establishCrankSavepoint" => "establishCrankSavepoint outside of crank",
                "rollbackCrank" => "rollbackCrank outside of crank",
                _ => "endCrank outside of crank",
            },
        })
    }

    /// Starts a crank, resetting the crank hasher.
    pub fn start_crank(&mut self) -> Result<()> {
        if self.crank.in_crank {
            return Err(Error::CrankState {
                message: "startCrank while already in a crank",
            });
        }
        self.crank.in_crank = true;
        self.crank.hasher = Sha256::new();
        Ok(())
    }

    /// Establishes savepoint `t<n>` for `name` (names may repeat; only the label is the caller's).
    pub fn establish_crank_savepoint(&mut self, name: impl AsRef<[u8]>) -> Result<()> {
        let name = name.as_ref();
        self.require_crank("establishCrankSavepoint")?;
        let ordinal = self.crank.savepoints.len();
        self.ensure_txn()?;
        self.conn
            .execute_batch(&format!("SAVEPOINT t{ordinal}"))
            .map_err(Error::sqlite("establishCrankSavepoint"))?;
        let kv_mark = self.kv.overlay_mut().mark();
        let exports_mark = self.exports.as_mut().map(|e| e.mark());
        self.crank.savepoints.push(Savepoint {
            name: name.to_vec(),
            kv_mark,
            exports_mark,
        });
        Ok(())
    }

    /// Rolls back to the oldest savepoint called `name`, dropping it and all later ones.
    /// The crank hasher keeps the rolled-back writes, as swing-store's does.
    pub fn rollback_crank(&mut self, name: impl AsRef<[u8]>) -> Result<()> {
        let name = name.as_ref();
        self.require_crank("rollbackCrank")?;
        let Some(ordinal) = self.crank.savepoints.iter().position(|s| s.name == name) else {
            return Err(Error::NoSuchSavepoint {
                name: name.to_vec(),
            });
        };
        self.conn
            .execute_batch(&format!("ROLLBACK TO SAVEPOINT t{ordinal}"))
            .map_err(Error::sqlite("rollbackCrank"))?;
        let target = &self.crank.savepoints[ordinal];
        let (kv_mark, exports_mark) = (target.kv_mark, target.exports_mark);
        self.kv.overlay_mut().undo_to(kv_mark, ordinal);
        if let (Some(exports), Some(mark)) = (self.exports.as_mut(), exports_mark) {
            exports.undo_to(mark, ordinal);
        }
        self.crank.savepoints.truncate(ordinal);
        Ok(())
    }

    /// Ends the crank: releases its savepoints and delivers the export notes. No COMMIT.
    pub fn end_crank(
        &mut self,
        deliver: &mut dyn FnMut(Vec<ExportRow>) -> Result<()>,
    ) -> Result<()> {
        self.require_crank("endCrank")?;
        if !self.crank.savepoints.is_empty() {
            self.conn
                .execute_batch("RELEASE SAVEPOINT t0")
                .map_err(Error::sqlite("endCrank"))?;
            self.crank.savepoints.clear();
            self.kv.overlay_mut().set_marks(0);
        }
        self.flush_exports(deliver)?;
        self.crank.in_crank = false;
        self.maybe_spill()
    }

    /// Finishes the crank hash, chains it into the activity hash and stores that under
    /// `activityhash` (not crank-hashed, but exported). Allowed outside a crank.
    pub fn emit_crank_hashes(&mut self) -> Result<CrankHashes> {
        let crankhash = hex::encode(&self.crank.hasher.finalize_reset());
        let old = self.get_activityhash()?;
        let activityhash = hex::sha256_hex(&format!("activityhash\n{old}\n{crankhash}\n"));
        self.ensure_txn()?;
        self.kv.put(
            ACTIVITYHASH_KEY.as_bytes(),
            Some(activityhash.clone().into_bytes()),
        );
        self.note_kv_export(ACTIVITYHASH_KEY.as_bytes(), Some(activityhash.as_bytes()));
        Ok(CrankHashes {
            crankhash,
            activityhash,
        })
    }

    /// The stored activity hash, or `""` before the first emit. Read as JS reads any value:
    /// bytes that are not UTF-8 decode to U+FFFD (a kernel could have overwritten the key).
    pub fn get_activityhash(&mut self) -> Result<String> {
        Ok(self
            .kv_get(ACTIVITYHASH_KEY)?
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default())
    }
}

//! Cranks: savepoints, the crank hash and the activity hash, with swing-store's exact
//! algorithm and messages. A rollback restores the kvStore overlay and the export notes
//! exactly, and also rolls back the real SQLite savepoint so rows written straight to SQLite
//! (transcripts, snapshots, bundles) are undone with them.

use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::export_log::{ExportLog, ExportRow};
use crate::hex;
use crate::kv::Kv;
use crate::wtf8;

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

/// Where the kernel is in its crank cycle, and the hash of the crank's consensus writes.
#[derive(Default)]
pub struct Crank {
    in_crank: bool,
    savepoints: Vec<Savepoint>,
    hasher: Sha256,
}

/// The pieces a savepoint spans: the connection's SQL savepoint, the kvStore overlay and
/// the export notes.
pub struct CrankState<'a> {
    pub db: &'a mut Db,
    pub kv: &'a mut Kv,
    pub exports: &'a mut ExportLog,
}

const ACTIVITYHASH_KEY: &[u8] = b"activityhash";

impl Crank {
    pub fn in_crank(&self) -> bool {
        self.in_crank
    }

    /// swing-store's `<operation> outside of crank` check, which it makes before any other.
    pub fn require(&self, operation: &'static str) -> Result<()> {
        if self.in_crank {
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

    /// Feeds one kernel-facet consensus write to the crank hasher.
    pub fn hash_write(&mut self, key: &[u8], value: Option<&[u8]>) {
        match value {
            Some(value) => {
                self.hasher.update(b"add\n");
                self.hasher.update(wtf8::to_node_utf8(key));
                self.hasher.update(b"\n");
                self.hasher.update(wtf8::to_node_utf8(value));
                self.hasher.update(b"\n");
            }
            None => {
                self.hasher.update(b"delete\n");
                self.hasher.update(wtf8::to_node_utf8(key));
                self.hasher.update(b"\n");
            }
        }
    }

    /// Starts a crank, resetting the crank hasher.
    pub fn start(&mut self) -> Result<()> {
        if self.in_crank {
            return Err(Error::CrankState {
                message: "startCrank while already in a crank",
            });
        }
        self.in_crank = true;
        self.hasher = Sha256::new();
        Ok(())
    }

    /// Establishes savepoint `t<n>` for `name` (names may repeat; only the label is the caller's).
    pub fn establish_savepoint(&mut self, state: CrankState<'_>, name: &[u8]) -> Result<()> {
        self.require("establishCrankSavepoint")?;
        let ordinal = self.savepoints.len();
        state
            .db
            .ensure_txn()?
            .execute_batch(&format!("SAVEPOINT t{ordinal}"))
            .map_err(Error::sqlite("establishCrankSavepoint"))?;
        self.savepoints.push(Savepoint {
            name: name.to_vec(),
            kv_mark: state.kv.mark(),
            exports_mark: state.exports.mark(),
        });
        Ok(())
    }

    /// Rolls back to the oldest savepoint called `name`, dropping it and all later ones.
    /// The crank hasher keeps the rolled-back writes, as swing-store's does.
    pub fn rollback(&mut self, state: CrankState<'_>, name: &[u8]) -> Result<()> {
        self.require("rollbackCrank")?;
        let Some(ordinal) = self.savepoints.iter().position(|s| s.name == name) else {
            return Err(Error::NoSuchSavepoint {
                name: name.to_vec(),
            });
        };
        state
            .db
            .conn()
            .execute_batch(&format!("ROLLBACK TO SAVEPOINT t{ordinal}"))
            .map_err(Error::sqlite("rollbackCrank"))?;
        let target = &self.savepoints[ordinal];
        state.kv.undo_to(target.kv_mark, ordinal);
        state.exports.undo_to(target.exports_mark, ordinal);
        self.savepoints.truncate(ordinal);
        Ok(())
    }

    /// Ends the crank: releases its savepoints and delivers the export notes. No COMMIT.
    pub fn end(
        &mut self,
        state: CrankState<'_>,
        deliver: &mut dyn FnMut(Vec<ExportRow>) -> Result<()>,
    ) -> Result<()> {
        self.require("endCrank")?;
        if !self.savepoints.is_empty() {
            state
                .db
                .conn()
                .execute_batch("RELEASE SAVEPOINT t0")
                .map_err(Error::sqlite("endCrank"))?;
            self.savepoints.clear();
            state.kv.release_marks();
        }
        state.exports.flush(deliver)?;
        self.in_crank = false;
        Ok(())
    }

    /// Finishes the crank hash, chains it into the activity hash and stores that under
    /// `activityhash` (not crank-hashed, but exported). Allowed outside a crank.
    pub fn emit_hashes(&mut self, state: CrankState<'_>) -> Result<CrankHashes> {
        let crankhash = hex::encode(&self.hasher.finalize_reset());
        let old = activityhash(state.db, state.kv)?;
        let activityhash = hex::sha256_hex(&format!("activityhash\n{old}\n{crankhash}\n"));
        state.db.ensure_txn()?;
        state.kv.put(
            state.db,
            ACTIVITYHASH_KEY,
            Some(activityhash.clone().into_bytes()),
        )?;
        state
            .exports
            .note_kv(ACTIVITYHASH_KEY, Some(activityhash.as_bytes()));
        Ok(CrankHashes {
            crankhash,
            activityhash,
        })
    }
}

/// The stored activity hash, or `""` before the first emit. Read as JS reads any value:
/// bytes that are not UTF-8 decode to U+FFFD (a kernel could have overwritten the key).
pub fn activityhash(db: &mut Db, kv: &mut Kv) -> Result<String> {
    Ok(kv
        .get(db, ACTIVITYHASH_KEY)?
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default())
}

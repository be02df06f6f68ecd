//! swing-store's `hostStorage.repairMetadata(exporter)`: a store whose artifact records were
//! lost (agoric-sdk #8025) gets them back from another node's export data. Existing records
//! must agree with the export's; missing snapshot and span records are added; kvStore rows
//! are ignored. The store must then be complete for `operational`, and the repairs wait in
//! the open block for the host's commit.

use super::metadata::PendingRecords;
use super::ArtifactMode;
use crate::db::Db;
use crate::error::{Error, Result};

/// How many collected records are checked per query.
const RECORD_PAGE: usize = 1024;

/// A repair in progress: its records wait in the store's connection.
pub struct Repair {
    records: PendingRecords,
}

impl Repair {
    pub fn begin(db: &mut Db) -> Result<Repair> {
        Ok(Repair {
            records: PendingRecords::create(db.ensure_txn()?)?,
        })
    }

    /// Takes export-data rows; kvStore rows are not metadata and are skipped.
    pub fn add_export_data(&self, db: &mut Db, rows: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<()> {
        let conn = db.ensure_txn()?;
        for (key, value) in rows {
            if !key.starts_with(b"kv.") {
                let key = String::from_utf8_lossy(key);
                let value = value.as_deref().map(String::from_utf8_lossy);
                self.records.put(conn, &key, value.as_deref())?;
            }
        }
        Ok(())
    }

    /// Checks or adds every record, then insists on `operational` completeness. A repair
    /// that fails either way adds nothing (swing-store's keeps what it added before the
    /// throw; a failed call here changes nothing).
    pub fn finish(self, db: &mut Db) -> Result<()> {
        db.ensure_txn()?
            .execute_batch("SAVEPOINT repair_metadata")
            .map_err(Error::sqlite("repairMetadata"))?;
        let repaired = self
            .install_all(db)
            .and_then(|()| super::assert_complete(db, ArtifactMode::Operational));
        let end = if repaired.is_ok() {
            "RELEASE repair_metadata"
        } else {
            "ROLLBACK TO repair_metadata; RELEASE repair_metadata"
        };
        db.conn()
            .execute_batch(end)
            .map_err(Error::sqlite("repairMetadata"))?;
        self.records.drop_table(db.conn())?;
        repaired
    }

    fn install_all(&self, db: &mut Db) -> Result<()> {
        let mut after = 0;
        loop {
            let page = self.records.page(db.ensure_txn()?, after, RECORD_PAGE)?;
            let Some(&(last, _, _)) = page.last() else {
                return Ok(());
            };
            after = last;
            for (_, key, value) in &page {
                super::install_record(db, key, value, true)?;
            }
        }
    }
}

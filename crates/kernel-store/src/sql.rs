//! The one statement shape the transcript, snapshot and bundle stores share: a cached write.
//! Those stores write straight into the open SQLite transaction (unlike the kvStore, which
//! holds the block in memory), so crank savepoints roll their rows back with no bookkeeping.

use crate::error::{Error, Result};
use crate::KernelStore;

impl KernelStore {
    /// Runs one cached write statement; `context` names the operation for `Debug`.
    pub(crate) fn execute(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        context: &'static str,
    ) -> Result<()> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(params))
            .map(drop)
            .map_err(Error::sqlite(context))
    }
}

//! The artifact records of an import or repair, gathered from export data before any is
//! installed. Export data may name a key twice (the last value wins) or delete it (a null
//! value), so records are collected first, with the semantics of the JS `Map` swing-store
//! collects them in: a key keeps the position of its first set until it is deleted. They
//! wait in a TEMP table, so a mainnet-sized export's records never need to fit in memory.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::sql::query_all;

const CONTEXT: &str = "collecting export-data records";

/// Records waiting to be installed, in the import's connection.
#[derive(Clone, Copy)]
pub struct PendingRecords;

impl PendingRecords {
    pub fn create(conn: &Connection) -> Result<PendingRecords> {
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS pendingRecords (
               seq INTEGER PRIMARY KEY,
               key TEXT UNIQUE,
               value TEXT
             );
             DELETE FROM temp.pendingRecords;",
        )
        .map_err(Error::sqlite(CONTEXT))?;
        Ok(PendingRecords)
    }

    /// `map.set(key, value)`, or `map.delete(key)` for `None`.
    pub fn put(&self, conn: &Connection, key: &str, value: Option<&str>) -> Result<()> {
        let result = match value {
            Some(value) => conn
                .prepare_cached(
                    "INSERT INTO temp.pendingRecords (key, value) VALUES (?, ?) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .and_then(|mut stmt| stmt.execute([key, value])),
            None => conn
                .prepare_cached("DELETE FROM temp.pendingRecords WHERE key = ?")
                .and_then(|mut stmt| stmt.execute([key])),
        };
        result.map(drop).map_err(Error::sqlite(CONTEXT))
    }

    /// Up to `limit` records after position `after`, in Map order, with their positions.
    pub fn page(
        &self,
        conn: &Connection,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String, String)>> {
        query_all(
            conn,
            "SELECT seq, key, value FROM temp.pendingRecords WHERE seq > ? ORDER BY seq LIMIT ?",
            rusqlite::params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
            CONTEXT,
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
    }

    pub fn drop_table(self, conn: &Connection) -> Result<()> {
        conn.execute_batch("DROP TABLE IF EXISTS temp.pendingRecords")
            .map_err(Error::sqlite(CONTEXT))
    }
}

/// The type of an export-data key or artifact name: what precedes its first dot.
pub fn tag(key: &str) -> &str {
    key.split('.').next().unwrap_or("")
}

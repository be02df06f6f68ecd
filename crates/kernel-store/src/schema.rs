//! The database as `@agoric/swing-store` 0.10.0 lays it out: connection settings, pragmas and
//! DDL text byte for byte (SQLite keeps the DDL verbatim in `sqlite_master`, so a store
//! created by either implementation is indistinguishable from one created by the other).

use std::path::Path;

use rusqlite::{limits::Limit, Connection, OpenFlags};

use crate::error::{Error, Result};

/// The file name swing-store uses inside a store directory.
pub const DB_FILE_NAME: &str = "swingstore.sqlite";

/// better-sqlite3's connection default, which swing-store inherits; also how long an opener
/// waits for another writer to let go of the store.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(5000);
/// V8's maximum string length: better-sqlite3 caps SQLITE_LIMIT_LENGTH there.
const MAX_VALUE_LENGTH: i32 = 536_870_888;
/// Statements in the hot paths, plus the transcript/snapshot/bundle ones to come.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// The DDL, in creation order, exactly as swing-store issues it.
pub const DDL: [&str; 7] = [
    "\n    CREATE TABLE IF NOT EXISTS pendingExports (\n      key TEXT,\n      value TEXT,\n      PRIMARY KEY (key)\n    )\n  ",
    "\n    CREATE TABLE IF NOT EXISTS kvStore (\n      key TEXT,\n      value TEXT,\n      PRIMARY KEY (key)\n    )\n  ",
    "\n    CREATE TABLE IF NOT EXISTS transcriptItems (\n      vatID TEXT,\n      position INTEGER,\n      item TEXT,\n      incarnation INTEGER,\n      PRIMARY KEY (vatID, position)\n    )\n  ",
    "\n    CREATE TABLE IF NOT EXISTS transcriptSpans (\n      vatID TEXT,\n      startPos INTEGER, -- inclusive\n      endPos INTEGER, -- exclusive\n      hash TEXT, -- cumulative hash of this item and previous cumulative hash\n      isCurrent INTEGER CHECK (isCurrent = 1),\n      incarnation INTEGER,\n      PRIMARY KEY (vatID, startPos),\n      UNIQUE (vatID, isCurrent)\n    )\n  ",
    "\n    CREATE INDEX IF NOT EXISTS currentTranscriptIndex\n    ON transcriptSpans (vatID, isCurrent)\n  ",
    "\n    CREATE TABLE IF NOT EXISTS snapshots (\n      vatID TEXT,\n      snapPos INTEGER,\n      inUse INTEGER CHECK(inUse = 1),\n      hash TEXT,\n      uncompressedSize INTEGER,\n      compressedSize INTEGER,\n      compressedSnapshot BLOB,\n      PRIMARY KEY (vatID, snapPos),\n      UNIQUE (vatID, inUse)\n    )\n  ",
    "\n    CREATE TABLE IF NOT EXISTS bundles (\n      bundleID TEXT,\n      bundle BLOB,\n      PRIMARY KEY (bundleID)\n    )\n  ",
];

/// How the connection journals and syncs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// WAL, synchronous=FULL: what a chain node runs.
    #[default]
    Full,
    /// swing-store's `unsafeFastMode`: no journal, synchronous=NORMAL (bulk import only).
    UnsafeFast,
}

/// Where the database lives.
#[derive(Clone, Copy, Debug)]
pub enum Location<'a> {
    InMemory,
    File(&'a Path),
}

/// Opens (creating when allowed) the database and brings it to swing-store's schema.
pub fn open_connection(
    location: Location<'_>,
    readonly: bool,
    durability: Durability,
) -> Result<Connection> {
    let conn = match location {
        Location::InMemory => Connection::open_in_memory(),
        Location::File(path) => {
            let flags = if readonly {
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI
            } else {
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI
            };
            Connection::open_with_flags(path, flags)
        }
    }
    .map_err(Error::sqlite("unable to open database file"))?;

    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(Error::sqlite("setting busy_timeout"))?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE,
        durability == Durability::Full,
    )
    .map_err(Error::sqlite("setting SQLITE_DBCONFIG_DEFENSIVE"))?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_LENGTH)
        .map_err(Error::sqlite("setting SQLITE_LIMIT_LENGTH"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);

    if readonly {
        verify_is_swing_store(&conn)?;
        return Ok(conn);
    }

    let in_memory = matches!(location, Location::InMemory);
    let (journal, synchronous) = match durability {
        Durability::Full => ("wal", "full"),
        Durability::UnsafeFast => ("off", "normal"),
    };
    let actual: String = conn
        .query_row(&format!("PRAGMA journal_mode={journal}"), [], |row| {
            row.get(0)
        })
        .map_err(Error::sqlite("setting journal_mode"))?;
    if actual != journal && !in_memory {
        return Err(Error::JournalMode {
            wanted: journal,
            actual,
        });
    }
    conn.execute_batch(&format!("PRAGMA synchronous={synchronous}"))
        .map_err(Error::sqlite("setting synchronous"))?;

    conn.execute_batch("BEGIN IMMEDIATE TRANSACTION")
        .map_err(Error::sqlite("creating the schema"))?;
    for ddl in DDL {
        if let Err(source) = conn.execute_batch(ddl) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(Error::Sqlite {
                context: "creating the schema",
                source,
            });
        }
    }
    conn.execute_batch("COMMIT")
        .map_err(Error::sqlite("creating the schema"))?;
    Ok(conn)
}

/// A read-only opener cannot create the schema, so it insists the file already has it.
fn verify_is_swing_store(conn: &Connection) -> Result<()> {
    let has_kv: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kvStore')",
            [],
            |row| row.get(0),
        )
        .map_err(Error::sqlite("reading the schema"))?;
    if has_kv {
        Ok(())
    } else {
        Err(Error::NotASwingStore {
            message: "database has no kvStore table: not a swing-store".into(),
        })
    }
}

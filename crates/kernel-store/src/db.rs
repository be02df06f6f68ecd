//! The database connection and its one write transaction, as swing-store runs them: the
//! connection settings and pragmas it uses, `BEGIN IMMEDIATE` on the first write after a
//! commit (its `ensureTxn`), and nothing committed until the host commits.
//!
//! Every store module receives a `&Db` to read or a `&mut Db` to write, as swing-store's
//! `makeTranscriptStore(db, ensureTxn, ...)` receives the connection and `ensureTxn`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{limits::Limit, Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::foreign_sqlite::WalGuard;

/// The file name swing-store uses inside a store directory.
pub const DB_FILE_NAME: &str = "swingstore.sqlite";

/// better-sqlite3's connection default, which swing-store inherits; also how long an opener
/// waits for another writer to let go of the store.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// V8's maximum string length: better-sqlite3 caps SQLITE_LIMIT_LENGTH there.
const MAX_VALUE_LENGTH: i32 = 536_870_888;

/// Enough for every statement of every store, so none is ever prepared twice.
const STATEMENT_CACHE_CAPACITY: usize = 96;

/// The page cache of a scanning reader, in KiB.
const SCAN_CACHE_KIB: u64 = 64 << 10;

/// SQLite's default page cache, in KiB.
const DEFAULT_CACHE_KIB: u64 = 2000;

/// How a reader wants the connection tuned for what it reads next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadTuning {
    /// For reading in index order a table written in another order (an exporter's transcript
    /// spans, or its kvStore when it cannot sort it): the same pages are fetched again and
    /// again, so 64 MiB. (A memory map was measured too: no faster, and it doubled the
    /// exporter's resident memory; 16 MiB made a kvStore read by key twice as slow.)
    Scanning,
    /// While SQLite's sorter starts, which sizes its in-memory runs by the page cache:
    /// SQLite's default 2 MiB sorted a million kvStore rows twice as fast as 64 MiB did, in
    /// an eighth of the memory. One worker thread lets it sort a run while the scan fills
    /// the next (a third faster on two cores).
    Sorting,
}

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
    /// An in-memory database loaded from an image (swing-store's `serialized` option).
    Image(&'a [u8]),
}

/// A connection and whether it holds the write transaction.
pub struct Db {
    conn: Connection,
    /// The database file, or `None` in memory.
    path: Option<PathBuf>,
    readonly: bool,
    txn_open: bool,
    /// SQLite's `data_version` when this connection last looked: another connection's commit
    /// changes it, and then whatever a store cached about the file is stale.
    data_version: i64,
    /// A WAL writer's check that its `-wal` and `-shm` are still the files at their paths:
    /// only a writer has a log that can be taken from under it.
    wal_guard: Option<WalGuard>,
}

impl Db {
    /// Opens (creating when allowed) the database; a writer brings it to swing-store's
    /// schema, whose statements each store module declares next to the code that uses it.
    pub fn open(location: Location<'_>, readonly: bool, durability: Durability) -> Result<Db> {
        let path = match location {
            Location::File(path) => Some(path.to_owned()),
            _ => None,
        };
        let conn =
            connect(location, readonly, durability).map_err(|e| e.in_database(path.as_deref()))?;
        let wal_guard = match &path {
            Some(path) if !readonly && durability == Durability::Full => {
                Some(WalGuard::capture(path))
            }
            _ => None,
        };
        Ok(Db {
            conn,
            path,
            readonly,
            txn_open: false,
            data_version: 0,
            wal_guard,
        })
    }

    /// The connection, for reads (and for writes once [`Db::ensure_txn`] has succeeded).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn is_readonly(&self) -> bool {
        self.readonly
    }

    pub fn in_txn(&self) -> bool {
        self.txn_open
    }

    /// swing-store's `ensureTxn`: the first write after a commit takes the write lock, so a
    /// second writer is found out at once rather than at commit.
    pub fn ensure_txn(&mut self) -> Result<&Connection> {
        if self.readonly {
            return Err(Error::ReadOnly);
        }
        if !self.txn_open {
            self.conn
                .execute_batch("BEGIN IMMEDIATE TRANSACTION")
                .map_err(Error::sqlite("begin transaction"))
                .map_err(|e| e.in_database(self.path.as_deref()))?;
            self.txn_open = true;
        }
        Ok(&self.conn)
    }

    /// Tunes the connection for what it reads next.
    pub fn tune_for(&self, reading: ReadTuning) -> Result<()> {
        let pragmas = match reading {
            ReadTuning::Scanning => format!("PRAGMA cache_size = -{SCAN_CACHE_KIB}"),
            ReadTuning::Sorting => {
                format!("PRAGMA cache_size = -{DEFAULT_CACHE_KIB}; PRAGMA threads = 1")
            }
        };
        self.conn
            .execute_batch(&pragmas)
            .map_err(Error::sqlite("tuning the connection"))
    }

    /// Starts a read transaction whose snapshot is fixed at its first read, for an exporter
    /// that must see one commit point however long it runs.
    pub fn begin_read(&mut self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN DEFERRED TRANSACTION")
            .map_err(Error::sqlite("begin read transaction"))?;
        self.txn_open = true;
        Ok(())
    }

    /// Refuses the open block if something outside this connection's locks removed or
    /// replaced the files it writes (see `foreign_sqlite`); the block is then rolled back.
    /// A store calls it before anything of the block leaves the process (export rows).
    pub fn check_files(&mut self) -> Result<()> {
        if !self.txn_open {
            return Ok(());
        }
        if let Some(guard) = &mut self.wal_guard {
            guard.check(&self.conn).map_err(|e| {
                self.txn_open = false;
                Error::Foreign(e)
            })?;
        }
        Ok(())
    }

    /// COMMITs the open write transaction, if any.
    pub fn commit(&mut self) -> Result<()> {
        if self.txn_open {
            self.conn
                .execute_batch("COMMIT")
                .map_err(Error::sqlite("commit"))
                .map_err(|e| e.in_database(self.path.as_deref()))?;
            self.txn_open = false;
        }
        Ok(())
    }

    /// Whether another connection has committed since the last call. Inside this
    /// connection's own transaction nothing else can have (the write lock is held), and no
    /// other connection can reach an in-memory database.
    pub fn changed_by_others(&mut self) -> Result<bool> {
        if self.txn_open || self.path.is_none() {
            return Ok(false);
        }
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(Error::sqlite("PRAGMA data_version"))?;
        let changed = version != self.data_version;
        self.data_version = version;
        Ok(changed)
    }

    /// Runs one cached statement that writes; `context` names the operation for `Debug`.
    pub fn execute(
        &mut self,
        sql: &str,
        params: impl rusqlite::Params,
        context: &'static str,
    ) -> Result<()> {
        self.ensure_txn()?
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(params))
            .map(drop)
            .map_err(Error::sqlite(context))
    }

    /// The whole database as one image (swing-store's `debug.serialize()`), which the
    /// `serialized` option loads back. Only an in-memory database has one: a WAL file's
    /// image would not reopen.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        if self.path.is_some() {
            return Err(Error::NotSerializable);
        }
        self.conn
            .serialize(rusqlite::MAIN_DB)
            .map(|data| data.to_vec())
            .map_err(Error::sqlite("serialize"))
    }

    /// Closes the connection, abandoning any open transaction; reports files taken from
    /// under a writer after closing, so the connection never outlives the report.
    pub fn close(mut self) -> Result<()> {
        let checked = match &mut self.wal_guard {
            Some(guard) => guard.check(&self.conn).map_err(Error::Foreign),
            None => Ok(()),
        };
        self.conn.close().map_err(|(_, e)| Error::Sqlite {
            context: "close",
            source: e,
        })?;
        checked
    }
}

/// The schema, in the order swing-store creates it. The statements' text is stored verbatim
/// in `sqlite_master`, so each is swing-store's byte for byte and a store created by either
/// implementation is indistinguishable from one created by the other.
fn schema() -> impl Iterator<Item = &'static str> {
    [
        crate::export_log::DDL,
        crate::kv::DDL,
        crate::transcript::DDL,
        crate::snapshot::DDL,
        crate::bundle::DDL,
    ]
    .into_iter()
    .flatten()
    .copied()
}

fn connect(location: Location<'_>, readonly: bool, durability: Durability) -> Result<Connection> {
    crate::ofd_locks::install();
    let mut conn = match location {
        Location::InMemory | Location::Image(_) => Connection::open_in_memory(),
        Location::File(path) => {
            let access = if readonly {
                OpenFlags::SQLITE_OPEN_READ_ONLY
            } else {
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
            };
            Connection::open_with_flags(
                path,
                access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )
        }
    }
    .map_err(Error::sqlite("unable to open database file"))?;
    if let Location::Image(image) = location {
        conn.deserialize_read_exact(rusqlite::MAIN_DB, image, image.len(), readonly)
            .map_err(Error::sqlite("loading a serialized database"))?;
    }

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

    let (journal, synchronous) = match durability {
        Durability::Full => ("wal", "full"),
        Durability::UnsafeFast => ("off", "normal"),
    };
    let actual: String = conn
        .query_row(&format!("PRAGMA journal_mode={journal}"), [], |row| {
            row.get(0)
        })
        .map_err(Error::sqlite("setting journal_mode"))?;
    // An in-memory database only ever journals in memory; swing-store accepts that too.
    if actual != journal && matches!(location, Location::File(_)) {
        return Err(Error::JournalMode {
            wanted: journal,
            actual,
        });
    }
    conn.execute_batch(&format!("PRAGMA synchronous={synchronous}"))
        .map_err(Error::sqlite("setting synchronous"))?;

    conn.execute_batch("BEGIN IMMEDIATE TRANSACTION")
        .map_err(Error::sqlite("creating the schema"))?;
    for ddl in schema() {
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

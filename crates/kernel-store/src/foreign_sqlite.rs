//! Failing loudly when something that ignores SQLite's locks removes or replaces the files of
//! an open writer.
//!
//! A WAL-mode writer commits by appending to `-wal` and publishing the new end in `-shm`. If
//! either is deleted or replaced while the connection is open, the connection keeps using the
//! unlinked files: its COMMITs succeed, no other opener sees them, and they are gone if the
//! process dies. SQLite cannot notice. A second SQLite library in this process did exactly this
//! on its `close()` before our locks became visible to it (see `ofd_locks`), and a tool that
//! deletes "stale" `-wal`/`-shm` files does it today; where OFD locks are unavailable it is the
//! only defence. So the writer records the identity (device, inode) of the database, `-wal`
//! and `-shm` once it has them open, and compares before every COMMIT and at close.
//!
//! On a mismatch the block is not committed (it would go to a file nobody else reads): the
//! transaction is rolled back, what was committed before is checkpointed from the files the
//! connection still holds into the database file, the connection is told to keep its files
//! on close (persistent WAL, so it never deletes by name files that are now someone else's),
//! and every later commit fails with the same error.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rusqlite::{ffi, Connection};

/// What identifies a file while it is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

fn identify(path: &Path) -> std::io::Result<FileId> {
    std::fs::metadata(path).map(|meta| FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

/// What happened to a file the writer had open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    Removed,
    Replaced,
    /// SQLite gave up with SQLITE_PROTOCOL: someone keeps changing the WAL index without
    /// taking its locks.
    LockingProtocol,
}

/// The error: the file, what happened to it, and what the store did about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignSqlite {
    pub file: PathBuf,
    pub cause: Cause,
    /// For a removed or replaced file: whether the blocks committed before could be
    /// checkpointed into the database file (the error text if not).
    pub saved: Option<Result<(), String>>,
}

impl ForeignSqlite {
    pub const CODE: &'static str = "ERR_FOREIGN_SQLITE";

    /// SQLITE_PROTOCOL on the store at `file`.
    pub fn locking_protocol(file: &Path) -> ForeignSqlite {
        ForeignSqlite {
            file: file.to_owned(),
            cause: Cause::LockingProtocol,
            saved: None,
        }
    }
}

const WHO: &str = "something that does not honour this store's SQLite locks: another SQLite \
                   library in this process (such as a better-sqlite3 handle on swingstore.sqlite) \
                   or a tool deleting -wal/-shm files";

impl fmt::Display for ForeignSqlite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let what = match self.cause {
            Cause::LockingProtocol => None,
            Cause::Removed => Some("was removed"),
            Cause::Replaced => Some("was replaced by another file"),
        };
        match what {
            None => write!(
                f,
                "SQLite reported a locking protocol error (SQLITE_PROTOCOL) on {file}: the WAL \
                 index keeps changing under locks this store holds, so it is being used by \
                 {WHO}. Close the store and reopen it; read the store through this store's \
                 API, or open the file from another process"
            )?,
            Some(what) => {
                write!(
                    f,
                    "{file} {what} while this store had it open, by {WHO}. The block was not \
                     committed: it would have gone to a file no other connection reads. "
                )?;
                match &self.saved {
                    Some(Err(error)) => write!(
                        f,
                        "Saving the blocks committed before into the database file this store \
                         opened failed ({error}); close the store (closing retries it) and do \
                         not reopen the file elsewhere first. "
                    )?,
                    _ => f.write_str(
                        "The blocks committed before are saved in the database file this store \
                         opened. ",
                    )?,
                }
                f.write_str("The store refuses further commits: close it and reopen it")?;
            }
        }
        if let Some(crate::ofd_locks::Status::Unavailable(reason)) = crate::ofd_locks::status() {
            write!(
                f,
                ". Here this store's SQLite locks are invisible to another SQLite library in \
                 this process ({reason})"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ForeignSqlite {}

/// The identities of a writer's files, and whether they were found changed.
#[derive(Debug)]
pub struct WalGuard {
    files: Vec<(PathBuf, FileId)>,
    broken: Option<ForeignSqlite>,
}

impl WalGuard {
    /// Records the database file and whichever of its `-wal` and `-shm` exist, to be called
    /// once the connection has opened them (after its first transaction).
    pub fn capture(db_file: &Path) -> WalGuard {
        let mut files = Vec::with_capacity(3);
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db_file.as_os_str().to_owned();
            name.push(suffix);
            let path = PathBuf::from(name);
            if let Ok(id) = identify(&path) {
                files.push((path, id));
            }
        }
        WalGuard {
            files,
            broken: None,
        }
    }

    /// Before a COMMIT (and at close): an error, after making safe what can be, if a file
    /// the connection has open is no longer the one at its path.
    pub fn check(&mut self, conn: &Connection) -> Result<(), ForeignSqlite> {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        let changed = self
            .files
            .iter()
            .find_map(|(path, id)| match identify(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some((path, Cause::Removed)),
                Ok(now) if now != *id => Some((path, Cause::Replaced)),
                // A file that cannot be looked at (permissions) is not evidence of anything.
                _ => None,
            });
        let Some((path, cause)) = changed else {
            return Ok(());
        };
        let saved = save_committed(conn);
        let error = ForeignSqlite {
            file: path.clone(),
            cause,
            saved: Some(saved),
        };
        self.broken = Some(error.clone());
        Err(error)
    }
}

/// Abandons the open block, keeps the connection's files on close, and checkpoints the
/// committed frames it still holds into the database file.
fn save_committed(conn: &Connection) -> Result<(), String> {
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK").map_err(|e| e.to_string())?;
    }
    let mut persist: std::ffi::c_int = 1;
    // SAFETY: a valid connection handle, its main database, and the int this opcode takes.
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&mut persist as *mut std::ffi::c_int).cast(),
        )
    };
    if rc != ffi::SQLITE_OK && rc != ffi::SQLITE_NOTFOUND {
        return Err(format!(
            "keeping the WAL on close failed with SQLite code {rc}"
        ));
    }
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(FULL)", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if busy != 0 {
        return Err("the checkpoint could not finish: another connection is reading".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &Path) -> (Connection, PathBuf) {
        crate::ofd_locks::install();
        let file = dir.join("swingstore.sqlite");
        let conn = Connection::open(&file).unwrap();
        conn.query_row("PRAGMA journal_mode=wal", [], |row| row.get::<_, String>(0))
            .unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        (conn, file)
    }

    fn wal_of(file: &Path) -> PathBuf {
        PathBuf::from(format!("{}-wal", file.display()))
    }

    #[test]
    fn unchanged_files_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, file) = writer(dir.path());
        let mut guard = WalGuard::capture(&file);
        assert_eq!(guard.files.len(), 3);
        assert_eq!(guard.check(&conn), Ok(()));
    }

    #[test]
    fn a_removed_wal_is_reported_by_name_and_what_was_committed_reaches_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, file) = writer(dir.path());
        let mut guard = WalGuard::capture(&file);
        conn.execute_batch("INSERT INTO t VALUES (2)").unwrap();
        std::fs::remove_file(wal_of(&file)).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (3);")
            .unwrap();

        let error = guard.check(&conn).unwrap_err();
        assert_eq!(error.file, wal_of(&file));
        assert_eq!(error.cause, Cause::Removed);
        assert_eq!(error.saved, Some(Ok(())));
        assert!(error
            .to_string()
            .contains("was removed while this store had it open"));
        assert!(conn.is_autocommit(), "the block is rolled back");
        // Later checks repeat the error without looking again.
        assert_eq!(guard.check(&conn), Err(error));

        drop(conn);
        let reopened = Connection::open(&file).unwrap();
        let rows: Vec<i64> = reopened
            .prepare("SELECT n FROM t ORDER BY n")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            [1, 2],
            "both commits made before the removal survive, the block does not"
        );
    }

    #[test]
    fn a_replaced_shm_is_reported_as_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, file) = writer(dir.path());
        let mut guard = WalGuard::capture(&file);
        let shm = PathBuf::from(format!("{}-shm", file.display()));
        let other = dir.path().join("other");
        std::fs::write(&other, b"").unwrap();
        std::fs::rename(&other, &shm).unwrap();
        let error = guard.check(&conn).unwrap_err();
        assert_eq!((error.file, error.cause), (shm, Cause::Replaced));
    }

    #[test]
    fn the_close_of_a_guarded_connection_keeps_files_that_are_no_longer_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, file) = writer(dir.path());
        let mut guard = WalGuard::capture(&file);
        std::fs::remove_file(wal_of(&file)).unwrap();
        assert!(guard.check(&conn).is_err());
        // Someone else's file now has the name; closing as the last connection would
        // otherwise delete it by name.
        std::fs::write(wal_of(&file), b"theirs").unwrap();
        drop(conn);
        assert_eq!(std::fs::read(wal_of(&file)).unwrap(), b"theirs");
    }

    #[test]
    fn the_protocol_message_names_the_file_and_the_cause() {
        let shown = ForeignSqlite::locking_protocol(Path::new("/x/swingstore.sqlite")).to_string();
        assert!(shown.contains("SQLITE_PROTOCOL) on /x/swingstore.sqlite"));
        assert!(shown.contains("another SQLite library in this process"));
    }
}

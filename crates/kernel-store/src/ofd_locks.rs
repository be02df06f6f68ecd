//! Locks that another SQLite library in this process can see, and cannot drop.
//!
//! SQLite's unix VFS locks with POSIX advisory locks (`fcntl(F_SETLK)`), which belong to the
//! process: two locks of one process never conflict, and closing *any* descriptor of a file
//! drops every POSIX lock the process holds on that file. One SQLite library coordinates its
//! own connections in memory and only relies on POSIX locks against other processes; a second
//! copy of SQLite in the same process (better-sqlite3, which hosts and tools open on the store
//! file) is invisible to it and it to us. That copy then believes it is alone: its first read
//! truncates and rebuilds the `-shm` index we are using, and its `close()` takes the EXCLUSIVE
//! lock it should not get, checkpoints, deletes `-wal` and `-shm` under our open connection
//! (our later commits go to an unlinked file) and drops our locks. See docs/foreign-sqlite.md.
//!
//! Linux's open-file-description (OFD) locks belong to one open file description instead.
//! They conflict with POSIX locks, the same process's included, and go away only when the
//! last descriptor of their description closes. SQLite lets a process replace the system
//! calls of its unix VFS (`xSetSystemCall`), so [`install`] replaces, in our SQLite only:
//!
//! - `fcntl`'s lock commands by their OFD forms, all applied to ONE description per file
//!   (inode). SQLite shares one file's lock state among its connections and assumes POSIX's
//!   per-process ownership: a lock taken through one connection's descriptor may be released
//!   through another's, and a connection joining a lock the file already holds makes no call
//!   at all. Per-connection descriptions would leak such locks and make our own connections
//!   conflict with each other; one shared description per inode gives the kernel exactly the
//!   picture POSIX gives, with "this process" narrowed to "this SQLite".
//! - `close`, so that a descriptor of a file we lock is not closed while another library in
//!   the process holds POSIX locks on that file (closing it would drop them, and the other
//!   library would then look absent to every other opener). It is kept open and closed once
//!   those locks are gone.
//!
//! Only Linux has OFD locks; elsewhere [`install`] changes nothing and says why.

use std::collections::HashMap;
use std::ffi::c_int;
use std::fmt;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Whether our SQLite uses OFD locks in this process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Installed,
    /// SQLite keeps its POSIX locks; the reason is for diagnostics.
    Unavailable(String),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Installed => f.write_str("open-file-description locks"),
            Status::Unavailable(reason) => write!(f, "POSIX locks ({reason})"),
        }
    }
}

static STATUS: OnceLock<Status> = OnceLock::new();

/// Switches our SQLite to OFD locks, once per process. It must run before the first
/// connection opens (SQLite's system-call table is not thread-safe to change while files are
/// open), so every path that opens a connection calls it first; later calls only return the
/// first outcome.
pub fn install() -> &'static Status {
    STATUS.get_or_init(platform::install)
}

/// What `install` decided, if it has run.
pub fn status() -> Option<&'static Status> {
    STATUS.get()
}

/// (device, inode): what SQLite's own lock bookkeeping is keyed by.
type FileKey = (u64, u64);

/// The description that carries our locks on one file.
struct Carrier {
    fd: c_int,
    /// SQLite descriptors routed to it that are still open.
    users: usize,
}

#[derive(Default)]
struct Table {
    /// An open SQLite descriptor (one that has made a lock call) → its file.
    routes: HashMap<c_int, FileKey>,
    carriers: HashMap<FileKey, Carrier>,
    /// Descriptors whose close is deferred while another library holds POSIX locks on
    /// their file.
    parked: Vec<(c_int, FileKey)>,
}

static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();

/// The table, even if a panicking thread (a test) poisoned it: SQLite's next call through
/// the hooks must still be served.
fn table() -> MutexGuard<'static, Table> {
    TABLE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Parses `/proc/locks` for a POSIX lock that process `pid` holds on `file`: none of ours
/// are POSIX once installed, so any such lock belongs to another library in the process.
fn posix_locks_held(locks: &str, pid: u32, file: (u32, u32, u64)) -> bool {
    let (major, minor, inode) = file;
    let wanted = format!("{major:02x}:{minor:02x}:{inode}");
    let pid = pid.to_string();
    locks.lines().any(|line| {
        let mut fields = line.split_whitespace().skip(1);
        // A waiter's line reads "N: -> POSIX ..."; it holds nothing yet.
        fields.next() == Some("POSIX")
            && fields.nth(2) == Some(pid.as_str())
            && fields.next() == Some(wanted.as_str())
    })
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod platform {
    use std::ffi::c_int;
    use std::sync::OnceLock;

    use rusqlite::ffi;

    use super::{posix_locks_held, table, FileKey, Status, Table};

    type Fcntl = unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
    type Close = unsafe extern "C" fn(c_int) -> c_int;

    /// The calls SQLite made before `install`: what the hooks delegate to.
    struct Previous {
        fcntl: Fcntl,
        close: Close,
    }

    static PREVIOUS: OnceLock<Previous> = OnceLock::new();

    fn previous() -> &'static Previous {
        PREVIOUS
            .get()
            .expect("hooks are installed only after PREVIOUS is set")
    }

    pub fn install() -> Status {
        if let Err(reason) = probe() {
            return Status::Unavailable(reason);
        }
        // SAFETY: `sqlite3_vfs_find` initialises SQLite and returns a VFS that lives as long
        // as the process; the system-call names are ones the unix VFS defines, and the
        // replacements have the signatures SQLite calls them with (see `ofd_fcntl`).
        unsafe {
            let vfs = ffi::sqlite3_vfs_find(c"unix".as_ptr());
            if vfs.is_null() {
                return Status::Unavailable("SQLite has no unix VFS".into());
            }
            let (Some(get), Some(set)) = ((*vfs).xGetSystemCall, (*vfs).xSetSystemCall) else {
                return Status::Unavailable("the unix VFS cannot replace system calls".into());
            };
            let (Some(fcntl), Some(close)) =
                (get(vfs, c"fcntl".as_ptr()), get(vfs, c"close".as_ptr()))
            else {
                return Status::Unavailable("the unix VFS has no fcntl or close to replace".into());
            };
            PREVIOUS.get_or_init(|| Previous {
                fcntl: std::mem::transmute::<unsafe extern "C" fn(), Fcntl>(fcntl),
                close: std::mem::transmute::<unsafe extern "C" fn(), Close>(close),
            });
            type Hooked = unsafe extern "C" fn();
            type HookedFcntl = unsafe extern "C" fn(c_int, c_int, usize) -> c_int;
            type HookedClose = unsafe extern "C" fn(c_int) -> c_int;
            // The table is shared by every unix VFS variant of our SQLite, so one call each
            // covers them all. `close` goes first: alone it changes nothing (no descriptor is
            // routed), whereas `fcntl` alone would open carriers that nothing ever closes.
            for (name, hook) in [
                (
                    c"close",
                    std::mem::transmute::<HookedClose, Hooked>(ofd_close),
                ),
                (
                    c"fcntl",
                    std::mem::transmute::<HookedFcntl, Hooked>(ofd_fcntl),
                ),
            ] {
                if set(vfs, name.as_ptr(), Some(hook)) != ffi::SQLITE_OK {
                    let name = name.to_string_lossy();
                    return Status::Unavailable(format!("SQLite refused to replace {name}"));
                }
            }
        }
        Status::Installed
    }

    /// Kernels before 3.15 reject the OFD commands; find out before SQLite depends on them.
    fn probe() -> Result<(), String> {
        // SAFETY: plain system calls on a descriptor this function owns and closes.
        unsafe {
            let fd = libc::memfd_create(
                c"swingset-kernel-store-ofd-probe".as_ptr(),
                libc::MFD_CLOEXEC,
            );
            if fd < 0 {
                return Err(format!(
                    "cannot probe for OFD locks: {}",
                    std::io::Error::last_os_error()
                ));
            }
            let mut lock = whole_file(libc::F_WRLCK as i16);
            let outcome = libc::fcntl(fd, libc::F_OFD_GETLK, &mut lock as *mut libc::flock);
            let error = std::io::Error::last_os_error();
            libc::close(fd);
            if outcome < 0 {
                return Err(format!("the kernel refuses OFD locks: {error}"));
            }
        }
        Ok(())
    }

    fn whole_file(l_type: i16) -> libc::flock {
        // SAFETY: `flock` is plain data; all-zero is a valid value of it.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = l_type;
        lock.l_whence = libc::SEEK_SET as i16;
        lock
    }

    fn errno() -> c_int {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    }

    fn set_errno(value: c_int) {
        // SAFETY: the calling thread's errno.
        unsafe { *libc::__errno_location() = value }
    }

    fn file_key(fd: c_int) -> Result<(FileKey, (u32, u32, u64)), c_int> {
        // SAFETY: `stat` is plain data, filled by fstat on success.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut stat) } != 0 {
            return Err(errno());
        }
        let shown = (
            libc::major(stat.st_dev),
            libc::minor(stat.st_dev),
            stat.st_ino,
        );
        Ok(((stat.st_dev, stat.st_ino), shown))
    }

    /// The descriptor whose description carries our locks on `fd`'s file, opened on first use.
    fn carrier_for(table: &mut Table, fd: c_int) -> Result<c_int, c_int> {
        if let Some(key) = table.routes.get(&fd) {
            return Ok(table.carriers[key].fd);
        }
        let (key, _) = file_key(fd)?;
        let carrier = match table.carriers.get_mut(&key) {
            Some(carrier) => {
                carrier.users += 1;
                carrier.fd
            }
            None => {
                let opened = open_carrier(fd)?;
                table.carriers.insert(
                    key,
                    super::Carrier {
                        fd: opened,
                        users: 1,
                    },
                );
                opened
            }
        };
        table.routes.insert(fd, key);
        Ok(carrier)
    }

    /// A new description of `fd`'s file, read-write if the process may write it: a write lock
    /// needs a description open for writing, and the first SQLite descriptor to lock may be
    /// a read-only connection's while a writer's joins it later. Reopening through
    /// /proc/self/fd reaches the file even if it has been unlinked; without /proc a duplicate
    /// of `fd` (sharing its description, and its access mode) has to do.
    fn open_carrier(fd: c_int) -> Result<c_int, c_int> {
        let path = std::ffi::CString::new(format!("/proc/self/fd/{fd}"))
            .expect("no NUL in a path we format");
        for flags in [libc::O_RDWR, libc::O_RDONLY] {
            // SAFETY: a NUL-terminated path; the descriptor returned is owned by the table.
            let opened = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
            if opened >= 0 {
                return Ok(opened);
            }
        }
        // SAFETY: F_DUPFD_CLOEXEC on a descriptor SQLite is using.
        let dup = unsafe { (previous().fcntl)(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(errno());
        }
        Ok(dup)
    }

    /// SQLite calls its `fcntl` as the variadic `int (*)(int, int, ...)`. Stable Rust cannot
    /// define a variadic function, but on x86-64 (System V) and AArch64 Linux a variadic
    /// call passes its integer and pointer arguments exactly as a fixed one does, so the
    /// third argument arrives intact as a `usize`.
    unsafe extern "C" fn ofd_fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
        let ofd_cmd = match cmd {
            libc::F_GETLK => libc::F_OFD_GETLK,
            libc::F_SETLK => libc::F_OFD_SETLK,
            libc::F_SETLKW => libc::F_OFD_SETLKW,
            _ => return (previous().fcntl)(fd, cmd, arg),
        };
        let carrier = carrier_for(&mut table(), fd);
        match carrier {
            Ok(carrier) => {
                let lock = arg as *mut libc::flock;
                // The OFD commands insist on l_pid 0; SQLite leaves it uninitialised.
                (*lock).l_pid = 0;
                // A blocking F_OFD_SETLKW waits here, not while holding the table.
                (previous().fcntl)(carrier, ofd_cmd, lock)
            }
            Err(error) => {
                set_errno(error);
                -1
            }
        }
    }

    unsafe extern "C" fn ofd_close(fd: c_int) -> c_int {
        let mut table = table();
        let Ok((key, shown)) = file_key(fd) else {
            drop(table);
            return (previous().close)(fd);
        };
        let mut closing = vec![fd];
        if let Some(routed) = table.routes.remove(&fd) {
            let carrier = table
                .carriers
                .get_mut(&routed)
                .expect("a route has its carrier");
            carrier.users -= 1;
            if carrier.users == 0 {
                let carrier = table.carriers.remove(&routed).expect("just found");
                // SQLite closes the -shm without releasing its shared lock on the
                // dead-man-switch byte; a parked carrier must not keep it.
                let mut unlock = whole_file(libc::F_UNLCK as i16);
                (previous().fcntl)(
                    carrier.fd,
                    libc::F_OFD_SETLK,
                    &mut unlock as *mut libc::flock,
                );
                closing.push(carrier.fd);
            }
        }
        let locked_by_us = table.carriers.contains_key(&key) || closing.len() > 1;
        let mut outcome = 0;
        let foreign = (locked_by_us || !table.parked.is_empty())
            .then(|| std::fs::read_to_string("/proc/locks").ok())
            .flatten();
        let pid = std::process::id();
        for (index, descriptor) in closing.into_iter().enumerate() {
            let keep = locked_by_us
                && foreign
                    .as_deref()
                    .is_some_and(|locks| posix_locks_held(locks, pid, shown));
            if keep {
                table.parked.push((descriptor, key));
            } else {
                let closed = (previous().close)(descriptor);
                if index == 0 {
                    outcome = closed;
                }
            }
        }
        if let Some(locks) = foreign.as_deref() {
            release_parked(&mut table, locks, pid);
        }
        outcome
    }

    /// Closes the parked descriptors whose files no other library locks any more.
    fn release_parked(table: &mut Table, locks: &str, pid: u32) {
        let parked = std::mem::take(&mut table.parked);
        for (fd, key) in parked {
            let shown = file_key(fd).map(|(_, shown)| shown);
            match shown {
                Ok(shown) if posix_locks_held(locks, pid, shown) => table.parked.push((fd, key)),
                // SAFETY: a descriptor this module kept open on SQLite's behalf.
                _ => unsafe {
                    (previous().close)(fd);
                },
            }
        }
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod platform {
    use super::Status;

    pub fn install() -> Status {
        Status::Unavailable(
            "open-file-description locks exist only on Linux (x86-64, AArch64 supported)".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_locks_lines_are_matched_by_type_pid_and_file() {
        let locks = "1: OFDLCK ADVISORY  READ -1 fe:00:77 1073741826 1073742335\n\
                     2: POSIX  ADVISORY  READ 41 fe:00:77 1073741826 1073742335\n\
                     3: -> POSIX  ADVISORY  WRITE 42 fe:00:78 0 EOF\n";
        assert!(posix_locks_held(locks, 41, (0xfe, 0, 77)));
        assert!(
            !posix_locks_held(locks, 42, (0xfe, 0, 77)),
            "another process's lock"
        );
        assert!(
            !posix_locks_held(locks, 42, (0xfe, 0, 78)),
            "a waiter holds nothing"
        );
        assert!(
            !posix_locks_held(locks, 41, (0xfe, 1, 77)),
            "another device"
        );
    }
}

/// These tests play the other SQLite library with plain POSIX `fcntl` calls on descriptors
/// of their own, in this same process: at the system-call level that is all it does.
#[cfg(all(
    test,
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod linux_tests {
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    use rusqlite::{Connection, OpenFlags};

    use super::*;

    /// SQLite's lock bytes: the SHARED range of the database file, and the -shm's
    /// dead-man switch (held by every attached connection).
    const SHARED_FIRST: i64 = 0x4000_0000 + 2;
    const SHARED_SIZE: i64 = 510;
    const SHM_DMS: i64 = 128;

    fn posix(
        file: &File,
        cmd: c_int,
        l_type: c_int,
        start: i64,
        len: i64,
    ) -> Result<libc::flock, std::io::Error> {
        // SAFETY: `flock` is plain data and the descriptor is open.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = l_type as i16;
        lock.l_whence = libc::SEEK_SET as i16;
        lock.l_start = start;
        lock.l_len = len;
        match unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut lock as *mut libc::flock) } {
            0 => Ok(lock),
            _ => Err(std::io::Error::last_os_error()),
        }
    }

    /// A descriptor of the other library's own, as its connection opens one.
    fn theirs(file: &Path) -> File {
        File::options().read(true).write(true).open(file).unwrap()
    }

    fn sibling(file: &Path, suffix: &str) -> PathBuf {
        PathBuf::from(format!("{}{suffix}", file.display()))
    }

    fn writer(file: &Path) -> Connection {
        assert_eq!(install(), &Status::Installed);
        let conn = Connection::open(file).unwrap();
        conn.query_row("PRAGMA journal_mode=wal", [], |row| row.get::<_, String>(0))
            .unwrap();
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
            .unwrap();
        count(&conn);
        conn
    }

    fn reader(file: &Path) -> Connection {
        let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        count(&conn);
        conn
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .unwrap()
    }

    fn key(file: &Path) -> FileKey {
        let meta = std::fs::metadata(file).unwrap();
        (meta.dev(), meta.ino())
    }

    fn parked_on(key: FileKey) -> usize {
        table()
            .parked
            .iter()
            .filter(|(_, parked)| *parked == key)
            .count()
    }

    fn posix_locks_of_this_process(file: &Path) -> bool {
        let meta = std::fs::metadata(file).unwrap();
        let shown = (libc::major(meta.dev()), libc::minor(meta.dev()), meta.ino());
        let locks = std::fs::read_to_string("/proc/locks").unwrap();
        posix_locks_held(&locks, std::process::id(), shown)
    }

    fn ofd_locks_on(key: FileKey) -> usize {
        let (dev, ino) = key;
        let wanted = format!("{:02x}:{:02x}:{ino}", libc::major(dev), libc::minor(dev));
        std::fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .filter(|line| line.contains("OFDLCK") && line.contains(&wanted))
            .count()
    }

    /// A fresh database with our writer attached: the directory, the file, the connection.
    fn attached() -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db");
        let ours = writer(&file);
        (dir, file, ours)
    }

    /// A fresh WAL database that no connection has open: the directory and the file.
    fn closed() -> (tempfile::TempDir, PathBuf) {
        let (dir, file, ours) = attached();
        drop(ours);
        (dir, file)
    }

    /// What the other library's close() tries, to find out whether it is the last connection
    /// (and may then checkpoint and delete -wal and -shm), is refused.
    fn assert_their_exclusive_refused(file: &Path) {
        let refused = posix(
            &theirs(file),
            libc::F_SETLK,
            libc::F_WRLCK,
            SHARED_FIRST,
            SHARED_SIZE,
        );
        assert_eq!(refused.unwrap_err().raw_os_error(), Some(libc::EAGAIN));
    }

    #[test]
    fn another_librarys_exclusive_lock_is_refused_while_we_hold_shared() {
        let (_dir, file, _ours) = attached();
        assert_their_exclusive_refused(&file);
    }

    #[test]
    fn another_library_sees_that_we_are_attached_to_the_shm() {
        let (_dir, file, _ours) = attached();
        // What the other library asks before deciding it is first, and truncating -shm.
        let seen = posix(
            &theirs(&sibling(&file, "-shm")),
            libc::F_GETLK,
            libc::F_WRLCK,
            SHM_DMS,
            1,
        )
        .unwrap();
        assert_eq!(seen.l_type, libc::F_RDLCK as i16);
    }

    #[test]
    fn closing_another_descriptor_of_the_files_keeps_our_locks() {
        let (_dir, file, _ours) = attached();
        drop(theirs(&file));
        drop(theirs(&sibling(&file, "-shm")));
        assert_their_exclusive_refused(&file);
    }

    #[test]
    fn our_connections_on_one_file_share_its_locks_and_leave_none_behind() {
        let (_dir, file, first) = attached();
        let (db, shm) = (key(&file), key(&sibling(&file, "-shm")));
        let (r1, r2) = (reader(&file), reader(&file));
        // The first connection's descriptor is the one whose description carries the locks.
        drop(first);
        assert_eq!((count(&r1), count(&r2)), (0, 0));
        let second = writer(&file);
        second.execute_batch("INSERT INTO t VALUES (1)").unwrap();
        assert_eq!((count(&r1), count(&r2)), (1, 1));
        drop(r1);
        drop(r2);
        // A leaked reader lock would keep the checkpoint from resetting the log.
        let busy: i64 = second
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .unwrap();
        assert_eq!(busy, 0);
        drop(second);
        assert!(
            !sibling(&file, "-wal").exists(),
            "the last connection still cleans up"
        );
        assert_eq!((ofd_locks_on(db), ofd_locks_on(shm)), (0, 0));
        let table = table();
        assert!(!table.carriers.contains_key(&db) && !table.carriers.contains_key(&shm));
    }

    #[test]
    fn the_last_of_our_connections_cleans_up_though_another_took_the_files_lock_first() {
        let (_dir, file) = closed();
        // The reader's descriptor (opened read-only, so not reused for the writer) is the one
        // that takes the file's shared lock; the writer joins it without a system call.
        let first = reader(&file);
        let last = writer(&file);
        drop(first);
        last.execute_batch("INSERT INTO t VALUES (1)").unwrap();
        drop(last);
        assert!(
            !sibling(&file, "-wal").exists(),
            "the last connection got EXCLUSIVE"
        );
    }

    #[test]
    fn a_rollback_journal_writer_commits_after_a_reader_that_locked_first_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db");
        install();
        let setup = Connection::open(&file).unwrap();
        setup.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        drop(setup);
        let first = reader(&file);
        first.execute_batch("BEGIN").unwrap();
        count(&first);
        let writer = Connection::open(&file).unwrap();
        writer.busy_timeout(std::time::Duration::ZERO).unwrap();
        writer
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .unwrap();
        assert!(
            writer.execute_batch("COMMIT").is_err(),
            "the reader's transaction is open"
        );
        first.execute_batch("COMMIT").unwrap();
        writer.execute_batch("COMMIT").unwrap();
        assert_eq!(count(&first), 1);
    }

    #[test]
    fn our_close_does_not_drop_another_librarys_locks() {
        let (_dir, file) = closed();
        let theirs = theirs(&file);
        posix(
            &theirs,
            libc::F_SETLK,
            libc::F_RDLCK,
            SHARED_FIRST,
            SHARED_SIZE,
        )
        .unwrap();

        let ours = writer(&file);
        ours.execute_batch("INSERT INTO t VALUES (1)").unwrap();
        drop(ours);
        assert!(
            posix_locks_of_this_process(&file),
            "their shared lock survives our close"
        );
        assert!(parked_on(key(&file)) > 0);
        assert!(
            sibling(&file, "-wal").exists(),
            "with them attached we were not the last"
        );

        posix(&theirs, libc::F_SETLK, libc::F_UNLCK, 0, 0).unwrap();
        drop(reader(&file));
        assert_eq!(
            parked_on(key(&file)),
            0,
            "parked descriptors close once their locks are gone"
        );
    }
}

//! One writer per store directory, for the writer's whole lifetime.
//!
//! SQLite alone only serialises transactions: a second writer could open the store between
//! two blocks of the first and then both would commit blocks computed from states the other
//! never saw. A consensus kernel needs its store to itself, so a writer holds an exclusive
//! `flock` on the store directory until it closes. The kernel releases it when the process
//! dies (even by SIGKILL), so a crashed node never leaves the store locked. Read-only
//! openers (the audit, the CLI) do not take it; WAL lets them read while the writer runs.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often a waiting opener retries the lock.
const RETRY_INTERVAL: Duration = Duration::from_millis(20);

/// The held lock; dropping it releases the directory.
#[derive(Debug)]
pub struct WriterLock {
    _directory: File,
}

impl WriterLock {
    /// Takes the directory's writer lock, waiting up to `timeout` for a previous writer
    /// (say, a node still shutting down) to let go.
    pub fn acquire(dir: &Path, timeout: Duration) -> Result<WriterLock> {
        let directory = File::open(dir).map_err(|source| Error::NotASwingStore {
            message: format!("cannot open store directory {}: {source}", dir.display()),
        })?;
        let started = Instant::now();
        loop {
            match directory.try_lock() {
                Ok(()) => {
                    return Ok(WriterLock {
                        _directory: directory,
                    })
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < timeout => {
                    sleep(RETRY_INTERVAL)
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::StoreLocked {
                        dir: dir.display().to_string(),
                        waited_ms: started.elapsed().as_millis(),
                    })
                }
                Err(TryLockError::Error(source)) => {
                    return Err(Error::NotASwingStore {
                        message: format!("cannot lock store directory {}: {source}", dir.display()),
                    })
                }
            }
        }
    }
}

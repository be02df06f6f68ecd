//! swing-store's `traceFile` option: every kvStore set and delete, through any facet, appended
//! to a file as `set <key> <value>` or `del <key>`, one per line, after the write. Operators
//! diff two nodes' traces to find where their states diverged, so the lines are swing-store's
//! exactly: its write stream encodes the JS strings as UTF-8, a lone surrogate as U+FFFD.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::wtf8;

#[derive(Debug)]
pub struct Trace {
    out: BufWriter<File>,
    path: String,
    /// The first write error, reported at the next flush: a write itself cannot fail the
    /// kvStore operation it records, which has already happened.
    failed: Option<std::io::Error>,
}

impl Trace {
    /// Opens `path` for appending, creating it if needed, as swing-store's stream does.
    pub fn open(path: &Path) -> Result<Trace> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Trace {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Trace {
            out: BufWriter::new(file),
            path: path.display().to_string(),
            failed: None,
        })
    }

    pub(super) fn write(&mut self, key: &[u8], value: Option<&[u8]>) {
        let result = match value {
            Some(value) => self.line(&[b"set", key, value]),
            None => self.line(&[b"del", key]),
        };
        if let (Err(e), None) = (result, &self.failed) {
            self.failed = Some(e);
        }
    }

    fn line(&mut self, words: &[&[u8]]) -> std::io::Result<()> {
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b" ")?;
            }
            self.out.write_all(&wtf8::to_node_utf8(word))?;
        }
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> Result<()> {
        let result = match self.failed.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        };
        result.map_err(|source| Error::Trace {
            path: self.path.clone(),
            source,
        })
    }
}

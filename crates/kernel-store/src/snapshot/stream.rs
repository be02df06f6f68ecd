//! A snapshot's bytes in and out, streamed: a [`SnapshotWriter`] hashes, counts and
//! compresses them in one pass as they are produced, and a [`SnapshotReader`] decompresses a
//! stored copy chunk by chunk. Neither borrows the store, so a binding can feed or drain one
//! across many calls while the kernel keeps using the store. Snapshots can be hundreds of
//! megabytes; neither ever holds the uncompressed snapshot whole.

use std::io::{Read, Write};
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use super::gzip::GzipMembers;
use crate::error::{Error, Result};
use crate::hex;

/// The most bytes one chunk of a snapshot holds, whatever a caller asks for: a chunk is
/// allocated before it is filled, and a stream's memory must not be the caller's to choose.
pub const CHUNK_CEILING: usize = 1 << 20;

/// The chunk size Node's zlib streams yield, used when reading without asking for a size.
const DEFAULT_CHUNK: usize = 16 * 1024;

/// Takes a snapshot's bytes as they are produced, hashing, counting and compressing them in
/// one pass, so the uncompressed snapshot is never held whole.
pub struct SnapshotWriter {
    hasher: Sha256,
    gzip: GzipMembers,
    uncompressed_size: u64,
    /// swing-store's `compressSeconds` covers consuming the whole stream, producer included.
    started: Instant,
}

impl Default for SnapshotWriter {
    fn default() -> Self {
        SnapshotWriter::new()
    }
}

impl SnapshotWriter {
    pub fn new() -> SnapshotWriter {
        SnapshotWriter {
            hasher: Sha256::new(),
            gzip: GzipMembers::new(),
            uncompressed_size: 0,
            started: Instant::now(),
        }
    }

    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.uncompressed_size += chunk.len() as u64;
        self.gzip.write(chunk)
    }

    pub(super) fn finish(self) -> Result<Compressed> {
        let bytes = self.gzip.finish()?;
        Ok(Compressed {
            hash: hex::encode(&self.hasher.finalize()),
            uncompressed_size: self.uncompressed_size,
            bytes,
            seconds: self.started.elapsed().as_secs_f64(),
        })
    }
}

/// Chunks waiting for a background compressor: enough for a whole snapshot of a few
/// megabytes (so the producer can go on to the next while this one compresses), few enough
/// (16 MiB of 64 KiB chunks) to bound what a fast producer can queue.
const QUEUED_CHUNKS: usize = 256;

/// Takes a snapshot's bytes as they arrive, hashing them here and compressing them on a
/// thread of its own, so an import compresses one snapshot on one core while the next
/// arrives on the other. The hash is known as soon as the bytes have all arrived; the gzip
/// bytes when [`Compressing::wait`] says so.
pub(super) struct BackgroundWriter {
    hasher: Sha256,
    uncompressed_size: u64,
    chunks: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    compressor: std::thread::JoinHandle<Result<Vec<u8>>>,
}

/// A snapshot whose compression is still running.
pub(super) struct Compressing {
    compressor: std::thread::JoinHandle<Result<Vec<u8>>>,
}

impl Compressing {
    /// The gzip bytes, once the compressor has finished them.
    pub fn wait(self) -> Result<Vec<u8>> {
        match self.compressor.join() {
            Ok(result) => result,
            Err(_) => Err(Error::Gzip {
                source: std::io::Error::other("the snapshot compressor stopped"),
            }),
        }
    }
}

impl BackgroundWriter {
    pub fn new() -> BackgroundWriter {
        let (chunks, queue) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUED_CHUNKS);
        let compressor = std::thread::spawn(move || {
            let mut gzip = GzipMembers::new();
            for chunk in queue {
                gzip.write(&chunk)?;
            }
            gzip.finish()
        });
        BackgroundWriter {
            hasher: Sha256::new(),
            uncompressed_size: 0,
            chunks: Some(chunks),
            compressor,
        }
    }

    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.uncompressed_size += chunk.len() as u64;
        let sent = self
            .chunks
            .as_ref()
            .is_some_and(|chunks| chunks.send(chunk.to_vec()).is_ok());
        if sent {
            return Ok(());
        }
        // The compressor has stopped: its own error says why.
        self.chunks = None;
        Err(Error::Gzip {
            source: std::io::Error::other("the snapshot compressor stopped"),
        })
    }

    /// The snapshot's hash and size, and its compression, finishing in the background.
    pub fn finish(mut self) -> (String, u64, Compressing) {
        self.chunks = None;
        (
            hex::encode(&self.hasher.finalize()),
            self.uncompressed_size,
            Compressing {
                compressor: self.compressor,
            },
        )
    }
}

/// A finished snapshot: its hash (of the uncompressed bytes), sizes and gzip bytes.
pub(super) struct Compressed {
    pub hash: String,
    pub uncompressed_size: u64,
    pub bytes: Vec<u8>,
    /// swing-store's `compressSeconds`.
    pub seconds: f64,
}

impl Write for SnapshotWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SnapshotWriter::write(self, buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A vat's in-use snapshot, decompressed chunk by chunk. It owns its compressed copy, so the
/// store stays usable while it is read (the kernel loads a worker and goes on). The hash is
/// checked when the data runs out, as swing-store checks it when its iterator finishes: a
/// reader abandoned early checks nothing.
pub struct SnapshotReader {
    decoder: MultiGzDecoder<std::io::Cursor<Vec<u8>>>,
    hasher: Sha256,
    expected: String,
    done: bool,
}

impl SnapshotReader {
    pub(super) fn new(compressed: Vec<u8>, expected: String) -> SnapshotReader {
        SnapshotReader {
            decoder: MultiGzDecoder::new(std::io::Cursor::new(compressed)),
            hasher: Sha256::new(),
            expected,
            done: false,
        }
    }

    /// The next up to `max_len` (at most [`CHUNK_CEILING`]) decompressed bytes, or `None` once
    /// the snapshot has been read and its hash matched. A mismatch is an error in place of
    /// that `None`; after it, or after the end, there is nothing more.
    pub fn read_chunk(&mut self, max_len: usize) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut chunk = vec![0; max_len.clamp(1, CHUNK_CEILING)];
        let read = loop {
            match self.decoder.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.done = true;
                    return Err(Error::Gzip { source });
                }
            }
        };
        if read == 0 {
            self.done = true;
            let actual = hex::encode(&std::mem::take(&mut self.hasher).finalize());
            if actual != self.expected {
                return Err(Error::SnapshotHashMismatch {
                    actual,
                    expected: std::mem::take(&mut self.expected),
                });
            }
            return Ok(None);
        }
        chunk.truncate(read);
        self.hasher.update(&chunk);
        Ok(Some(chunk))
    }
}

impl Iterator for SnapshotReader {
    type Item = Result<Vec<u8>>;

    /// Chunks of Node's zlib chunk size.
    fn next(&mut self) -> Option<Self::Item> {
        self.read_chunk(DEFAULT_CHUNK).transpose()
    }
}

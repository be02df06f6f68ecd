//! How a stored snapshot is compressed: gzip, as swing-store stores it, written as a series of
//! gzip members of up to [`MEMBER_INPUT`] bytes of snapshot each. Any gzip reader (Node's
//! `zlib.createGunzip()`, which swing-store reads snapshots with, and flate2's
//! `MultiGzDecoder`, ours) reads the members as one stream. Each member is compressed whole by
//! libdeflate, which at swing-store's level 6 compressed the benchmark's snapshots about 1.4×
//! as fast as zlib's streaming deflate, and smaller; resetting the compressor every MiB costs
//! nothing measurable (deflate's window is 32 KiB).

use libdeflater::{CompressionLvl, Compressor};

use crate::error::{Error, Result};

/// Node's `zlib.createGzip()` default level, which swing-store compresses snapshots at.
const GZIP_LEVEL: i32 = 6;

/// The snapshot bytes one member holds: a member is compressed from one buffer of this size.
const MEMBER_INPUT: usize = 1 << 20;

/// Where a member's header holds its OS byte, and the one Node's zlib writes (Unix), which
/// every member carries, as Node's own gzip would; libdeflate writes "unknown".
const OS_BYTE: usize = 9;
const OS_UNIX: u8 = 3;

/// A snapshot's gzip bytes, built as its bytes arrive.
pub struct GzipMembers {
    compressor: Compressor,
    pending: Vec<u8>,
    compressed: Vec<u8>,
}

impl Default for GzipMembers {
    fn default() -> Self {
        GzipMembers::new()
    }
}

impl GzipMembers {
    pub fn new() -> GzipMembers {
        let level = CompressionLvl::new(GZIP_LEVEL).unwrap_or_default();
        GzipMembers {
            compressor: Compressor::new(level),
            pending: Vec::with_capacity(MEMBER_INPUT),
            compressed: Vec::new(),
        }
    }

    pub fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let room = MEMBER_INPUT - self.pending.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(now);
            bytes = later;
            if self.pending.len() == MEMBER_INPUT {
                self.compress_pending()?;
            }
        }
        Ok(())
    }

    /// The gzip bytes: at least one member, so an empty snapshot is a valid gzip stream.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        if !self.pending.is_empty() || self.compressed.is_empty() {
            self.compress_pending()?;
        }
        Ok(self.compressed)
    }

    fn compress_pending(&mut self) -> Result<()> {
        let start = self.compressed.len();
        let bound = self.compressor.gzip_compress_bound(self.pending.len());
        self.compressed.resize(start + bound, 0);
        let written = self
            .compressor
            .gzip_compress(&self.pending, &mut self.compressed[start..])
            .map_err(|e| Error::Gzip {
                source: std::io::Error::other(format!("{e:?}")),
            })?;
        self.compressed.truncate(start + written);
        if let Some(os) = self.compressed.get_mut(start + OS_BYTE) {
            *os = OS_UNIX;
        }
        self.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Bytes that compress somewhat, as heap images do.
    fn sample(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i / 4093) as u8)
            .collect()
    }

    #[test]
    fn any_length_written_in_any_pieces_reads_back_whole_as_one_gzip_stream() {
        for len in [
            0,
            1,
            MEMBER_INPUT - 1,
            MEMBER_INPUT,
            MEMBER_INPUT + 1,
            3 * MEMBER_INPUT + 12_345,
        ] {
            let input = sample(len);
            let mut gzip = GzipMembers::new();
            for piece in input.chunks(65_521) {
                gzip.write(piece).unwrap();
            }
            assert_eq!(gunzip(&gzip.finish().unwrap()), input, "length {len}");
        }
    }

    #[test]
    fn an_empty_snapshot_is_one_empty_member() {
        let bytes = GzipMembers::new().finish().unwrap();
        assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
        assert!(gunzip(&bytes).is_empty());
    }
}

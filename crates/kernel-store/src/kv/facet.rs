//! The kvStore as each holder sees it: the kernel facet hashes and exports consensus writes
//! and refuses `host.` keys; the host facet writes only `host.` keys; the raw facet
//! (swing-store's `internal.kvStore`) writes anything, unhashed. Reads are the same for all.

use super::KeyType;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facet {
    Kernel,
    Host,
    Raw,
}

impl Facet {
    /// swing-store's namespace check, which it makes before looking at the value.
    pub fn check_writable(self, key: &[u8]) -> Result<()> {
        match (self, KeyType::of(key)) {
            (Facet::Kernel, KeyType::Host) => Err(Error::HostKeyRefused),
            (Facet::Host, KeyType::Consensus | KeyType::Local) => Err(Error::HostKeyRequired),
            _ => Ok(()),
        }
    }

    /// Whether a write of `key` through this facet is crank-hashed and export-noted.
    pub fn records(self, key: &[u8]) -> bool {
        self == Facet::Kernel && KeyType::of(key) == KeyType::Consensus
    }
}

//! The kvStore as each holder sees it: the kernel facet hashes and exports consensus writes
//! and refuses `host.` keys; the host facet writes only `host.` keys; the raw facet
//! (swing-store's `internal.kvStore`) writes anything, unhashed. Reads are the same for all.

use crate::error::{Error, Result};
use crate::kv::KeyType;
use crate::KernelStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facet {
    Kernel,
    Host,
    Raw,
}

impl Facet {
    fn check_writable(self, key_type: KeyType) -> Result<()> {
        match (self, key_type) {
            (Facet::Kernel, KeyType::Host) => Err(Error::HostKeyRefused),
            (Facet::Host, KeyType::Consensus | KeyType::Local) => Err(Error::HostKeyRequired),
            _ => Ok(()),
        }
    }
}

impl KernelStore {
    pub fn kv_get(&mut self, key: &str) -> Result<Option<&str>> {
        self.kv.get(&self.conn, key)
    }

    pub fn kv_has(&mut self, key: &str) -> Result<bool> {
        Ok(self.kv.get(&self.conn, key)?.is_some())
    }

    /// The smallest key strictly after `previous_key`, in UTF-8 byte order.
    pub fn kv_next_key(&mut self, previous_key: &str) -> Result<Option<String>> {
        self.kv.next_key(&self.conn, previous_key)
    }

    pub fn kv_set(&mut self, facet: Facet, key: &str, value: &str) -> Result<()> {
        self.write(facet, key, Some(value))
    }

    pub fn kv_delete(&mut self, facet: Facet, key: &str) -> Result<()> {
        self.write(facet, key, None)
    }

    fn write(&mut self, facet: Facet, key: &str, value: Option<&str>) -> Result<()> {
        let key_type = KeyType::of(key);
        facet.check_writable(key_type)?;
        self.ensure_txn()?;
        match (facet, key_type) {
            (Facet::Kernel, KeyType::Consensus) => self.kernel_write(key, value),
            _ => self.kv.put(key, value.map(str::to_owned)),
        }
        self.spill_outside_cranks()
    }

    /// A kernel-facet consensus write inside an open transaction: stored, export-noted and
    /// crank-hashed, in swing-store's order.
    pub(crate) fn kernel_write(&mut self, key: &str, value: Option<&str>) {
        self.kv.put(key, value.map(str::to_owned));
        self.note_kv_export(key, value);
        match value {
            Some(value) => self.crank.hash_set(key, value),
            None => self.crank.hash_delete(key),
        }
    }

    /// Writes made between cranks have no savepoint to roll back to, so a large block of
    /// them may go to SQLite as soon as it passes the threshold.
    pub(crate) fn spill_outside_cranks(&mut self) -> Result<()> {
        if self.in_crank() {
            Ok(())
        } else {
            self.maybe_spill()
        }
    }
}

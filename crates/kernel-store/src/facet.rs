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
    /// swing-store's namespace check, which it makes before looking at the value.
    pub fn check_writable(self, key: &[u8]) -> Result<()> {
        match (self, KeyType::of(key)) {
            (Facet::Kernel, KeyType::Host) => Err(Error::HostKeyRefused),
            (Facet::Host, KeyType::Consensus | KeyType::Local) => Err(Error::HostKeyRequired),
            _ => Ok(()),
        }
    }
}

impl KernelStore {
    pub fn kv_get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<&[u8]>> {
        self.sync_with_other_writers()?;
        self.kv.get(&self.conn, key.as_ref())
    }

    pub fn kv_has(&mut self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.kv_get(key)?.is_some())
    }

    /// The smallest key strictly after `previous_key`, in byte order.
    pub fn kv_next_key(&mut self, previous_key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.sync_with_other_writers()?;
        self.kv.next_key(&self.conn, previous_key.as_ref())
    }

    pub fn kv_set(
        &mut self,
        facet: Facet,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<()> {
        self.write(facet, key.as_ref(), Some(value.as_ref()))
    }

    pub fn kv_delete(&mut self, facet: Facet, key: impl AsRef<[u8]>) -> Result<()> {
        self.write(facet, key.as_ref(), None)
    }

    /// A kernel key's value as text; a value that is not UTF-8 is corrupt for the kernel's
    /// own keys (counts, JSON), which never hold lone surrogates.
    pub(crate) fn get_text(&mut self, key: &str) -> Result<Option<String>> {
        match self.kv_get(key.as_bytes())? {
            None => Ok(None),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Ok(Some(text.to_owned())),
                Err(_) => Err(Error::CorruptValue {
                    key: key.to_owned(),
                    expected: "UTF-8 text",
                    found: String::from_utf8_lossy(bytes).into_owned(),
                }),
            },
        }
    }

    fn write(&mut self, facet: Facet, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        facet.check_writable(key)?;
        self.ensure_txn()?;
        match (facet, KeyType::of(key)) {
            (Facet::Kernel, KeyType::Consensus) => {
                self.kernel_write(key, value.map(<[u8]>::to_vec))
            }
            _ => self.kv.put(key, value.map(<[u8]>::to_vec)),
        }
        self.spill_outside_cranks()
    }

    /// A kernel-facet consensus write inside an open transaction: stored, export-noted and
    /// crank-hashed, in swing-store's order.
    pub(crate) fn kernel_write(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        self.kernel_bookkeeping(key, value.as_deref());
        self.kv.put(key, value);
    }

    fn kernel_bookkeeping(&mut self, key: &[u8], value: Option<&[u8]>) {
        match value {
            Some(value) => self.crank.hash_set(key, value),
            None => self.crank.hash_delete(key),
        }
        self.note_kv_export(key, value);
    }

    /// What the facet does for a write beyond storing it, for a write another layer stored
    /// through the raw facet (swing-store's `wrapKvStore`, whose wrapper sits between the
    /// facets and the raw store): the kernel facet hashes and export-notes consensus keys.
    pub fn kv_record_write(
        &mut self,
        facet: Facet,
        key: impl AsRef<[u8]>,
        value: Option<&[u8]>,
    ) -> Result<()> {
        let key = key.as_ref();
        facet.check_writable(key)?;
        self.ensure_txn()?;
        if facet == Facet::Kernel && KeyType::of(key) == KeyType::Consensus {
            self.kernel_bookkeeping(key, value);
        }
        Ok(())
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

//! All-or-nothing kernel operations. A refcount or vatParameters operation may touch many
//! keys; it computes every write against the store plus its own earlier writes first, and only
//! when the whole operation has succeeded are the writes applied, in the kernel's order (so
//! the crank hash is the one the JS kernel would produce) and its maybe-free krefs noted.

use crate::error::{Error, Result};
use crate::KernelStore;

#[derive(Default)]
pub(crate) struct Batch {
    writes: Vec<(String, Option<Vec<u8>>)>,
    maybe_free: Vec<String>,
}

impl Batch {
    /// Hands `read` the bytes of `key` as this batch would leave them, without copying them.
    pub fn read<R>(
        &self,
        store: &mut KernelStore,
        key: &str,
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        if let Some((_, write)) = self.writes.iter().rev().find(|(k, _)| k == key) {
            return Ok(read(write.as_deref()));
        }
        Ok(read(store.kv_get(key)?))
    }

    /// The value of `key` as text, as this batch would leave it.
    pub fn get(&self, store: &mut KernelStore, key: &str) -> Result<Option<String>> {
        self.read(store, key, |bytes| {
            bytes.map(|b| {
                String::from_utf8(b.to_vec()).map_err(|_| Error::CorruptValue {
                    key: key.to_owned(),
                    expected: "UTF-8 text",
                    found: String::from_utf8_lossy(b).into_owned(),
                })
            })
        })?
        .transpose()
    }

    pub fn set(&mut self, key: String, value: Vec<u8>) {
        self.writes.push((key, Some(value)));
    }

    pub fn delete(&mut self, key: String) {
        self.writes.push((key, None));
    }

    pub fn note_maybe_free(&mut self, kref: &str) {
        self.maybe_free.push(kref.to_owned());
    }
}

impl KernelStore {
    /// Applies a finished batch through the kernel facet. Nothing in it can fail half-way:
    /// the write transaction is taken before the first write.
    pub(crate) fn apply(&mut self, batch: Batch) -> Result<()> {
        if !batch.writes.is_empty() {
            self.ensure_txn()?;
            for (key, write) in batch.writes {
                self.kernel_write(key.as_bytes(), write);
            }
        }
        self.maybe_free.extend(batch.maybe_free);
        self.spill_outside_cranks()
    }
}

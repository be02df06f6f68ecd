//! All-or-nothing kernel operations. A refcount or vatParameters operation may touch many
//! keys; it computes every write against the store plus its own earlier writes first, and only
//! when the whole operation has succeeded are the writes applied, in the kernel's order (so
//! the crank hash is the one the JS kernel would produce) and its maybe-free krefs noted.
//!
//! Those operations see the store only through [`KernelKv`]: what the kernel's kvStore holds,
//! and a way to apply a finished batch through the kernel facet.

use crate::error::{Error, Result};

/// The kernel's kvStore, as the refcount and vatParameters operations use it.
pub trait KernelKv {
    /// What `key` holds now (the batch being built is not applied yet).
    fn get(&mut self, key: &[u8]) -> Result<Option<&[u8]>>;

    /// Applies a finished batch through the kernel facet (crank-hashed and export-noted, in
    /// its order) and notes its maybe-free krefs. Nothing in it may fail half-way.
    fn apply(&mut self, batch: Batch) -> Result<()>;

    /// A kernel key's value as text; one that is not UTF-8 is corrupt for the kernel's own
    /// keys (counts, JSON), which never hold lone surrogates.
    fn get_text(&mut self, key: &str) -> Result<Option<String>> {
        match self.get(key.as_bytes())? {
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

    fn has(&mut self, key: &str) -> Result<bool> {
        Ok(self.get(key.as_bytes())?.is_some())
    }
}

/// One kernel-facet write: a set (`Some`) or a delete (`None`).
pub type KernelWrite = (String, Option<Vec<u8>>);

#[derive(Default)]
pub struct Batch {
    writes: Vec<KernelWrite>,
    maybe_free: Vec<String>,
}

impl Batch {
    /// Hands `read` the bytes of `key` as this batch would leave them, without copying them.
    pub fn read<R>(
        &self,
        kv: &mut impl KernelKv,
        key: &str,
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        if let Some((_, write)) = self.writes.iter().rev().find(|(k, _)| k == key) {
            return Ok(read(write.as_deref()));
        }
        Ok(read(kv.get(key.as_bytes())?))
    }

    /// The value of `key` as text, as this batch would leave it.
    pub fn get(&self, kv: &mut impl KernelKv, key: &str) -> Result<Option<String>> {
        self.read(kv, key, |bytes| {
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

    /// The writes in the order they were made, and the krefs to note as maybe-free.
    pub fn into_parts(self) -> (Vec<KernelWrite>, Vec<String>) {
        (self.writes, self.maybe_free)
    }
}

//! Kernel object and promise refcounts with the kernel's names, semantics, write order and
//! messages (shared/spec/refcount-model.md §1-2): objects `koNN.refCount = "R,C"`, promises
//! `kpNN.refCount = "N"`, devices untracked.

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::kref::{ref_count_key, KrefKind};
use crate::KernelStore;

/// A refcount operation's debugging tag. The kernel never stores it; it only appears in error
/// messages, so callers can hand over something that renders it only then — as `@endo/errors`
/// renders a substituted value (a string JSON-quoted, `undefined` as `"[undefined]"`).
pub trait RefTag {
    fn render(&self) -> String;
}

impl RefTag for str {
    fn render(&self) -> String {
        crate::json::quote(self)
    }
}

/// The kernel's `{ isExport, onlyRecognizable }` options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefOptions {
    /// The reference is a c-list export: counts for promises, not for objects.
    pub is_export: bool,
    /// The reference only lets its holder recognize the object, not reach it.
    pub only_recognizable: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectRefCount {
    /// Whether `koNN.refCount` exists (the kernel's `kernelObjectExists`).
    pub exists: bool,
    pub reachable: u64,
    pub recognizable: u64,
}

const OBJECT_COUNT_SHAPE: &str = "\"reachable,recognizable\" (two decimal counts)";
const PROMISE_COUNT_SHAPE: &str = "a decimal count";

/// A decimal count, parsed from the stored bytes without copying them.
fn parse_count(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

fn corrupt(key: &str, expected: &'static str, found: &[u8]) -> Error {
    Error::CorruptValue {
        key: key.to_owned(),
        expected,
        found: String::from_utf8_lossy(found).into_owned(),
    }
}

/// Formats counts as the kernel's template literals write them (`"R,C"` or `"N"`).
fn format_counts(counts: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    for (i, &n) in counts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_decimal(&mut out, n);
    }
    out
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Reads `koNN.refCount` as the kernel does: missing (or empty) is `0,0`; R > C is refused.
fn read_object_count(batch: &Batch, store: &mut KernelStore, kref: &str) -> Result<ObjectRefCount> {
    let key = ref_count_key(kref);
    let counts = batch.read(store, &key, |data| match data {
        None => Ok(ObjectRefCount::default()),
        Some([]) => Ok(ObjectRefCount {
            exists: true,
            reachable: 0,
            recognizable: 0,
        }),
        Some(data) => {
            let comma = data.iter().position(|&b| b == b',');
            match comma.and_then(|i| Some((parse_count(&data[..i])?, parse_count(&data[i + 1..])?)))
            {
                Some((reachable, recognizable)) => Ok(ObjectRefCount {
                    exists: true,
                    reachable,
                    recognizable,
                }),
                None => Err(corrupt(&key, OBJECT_COUNT_SHAPE, data)),
            }
        }
    })??;
    if counts.reachable > counts.recognizable {
        return Err(Error::RefMismatch {
            when: "get",
            kref: kref.to_owned(),
            reachable: counts.reachable.into(),
            recognizable: counts.recognizable.into(),
        });
    }
    Ok(counts)
}

/// Writes `koNN.refCount` after the kernel's checks (never negative, R ≤ C).
fn write_object_count(
    batch: &mut Batch,
    kref: &str,
    reachable: i128,
    recognizable: i128,
) -> Result<()> {
    if reachable < 0 || recognizable < 0 {
        return Err(Error::ObjectUnderflow {
            kref: kref.to_owned(),
            reachable,
            recognizable,
        });
    }
    if reachable > recognizable {
        return Err(Error::RefMismatch {
            when: "set",
            kref: kref.to_owned(),
            reachable,
            recognizable,
        });
    }
    batch.set(
        ref_count_key(kref),
        format_counts(&[reachable as u64, recognizable as u64]),
    );
    Ok(())
}

fn read_promise_count(batch: &Batch, store: &mut KernelStore, kref: &str) -> Result<u64> {
    let key = ref_count_key(kref);
    batch.read(store, &key, |data| match data {
        Some(text) => parse_count(text).ok_or_else(|| corrupt(&key, PROMISE_COUNT_SHAPE, text)),
        None => Err(Error::MissingKey { key: key.clone() }),
    })?
}

pub(crate) fn increment(
    batch: &mut Batch,
    store: &mut KernelStore,
    kref: &str,
    tag: &(impl RefTag + ?Sized),
    options: RefOptions,
) -> Result<()> {
    if kref.is_empty() {
        return Err(Error::EmptyKref {
            operation: "incrementRefCount",
            tag: tag.render(),
        });
    }
    match KrefKind::parse(kref)? {
        KrefKind::Promise => {
            let count = read_promise_count(batch, store, kref)?;
            batch.set(ref_count_key(kref), format_counts(&[count + 1]));
        }
        KrefKind::Object if !options.is_export => {
            let counts = read_object_count(batch, store, kref)?;
            let reachable = i128::from(counts.reachable) + i128::from(!options.only_recognizable);
            write_object_count(batch, kref, reachable, i128::from(counts.recognizable) + 1)?;
        }
        KrefKind::Object | KrefKind::Device => {}
    }
    Ok(())
}

/// Returns whether a promise's count reached zero (the kernel's return value; objects: false).
pub(crate) fn decrement(
    batch: &mut Batch,
    store: &mut KernelStore,
    kref: &str,
    tag: &(impl RefTag + ?Sized),
    options: RefOptions,
) -> Result<bool> {
    if kref.is_empty() {
        return Err(Error::EmptyKref {
            operation: "decrementRefCount",
            tag: tag.render(),
        });
    }
    match KrefKind::parse(kref)? {
        KrefKind::Promise => {
            let count = read_promise_count(batch, store, kref)?;
            if count == 0 {
                return Err(Error::PromiseUnderflow {
                    kref: kref.to_owned(),
                    tag: tag.render(),
                });
            }
            batch.set(ref_count_key(kref), format_counts(&[count - 1]));
            if count == 1 {
                batch.note_maybe_free(kref);
                return Ok(true);
            }
        }
        KrefKind::Object if !options.is_export => {
            // A missing object is tolerated on purpose: the kernel ignores retire races.
            let counts = read_object_count(batch, store, kref)?;
            if counts.exists {
                let reachable =
                    i128::from(counts.reachable) - i128::from(!options.only_recognizable);
                let recognizable = i128::from(counts.recognizable) - 1;
                if reachable == 0 || recognizable == 0 {
                    batch.note_maybe_free(kref);
                }
                write_object_count(batch, kref, reachable, recognizable)?;
            }
        }
        KrefKind::Object | KrefKind::Device => {}
    }
    Ok(false)
}

impl KernelStore {
    /// The kernel's `incrementRefCount(kref, tag, { isExport, onlyRecognizable })`.
    pub fn increment_ref_count(
        &mut self,
        kref: &str,
        tag: &(impl RefTag + ?Sized),
        options: RefOptions,
    ) -> Result<()> {
        let mut batch = Batch::default();
        increment(&mut batch, self, kref, tag, options)?;
        self.apply(batch)
    }

    /// The kernel's `decrementRefCount`: `true` when a promise's count reached zero.
    pub fn decrement_ref_count(
        &mut self,
        kref: &str,
        tag: &(impl RefTag + ?Sized),
        options: RefOptions,
    ) -> Result<bool> {
        let mut batch = Batch::default();
        let freed = decrement(&mut batch, self, kref, tag, options)?;
        self.apply(batch)?;
        Ok(freed)
    }

    /// `koNN.refCount` read as the kernel reads it (missing means `0,0`, not existing).
    pub fn get_object_ref_count(&mut self, kref: &str) -> Result<ObjectRefCount> {
        require_object(kref)?;
        read_object_count(&Batch::default(), self, kref)
    }

    /// Overwrites `koNN.refCount` after the kernel's checks.
    pub fn set_object_ref_count(
        &mut self,
        kref: &str,
        reachable: i128,
        recognizable: i128,
    ) -> Result<()> {
        require_object(kref)?;
        let mut batch = Batch::default();
        write_object_count(&mut batch, kref, reachable, recognizable)?;
        self.apply(batch)
    }

    /// The kernel's `kernelObjectExists`: whether `koNN.refCount` exists.
    pub fn kernel_object_exists(&mut self, kref: &str) -> Result<bool> {
        require_object(kref)?;
        self.kv_has(ref_count_key(kref))
    }

    /// The kernel's `addMaybeFreeKref` (objects only).
    pub fn add_maybe_free_kref(&mut self, kref: &str) -> Result<()> {
        require_object(kref)?;
        self.maybe_free.insert(kref.to_owned());
        Ok(())
    }

    /// The krefs that may now be free, sorted; the set is left empty.
    pub fn take_maybe_free_krefs(&mut self) -> Vec<String> {
        std::mem::take(&mut self.maybe_free).into_iter().collect()
    }
}

fn require_object(kref: &str) -> Result<()> {
    match KrefKind::parse(kref)? {
        KrefKind::Object => Ok(()),
        _ => Err(Error::InvalidArgValue {
            message: format!("{} is not a kernel object (koNN)", crate::json::quote(kref)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::format_counts;

    #[test]
    fn counts_are_written_as_plain_decimals() {
        assert_eq!(format_counts(&[0, 10]), b"0,10");
        assert_eq!(format_counts(&[u64::MAX]), u64::MAX.to_string().as_bytes());
    }
}

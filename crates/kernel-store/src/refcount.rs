//! Kernel object and promise refcounts with the kernel's names, semantics, write order and
//! messages (docs/refcounts.md §2): objects `koNN.refCount = "R,C"`, promises
//! `kpNN.refCount = "N"`, devices untracked. Each operation is built as a [`Batch`] over the
//! kernel's kvStore and applied whole.

use crate::batch::{Batch, KernelKv};
use crate::error::{Error, Result};
use crate::ids::{self, ref_count_key, Kref, KrefKind};

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
fn read_object_count(batch: &Batch, kv: &mut impl KernelKv, kref: &str) -> Result<ObjectRefCount> {
    let key = ref_count_key(kref);
    let counts = batch.read(kv, &key, |data| match data {
        None => Ok(ObjectRefCount::default()),
        Some([]) => Ok(ObjectRefCount {
            exists: true,
            reachable: 0,
            recognizable: 0,
        }),
        Some(data) => {
            let comma = data.iter().position(|&b| b == b',');
            match comma.and_then(|i| Some((ids::count(&data[..i])?, ids::count(&data[i + 1..])?))) {
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
    if recognizable > i128::from(ids::MAX_SAFE_INTEGER) {
        return Err(Error::CountOverflow {
            key: ref_count_key(kref),
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

fn read_promise_count(batch: &Batch, kv: &mut impl KernelKv, kref: &str) -> Result<u64> {
    let key = ref_count_key(kref);
    batch.read(kv, &key, |data| match data {
        Some(text) => ids::count(text).ok_or_else(|| corrupt(&key, PROMISE_COUNT_SHAPE, text)),
        None => Err(Error::MissingKey { key: key.clone() }),
    })?
}

pub(crate) fn increment(
    batch: &mut Batch,
    kv: &mut impl KernelKv,
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
    match parse_kref(kref)? {
        KrefKind::Promise => {
            let count = read_promise_count(batch, kv, kref)?;
            if count >= ids::MAX_SAFE_INTEGER {
                return Err(Error::CountOverflow {
                    key: ref_count_key(kref),
                });
            }
            batch.set(ref_count_key(kref), format_counts(&[count + 1]));
        }
        KrefKind::Object if !options.is_export => {
            let counts = read_object_count(batch, kv, kref)?;
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
    kv: &mut impl KernelKv,
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
    match parse_kref(kref)? {
        KrefKind::Promise => {
            let count = read_promise_count(batch, kv, kref)?;
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
            let counts = read_object_count(batch, kv, kref)?;
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

/// The kernel's `incrementRefCount(kref, tag, { isExport, onlyRecognizable })`.
pub fn increment_ref_count(
    kv: &mut impl KernelKv,
    kref: &str,
    tag: &(impl RefTag + ?Sized),
    options: RefOptions,
) -> Result<()> {
    let mut batch = Batch::default();
    increment(&mut batch, kv, kref, tag, options)?;
    kv.apply(batch)
}

/// The kernel's `decrementRefCount`: `true` when a promise's count reached zero.
pub fn decrement_ref_count(
    kv: &mut impl KernelKv,
    kref: &str,
    tag: &(impl RefTag + ?Sized),
    options: RefOptions,
) -> Result<bool> {
    let mut batch = Batch::default();
    let freed = decrement(&mut batch, kv, kref, tag, options)?;
    kv.apply(batch)?;
    Ok(freed)
}

/// `koNN.refCount` read as the kernel reads it (missing means `0,0`, not existing).
pub fn get_object_ref_count(kv: &mut impl KernelKv, kref: &str) -> Result<ObjectRefCount> {
    require_object(kref)?;
    read_object_count(&Batch::default(), kv, kref)
}

/// Overwrites `koNN.refCount` after the kernel's checks.
pub fn set_object_ref_count(
    kv: &mut impl KernelKv,
    kref: &str,
    reachable: i128,
    recognizable: i128,
) -> Result<()> {
    require_object(kref)?;
    let mut batch = Batch::default();
    write_object_count(&mut batch, kref, reachable, recognizable)?;
    kv.apply(batch)
}

/// The kernel's `kernelObjectExists`: whether `koNN.refCount` exists.
pub fn kernel_object_exists(kv: &mut impl KernelKv, kref: &str) -> Result<bool> {
    require_object(kref)?;
    kv.has(&ref_count_key(kref))
}

/// A kref's kind, or the kernel's `invalid kernelSlot` error.
pub fn parse_kref(kref: &str) -> Result<KrefKind> {
    Kref::parse(kref.as_bytes())
        .map(|k| k.kind)
        .ok_or_else(|| Error::InvalidKref {
            kref: kref.to_owned(),
        })
}

pub fn require_object(kref: &str) -> Result<()> {
    match parse_kref(kref)? {
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

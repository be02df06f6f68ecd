//! The kernel's identifiers and counts, parsed one way everywhere: kernel references
//! (`koNN`, `kpNN`, `kdNN`), vat IDs (`vNN`) and the decimal counts in `*.refCount`.
//!
//! The kernel makes an identifier with a template literal over a JS safe integer
//! (`ko${id}`), so it only ever writes canonical decimals: no sign, no leading zero, at
//! most 2^53 - 1. Anything else is refused rather than guessed at, because a refcount key
//! is the identifier's text: `ko020.refCount` is not `ko20.refCount`, and accepting the first
//! would count references under a key the kernel never reads. Counts are different: the
//! kernel reads them back with `Number()`, which takes leading zeros, so a padded count is
//! not a corruption of the count itself.

/// The largest number the kernel can put in an identifier: `Number.MAX_SAFE_INTEGER`.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A canonical decimal: digits only, no leading zero (but `0` itself), at most
/// [`MAX_SAFE_INTEGER`].
pub fn canonical_number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    let n = digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'));
    (n <= MAX_SAFE_INTEGER).then_some(n)
}

/// A stored count as `Number()` reads a digit string: digits only, leading zeros allowed.
/// Twenty digits could overflow, and no count the kernel keeps comes near that.
pub fn count(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KrefKind {
    Object,
    Promise,
    Device,
}

/// A kernel reference: its kind and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kref {
    pub kind: KrefKind,
    pub number: u64,
}

impl Kref {
    pub fn parse(text: &[u8]) -> Option<Kref> {
        let (kind, digits) = match text {
            [b'k', b'o', digits @ ..] => (KrefKind::Object, digits),
            [b'k', b'p', digits @ ..] => (KrefKind::Promise, digits),
            [b'k', b'd', digits @ ..] => (KrefKind::Device, digits),
            _ => return None,
        };
        Some(Kref {
            kind,
            number: canonical_number(digits)?,
        })
    }
}

/// A vat ID's number (`v12` → 12).
pub fn vat_number(text: &[u8]) -> Option<u64> {
    match text {
        [b'v', digits @ ..] => canonical_number(digits),
        _ => None,
    }
}

/// `Number(text)` of a position in an artifact name or export-data key (`transcript.v1.5`),
/// for the decimal ones a position can be; anything else names no position.
pub fn name_position(text: &str) -> Option<u64> {
    let trimmed = text.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

/// The key holding a kref's refcount.
pub fn ref_count_key(kref: &str) -> String {
    let mut key = String::with_capacity(kref.len() + 9);
    key.push_str(kref);
    key.push_str(".refCount");
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krefs_of_the_three_kinds_parse() {
        let parse = |s: &str| Kref::parse(s.as_bytes()).map(|k| (k.kind, k.number));
        assert_eq!(parse("ko26"), Some((KrefKind::Object, 26)));
        assert_eq!(parse("kp40"), Some((KrefKind::Promise, 40)));
        assert_eq!(parse("kd30"), Some((KrefKind::Device, 30)));
        assert_eq!(parse("ko0"), Some((KrefKind::Object, 0)));
    }

    #[test]
    fn only_what_the_kernel_writes_is_a_kref() {
        for bad in [
            "",
            "ko",
            "ko020",
            "o+1",
            "ko-1",
            "ko1.5",
            "ko 1",
            "kx1",
            "KO1",
            "ko1a",
            "é",
            "ko9007199254740992",
        ] {
            assert_eq!(Kref::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert!(Kref::parse(b"ko9007199254740991").is_some());
    }

    #[test]
    fn vat_ids_follow_the_same_grammar() {
        assert_eq!(vat_number(b"v12"), Some(12));
        for bad in ["v", "v012", "12", "vx", "v-1"] {
            assert_eq!(vat_number(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn counts_read_as_number_reads_digit_strings() {
        assert_eq!(count(b"007"), Some(7));
        assert_eq!(count(b"18446744073709551615"), None);
        for bad in ["", "-1", "1.0", " 1", "1e3"] {
            assert_eq!(count(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
